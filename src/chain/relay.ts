/**
 * The relay state machine: step(relay, event, ctx) -> { relay, effects }.
 *
 * Pure and synchronous. The runner (src/relay/) feeds it events from lightningd
 * (htlc_accepted calls, xpay results, listsendpays answers, blocks, timers) and
 * executes the effects in order; a `persist` completes before anything after it.
 * The numbered rules are DESIGN.md's; each has a test in test/unit/relay.test.ts,
 * and test/unit/relay-model.test.ts checks the invariants over random histories.
 *
 * Two promises hold after every step (see `keepPromises`): a record in
 * `gathered`/`paying` always has something in flight or scheduled, and held
 * HTLCs in `open` always have the mpp timer running.
 */
import { formatAmount, msat, sumMsat, type Msat } from './amount.js';
import { outgoingMaxDelay, RETRY_BLOCKS } from './budget.js';
import { mppTimeout, temporaryNodeFailure } from './failure.js';
import { preimageMatches, type PaymentHash, type PaymentSecret, type Preimage } from './ids.js';
import { DEFAULT_CLTV_FINAL, lightningdRefusal, onionRefusal, unknownHashAnswer } from './localpay.js';
import { exactlySame, isClaimed, matchRecorded, pairParts, partKey, renamed } from './parts.js';
import type { AnyRecord, Attempt, Part, RelayRecord } from './record.js';
import { assertNever } from '../errors.js';

export interface RelayConfig {
  /** How long an incomplete multi-part set is held before mpp_timeout (rule 3); also how long replays are awaited after a restart. */
  mppTimeoutMs: number;
  /** First delay before asking listsendpays again while an outgoing part is pending. */
  requeryMs: number;
  /** Longest delay between such queries. */
  requeryMaxMs: number;
  /** Upper bound of xpay's retry_for. */
  retryForSeconds: number;
  /** After xpay reports a failure and listsendpays shows nothing pending, look again after this long before failing back. */
  failConfirmMs: number;
  /**
   * Blocks xpay may see found while it retries. Its attempts' expiry is
   * blockheight + 1 + maxdelay at each attempt, so maxdelay leaves room for 1 +
   * these; once that many blocks are found, rdv stops xpay routing new attempts.
   */
  retryBlocks: number;
  /** lightningd's cltv-final (its own check of final-hop HTLCs, before any invoice). */
  cltvFinal: number;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  mppTimeoutMs: 60_000,
  requeryMs: 1_000,
  // Also asked again at once on sendpay_success/sendpay_failure notifications.
  requeryMaxMs: 10_000,
  retryForSeconds: 60,
  failConfirmMs: 2_000,
  retryBlocks: RETRY_BLOCKS,
  cltvFinal: DEFAULT_CLTV_FINAL,
};

/** Blocks between our outgoing HTLCs' latest possible expiry and maxdelay: xpay's own +1 and the blocks it may see while retrying. */
export const blockAllowance = (config: RelayConfig): number => 1 + config.retryBlocks;

/** An incoming final-hop HTLC as the htlc_accepted hook describes it. */
export interface IncomingPart extends Part {
  /** Block height when lightningd called the hook (cltv_expiry - cltv_expiry_relative). */
  height: number;
  paymentSecret: PaymentSecret | undefined;
  totalMsat: Msat | undefined;
  forwardMsat: Msat | undefined;
  outgoingCltv: number | undefined;
  paymentMetadata: string | undefined;
}

/** What listsendpays says about our outgoing parts for the hash (rule 5). */
export interface OutgoingPart {
  status: 'pending' | 'complete' | 'failed';
  preimage: Preimage | undefined;
  amountSentMsat: Msat;
  /** listsendpays created_index: the order lightningd registered its parts in. */
  createdIndex?: number;
  /** A part lightningd lost in a restart (see markLostParts): shown pending, counted failed. */
  lost?: boolean;
}

