/**
 * The end of a round: settle with the preimage (rule 8), fail back (rules 7 and 8),
 * a settled set's late and replayed parts (rule 10), and what lightningd's channel
 * moves say was received.
 */
import { formatAmount, msat, sumMsat, type Msat } from '../amount.js';
import { temporaryNodeFailure } from '../failure.js';
import type { Preimage } from '../ids.js';
import { onionRefusal } from '../localpay.js';
import { exactlySame, isClaimed, matchRecorded, pairParts, partKey, renamed } from '../parts.js';
import type { Part, RelayRecord } from '../record.js';
import type { IncomingPart, Effect, Relay, Ctx, Step } from './types.js';
import { cancelTimers, failUnknown, learnIdentity, finishAttempt } from './common.js';

/** What the claimed parts of a set add up to: what the relay really received. */
function receivedOf(parts: readonly Part[], claimed: readonly string[]): Msat {
  return sumMsat(parts.filter((p) => isClaimed(p, claimed)).map((p) => p.amountMsat));
}

/**
 * Rule 10: an HTLC for a settled hash. A part of the recorded set (a replay after
 * a restart, or a part still held when the payment completed) is resolved again
 * and, if it was not counted yet, counted as received. Anything else gets the
 * unknown-hash answer: the preimage is the payer's proof, never sold for an HTLC
 * that is not ours to take.
 */
export function onSettledPart(relay0: Relay, part: IncomingPart, ctx: Ctx): Step {
  let relay = relay0;
  const { record } = relay0;
  const preimage = record.preimage;
  // A replay carries our payment secret: an HTLC without it is never a part of the set.
  const index = part.paymentSecret === record.paymentSecret && !onionRefusal(part) ? matchSettled(record, part) : -1;
  if (!preimage || index < 0) return { relay, effects: failUnknown(part, preimage ? 'not a part of the settled set' : 'settled without a preimage', ctx) };
  const resolve: Effect = { type: 'resolve', part: partKey(part), preimage };
  const learned = learnIdentity(record, index, part, ctx);
  if (learned !== record) relay = { ...relay, record: learned };
  const recorded = learned.parts[index];
  const claimed = learned.claimed ?? [];
  if (!recorded || isClaimed(recorded, claimed)) return { relay, effects: learned !== record ? [resolve, { type: 'checkpoint' }] : [resolve] };
  const nowClaimed = [...claimed, partKey(recorded)];
  const received = receivedOf(learned.parts, nowClaimed);
  const updated: RelayRecord = { ...learned, claimed: nowClaimed, receivedMsat: received, earnedMsat: msat(received - (learned.sentMsat ?? 0n)), updatedAt: ctx.now };
  if (learned.parts.every((p) => isClaimed(p, nowClaimed))) delete updated.lastError;
  return { relay: { ...relay, record: updated }, effects: [resolve, { type: 'checkpoint' }] };
}

/**
 * The recorded part a replay for a settled set is: exactly (same channel), or a
 * renamed channel's HTLC. A part already claimed that names its channel takes only
 * its exact replay, never a look-alike on another channel (the runner always knows
 * a channel's id, so its real replay is exact). One written by rdv 0.1.0 (no
 * channel_id) cannot be told from a look-alike: failing its real replay (lightningd
 * never took our first answer) would lose the part, so it still matches loosely.
 */
export function matchSettled(record: RelayRecord, part: IncomingPart): number {
  const exact = record.parts.findIndex((p) => exactlySame(p, part));
  if (exact >= 0) return exact;
  const claimed = record.claimed ?? [];
  const taken = new Set(record.parts.flatMap((p, i) => (p.channelId && isClaimed(p, claimed) ? [i] : [])));
  return matchRecorded(record.parts, taken, part);
}

