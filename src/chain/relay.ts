/**
 * The relay state machine: step(relay, event, ctx) -> { relay, effects }.
 *
 * Pure and synchronous. The runner (src/relay/) feeds it events from lightningd
 * (htlc_accepted calls, xpay results, listsendpays answers, blocks, timers) and
 * executes the effects in order; a `persist` completes before anything after it.
 * The numbered rules are DESIGN.md's; each has a test in test/unit/relay.test.ts.
 */
import { formatAmount, msat, sumMsat, type Msat } from './amount.js';
import { outgoingMaxDelay } from './budget.js';
import { mppTimeout, temporaryNodeFailure, unknownPaymentDetails } from './failure.js';
import { preimageMatches, type PaymentHash, type PaymentSecret, type Preimage } from './ids.js';
import { partKey, type AnyRecord, type Attempt, type Part, type RelayRecord } from './record.js';
import { assertNever } from '../errors.js';

export interface RelayConfig {
  /** How long an incomplete multi-part set is held before mpp_timeout (rule 3). */
  mppTimeoutMs: number;
  /** First delay before asking listsendpays again while an outgoing part is pending. */
  requeryMs: number;
  /** Longest delay between such queries. */
  requeryMaxMs: number;
  /** Upper bound of xpay's retry_for. */
  retryForSeconds: number;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  mppTimeoutMs: 60_000,
  requeryMs: 1_000,
  // Also asked again at once on sendpay_success/sendpay_failure notifications.
  requeryMaxMs: 10_000,
  retryForSeconds: 60,
};

/** An incoming final-hop HTLC as the htlc_accepted hook describes it. */
export interface IncomingPart extends Part {
  /** Block height when lightningd called the hook (cltv_expiry - cltv_expiry_relative). */
  height: number;
  paymentSecret: PaymentSecret | undefined;
  totalMsat: Msat | undefined;
  forwardMsat: Msat | undefined;
  outgoingCltv: number | undefined;
}

/** What listsendpays says about our outgoing parts for the hash (rule 5). */
export interface OutgoingPart {
  status: 'pending' | 'complete' | 'failed';
  preimage: Preimage | undefined;
  amountSentMsat: Msat;
}

export type PayResult =
  | { ok: true; preimage: Preimage; amountSentMsat: Msat }
  /** `definite`: xpay says the payment failed. Otherwise we do not know (still in progress, already paid, connection lost). */
  | { ok: false; definite: boolean; message: string };

export type RelayEvent =
  | { type: 'htlc'; part: IncomingPart }
  | { type: 'mpp_timeout' }
  | { type: 'pay_result'; result: PayResult }
  | { type: 'outgoing_status'; parts: OutgoingPart[] }
  | { type: 'block'; height: number }
  | { type: 'requery' }
  /** The plugin (re)started and found this record; `guardClaims`: parts rdv-guard resolved meanwhile. */
  | { type: 'startup'; guardClaims: string[] }
  /** A persist effect failed; the effects after it were not run. */
  | { type: 'persist_failed'; error: string; skipped: Effect[] };

export type TimerName = 'mpp' | 'requery';

export type Effect =
  | { type: 'hold'; part: string }
  | { type: 'resolve'; part: string; preimage: Preimage }
  | { type: 'fail'; part: string; failureMessage: string; reason: string }
  | { type: 'persist'; record: RelayRecord }
  /** Write the record soon, off the critical path: nothing that follows depends on it. */
  | { type: 'checkpoint' }
  | { type: 'pay'; bolt11: string; maxfeeMsat: Msat; maxdelay: number; retryForSeconds: number }
  | { type: 'query_outgoing'; paymentHash: PaymentHash }
  | { type: 'start_timer'; timer: TimerName; ms: number }
  | { type: 'cancel_timer'; timer: TimerName }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export interface Relay {
  /** Durable: what the datastore holds (or is about to, after the pending persist). */
  record: RelayRecord;
  /** Volatile: parts whose htlc_accepted call waits for our answer. */
  held: IncomingPart[];
  /** Volatile: an xpay call of ours is running. */
  payInFlight: boolean;
  /** Volatile: a listsendpays query is running. */
  queryInFlight: boolean;
  /** Volatile: the last outgoing summary, if any. */
  lastOutgoing: OutgoingSummary | undefined;
  /** Volatile: consecutive requeries, for backoff. */
  requeries: number;
}

