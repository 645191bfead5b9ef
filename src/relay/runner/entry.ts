/**
 * One relay as the runner holds it (Entry): the machine's state, its event queue,
 * timers, the hook replies it owes and the calls being taken in; when an entry may
 * be let go (stillNeeded); and what the runner's parts (intake, effects, xpay) may
 * reach of the runner (RunnerCore).
 */
import type { NodeId } from '../../chain/ids.js';
import type { JsonObject } from '../../chain/read.js';
import type { RelayRecord } from '../../chain/record.js';
import { newRelay, type Ctx, type Relay, type RelayConfig, type RelayEvent, type TimerName } from '../../chain/relay/types.js';
import type { FoundRoute } from '../../chain/first-attempt.js';
import type { LightningNode } from '../../rpc/node.js';
import type { SendpayInvoice } from '../../rpc/node/sendpay.js';
import type { LogLevel } from '../../rpc/plugin.js';

export type HookReply = JsonObject;

/** What the first attempt by sendpay needs, found before the payment starts: the invoice's secret and askrene's routes. */
export interface FirstPlan {
  invoice: SendpayInvoice;
  routes: FoundRoute[];
  /** The CLTV deltas of the shadow walk from the payee. */
  shadow: number[];
}
export const CONTINUE: HookReply = { result: 'continue' };

export interface Clock {
  /** Unix seconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Math.floor(Date.now() / 1000),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunnerDeps {
  node: LightningNode;
  /** Our node id (close_route disables it in xpay's layer). */
  selfId: NodeId;
  log: (level: LogLevel, message: string) => void;
  clock: Clock;
  config: RelayConfig;
  /** In [0, 1): the shadow walk's coin flips and picks (Math.random unless a test fixes it). */
  random?: () => number;
}

export interface Entry {
  relay: Relay;
  /** performance.now() when the last HTLC arrived, and when the last xpay result arrived. */
  lastHtlcAt: number;
  lastPayResultAt: number;
  generation: number | undefined;
  /** The record as last written (or read): a checkpoint writes only if it changed. */
  written: RelayRecord;
  checkpointTimer: unknown;
  queue: Promise<void>;
  timers: Map<TimerName, unknown>;
  /** askrene layers being created (prepare_layer), by name: the payment that uses one waits for it. */
  layers: Map<string, Promise<boolean>>;
  /** The first attempt's route and invoice fields, asked with the layer (prepare_layer), by the layer's name. */
  firstPlans: Map<string, Promise<FirstPlan | undefined>>;
  /** Bumped when a timer is started or cancelled, so a fire that waited in the queue can tell it is stale. */
  timerGeneration: Map<TimerName, number>;
  /** Hook replies owed, by part key (partKey: "channel_id/id", or "scid/id" when the channel is unknown). */
  replies: Map<string, Array<(reply: HookReply) => void>>;
  /**
   * htlc_accepted calls taken for this entry and not yet queued as events (their
   * channel is being named): counted the moment the entry is looked up, so that
   * `forget` can never drop an entry a call is about to be answered from.
   */
  intake: number;
  heldSince: number | undefined;
}

export function newEntry(record: RelayRecord, generation: number | undefined): Entry {
  return {
    relay: newRelay(record),
    generation,
    written: record,
    checkpointTimer: undefined,
    lastHtlcAt: 0,
    lastPayResultAt: 0,
    queue: Promise.resolve(),
    timers: new Map(),
    timerGeneration: new Map(),
    layers: new Map(),
    firstPlans: new Map(),
    replies: new Map(),
    intake: 0,
    heldSince: undefined,
  };
}

/** Why a relay whose record was removed must stay loaded, or undefined. */
export function stillNeeded(entry: Entry): string | undefined {
  const { relay } = entry;
  const held = Math.max(entry.replies.size, relay.held.length + relay.strays.length) + entry.intake;
  if (held > 0) return `it holds ${held} HTLC(s)`;
  if (relay.payInFlight) return 'its payment onward is running';
  if (relay.queryInFlight) return 'it is asking lightningd about its payment onward';
  if (relay.record.state === 'open' || relay.record.state === 'gathered' || relay.record.state === 'paying') return `it is ${relay.record.state}`;
  if (relay.timers.length > 0 || entry.timers.size > 0) return `it waits on a timer (${[...new Set([...relay.timers, ...entry.timers.keys()])].join(', ')})`;
  if (entry.checkpointTimer !== undefined || relay.record !== entry.written) return 'it has changes not written yet';
  return undefined;
}

/** What the runner's parts may reach of it: its entries and their queues, the machine's context, durable writes. */
export interface RunnerCore {
  readonly deps: RunnerDeps;
  /** The loaded entry for a hash. */
  entry(hash: string): Entry | undefined;
  /** Queue an event for the hash's relay (not run if none is loaded: see RelayRunner.enqueue). */
  enqueue(hash: string, event: RelayEvent): void;
  /** Run a job in the entry's queue, between events; none once the entry is forgotten (its timers may still fire). */
  enqueueJob(entry: Entry, job: () => Promise<void>): void;
  /** Step the machine with an event and execute the effects. */
  process(entry: Entry, event: RelayEvent): Promise<void>;
  ctx(): Ctx;
  /** Write a record at the entry's generation: an error message, or undefined when written. */
  persist(entry: Entry, record: RelayRecord): Promise<string | undefined>;
  /** Write the current record if it changed since it was last written (bookkeeping; failures are retried). */
  checkpoint(entry: Entry): Promise<void>;
}
