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
 * it finishes the HTLC from what lightningd knows of the outgoing payment. Pure.
 */
import { temporaryNodeFailure } from './failure.js';
import type { Preimage } from './ids.js';
import type { RelayRecord } from './record.js';
import type { OutgoingSummary } from './relay.js';

export type GuardDecision =
  | { action: 'resolve'; preimage: Preimage; why: string }
  | { action: 'fail'; failureMessage: string; why: string }
  | { action: 'wait'; why: string };

/**
 * How long the outgoing payment must look over (nothing pending, nothing
 * complete) before the guard fails the HTLC back: longer than xpay's retry_for
 * (rdv uses at most 60 s), because a dead rdv's xpay goes on inside lightningd.
 */
export const GUARD_QUIET_MS = 90_000;

/**
 * What to do with an HTLC rdv should have answered. `quietForMs`: how long
 * listsendpays has shown no pending and no complete part for the hash.
 */
export function guardDecide(record: RelayRecord, outgoing: OutgoingSummary, quietForMs: number, quietLimitMs = GUARD_QUIET_MS): GuardDecision {
  if (record.state === 'settled' && record.preimage) return { action: 'resolve', preimage: record.preimage, why: 'the relay had settled' };
  switch (outgoing.kind) {
    case 'complete':
      return { action: 'resolve', preimage: outgoing.preimage, why: 'the outgoing payment completed' };
    case 'pending':
      return { action: 'wait', why: 'the outgoing payment is pending' };
    case 'none':
    case 'failed':
      if (quietForMs >= quietLimitMs) {
        return { action: 'fail', failureMessage: temporaryNodeFailure(), why: `no outgoing payment pending or complete for ${Math.round(quietForMs / 1000)} s` };
      }
      return { action: 'wait', why: 'no outgoing payment yet: waiting in case a dying rdv started one' };
    default: {
      const never: never = outgoing;
      return never;
    }
  }
}