export interface Ctx {
  /** Unix seconds. */
  now: number;
  height: number;
  config: RelayConfig;
}

export type OutgoingSummary =
  | { kind: 'none' }
  | { kind: 'pending' }
  | { kind: 'failed' }
  | { kind: 'complete'; preimage: Preimage; sentMsat: Msat };

export function newRelay(record: RelayRecord): Relay {
  return { record, held: [], payInFlight: false, queryInFlight: false, lastOutgoing: undefined, requeries: 0 };
}

/**
 * Rule 1: is an htlc_accepted call ours? Only final-hop HTLCs (no next hop) whose hash
 * has a relay record we are still working on. A settled record is ours too, so a
 * replay is resolved again (rule 10). Everything else is `continue`d at once.
 */
export function isOurs(isFinalHop: boolean, record: AnyRecord | undefined): record is RelayRecord {
  if (!isFinalHop || record === undefined || record.role !== 'relay') return false;
  return ['open', 'gathered', 'paying', 'settled'].includes(record.state);
}

/** Rule 5: summarise listsendpays per part (not listpays' aggregate status). */
export function summariseOutgoing(parts: OutgoingPart[], hash: PaymentHash): OutgoingSummary {
  const complete = parts.filter((p) => p.status === 'complete');
  const withPreimage = complete.find((p) => p.preimage !== undefined && preimageMatches(p.preimage, hash));
  if (withPreimage?.preimage) {
    return { kind: 'complete', preimage: withPreimage.preimage, sentMsat: sumMsat(complete.map((p) => p.amountSentMsat)) };
  }
  if (parts.some((p) => p.status === 'pending' || p.status === 'complete')) return { kind: 'pending' };
  if (parts.length > 0) return { kind: 'failed' };
  return { kind: 'none' };
}

type Step = { relay: Relay; effects: Effect[] };

export function step(relay: Relay, event: RelayEvent, ctx: Ctx): Step {
  switch (event.type) {
    case 'htlc':
      return onHtlc(relay, event.part, ctx);
    case 'mpp_timeout':
      return onMppTimeout(relay, ctx);
    case 'pay_result':
      return onPayResult(relay, event.result, ctx);
    case 'outgoing_status':
      return onOutgoing(relay, summariseOutgoing(event.parts, relay.record.paymentHash), ctx);
    case 'block':
      return onBlock(relay, event.height, ctx);
    case 'requery':
      return query({ ...relay }, []);
    case 'startup':
      return onStartup(relay, event.guardClaims, ctx);
    case 'persist_failed':
      return onPersistFailed(relay, event.error, event.skipped, ctx);
    default:
      return assertNever(event, 'relay event');
  }
}

/** Rule 2: why a part is not acceptable, or undefined. Reasons go to the log only. */
export function partProblem(record: RelayRecord, held: readonly IncomingPart[], part: IncomingPart): string | undefined {
  const amount = record.amountMsat;
  if (part.paymentSecret !== record.paymentSecret) return 'wrong or missing payment_secret';
  if (part.totalMsat === undefined) return 'no total_msat in the onion';
  if (part.totalMsat < amount) return `total_msat ${part.totalMsat} is below the invoice amount ${amount}`;
  if (part.totalMsat > amount * 2n) return `total_msat ${part.totalMsat} is more than twice the invoice amount ${amount}`;
  const first = held[0];
  if (first && first.totalMsat !== part.totalMsat) return `total_msat ${part.totalMsat} differs from the set's ${first.totalMsat}`;
  if (part.outgoingCltv !== undefined && part.outgoingCltv > part.cltvExpiry) {
    return `outgoing_cltv_value ${part.outgoingCltv} is above cltv_expiry ${part.cltvExpiry}`;
  }
  if (part.forwardMsat !== undefined && part.forwardMsat > part.amountMsat) {
    return `forward amount ${part.forwardMsat} is above the HTLC amount ${part.amountMsat}`;
  }
  if (part.cltvExpiry - part.height < record.minFinalCltv) {
    return `cltv_expiry ${part.cltvExpiry} is only ${part.cltvExpiry - part.height} blocks away, below min_final_cltv ${record.minFinalCltv}`;
  }
  const sum = sumMsat(held.map((p) => p.amountMsat)) + part.amountMsat;
  if (sum > amount * 2n) return `the parts would add up to ${sum}, more than twice the invoice amount`;
  return undefined;
}

