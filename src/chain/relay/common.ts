/**
 * Small moves every family of the relay machine makes: timers, the listsendpays
 * query, failing a part as lightningd fails an unknown hash, a replay's identity,
 * and the bookkeeping of xpay attempts and their askrene layers.
 */
import { unknownHashAnswer } from '../localpay.js';
import { pairParts, partKey } from '../parts.js';
import type { Attempt, RelayRecord } from '../record.js';
import type { IncomingPart, TimerName, Effect, Relay, Ctx, Step } from './types.js';

export const active = (relay: Relay): boolean => relay.record.state === 'gathered' || relay.record.state === 'paying';

export function startTimer(relay: Relay, timer: TimerName, ms: number): { relay: Relay; effect: Effect } {
  return { relay: { ...relay, timers: [...relay.timers.filter((t) => t !== timer), timer] }, effect: { type: 'start_timer', timer, ms } };
}

/** Cancel those of `names` that are running (the machine knows which: it started them). */
export function cancelTimers(relay: Relay, ...names: TimerName[]): { relay: Relay; effects: Effect[] } {
  return {
    relay: { ...relay, timers: relay.timers.filter((t) => !names.includes(t)) },
    effects: names.filter((t) => relay.timers.includes(t)).map((timer): Effect => ({ type: 'cancel_timer', timer })),
  };
}

/** Fail a part exactly as lightningd fails an HTLC for a hash it has no invoice for (rule 2, rule 10). */
export function failUnknown(part: IncomingPart, reason: string, ctx: Ctx): Effect[] {
  const answer = unknownHashAnswer(part, reason, ctx.config.cltvFinal);
  return [
    { type: 'fail', part: partKey(part), failureMessage: answer.failureMessage, reason: answer.reason },
    { type: 'log', level: 'debug', message: `failed part ${partKey(part)}: ${answer.reason}` },
  ];
}

/** A recorded part written without channel_id (rdv 0.1.0) learns it from its replay: migrate on read. */
export function learnIdentity(record: RelayRecord, index: number, part: IncomingPart, ctx: Ctx): RelayRecord {
  const recorded = record.parts[index];
  // Only from a replay under the very scid recorded: a loose match may be a look-alike, and must not be pinned.
  if (!recorded || recorded.channelId || !part.channelId || recorded.scid !== part.scid) return record;
  const parts = [...record.parts];
  parts[index] = { ...recorded, channelId: part.channelId, ...(part.peerId ? { peerId: part.peerId } : {}) };
  return { ...record, parts, updatedAt: ctx.now };
}

/** Every part of the gathered set is held again (after a restart). */
export function covered(relay: Relay): boolean {
  return pairParts(relay.record.parts, relay.held).every((h) => h >= 0);
}

export function query(relay: Relay, effects: Effect[]): Step {
  if (relay.queryInFlight) return { relay, effects };
  const cancelled = cancelTimers(relay, 'requery');
  return {
    relay: { ...cancelled.relay, queryInFlight: true },
    effects: [...effects, ...cancelled.effects, { type: 'query_outgoing', paymentHash: relay.record.paymentHash }],
  };
}

/** A fresh askrene layer name for a payment: ours (rdv-), the hash, what it is for, and the time (unique across restarts). */
export function layerName(record: RelayRecord, what: string, ctx: Ctx): string {
  return `rdv-${record.paymentHash.slice(0, 16)}-${what}-${ctx.now}`;
}

/** The last attempt of the current gathering round: earlier rounds' failures do not count. */
export function currentAttempt(record: RelayRecord): Attempt | undefined {
  const last = record.attempts.at(-1);
  return last?.round === record.round ? last : undefined;
}

export function finishAttempt(record: RelayRecord, patch: Partial<Attempt>, now: number): RelayRecord {
  const attempts = [...record.attempts];
  const last = attempts.at(-1);
  if (last && last.outcome === undefined) attempts[attempts.length - 1] = { ...last, ...patch, finishedAt: now };
  return { ...record, attempts };
}
