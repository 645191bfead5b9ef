/** A record found when the plugin starts, a write that failed, and which finished records a restart has nothing to do for (isQuiet). */
import { temporaryNodeFailure } from '../failure.js';
import { isClaimed, partKey } from '../parts.js';
import type { RelayRecord } from '../record.js';
import { assertNever } from '../../errors.js';
import type { Effect, Relay, Ctx, Step } from './types.js';
import { active, startTimer, cancelTimers, failUnknown, query } from './common.js';

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

export function onStartup(relay0: Relay, guardClaims: string[], ctx: Ctx): Step {
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

export function onPersistFailed(relay: Relay, error: string, skipped: Effect[], ctx: Ctx): Step {
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