/**
 * Parts lightningd lost in a crash. lightningd registers an outgoing part
 * (listsendpays: pending) before it commits the part's HTLC to the channel;
 * killed in between, it restarts with the part pending for ever, no HTLC for it
 * anywhere (the peer drops an uncommitted update_add_htlc), and refuses every
 * new payment of the hash ("still in progress"). Seen on CLN v26.06.6 (the
 * regtest soak, kill -9 just after injectpaymentonion).
 *
 * A pending part is lost when lightningd registered it before this rdv started
 * (`startIndex`: the sendpays created index then; rdv, an important plugin,
 * starts with lightningd, and only rdv pays its hashes) and lightningd had no
 * outgoing HTLC of the hash in any channel when asked BEFORE the listsendpays
 * that shows the part pending. (An older part whose HTLC was removed in between
 * shows complete or failed there; a part registered by this lightningd has its
 * HTLC before it is registered.) Lost parts are returned as failed and marked
 * `lost`; with any outgoing HTLC of the hash nothing is judged lost.
 */
export function markLostParts(parts: readonly OutgoingPart[], o: { startIndex: number; outgoingHtlc: boolean }): OutgoingPart[] {
  if (o.outgoingHtlc) return [...parts];
  return parts.map((p) => (p.status === 'pending' && p.createdIndex !== undefined && p.createdIndex <= o.startIndex ? { ...p, status: 'failed', lost: true } : p));
}

export type PayResult =
  | { ok: true; preimage: Preimage; amountSentMsat: Msat }
  /** `definite`: xpay says the payment failed. Otherwise we do not know (still in progress, already paid, connection lost). */
  | { ok: false; definite: boolean; message: string };

export type TimerName = 'mpp' | 'requery' | 'confirm';

export type RelayEvent =
  | { type: 'htlc'; part: IncomingPart }
  | { type: 'timer'; timer: TimerName }
  | { type: 'pay_result'; result: PayResult }
  | { type: 'outgoing_status'; parts: OutgoingPart[] }
  | { type: 'block'; height: number }
  /** lightningd says an outgoing part changed (sendpay_success/failure): look again if nothing is asked. */
  | { type: 'requery' }
  /** The plugin (re)started and found this record; `guardClaims`: parts rdv-guard resolved meanwhile. */
  | { type: 'startup'; guardClaims: string[] }
  /** A persist effect failed; the effects after it were not run. */
  | { type: 'persist_failed'; error: string; skipped: Effect[] }
  /** What lightningd's channel moves say was received for the hash (answer to check_claims). */
  | { type: 'claims'; credits: Array<{ channelId: string; amountMsat: Msat }> };

export type Effect =
  | { type: 'hold'; part: string }
  | { type: 'resolve'; part: string; preimage: Preimage }
  | { type: 'fail'; part: string; failureMessage: string; reason: string }
  | { type: 'persist'; record: RelayRecord }
  /** Write the record soon, off the critical path: nothing that follows depends on it. */
  | { type: 'checkpoint' }
  | { type: 'pay'; bolt11: string; maxfeeMsat: Msat; maxdelay: number; retryForSeconds: number; layer: string }
  /**
   * Let xpay start no new attempt: in the attempt's askrene layer, disable every
   * channel out of our node. Every retry of xpay asks getroutes with its layers,
   * finds no route and gives up (plugins/xpay/xpay.c getroutes_done_err); parts in
   * flight go on. (Removing the layer would stop it too, but askrene aborts, and
   * takes lightningd down, when a layer goes away during a getroutes that names it.)
   */
  | { type: 'close_route'; layer: string }
  /** Create the askrene layer the coming payment will use now, off the critical path (gathering waits on a write anyway). */
  | { type: 'prepare_layer'; layer: string }
  | { type: 'query_outgoing'; paymentHash: PaymentHash }
  /** Ask lightningd which incoming HTLCs of the hash it settled for us (listchannelmoves). */
  | { type: 'check_claims'; paymentHash: PaymentHash }
  | { type: 'start_timer'; timer: TimerName; ms: number }
  | { type: 'cancel_timer'; timer: TimerName }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export type OutgoingSummary =
  | { kind: 'none' }
  | { kind: 'pending' }
  /** `lost`: some of the parts are parts lightningd lost (markLostParts): it refuses any new payment of the hash. */
  | { kind: 'failed'; lost?: boolean }
  | { kind: 'complete'; preimage: Preimage; sentMsat: Msat };