function failUnknown(part: IncomingPart, reason: string): Effect[] {
  return [
    { type: 'fail', part: partKey(part), failureMessage: unknownPaymentDetails(part.amountMsat, part.height), reason },
    { type: 'log', level: 'debug', message: `failed part ${partKey(part)}: ${reason}` },
  ];
}

function onHtlc(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
  const { record } = relay;
  switch (record.state) {
    case 'settled':
      // Rule 10: a settled hash is resolved again with the stored preimage.
      if (!record.preimage) return { relay, effects: failUnknown(part, 'settled without a preimage') };
      return claimLate(relay, part, record.preimage, ctx);
    case 'open':
      return gather(relay, part, ctx);
    case 'gathered':
    case 'paying':
      return onReplayedPart(relay, part, ctx);
    case 'failed':
    case 'expired':
      return { relay, effects: failUnknown(part, `relay is ${record.state}`) };
    default:
      return assertNever(record.state, 'relay state');
  }
}

/** Rules 2–4: validate, hold, and when the set is complete persist "gathered" before anything else. */
function gather(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
  const { record } = relay;
  const key = partKey(part);
  if (relay.held.some((p) => partKey(p) === key)) return { relay, effects: [{ type: 'hold', part: key }] };
  if (relay.held.length === 0 && ctx.now >= record.expiresAt) {
    return { relay, effects: failUnknown(part, 'our invoice has expired') };
  }
  const problem = partProblem(record, relay.held, part);
  if (problem) return { relay, effects: failUnknown(part, problem) };

  const held = [...relay.held, part];
  const effects: Effect[] = [{ type: 'hold', part: key }];
  if (held.length === 1) effects.push({ type: 'start_timer', timer: 'mpp', ms: ctx.config.mppTimeoutMs });
  const sum = sumMsat(held.map((p) => p.amountMsat));
  const total = held[0]?.totalMsat ?? record.amountMsat;
  if (sum < total) {
    effects.push({ type: 'log', level: 'debug', message: `holding ${held.length} part(s): ${formatAmount(sum)} of ${formatAmount(total)}` });
    return { relay: { ...relay, held }, effects };
  }
  const gathered: RelayRecord = {
    ...record,
    state: 'gathered',
    round: record.round + 1,
    parts: held.map(({ scid, id, amountMsat, cltvExpiry }) => ({ scid, id, amountMsat, cltvExpiry })),
    earliestExpiry: Math.min(...held.map((p) => p.cltvExpiry)),
    gatheredAt: ctx.now,
    updatedAt: ctx.now,
  };
  delete gathered.lastError;
  effects.push(
    { type: 'cancel_timer', timer: 'mpp' },
    { type: 'log', level: 'info', message: `gathered ${held.length} part(s), ${formatAmount(sum)}: checking outgoing payments` },
  );
  // The listsendpays check is a read: it may start before "gathered" is written. Its
  // answer is an event, handled only after this step's effects, so after the write.
  const checked = query({ ...relay, record: gathered, held, lastOutgoing: undefined }, effects);
  return { relay: checked.relay, effects: [...checked.effects, { type: 'persist', record: gathered }] };
}

