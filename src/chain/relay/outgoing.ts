/**
 * The payment onward: what listsendpays says (rule 5), paying with xpay within the
 * budgets (rule 6), xpay's result, and the second look before a fail-back (rule 7).
 */
import { formatAmount, sumMsat } from '../amount.js';
import { outgoingMaxDelay } from '../budget.js';
import { preimageMatches, type PaymentHash } from '../ids.js';
import type { Attempt, RelayRecord } from '../record.js';
import { assertNever } from '../../errors.js';
import { blockAllowance, type OutgoingPart, type PayResult, type Effect, type OutgoingSummary, type Relay, type Ctx, type Step } from './types.js';
import { active, startTimer, cancelTimers, covered, query, layerName, currentAttempt, finishAttempt } from './common.js';
import { settle, failBack } from './settle.js';

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

/** Rule 5: decide from the outgoing parts. */
export function onOutgoing(relay0: Relay, outgoing: OutgoingSummary, ctx: Ctx): Step {
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
      { type: 'pay', invstring: record.downstreamInvoice, maxfeeMsat: record.feeBudgetMsat, maxdelay, retryForSeconds, layer },
      // Written shortly after xpay starts, off the critical path (a write now would
      // sit in lightningd's loop next to xpay's work). Crash safety does not need
      // it: "gathered" is durable, and after a restart listsendpays tells whether a
      // payment is pending, complete or failed (rule 5); an attempt lost here is
      // only paid again when nothing of it reached the network.
      { type: 'checkpoint' },
    ],
  };
}

export function onPayResult(relay0: Relay, result: PayResult, ctx: Ctx): Step {
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