export interface Relay {
  /** Durable: what the datastore holds (or is about to, after the pending persist). */
  record: RelayRecord;
  /** Volatile: parts whose htlc_accepted call waits for our answer (the set being gathered, or the recorded set coming back). */
  held: IncomingPart[];
  /**
   * Volatile: HTLCs with our hash and payment secret that are not in the recorded
   * set, held because an outgoing part may still succeed (never failed before the
   * outgoing payment is over, whatever the key).
   */
  strays: IncomingPart[];
  /** Volatile: an xpay call of ours is running. */
  payInFlight: boolean;
  /** Volatile: a listsendpays query is running. */
  queryInFlight: boolean;
  /** Volatile: the last outgoing summary, if any. */
  lastOutgoing: OutgoingSummary | undefined;
  /** Volatile: consecutive requeries, for backoff. */
  requeries: number;
  /** Volatile: timers this machine started and that have not fired or been cancelled. */
  timers: TimerName[];
  /** Volatile: after a restart, the wait for the recorded parts to be replayed is over. */
  replayWaitOver: boolean;
  /** Volatile: a fail-back waits for a second look (`waiting`), which is now due (`due`). */
  failLook: 'none' | 'waiting' | 'due';
  /** Volatile: the current attempt's route was closed (close_route sent). */
  routeClosed: boolean;
  /** Volatile: a layer prepared (prepare_layer) for the next payment, if any. */
  nextLayer: string | undefined;
}

export interface Ctx {
  /** Unix seconds. */
  now: number;
  height: number;
  config: RelayConfig;
}

export function newRelay(record: RelayRecord): Relay {
  return {
    record,
    held: [],
    strays: [],
    payInFlight: false,
    queryInFlight: false,
    lastOutgoing: undefined,
    requeries: 0,
    timers: [],
    replayWaitOver: false,
    failLook: 'none',
    routeClosed: false,
    nextLayer: undefined,
  };
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
  if (parts.some((p) => p.lost === true)) return { kind: 'failed', lost: true };
  if (parts.length > 0) return { kind: 'failed' };
  return { kind: 'none' };
}

type Step = { relay: Relay; effects: Effect[] };

export function step(relay: Relay, event: RelayEvent, ctx: Ctx): Step {
  return keepPromises(dispatch(relay, event, ctx), ctx);
}

function dispatch(relay: Relay, event: RelayEvent, ctx: Ctx): Step {
  switch (event.type) {
    case 'htlc':
      return onHtlc(relay, event.part, ctx);
    case 'timer':
      return onTimer({ ...relay, timers: relay.timers.filter((t) => t !== event.timer) }, event.timer);
    case 'pay_result':
      return onPayResult(relay, event.result, ctx);
    case 'outgoing_status':
      return onOutgoing(relay, summariseOutgoing(event.parts, relay.record.paymentHash), ctx);
    case 'block':
      return onBlock(relay, event.height, ctx);
    case 'requery':
      return active(relay) && !relay.payInFlight ? query(relay, []) : { relay, effects: [] };
    case 'startup':
      return onStartup(relay, event.guardClaims, ctx);
    case 'persist_failed':
      return onPersistFailed(relay, event.error, event.skipped, ctx);
    case 'claims':
      return onClaims(relay, event.credits, ctx);
    default:
      return assertNever(event, 'relay event');
  }
}

const active = (relay: Relay): boolean => relay.record.state === 'gathered' || relay.record.state === 'paying';

/**
 * Rule 11, for every step whatever it did: a gathered/paying record always has
 * something in flight or scheduled (else nothing would ever answer its held
 * HTLCs, and a payer's retry would be refused forever); held HTLCs of an open
 * record always have the mpp timer running. If a handler forgot, this arms the
 * timer and logs it loudly: it is a bug, but not one that may cost a channel.
 */
function keepPromises(s: Step, ctx: Ctx): Step {
  const { relay } = s;
  if (active(relay) && !relay.payInFlight && !relay.queryInFlight && relay.timers.length === 0) {
    return withTimer(s, 'requery', ctx.config.requeryMaxMs, `nothing in flight or scheduled for a ${relay.record.state} relay: asking again in ${ctx.config.requeryMaxMs} ms`);
  }
  if (relay.record.state === 'open' && relay.held.length > 0 && !relay.timers.includes('mpp')) {
    return withTimer(s, 'mpp', ctx.config.mppTimeoutMs, 'held parts without an mpp timer: starting it');
  }
  return s;
}

