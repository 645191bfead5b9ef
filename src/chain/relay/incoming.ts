/**
 * Incoming parts: validate and hold them until the set is complete, then persist
 * "gathered" (rules 2 to 4); parts lightningd replays after a restart (rule 9); and
 * strays (our secret, not in the recorded set), held while the payment onward may
 * still succeed.
 */
import { formatAmount, sumMsat } from '../amount.js';
import { lightningdRefusal, onionRefusal } from '../localpay.js';
import { pairParts, partKey } from '../parts.js';
import type { Part, RelayRecord } from '../record.js';
import { assertNever } from '../../errors.js';
import type { IncomingPart, Effect, Relay, Ctx, Step } from './types.js';
import { startTimer, cancelTimers, failUnknown, covered, query, learnIdentity, layerName } from './common.js';
import { onSettledPart, settle } from './settle.js';

/** Why a part's payment_data (our secret, a total_msat the invoice allows) is not acceptable, or undefined. */
function paymentDataProblem(record: RelayRecord, part: IncomingPart): string | undefined {
  const amount = record.amountMsat;
  if (part.paymentSecret !== record.paymentSecret) return 'wrong or missing payment_secret';
  if (part.totalMsat === undefined) return 'no total_msat in the onion';
  if (part.totalMsat < amount) return `total_msat ${part.totalMsat} is below the invoice amount ${amount}`;
  if (part.totalMsat > amount * 2n) return `total_msat ${part.totalMsat} is more than twice the invoice amount ${amount}`;
  return undefined;
}

/** Rule 2: why a part is not acceptable (our own checks, after lightningd's), or undefined. Reasons go to the log only. */
export function partProblem(record: RelayRecord, held: readonly IncomingPart[], part: IncomingPart): string | undefined {
  const amount = record.amountMsat;
  const dataProblem = paymentDataProblem(record, part);
  if (dataProblem !== undefined) return dataProblem;
  const first = held[0];
  if (first && first.totalMsat !== part.totalMsat) return `total_msat ${part.totalMsat} differs from the set's ${first.totalMsat}`;
  if (part.cltvExpiry - part.height < record.minFinalCltv) {
    return `cltv_expiry ${part.cltvExpiry} is only ${part.cltvExpiry - part.height} blocks away, below min_final_cltv ${record.minFinalCltv}`;
  }
  const sum = sumMsat(held.map((p) => p.amountMsat)) + part.amountMsat;
  if (sum > amount * 2n) return `the parts would add up to ${sum}, more than twice the invoice amount`;
  return undefined;
}

export function onHtlc(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
  const { record } = relay;
  const key = partKey(part);
  // The same HTLC again (a second call for a part we already hold): one more waiter, same answer.
  if ([...relay.held, ...relay.strays].some((p) => partKey(p) === key)) return { relay, effects: [{ type: 'hold', part: key }] };
  switch (record.state) {
    case 'settled':
      return onSettledPart(relay, part, ctx);
    case 'open':
      return gather(relay, part, ctx);
    case 'gathered':
    case 'paying':
      return onReplayedPart(relay, part, ctx);
    case 'failed':
    case 'expired':
      return { relay, effects: failUnknown(part, `relay is ${record.state}`, ctx) };
    default:
      return assertNever(record.state, 'relay state');
  }
}

/** Rules 2–4: validate, hold, and when the set is complete persist "gathered" before anything else. */
function gather(relay0: Relay, part: IncomingPart, ctx: Ctx): Step {
  const { record } = relay0;
  const key = partKey(part);
  if (relay0.held.length === 0 && ctx.now >= record.expiresAt) return { relay: relay0, effects: failUnknown(part, 'our invoice has expired', ctx) };
  const problem = lightningdRefusal(part, ctx.config.cltvFinal)?.reason ?? partProblem(record, relay0.held, part);
  if (problem) return { relay: relay0, effects: failUnknown(part, problem, ctx) };

  let relay: Relay = { ...relay0, held: [...relay0.held, part] };
  const effects: Effect[] = [{ type: 'hold', part: key }];
  if (relay.held.length === 1) {
    const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
    relay = t.relay;
    effects.push(t.effect);
  }
  const sum = sumMsat(relay.held.map((p) => p.amountMsat));
  const total = relay.held[0]?.totalMsat ?? record.amountMsat;
  if (sum < total) {
    effects.push({ type: 'log', level: 'debug', message: `holding ${relay.held.length} part(s): ${formatAmount(sum)} of ${formatAmount(total)}` });
    return { relay, effects };
  }
  const gathered: RelayRecord = {
    ...record,
    state: 'gathered',
    round: record.round + 1,
    parts: relay.held.map(toPart),
    earliestExpiry: Math.min(...relay.held.map((p) => p.cltvExpiry)),
    gatheredAt: ctx.now,
    updatedAt: ctx.now,
  };
  delete gathered.lastError;
  const cancelled = cancelTimers(relay, 'mpp');
  effects.push(...cancelled.effects, { type: 'log', level: 'info', message: `gathered ${relay.held.length} part(s), ${formatAmount(sum)}: checking outgoing payments` });
  // The listsendpays check is a read: it may start before "gathered" is written. Its
  // answer is an event, handled only after this step's effects, so after the write.
  const nextLayer = layerName(gathered, `g${gathered.round}`, ctx);
  const checked = query({ ...cancelled.relay, record: gathered, lastOutgoing: undefined, failLook: 'none', nextLayer }, effects);
  return { relay: checked.relay, effects: [...checked.effects, { type: 'prepare_layer', layer: nextLayer }, { type: 'persist', record: gathered }] };
}

