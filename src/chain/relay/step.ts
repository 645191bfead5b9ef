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
 *
 * One machine, one file per family of events (as lightning-kmp keeps its channel's
 * pure (State, Event) -> (State, Actions) whole and each state apart). A file
 * imports only those listed before it:
 *   types.ts     the state (Relay), events, effects, config and context
 *   common.ts    timers, the listsendpays query, failing like an unknown hash, attempts and layers
 *   settle.ts    settle (rule 8), fail back (rules 7, 8), a settled set's late parts (rule 10), claims
 *   outgoing.ts  listsendpays' verdict (rule 5), xpay (rule 6) and its result, the second look (rule 7)
 *   incoming.ts  validate, hold, gather (rules 2-4), replays (rule 9), strays
 *   time.ts      the mpp timer (rule 3), blocks: expiry, xpay's allowance, too late to pay (rule 11)
 *   startup.ts   a record found at start, a failed write, finished records with nothing to do
 *   step.ts      rule 1 (isOurs), the dispatcher and the promises kept after every step (rule 11)
 */
import type { AnyRecord, RelayRecord } from '../record.js';
import { assertNever } from '../../errors.js';
import type { TimerName, RelayEvent, Relay, Ctx, Step } from './types.js';
import { active, query } from './common.js';
import { onClaims } from './settle.js';
import { summariseOutgoing, onOutgoing, onPayResult } from './outgoing.js';
import { onHtlc } from './incoming.js';
import { onTimer, onBlock } from './time.js';
import { onStartup, onPersistFailed } from './startup.js';

/**
 * Rule 1: is an htlc_accepted call ours? Only final-hop HTLCs (no next hop) whose hash
 * has a relay record we are still working on. A settled record is ours too, so a
 * replay is resolved again (rule 10). Everything else is `continue`d at once.
 */
export function isOurs(isFinalHop: boolean, record: AnyRecord | undefined): record is RelayRecord {
  if (!isFinalHop || record === undefined || record.role !== 'relay') return false;
  return ['open', 'gathered', 'paying', 'settled'].includes(record.state);
}

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