/** Rule 9: after a restart lightningd replays held HTLCs; they skip gathering. Rule 10: others are refused. */
function onReplayedPart(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
  const key = partKey(part);
  if (!relay.record.parts.some((p) => partKey(p) === key)) {
    return { relay, effects: failUnknown(part, 'the set for this hash is already complete') };
  }
  if (relay.held.some((p) => partKey(p) === key)) return { relay, effects: [{ type: 'hold', part: key }] };
  const next = { ...relay, held: [...relay.held, part] };
  const effects: Effect[] = [{ type: 'hold', part: key }];
  if (next.held.length === 1) {
    // Bound the wait for the other replays; see onMppTimeout.
    effects.push({ type: 'start_timer', timer: 'mpp', ms: ctx.config.mppTimeoutMs });
  }
  const outgoing = next.lastOutgoing;
  if (outgoing?.kind === 'complete') return settle(next, outgoing.preimage, outgoing.sentMsat, ctx, effects);
  if (next.queryInFlight || next.payInFlight) return { relay: next, effects };
  // Ask once on the first replay; ask again when the last missing part is back and nothing is paid.
  const readyToPay = covered(next) && (outgoing?.kind === 'none' || outgoing?.kind === 'failed');
  if (outgoing === undefined || readyToPay) return query(next, effects);
  return { relay: next, effects };
}

/** Every part of the gathered set is held again (after a restart). */
function covered(relay: Relay): boolean {
  return relay.record.parts.every((p) => relay.held.some((h) => partKey(h) === partKey(p)));
}

function query(relay: Relay, effects: Effect[]): Step {
  if (relay.queryInFlight) return { relay, effects };
  return {
    relay: { ...relay, queryInFlight: true },
    effects: [...effects, { type: 'cancel_timer', timer: 'requery' }, { type: 'query_outgoing', paymentHash: relay.record.paymentHash }],
  };
}

function onStartup(relay0: Relay, guardClaims: string[], ctx: Ctx): Step {
  const claimed = [...new Set([...(relay0.record.claimed ?? []), ...guardClaims])];
  const relay = guardClaims.length > 0 ? { ...relay0, record: { ...relay0.record, claimed } } : relay0;
  const { state } = relay.record;
  if (state !== 'gathered' && state !== 'paying') return { relay, effects: [] };
  return query(relay, [
    { type: 'log', level: 'info', message: `found ${state} relay at startup: checking outgoing payments` },
    // If lightningd replays none of its parts in time, they are gone: see onMppTimeout.
    { type: 'start_timer', timer: 'mpp', ms: ctx.config.mppTimeoutMs },
  ]);
}

/** Rule 5: decide from the outgoing parts. */
function onOutgoing(relay0: Relay, outgoing: OutgoingSummary, ctx: Ctx): Step {
  const relay = { ...relay0, queryInFlight: false, lastOutgoing: outgoing };
  const { state } = relay.record;
  if (state !== 'gathered' && state !== 'paying') return { relay, effects: [] };
  switch (outgoing.kind) {
    case 'complete':
      return settle(relay, outgoing.preimage, outgoing.sentMsat, ctx, []);
    case 'pending':
      // Rule 7: an outgoing part may still succeed: never fail back now.
      return relay.payInFlight ? { relay, effects: [] } : requeryLater(relay, ctx, 'outgoing payment pending');
    case 'failed':
    case 'none': {
      if (relay.payInFlight) return { relay, effects: [] }; // xpay is still working on it
      const last = currentAttempt(relay.record);
      // xpay said it failed and nothing outgoing can still succeed: fail back.
      if (last?.outcome === 'failed') return failBack(relay, `downstream payment failed: ${last.error ?? 'unknown error'}`, ctx);
      // Never paid, or the attempt was cut short by a restart before xpay answered: pay.
      return payIfPossible(relay, ctx);
    }
    default:
      return assertNever(outgoing, 'outgoing summary');
  }
}

function requeryLater(relay: Relay, ctx: Ctx, why: string): Step {
  const ms = Math.min(ctx.config.requeryMs * 2 ** Math.min(relay.requeries, 10), ctx.config.requeryMaxMs);
  return {
    relay: { ...relay, requeries: relay.requeries + 1 },
    effects: [
      { type: 'log', level: relay.requeries === 0 ? 'info' : 'debug', message: `${why}: asking again in ${ms} ms` },
      { type: 'start_timer', timer: 'requery', ms },
    ],
  };
}