function toPart(p: IncomingPart): Part {
  const part: Part = { scid: p.scid, id: p.id, amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry };
  if (p.channelId) part.channelId = p.channelId;
  if (p.peerId) part.peerId = p.peerId;
  return part;
}

/** Could an outgoing part still succeed (or have succeeded)? Unknown counts as yes. */
function mayStillSucceed(relay: Relay): boolean {
  const o = relay.lastOutgoing;
  return relay.payInFlight || o === undefined || o.kind === 'pending' || o.kind === 'complete';
}

/**
 * Rule 9: after a restart lightningd replays held HTLCs; they skip gathering.
 * A part that is not in the recorded set but carries our secret is held while
 * the outgoing payment may still succeed; anything else is refused (rule 10).
 */
function onReplayedPart(relay0: Relay, part: IncomingPart, ctx: Ctx): Step {
  const { record } = relay0;
  const key = partKey(part);
  // A replay is an HTLC we gathered, so it carries our payment secret and the onion we
  // accepted; nothing else can take a recorded part's place.
  if (part.paymentSecret !== record.paymentSecret || onionRefusal(part)) return onStray(relay0, part, ctx);
  const candidates = [...relay0.held, part];
  const pairing = pairParts(record.parts, candidates);
  const index = pairing.indexOf(candidates.length - 1);
  if (index < 0) return onStray(relay0, part, ctx);
  // An earlier look-alike that held this place only loosely (another channel we could
  // not tell apart) gives it up to the exact replay and waits as a stray.
  const paired = new Set(pairing.filter((h) => h >= 0));
  const demoted = candidates.filter((_, j) => !paired.has(j));
  const effects: Effect[] = [{ type: 'hold', part: key }];
  let relay: Relay = {
    ...relay0,
    held: candidates.filter((_, j) => paired.has(j)),
    strays: [...relay0.strays, ...demoted],
    record: learnIdentity(record, index, part, ctx),
  };
  if (relay.record !== record) effects.push({ type: 'checkpoint' });
  if (relay.held.length === 1 && !relay.replayWaitOver && !relay.timers.includes('mpp')) {
    // Bound the wait for the other replays; see onMppTimeout.
    const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
    relay = t.relay;
    effects.push(t.effect);
  }
  const outgoing = relay.lastOutgoing;
  if (outgoing?.kind === 'complete') return settle(relay, outgoing.preimage, outgoing.sentMsat, ctx, effects);
  if (relay.queryInFlight || relay.payInFlight) return { relay, effects };
  // Ask once on the first replay; ask again when the last missing part is back and nothing is paid.
  const readyToPay = covered(relay) && (outgoing?.kind === 'none' || outgoing?.kind === 'failed');
  if (outgoing === undefined || readyToPay) return query(relay, effects);
  return { relay, effects };
}

function onStray(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
  const problem = lightningdRefusal(part, ctx.config.cltvFinal)?.reason ?? paymentDataProblem(relay.record, part);
  if (problem) return { relay, effects: failUnknown(part, problem, ctx) };
  if (!mayStillSucceed(relay)) return { relay, effects: failUnknown(part, 'the set for this hash is already complete', ctx) };
  // Held only while it has room: a stray is let go a safety margin before its expiry (onBlock).
  if (part.cltvExpiry - ctx.height <= relay.record.safetyMargin) return { relay, effects: failUnknown(part, 'not a part of the set, and close to its expiry', ctx) };
  return {
    relay: { ...relay, strays: [...relay.strays, part] },
    effects: [
      { type: 'hold', part: partKey(part) },
      { type: 'log', level: 'warn', message: `part ${partKey(part)} carries our payment secret but is not in the recorded set: holding it until the outgoing payment is over` },
    ],
  };
}