function withTimer(s: Step, timer: TimerName, ms: number, why: string): Step {
  return {
    relay: { ...s.relay, timers: [...s.relay.timers.filter((t) => t !== timer), timer] },
    effects: [...s.effects, { type: 'log', level: 'error', message: why }, { type: 'start_timer', timer, ms }],
  };
}

function startTimer(relay: Relay, timer: TimerName, ms: number): { relay: Relay; effect: Effect } {
  return { relay: { ...relay, timers: [...relay.timers.filter((t) => t !== timer), timer] }, effect: { type: 'start_timer', timer, ms } };
}

/** Cancel those of `names` that are running (the machine knows which: it started them). */
function cancelTimers(relay: Relay, ...names: TimerName[]): { relay: Relay; effects: Effect[] } {
  return {
    relay: { ...relay, timers: relay.timers.filter((t) => !names.includes(t)) },
    effects: names.filter((t) => relay.timers.includes(t)).map((timer): Effect => ({ type: 'cancel_timer', timer })),
  };
}

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

/** Fail a part exactly as lightningd fails an HTLC for a hash it has no invoice for (rule 2, rule 10). */
function failUnknown(part: IncomingPart, reason: string, ctx: Ctx): Effect[] {
  const answer = unknownHashAnswer(part, reason, ctx.config.cltvFinal);
  return [
    { type: 'fail', part: partKey(part), failureMessage: answer.failureMessage, reason: answer.reason },
    { type: 'log', level: 'debug', message: `failed part ${partKey(part)}: ${answer.reason}` },
  ];
}