/** Rule 6: pay with xpay within the fee budget and a maxdelay that keeps the safety margin. */
function payIfPossible(relay: Relay, ctx: Ctx): Step {
  const { record } = relay;
  if (!covered(relay)) {
    // Never pay for parts we do not hold: wait for the remaining replays (bounded by the mpp timer).
    return { relay, effects: [{ type: 'log', level: 'info', message: `holding ${relay.held.length} of ${record.parts.length} parts: waiting for the rest before paying` }] };
  }
  const earliest = record.earliestExpiry ?? Math.min(...record.parts.map((p) => p.cltvExpiry));
  const maxdelay = outgoingMaxDelay(earliest, ctx.height, record.safetyMargin);
  if (maxdelay < record.downstreamMinFinalCltv) {
    return failBack(
      relay,
      `only ${earliest - ctx.height} blocks left before our incoming HTLCs expire: not enough for the safety margin (${record.safetyMargin}) and the downstream min_final_cltv (${record.downstreamMinFinalCltv})`,
      ctx,
    );
  }
  const spare = maxdelay - record.downstreamMinFinalCltv;
  // Bounded by the blocks left, counting a conservative 30 s a block.
  const retryForSeconds = Math.max(10, Math.min(ctx.config.retryForSeconds, spare * 30));
  const attempt: Attempt = { round: record.round, startedAt: ctx.now, maxdelay, maxfeeMsat: record.feeBudgetMsat };
  const paying: RelayRecord = { ...record, state: 'paying', attempts: [...record.attempts, attempt], updatedAt: ctx.now };
  return {
    relay: { ...relay, record: paying, payInFlight: true, requeries: 0 },
    effects: [
      { type: 'cancel_timer', timer: 'mpp' },
      {
        type: 'log',
        level: 'info',
        message: `paying ${formatAmount(record.downstreamAmountMsat)} downstream (attempt ${paying.attempts.length}, maxfee ${formatAmount(record.feeBudgetMsat)}, maxdelay ${maxdelay})`,
      },
      { type: 'pay', bolt11: record.downstreamBolt11, maxfeeMsat: record.feeBudgetMsat, maxdelay, retryForSeconds },
      // Written shortly after xpay starts, off the critical path (a write now would
      // sit in lightningd's loop next to xpay's work). Crash safety does not need
      // it: "gathered" is durable, and after a restart listsendpays tells whether a
      // payment is pending, complete or failed (rule 5); an attempt lost here is
      // only paid again when nothing of it reached the network.
      { type: 'checkpoint' },
    ],
  };
}

/** The last attempt of the current gathering round: earlier rounds' failures do not count. */
function currentAttempt(record: RelayRecord): Attempt | undefined {
  const last = record.attempts.at(-1);
  return last?.round === record.round ? last : undefined;
}

function finishAttempt(record: RelayRecord, patch: Partial<Attempt>, now: number): RelayRecord {
  const attempts = [...record.attempts];
  const last = attempts.at(-1);
  if (last && last.outcome === undefined) attempts[attempts.length - 1] = { ...last, ...patch, finishedAt: now };
  return { ...record, attempts };
}

function onPayResult(relay0: Relay, result: PayResult, ctx: Ctx): Step {
  const relay = { ...relay0, payInFlight: false };
  if (relay.record.state !== 'paying') return { relay, effects: [] };
  if (result.ok) {
    if (preimageMatches(result.preimage, relay.record.paymentHash)) {
      return settle(relay, result.preimage, result.amountSentMsat, ctx, []);
    }
    return query(relay, [{ type: 'log', level: 'error', message: 'xpay returned a preimage that does not match the payment hash: checking listsendpays' }]);
  }
  if (!result.definite) {
    // Rule 7: "still in progress", "already paid", a lost connection: not a failure.
    return query(relay, [{ type: 'log', level: 'info', message: `xpay did not finish (${result.message}): checking outgoing parts` }]);
  }
  // Rule 7 again: confirm with listsendpays that nothing may still succeed before failing back.
  const record = finishAttempt(relay.record, { outcome: 'failed', error: result.message }, ctx.now);
  return query({ ...relay, record }, [{ type: 'log', level: 'info', message: `xpay failed: ${result.message}` }]);
}