/** Rule 8: resolve every held part with the preimage, then record the outcome. */
export function settle(relay0: Relay, preimage: Preimage, sentMsat: Msat, ctx: Ctx, effects: Effect[]): Step {
  const { record: before } = relay0;
  // Received is what was really claimed: parts held now, and any rdv-guard resolved.
  // A part not held now (e.g. failed by lightningd when rdv died without rdv-guard)
  // is not received; if lightningd replays it later, onSettledPart counts it.
  const pairing = pairParts(before.parts, relay0.held);
  const claimed = [...new Set([...(before.claimed ?? []), ...before.parts.filter((_, i) => (pairing[i] ?? -1) >= 0).map(partKey)])];
  // A stray that is the HTLC of a recorded part not otherwise accounted for (its
  // channel renamed in a way we could not follow) is resolved too; others are not ours.
  const strayEffects: Effect[] = [];
  for (const stray of relay0.strays) {
    const i = before.parts.findIndex((p, j) => (pairing[j] ?? -1) < 0 && !isClaimed(p, claimed) && renamed(p, stray));
    const recorded = before.parts[i];
    if (recorded) {
      claimed.push(partKey(recorded));
      strayEffects.push({ type: 'resolve', part: partKey(stray), preimage });
    } else {
      strayEffects.push(...failUnknown(stray, 'not a part of the settled set', ctx));
    }
  }
  const received = receivedOf(before.parts, claimed);
  const missing = before.parts.filter((p) => !isClaimed(p, claimed)).length;
  const record: RelayRecord = {
    ...finishAttempt(before, { outcome: 'complete', sentMsat }, ctx.now),
    state: 'settled',
    preimage,
    claimed,
    receivedMsat: received,
    sentMsat,
    earnedMsat: msat(received - sentMsat),
    settledAt: ctx.now,
    updatedAt: ctx.now,
  };
  delete record.lastError;
  // Counted as not received, once lightningd has had its chance to replay them (after a
  // restart settle can come first): if it replays one, onSettledPart counts it. (If rdv
  // resolved them and lightningd stopped before the record was written, they were
  // received after all: lightningd does not say which, so the message says both.)
  const replaysMayCome = missing > 0 && !relay0.replayWaitOver && relay0.timers.includes('mpp');
  if (missing > 0 && !replaysMayCome) record.lastError = notReceived(missing, before.parts.length);
  const cancelled = cancelTimers(relay0, ...(replaysMayCome ? (['requery', 'confirm'] as const) : (['mpp', 'requery', 'confirm'] as const)));
  // The wait for replays is over (or there was none) and parts are missing: rdv may have
  // resolved them just before it stopped, before the record said so. lightningd's channel
  // moves decide (onClaims); until they answer, the record says what rdv knows.
  const outcome: Effect[] = replaysMayCome
    ? [{ type: 'log', level: 'info', message: `settled; ${missing} of ${before.parts.length} part(s) not replayed yet: waiting for lightningd to replay them` }]
    : missing > 0
      ? [
          { type: 'check_claims', paymentHash: before.paymentHash },
          { type: 'log', level: 'info', message: `settled; ${missing} of ${before.parts.length} part(s) not held: asking lightningd's channel moves whether they were received` },
        ]
      : [{ type: 'log', level: 'info', message: `settled: received ${formatAmount(received)}, paid ${formatAmount(sentMsat)}, earned ${formatAmount(record.earnedMsat ?? msat(0n))}` }];
  return {
    relay: { ...cancelled.relay, record, held: [], strays: [], requeries: 0, failLook: 'none' },
    effects: [
      ...effects,
      ...cancelled.effects,
      // Resolve first: the preimage is already durable in lightningd (listsendpays of
      // our complete payment), so a crash before the record is written loses
      // nothing; a restart settles it from listsendpays. The write is bookkeeping,
      // made shortly after, when lightningd has settled the HTLCs.
      ...relay0.held.map((p): Effect => ({ type: 'resolve', part: partKey(p), preimage })),
      ...strayEffects,
      { type: 'checkpoint' },
      ...outcome,
    ],
  };
}