function onHtlc(relay: Relay, part: IncomingPart, ctx: Ctx): Step {
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

/** A recorded part written without channel_id (rdv 0.1.0) learns it from its replay: migrate on read. */
function learnIdentity(record: RelayRecord, index: number, part: IncomingPart, ctx: Ctx): RelayRecord {
  const recorded = record.parts[index];
  // Only from a replay under the very scid recorded: a loose match may be a look-alike, and must not be pinned.
  if (!recorded || recorded.channelId || !part.channelId || recorded.scid !== part.scid) return record;
  const parts = [...record.parts];
  parts[index] = { ...recorded, channelId: part.channelId, ...(part.peerId ? { peerId: part.peerId } : {}) };
  return { ...record, parts, updatedAt: ctx.now };
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

/**
 * Does this part carry our invoice's secret and a sane total? (Not its CLTV
 * against the height now: a replay of an HTLC we took blocks ago would fail that.)
 */
/** Every part of the gathered set is held again (after a restart). */
function covered(relay: Relay): boolean {
  return pairParts(relay.record.parts, relay.held).every((h) => h >= 0);
}

function query(relay: Relay, effects: Effect[]): Step {
  if (relay.queryInFlight) return { relay, effects };
  const cancelled = cancelTimers(relay, 'requery');
  return {
    relay: { ...cancelled.relay, queryInFlight: true },
    effects: [...effects, ...cancelled.effects, { type: 'query_outgoing', paymentHash: relay.record.paymentHash }],
  };
}

/**
 * A finished relay a restart has nothing to do for (onStartup does nothing, no
 * block changes it): failed, expired, or settled with every part counted as
 * claimed. The runner keeps only a summary of these and loads one again if an
 * HTLC for its hash ever comes.
 */
export function isQuiet(record: RelayRecord): boolean {
  if (record.state === 'failed' || record.state === 'expired') return true;
  return record.state === 'settled' && record.parts.every((p) => isClaimed(p, record.claimed ?? []));
}

function onStartup(relay0: Relay, guardClaims: string[], ctx: Ctx): Step {
  const claimed = [...new Set([...(relay0.record.claimed ?? []), ...guardClaims])];
  const relay = guardClaims.length > 0 ? { ...relay0, record: { ...relay0.record, claimed } } : relay0;
  const { record } = relay;
  if (record.state === 'settled' && record.parts.some((p) => !isClaimed(p, record.claimed ?? []))) {
    // Settled with parts not counted as received: wait for replays, then ask lightningd's channel moves (onMppTimeout).
    const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
    return { relay: t.relay, effects: [t.effect] };
  }
  if (!active(relay)) return { relay, effects: [] };
  const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
  return query(t.relay, [
    { type: 'log', level: 'info', message: `found ${relay.record.state} relay at startup: checking outgoing payments` },
    // If lightningd replays none of its parts in time, they are gone: see onMppTimeout.
    t.effect,
  ]);
}

/** Rule 5: decide from the outgoing parts. */
function onOutgoing(relay0: Relay, outgoing: OutgoingSummary, ctx: Ctx): Step {
  const relay: Relay = { ...relay0, queryInFlight: false, lastOutgoing: outgoing };
  if (!active(relay)) return { relay, effects: [] };
  switch (outgoing.kind) {
    case 'complete':
      return settle(relay, outgoing.preimage, outgoing.sentMsat, ctx, []);
    case 'pending':
      // Rule 7: an outgoing part may still succeed: never fail back now.
      return relay.payInFlight ? { relay, effects: [] } : requeryLater({ ...relay, failLook: 'none' }, ctx, 'outgoing payment pending');
    case 'failed':
    case 'none': {
      if (relay.payInFlight) return { relay, effects: [] }; // xpay is still working on it
      // Rules 7 and 11: a lost part can never succeed, and while lightningd shows it
      // pending it refuses every new payment of the hash: waiting would hold the
      // incoming HTLCs to their expiry (a force close upstream). Fail back now.
      if (outgoing.kind === 'failed' && outgoing.lost === true) {
        const why = 'lightningd lost our payment onward in a restart (a part it shows pending has no HTLC in any channel) and refuses to pay this hash again';
        if (covered(relay) || relay.replayWaitOver) return failBack(relay, why, ctx);
        // Fail the set back whole, once lightningd has replayed it (as payIfPossible waits before paying).
        const effects: Effect[] = [{ type: 'log', level: 'info', message: `holding ${relay.held.length} of ${relay.record.parts.length} parts: waiting for the rest before failing back (${why})` }];
        if (relay.timers.includes('mpp')) return { relay, effects };
        const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
        return { relay: t.relay, effects: [...effects, t.effect] };
      }
      const last = currentAttempt(relay.record);
      // We closed xpay's route (blocks found while it retried): a new xpay, with a maxdelay
      // from today's height, may still make it; payIfPossible fails back when it cannot.
      if (last?.outcome === 'failed' && relay.routeClosed) return secondLook(relay, ctx, () => payIfPossible(relay, ctx));
      if (last?.outcome === 'failed') return secondLook(relay, ctx, () => failBack(relay, `downstream payment failed: ${last.error ?? 'unknown error'}`, ctx));
      // An attempt whose end we did not see (a lost connection, a restart): its xpay may
      // still be running inside lightningd (only rdv restarted) and inject an attempt, so
      // wait until it must have given up (retry_for and a margin), then look again.
      if (last && !relay.routeClosed && last.layer !== undefined && nearDeadline(relay.record, ctx)) {
        // Rule 11 cannot wait for that: blocks came faster than its retry_for runs out (a
        // chain catching up, rdv restarted again and again). Stop its new attempts by closing
        // its route, look once more (one may be in flight), then act as for a closed route.
        const s = secondLook({ ...relay, routeClosed: true, failLook: 'none' }, ctx, () => payIfPossible(relay, ctx));
        return {
          relay: s.relay,
          effects: [
            { type: 'close_route', layer: last.layer },
            { type: 'log', level: 'warn', message: 'incoming HTLCs near their deadline while an earlier xpay may still be running: closing its route, then looking once more' },
            ...s.effects,
          ],
        };
      }
      if (last && relay.routeClosed) return secondLook(relay, ctx, () => payIfPossible(relay, ctx));
      if (last) return secondLook(relay, ctx, () => payIfPossible(relay, ctx), last.startedAt + ctx.config.retryForSeconds + XPAY_SLACK_SECONDS);
      // Never paid this round: pay.
      return payIfPossible(relay, ctx);
    }
    default:
      return assertNever(outgoing, 'outgoing summary');
  }
}

/** The incoming HTLCs are as close to expiry as the second look lets them come (onBlock's test for 'due'). */
function nearDeadline(record: RelayRecord, ctx: Ctx): boolean {
  return record.earliestExpiry !== undefined && record.earliestExpiry - ctx.height <= record.safetyMargin + blockAllowance(ctx.config);
}

/**
 * Rules 5 and 7 when nothing outgoing is pending but an attempt of this round was
 * made: xpay may still inject an attempt it had routed before it answered (or
 * before its answer was lost), so one look at listsendpays is not enough. Look
 * again after failConfirmMs; act (fail back, or pay again) only if that look shows
 * nothing pending too.
 */
function secondLook(relay: Relay, ctx: Ctx, then: () => Step, notBefore?: number): Step {
  const waitMs = notBefore === undefined ? 0 : Math.max(0, (notBefore - ctx.now) * 1000);
  if (relay.failLook === 'due' && waitMs === 0) return then();
  if (relay.failLook === 'waiting' && relay.timers.includes('confirm')) return { relay, effects: [] };
  const ms = Math.max(ctx.config.failConfirmMs, waitMs);
  const t = startTimer({ ...relay, failLook: 'waiting' }, 'confirm', ms);
  return { relay: t.relay, effects: [t.effect, { type: 'log', level: 'debug', message: `nothing pending outgoing: looking again in ${ms} ms before acting` }] };
}

/** How long after retry_for an xpay may still be routing (getroutes, reserve) before it answers. */
const XPAY_SLACK_SECONDS = 15;

function requeryLater(relay: Relay, ctx: Ctx, why: string): Step {
  const ms = Math.min(ctx.config.requeryMs * 2 ** Math.min(relay.requeries, 10), ctx.config.requeryMaxMs);
  const t = startTimer({ ...relay, requeries: relay.requeries + 1 }, 'requery', ms);
  return { relay: t.relay, effects: [{ type: 'log', level: relay.requeries === 0 ? 'info' : 'debug', message: `${why}: asking again in ${ms} ms` }, t.effect] };
}

/** Rule 6: pay with xpay within the fee budget and a maxdelay that keeps the safety margin. */
function payIfPossible(relay: Relay, ctx: Ctx): Step {
  const { record } = relay;
  const earliest = record.earliestExpiry ?? Math.min(...record.parts.map((p) => p.cltvExpiry));
  const allowance = blockAllowance(ctx.config);
  const maxdelay = outgoingMaxDelay(earliest, ctx.height, record.safetyMargin + allowance);
  if (!covered(relay)) {
    // Never pay for parts we do not hold. Once the wait for replays is over, they
    // are gone; and once too few blocks are left to pay, waiting is pointless: release the rest.
    if (relay.replayWaitOver || maxdelay < record.downstreamMinFinalCltv) {
      return failBack(relay, `only ${relay.held.length} of ${record.parts.length} parts came back after a restart`, ctx);
    }
    const effects: Effect[] = [{ type: 'log', level: 'info', message: `holding ${relay.held.length} of ${record.parts.length} parts: waiting for the rest before paying` }];
    if (relay.timers.includes('mpp')) return { relay, effects };
    const t = startTimer(relay, 'mpp', ctx.config.mppTimeoutMs);
    return { relay: t.relay, effects: [...effects, t.effect] };
  }
  if (maxdelay < record.downstreamMinFinalCltv) {
    return failBack(
      relay,
      `only ${earliest - ctx.height} blocks left before our incoming HTLCs expire: not enough for the safety margin (${record.safetyMargin}), xpay's block allowance (${allowance}) and the downstream min_final_cltv (${record.downstreamMinFinalCltv})`,
      ctx,
    );
  }
  const spare = maxdelay - record.downstreamMinFinalCltv;
  // Bounded by the blocks left, counting a conservative 30 s a block.
  const retryForSeconds = Math.max(10, Math.min(ctx.config.retryForSeconds, spare * 30));
  const layer = relay.nextLayer ?? layerName(record, `a${record.attempts.length + 1}`, ctx);
  const attempt: Attempt = { round: record.round, startedAt: ctx.now, startHeight: ctx.height, layer, maxdelay, maxfeeMsat: record.feeBudgetMsat };
  const paying: RelayRecord = { ...record, state: 'paying', attempts: [...record.attempts, attempt], updatedAt: ctx.now };
  const cancelled = cancelTimers(relay, 'mpp', 'confirm');
  return {
    relay: { ...cancelled.relay, record: paying, payInFlight: true, requeries: 0, failLook: 'none', routeClosed: false, nextLayer: undefined },
    effects: [
      ...cancelled.effects,
      {
        type: 'log',
        level: 'info',
        message: `paying ${formatAmount(record.downstreamAmountMsat)} downstream (attempt ${paying.attempts.length}, maxfee ${formatAmount(record.feeBudgetMsat)}, maxdelay ${maxdelay})`,
      },
      { type: 'pay', bolt11: record.downstreamBolt11, maxfeeMsat: record.feeBudgetMsat, maxdelay, retryForSeconds, layer },
      // Written shortly after xpay starts, off the critical path (a write now would
      // sit in lightningd's loop next to xpay's work). Crash safety does not need
      // it: "gathered" is durable, and after a restart listsendpays tells whether a
      // payment is pending, complete or failed (rule 5); an attempt lost here is
      // only paid again when nothing of it reached the network.
      { type: 'checkpoint' },
    ],
  };
}

/** A fresh askrene layer name for a payment: ours (rdv-), the hash, what it is for, and the time (unique across restarts). */
function layerName(record: RelayRecord, what: string, ctx: Ctx): string {
  return `rdv-${record.paymentHash.slice(0, 16)}-${what}-${ctx.now}`;
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
  // Rule 7 again: confirm with listsendpays (twice, see secondLook) that nothing may still succeed before failing back.
  const record = finishAttempt(relay.record, { outcome: 'failed', error: result.message }, ctx.now);
  return query({ ...relay, record, failLook: 'none' }, [{ type: 'log', level: 'info', message: `xpay failed: ${result.message}` }]);
}

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
function onSettledPart(relay0: Relay, part: IncomingPart, ctx: Ctx): Step {
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
function settle(relay0: Relay, preimage: Preimage, sentMsat: Msat, ctx: Ctx, effects: Effect[]): Step {
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
function failBack(relay0: Relay, reason: string, ctx: Ctx): Step {
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

function onTimer(relay: Relay, timer: TimerName): Step {
  switch (timer) {
    case 'mpp':
      return onMppTimeout(relay);
    case 'requery':
      return active(relay) && !relay.payInFlight ? query(relay, []) : { relay, effects: [] };
    case 'confirm':
      if (!active(relay) || relay.failLook !== 'waiting') return { relay, effects: [] };
      return query({ ...relay, failLook: 'due' }, []);
    default:
      return assertNever(timer, 'timer');
  }
}

function notReceived(missing: number, of: number): string {
  return `${missing} of ${of} incoming part(s) were not held when the payment onward completed, so they count as not received: lightningd failed them (rdv stopped without rdv-guard), or rdv had resolved them just before lightningd stopped`;
}

/**
 * lightningd's channel moves for the hash: an "invoice" credit on a recorded part's
 * channel, of its amount, is that part, received. What is still unaccounted for is
 * then counted as not received, and said so.
 */
function onClaims(relay: Relay, credits: ReadonlyArray<{ channelId: string; amountMsat: Msat }>, ctx: Ctx): Step {
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

function onMppTimeout(relay: Relay): Step {
  const { state } = relay.record;
  if (state === 'settled') {
    // The wait for replays after a restart is over. A part that has not come back may
    // still have been received (rdv resolved it just before lightningd stopped, before
    // the record was written): ask lightningd's channel moves before saying it was not.
    const missing = relay.record.parts.filter((p) => !isClaimed(p, relay.record.claimed ?? [])).length;
    if (missing === 0) return { relay: { ...relay, replayWaitOver: true }, effects: [] };
    return { relay: { ...relay, replayWaitOver: true }, effects: [{ type: 'check_claims', paymentHash: relay.record.paymentHash }] };
  }
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
  if (!active(relay)) return { relay, effects: [] };
  // After a restart: the replays that have not come by now will not come.
  const over: Relay = { ...relay, replayWaitOver: true };
  if (covered(over)) return { relay: over, effects: [] };
  // The outgoing payment's end decides (payIfPossible or settle), on a fresh look:
  // the last one may be a minute old, and an xpay of an earlier rdv may have injected
  // an attempt since.
  const effects: Effect[] = [{ type: 'log', level: 'info', message: `${over.held.length} of ${over.record.parts.length} parts came back after a restart; the rest will not: looking at the outgoing payment again` }];
  return over.payInFlight ? { relay: over, effects } : query(over, effects);
}

/**
 * Blocks drive three things: an unused open relay expires; an active relay looks
 * at its outgoing payment again (so a payment that ended is noticed before the
 * held HTLCs run out of blocks); and once xpay has seen as many blocks as its
 * maxdelay left room for, rdv stops it routing new attempts (rule 6's margin).
 * Strays are let go before they expire.
 */
function onBlock(relay0: Relay, height: number, ctx: Ctx): Step {
  const { record } = relay0;
  if (record.state === 'open' && relay0.held.length === 0 && ctx.now >= record.expiresAt) {
    const expired: RelayRecord = { ...record, state: 'expired', updatedAt: ctx.now };
    return { relay: { ...relay0, record: expired }, effects: [{ type: 'persist', record: expired }, { type: 'log', level: 'info', message: 'invoice expired' }] };
  }
  if (record.state === 'open' && relay0.held.length > 0) return releaseUnpayable(relay0, height, ctx);
  if (!active(relay0)) return { relay: relay0, effects: [] };
  const effects: Effect[] = [];
  let relay = relay0;
  // The second look after a failure waits failConfirmMs; blocks found meanwhile
  // count too once the held HTLCs near their deadline (blocks are their real clock).
  if (relay.failLook === 'waiting' && record.earliestExpiry !== undefined && record.earliestExpiry - height <= record.safetyMargin + blockAllowance(ctx.config)) {
    relay = { ...relay, failLook: 'due' };
  }
  const late = relay.strays.filter((p) => p.cltvExpiry - height <= record.safetyMargin);
  if (late.length > 0) {
    relay = { ...relay, strays: relay.strays.filter((p) => !late.includes(p)) };
    for (const p of late) effects.push(...failUnknown(p, 'not a part of the set, and close to its expiry', ctx));
  }
  const attempt = currentAttempt(record);
  // An attempt whose answer was lost (no outcome, nothing in flight for us) may still be
  // routing inside lightningd with its layer kept: its route is closed the same way.
  const xpayMayRoute = relay.payInFlight || attempt?.outcome === undefined;
  if (xpayMayRoute && !relay.routeClosed && attempt?.layer && attempt.startHeight !== undefined && height >= attempt.startHeight + ctx.config.retryBlocks) {
    relay = { ...relay, routeClosed: true };
    effects.push(
      { type: 'close_route', layer: attempt.layer },
      { type: 'log', level: 'info', message: `${height - attempt.startHeight} blocks found since xpay started: no new attempts, so the outgoing HTLCs keep the safety margin` },
    );
  }
  if (record.earliestExpiry !== undefined && relay.held.length > 0) {
    const left = record.earliestExpiry - height;
    if (left <= record.safetyMargin) effects.push({ type: 'log', level: 'warn', message: `incoming HTLCs expire in ${left} blocks and the outgoing payment is not resolved` });
  }
  if (!relay.payInFlight && !relay.queryInFlight) return query(relay, effects);
  return { relay, effects };
}

/**
 * A set still being gathered whose earliest part has too few blocks left to be
 * paid onward once complete: fail it now (mpp_timeout, so the payer tries again)
 * instead of holding it towards its expiry.
 */
function releaseUnpayable(relay: Relay, height: number, ctx: Ctx): Step {
  const { record } = relay;
  const earliest = Math.min(...relay.held.map((p) => p.cltvExpiry));
  if (outgoingMaxDelay(earliest, height, record.safetyMargin + blockAllowance(ctx.config)) >= record.downstreamMinFinalCltv) return { relay, effects: [] };
  const cancelled = cancelTimers(relay, 'mpp');
  return {
    relay: { ...cancelled.relay, held: [] },
    effects: [
      ...cancelled.effects,
      ...relay.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: mppTimeout(), reason: 'too few blocks left to pay onward' })),
      { type: 'log', level: 'info', message: `released ${relay.held.length} part(s) of an incomplete set: ${earliest - height} blocks left is too few to pay onward` },
    ],
  };
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
      const cancelled = cancelTimers(relay, 'mpp');
      return {
        relay: { ...cancelled.relay, record, held: [], payInFlight: false, queryInFlight: false, lastOutgoing: undefined },
        effects: [
          log,
          ...cancelled.effects,
          ...relay.held.map((p): Effect => ({ type: 'fail', part: partKey(p), failureMessage: temporaryNodeFailure(), reason })),
          ...relay.strays.flatMap((p) => failUnknown(p, reason, ctx)),
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