/** What the claimed parts of a set add up to: what the relay really received. */
function receivedOf(parts: readonly Part[], claimed: readonly string[]): Msat {
  return sumMsat(parts.filter((p) => claimed.includes(partKey(p))).map((p) => p.amountMsat));
}

/**
 * A part of a settled relay arrives again (a replay after a restart, or a part
 * still held when the payment completed): resolve it, and if it was not counted
 * yet, count it as received.
 */
function claimLate(relay: Relay, part: IncomingPart, preimage: Preimage, ctx: Ctx): Step {
  const key = partKey(part);
  const resolve: Effect = { type: 'resolve', part: key, preimage };
  const { record } = relay;
  const claimed = record.claimed ?? [];
  if (claimed.includes(key) || !record.parts.some((p) => partKey(p) === key)) return { relay, effects: [resolve] };
  const nowClaimed = [...claimed, key];
  const received = receivedOf(record.parts, nowClaimed);
  const updated: RelayRecord = { ...record, claimed: nowClaimed, receivedMsat: received, earnedMsat: msat(received - (record.sentMsat ?? 0n)), updatedAt: ctx.now };
  if (nowClaimed.length === record.parts.length) delete updated.lastError;
  return { relay: { ...relay, record: updated }, effects: [resolve, { type: 'checkpoint' }] };
}

/** Rule 8: resolve every held part with the preimage, then record the outcome. */
function settle(relay: Relay, preimage: Preimage, sentMsat: Msat, ctx: Ctx, effects: Effect[]): Step {
  // Received is what was really claimed: parts held now, and any rdv-guard resolved.
  // A part not held now (e.g. failed by lightningd when rdv died without rdv-guard)
  // is not received; if lightningd replays it later, claimLate counts it.
  const claimed = [...new Set([...(relay.record.claimed ?? []), ...relay.held.map(partKey)])];
  const received = receivedOf(relay.record.parts, claimed);
  const missing = relay.record.parts.length - claimed.length;
  const record: RelayRecord = {
    ...finishAttempt(relay.record, { outcome: 'complete', sentMsat }, ctx.now),
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
  // Counted as not received. If lightningd replays one, claimLate counts it. (If rdv
  // resolved them and lightningd stopped before the record was written, they were
  // received after all: lightningd does not say which, so the message says both.)
  if (missing > 0) {
    record.lastError = `${missing} of ${relay.record.parts.length} incoming part(s) were not held when the payment onward completed, so they count as not received: lightningd failed them (rdv stopped without rdv-guard), or rdv had resolved them just before lightningd stopped`;
  }
  return {
    relay: { ...relay, record, held: [], requeries: 0 },
    effects: [
      ...effects,
      { type: 'cancel_timer', timer: 'mpp' },
      { type: 'cancel_timer', timer: 'requery' },
      // Resolve first: the preimage is already durable in lightningd (listsendpays of
      // our complete payment), so a crash before the record is written loses
      // nothing; a restart settles it from listsendpays. The write is bookkeeping,
      // made shortly after, when lightningd has settled the HTLCs.
      ...relay.held.map((p): Effect => ({ type: 'resolve', part: partKey(p), preimage })),
      { type: 'checkpoint' },
      missing > 0
        ? { type: 'log', level: 'error', message: `settled, but ${record.lastError ?? ''}: received ${formatAmount(received)}, paid ${formatAmount(sentMsat)}` }
        : { type: 'log', level: 'info', message: `settled: received ${formatAmount(received)}, paid ${formatAmount(sentMsat)}, earned ${formatAmount(record.earnedMsat ?? msat(0n))}` },
    ],
  };
}

/**
 * Rule 8: fail every held part with temporary_node_failure, after persisting. Only
 * called when no outgoing part may succeed (rule 7). While the invoice is unexpired
 * the record returns to `open` so the payer may retry.
 */
function failBack(relay: Relay, reason: string, ctx: Ctx): Step {
  const record: RelayRecord = {
    ...relay.record,
    state: ctx.now < relay.record.expiresAt ? 'open' : 'failed',
    parts: [],
    lastError: reason,
    updatedAt: ctx.now,
  };
  delete record.earliestExpiry;
  delete record.gatheredAt;
  return {
    relay: { ...relay, record, held: [], lastOutgoing: undefined, requeries: 0 },
    effects: [
      { type: 'cancel_timer', timer: 'mpp' },
      { type: 'cancel_timer', timer: 'requery' },
      { type: 'persist', record },
      ...relay.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: temporaryNodeFailure(), reason })),
      { type: 'log', level: 'warn', message: `failed back ${relay.held.length} part(s): ${reason}` },
    ],
  };
}

