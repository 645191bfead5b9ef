/**
 * Timers and blocks: the mpp timeout (rule 3) and the end of the wait for replays
 * after a restart, an unused invoice's expiry, xpay's block allowance (rule 6), and
 * releasing what could no longer be paid onward in time (rule 11).
 */
import { formatAmount, sumMsat } from '../amount.js';
import { outgoingMaxDelay } from '../budget.js';
import { mppTimeout } from '../failure.js';
import { isClaimed, partKey } from '../parts.js';
import type { RelayRecord } from '../record.js';
import { assertNever } from '../../errors.js';
import { blockAllowance, type TimerName, type Effect, type Relay, type Ctx, type Step } from './types.js';
import { active, cancelTimers, failUnknown, covered, query, currentAttempt } from './common.js';

export function onTimer(relay: Relay, timer: TimerName): Step {
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
export function onBlock(relay0: Relay, height: number, ctx: Ctx): Step {
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