/**
 * Rule 8: fail every held part with temporary_node_failure, after persisting. Only
 * called when no outgoing part may succeed (rule 7). While the invoice is unexpired
 * the record returns to `open` so the payer may retry.
 */
export function failBack(relay0: Relay, reason: string, ctx: Ctx): Step {
  // Parts we do not hold are not failed here: rdv-guard may hold them (rdv restarted
  // alone). They stay recorded, so that if the payment onward completes after all,
  // rdv-guard still knows them and resolves them.
  const pairing = pairParts(relay0.record.parts, relay0.held);
  const record: RelayRecord = {
    ...relay0.record,
    state: ctx.now < relay0.record.expiresAt ? 'open' : 'failed',
    parts: relay0.record.parts.filter((_, i) => (pairing[i] ?? -1) < 0),
    lastError: reason,
    updatedAt: ctx.now,
  };
  delete record.earliestExpiry;
  delete record.gatheredAt;
  const cancelled = cancelTimers(relay0, 'mpp', 'requery', 'confirm');
  return {
    relay: { ...cancelled.relay, record, held: [], strays: [], lastOutgoing: undefined, requeries: 0, replayWaitOver: false, failLook: 'none' },
    effects: [
      ...cancelled.effects,
      { type: 'persist', record },
      ...relay0.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: temporaryNodeFailure(), reason })),
      ...relay0.strays.flatMap((p) => failUnknown(p, 'not a part of the set, and the payment onward failed', ctx)),
      { type: 'log', level: 'warn', message: `failed back ${relay0.held.length} part(s): ${reason}` },
    ],
  };
}

function notReceived(missing: number, of: number): string {
  return `${missing} of ${of} incoming part(s) were not held when the payment onward completed, so they count as not received: lightningd failed them (rdv stopped without rdv-guard), or rdv had resolved them just before lightningd stopped`;
}

/**
 * lightningd's channel moves for the hash: an "invoice" credit on a recorded part's
 * channel, of its amount, is that part, received. What is still unaccounted for is
 * then counted as not received, and said so.
 */
export function onClaims(relay: Relay, credits: ReadonlyArray<{ channelId: string; amountMsat: Msat }>, ctx: Ctx): Step {
  const { record } = relay;
  if (record.state !== 'settled') return { relay, effects: [] };
  const claimed = [...(record.claimed ?? [])];
  const unused = [...credits];
  // Parts already counted use up their own credits first: a credit is one HTLC.
  for (const p of record.parts) {
    if (!isClaimed(p, claimed) || !p.channelId) continue;
    const i = unused.findIndex((c) => c.channelId === p.channelId && c.amountMsat === p.amountMsat);
    if (i >= 0) unused.splice(i, 1);
  }
  for (const p of record.parts) {
    if (isClaimed(p, claimed) || !p.channelId) continue;
    const i = unused.findIndex((c) => c.channelId === p.channelId && c.amountMsat === p.amountMsat);
    if (i < 0) continue;
    unused.splice(i, 1);
    claimed.push(partKey(p));
  }
  const missing = record.parts.filter((p) => !isClaimed(p, claimed)).length;
  const received = receivedOf(record.parts, claimed);
  const updated: RelayRecord = { ...record, claimed, receivedMsat: received, earnedMsat: msat(received - (record.sentMsat ?? 0n)), updatedAt: ctx.now };
  delete updated.lastError;
  if (missing > 0) updated.lastError = notReceived(missing, record.parts.length);
  return {
    relay: { ...relay, record: updated },
    effects: [
      { type: 'checkpoint' },
      missing > 0
        ? { type: 'log', level: 'error', message: `settled, but ${updated.lastError ?? ''}: received ${formatAmount(received)}, paid ${formatAmount(updated.sentMsat ?? msat(0n))}` }
        : { type: 'log', level: 'info', message: `lightningd's channel moves show every part was received: earned ${formatAmount(updated.earnedMsat ?? msat(0n))}` },
    ],
  };
}