function onMppTimeout(relay: Relay, ctx: Ctx): Step {
  const { state } = relay.record;
  if (state === 'open') {
    // Rule 3: an incomplete set is failed with mpp_timeout.
    if (relay.held.length === 0) return { relay, effects: [] };
    const sum = sumMsat(relay.held.map((p) => p.amountMsat));
    return {
      relay: { ...relay, held: [] },
      effects: [
        ...relay.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: mppTimeout(), reason: 'mpp timeout' })),
        { type: 'log', level: 'info', message: `mpp timeout: only ${formatAmount(sum)} of ${formatAmount(relay.record.amountMsat)} arrived` },
      ],
    };
  }
  const nothingOut = relay.lastOutgoing?.kind === 'none' || relay.lastOutgoing?.kind === 'failed';
  if ((state === 'gathered' || state === 'paying') && !covered(relay) && nothingOut && !relay.payInFlight) {
    // After a restart some parts never came back and nothing was paid: release the rest.
    return failBack(relay, `only ${relay.held.length} of ${relay.record.parts.length} parts came back after a restart`, ctx);
  }
  return { relay, effects: [] };
}

function onBlock(relay: Relay, height: number, ctx: Ctx): Step {
  const { record } = relay;
  if (record.state === 'open' && relay.held.length === 0 && ctx.now >= record.expiresAt) {
    const expired: RelayRecord = { ...record, state: 'expired', updatedAt: ctx.now };
    return { relay: { ...relay, record: expired }, effects: [{ type: 'persist', record: expired }, { type: 'log', level: 'info', message: 'invoice expired' }] };
  }
  if ((record.state === 'gathered' || record.state === 'paying') && record.earliestExpiry !== undefined) {
    const left = record.earliestExpiry - height;
    if (left <= record.safetyMargin && relay.held.length > 0) {
      return { relay, effects: [{ type: 'log', level: 'warn', message: `incoming HTLCs expire in ${left} blocks and the outgoing payment is not resolved` }] };
    }
  }
  return { relay, effects: [] };
}

function onPersistFailed(relay: Relay, error: string, skipped: Effect[], ctx: Ctx): Step {
  const log: Effect = { type: 'log', level: 'error', message: `could not write the record: ${error}` };
  switch (relay.record.state) {
    case 'open':
    case 'failed':
      // A fail-back: the outgoing payment is over, so failing the parts is still right.
      return { relay, effects: [log, ...skipped.filter((e) => e.type === 'fail')] };
    case 'gathered': {
      // "gathered" could not be written, and nothing is paid before it is: release the parts.
      const reason = 'internal error before paying (could not write the record)';
      const record: RelayRecord = { ...relay.record, state: 'open', parts: [], lastError: reason, updatedAt: ctx.now };
      delete record.earliestExpiry;
      return {
        relay: { ...relay, record, held: [], payInFlight: false, queryInFlight: false, lastOutgoing: undefined },
        effects: [
          log,
          { type: 'cancel_timer', timer: 'mpp' },
          ...relay.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: temporaryNodeFailure(), reason })),
        ],
      };
    }
    case 'paying':
    case 'settled':
    case 'expired':
      // "paying" and "settled" are only written as checkpoints (retried by the runner,
      // never reported here); an "expired" write has nothing after it. Log only.
      return { relay, effects: [log] };
    default:
      return assertNever(relay.record.state, 'relay state');
  }
}
