/**
 * rdv-guard: the second plugin in the htlc_accepted chain, after rdv.
 *
 * When a plugin dies, lightningd hands its pending htlc_accepted calls to the
 * next plugin in the chain, or else handles them itself: for a relay invoice it
 * has no invoice, so it fails them, and it does so before an important plugin's
 * death stops it, so nothing is replayed (CLN lightningd/plugin_hook.c; seen on
 * v26.06.6). The relay's outgoing payment may still complete: the relay pays
 * and is not paid. rdv-guard is that next plugin. A call reaches it for an HTLC
 * rdv would never `continue` only when rdv is gone: then it holds the HTLC so
 * lightningd cannot fail it (lightningd restarts and replays it to rdv), or,
 * if lightningd keeps running (an ordinary plugin died, or `plugin stop rdv`),
 * it finishes the HTLC from what lightningd knows of the outgoing payment.
 *
 * It applies rdv's own rules to what it may answer: only a part of the recorded
 * set gets the preimage (never any HTLC that merely knows the hash), and an HTLC
 * rdv would have refused is passed on, so lightningd gives it the same answer it
 * gives any unknown hash. Pure.
 */
import { temporaryNodeFailure } from './failure.js';
import type { Preimage } from './ids.js';
import { lightningdRefusal, onionRefusal } from './localpay.js';
import { matchRecorded, partKey, renamed } from './parts.js';
import type { RelayRecord } from './record.js';
import { DEFAULT_RELAY_CONFIG, type IncomingPart, type OutgoingSummary } from './relay/types.js';
import { matchSettled } from './relay/settle.js';
import { partProblem } from './relay/incoming.js';

export type GuardDecision =
  | { action: 'resolve'; preimage: Preimage; why: string; claim: string }
  | { action: 'fail'; failureMessage: string; why: string }
  /** Not ours to answer: lightningd answers it as for any hash it has no invoice for. */
  | { action: 'continue'; why: string }
  | { action: 'wait'; why: string };

/**
 * How long the outgoing payment must look over (nothing pending, nothing
 * complete) before the guard fails the HTLC back: longer than xpay's retry_for
 * (rdv uses at most 60 s) plus rdv's second look, because a dead rdv's xpay goes
 * on inside lightningd.
 */
export const GUARD_QUIET_MS = 90_000;
/** The shortest quiet period rdv-guard accepts (rdv-guard-quiet): xpay's longest retry_for, rdv's second look, and slack. */
export const GUARD_QUIET_MIN_MS = DEFAULT_RELAY_CONFIG.retryForSeconds * 1000 + DEFAULT_RELAY_CONFIG.failConfirmMs + 13_000;
/**
 * When the record cannot be read at all, the guard holds on, but passes the HTLC
 * on this many blocks before its expiry: an HTLC held to its expiry makes the
 * upstream peer close the channel, and by then any outgoing HTLC of ours has
 * expired (rdv keeps a safety margin of at least 6 blocks).
 */
export const GUARD_EXPIRY_BLOCKS = 3;

/**
 * The quiet period to use for a configured value in seconds, and a complaint if
 * it had to change it. `floorMs` is GUARD_QUIET_MIN_MS except in rdv's own tests.
 */
export function guardQuietMs(configuredSeconds: unknown, floorMs = GUARD_QUIET_MIN_MS): { ms: number; problem?: string } {
  if (typeof configuredSeconds !== 'number' || !Number.isFinite(configuredSeconds)) return { ms: Math.max(GUARD_QUIET_MS, floorMs) };
  const ms = Math.round(configuredSeconds * 1000);
  if (ms >= floorMs) return { ms };
  return {
    ms: floorMs,
    problem: `rdv-guard-quiet=${configuredSeconds} is shorter than xpay may keep retrying: using ${floorMs / 1000} s (the least that is safe)`,
  };
}

/**
 * What to do with an HTLC rdv should have answered. `quietForMs`: how long
 * listsendpays has shown no pending and no complete part for the hash.
 */
export function guardDecide(
  record: RelayRecord,
  part: IncomingPart,
  outgoing: OutgoingSummary,
  quietForMs: number,
  quietLimitMs = GUARD_QUIET_MS,
  cltvFinal?: number,
  height?: number,
): GuardDecision {
  // A part of the set carries our payment secret; an HTLC without it is never taken for one.
  const ours = part.paymentSecret === record.paymentSecret && !onionRefusal(part);
  // A settled set's claimed parts take only their exact replay (see matchSettled).
  const index = !ours ? -1 : record.state === 'settled' ? matchSettled(record, part) : matchRecorded(record.parts, new Set(), part);
  const recorded = record.parts[index];
  const claim = recorded ? partKey(recorded) : partKey(part);
  if (record.state === 'settled') {
    if (record.preimage && recorded) return { action: 'resolve', preimage: record.preimage, why: 'a part of the settled set', claim };
    return { action: 'continue', why: 'not a part of the settled set' };
  }
  if (!recorded) {
    // rdv would have refused it: lightningd gives it the answer it gives any unknown hash.
    const refusal = lightningdRefusal(part, cltvFinal)?.reason ?? partProblem(record, [], part);
    if (refusal) return { action: 'continue', why: refusal };
    // Not in the set: like rdv (onBlock), let it go a safety margin before its expiry,
    // whatever the payment onward does (its own expiry is the set's, not this one's).
    if (height !== undefined && part.cltvExpiry - height <= record.safetyMargin) {
      return { action: 'continue', why: `not a part of the set, and ${part.cltvExpiry - height} blocks from its expiry` };
    }
  }
  switch (outgoing.kind) {
    case 'complete':
      if (recorded) return { action: 'resolve', preimage: outgoing.preimage, why: 'the outgoing payment completed', claim };
      // Not in the set: ours only if it is a recorded part whose channel was renamed.
      if (record.parts.some((p) => renamed(p, part))) {
        return { action: 'resolve', preimage: outgoing.preimage, why: 'the outgoing payment completed (a recorded part, renamed channel)', claim };
      }
      return { action: 'continue', why: 'the outgoing payment completed, and this HTLC is not a part of its set' };
    case 'pending':
      return { action: 'wait', why: 'the outgoing payment is pending' };
    case 'none':
    case 'failed':
      if (quietForMs >= quietLimitMs) {
        const why = `no outgoing payment pending or complete for ${Math.round(quietForMs / 1000)} s`;
        return recorded || record.state === 'open' ? { action: 'fail', failureMessage: temporaryNodeFailure(), why } : { action: 'continue', why };
      }
      return { action: 'wait', why: 'no outgoing payment yet: waiting in case a dying rdv started one' };
    default: {
      const never: never = outgoing;
      return never;
    }
  }
}
