/**
 * Runs the relay state machine (src/chain/relay.ts) against lightningd: one
 * serial event queue per payment hash, effects executed in order, a persist
 * finished before the next effect, hook replies kept until the machine decides.
 */
import { preimageMatches, type NodeId, type PaymentHash } from '../chain/ids.js';
import { partKey } from '../chain/parts.js';
import type { AnyRecord, RelayRecord } from '../chain/record.js';
import { ShapeError, type JsonObject } from '../chain/read.js';
import {
  isOurs,
  isQuiet,
  markLostParts,
  newRelay,
  step,
  type Effect,
  type OutgoingPart,
  type Relay,
  type RelayConfig,
  type RelayEvent,
  type TimerName,
} from '../chain/relay.js';
import { assertNever } from '../errors.js';
import { parseHtlcAccepted, type HtlcAccepted } from '../rpc/hooks.js';
import type { LightningNode } from '../rpc/node.js';
import type { LogLevel } from '../rpc/plugin.js';
import { loadRecord, writeRecord, type Stored } from '../rpc/records.js';
import { summaryOf, tally, type RecordSummary, type Tally } from '../chain/selection.js';
import { ChannelIds } from '../rpc/channels.js';
import { ClaimScanner } from '../rpc/claims.js';
import type { ChannelNames } from '../rpc/node.js';

export type HookReply = JsonObject;
const CONTINUE: HookReply = { result: 'continue' };

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

/**
 * How long after a checkpoint effect the record is written: long enough to stay
 * out of lightningd's way while it fulfils the HTLCs (the commitment dance with
 * the previous hop takes tens of ms on regtest), short enough that a stop rarely
 * falls between the resolve and the write (see settle() in relay.ts).
 */
const CHECKPOINT_MS = 250;

/** Tries to close an xpay's route (closeRoute): 500 ms apart, doubling to 10 s, about 4 minutes in all (more than xpay's retry_for). */
const CLOSE_ROUTE_ATTEMPTS = 30;

/**
 * How long after xpay answered its askrene layer is removed (a getroutes still
 * running on a removed layer makes askrene abort, and lightningd stops). A layer
 * whose xpay's answer was lost is never removed (see startPay).
 */
export const LAYER_LINGER_MS = 60_000;

/** Recent samples of how long the relay took to decide, for rdv-status. */
class Samples {
  private readonly values: number[] = [];
  constructor(private readonly max = 1_000) {}
  add(v: number): void {
    this.values.push(v);
    if (this.values.length > this.max) this.values.shift();
  }
  /** Percentiles of the last `n` samples. */
  summary(n = this.max): { samples: number; p50_ms: number; p99_ms: number } | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = this.values.slice(-n).sort((a, b) => a - b);
    const at = (p: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0) * 1000) / 1000;
    return { samples: sorted.length, p50_ms: at(0.5), p99_ms: at(0.99) };
  }
}

interface Entry {
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

export interface RunnerDeps {
  node: LightningNode;
  /** Our node id (close_route disables it in xpay's layer). */
  selfId: NodeId;
  log: (level: LogLevel, message: string) => void;
  clock: Clock;
  config: RelayConfig;
}

/** A snapshot of one relay for `rdv-status` and `rdv watch`. */
export interface RelayView {
  record: AnyRecord;
  heldParts: number;
  heldMsat: bigint;
  heldSince: number | undefined;
  /** Earliest cltv_expiry of the parts held now (an open relay's partial set has no earliestExpiry yet). */
  heldExpiry: number | undefined;
  payInFlight: boolean;
  outgoing: string | undefined;
}

export class RelayRunner {
  private readonly entries = new Map<string, Entry>();
  /** Records that are not relays we run (role `last`), for rule 1. */
  private readonly others = new Map<string, AnyRecord>();
  /**
   * Finished relays with nothing left to do (failed, expired, or settled with every
   * part claimed), counted but not held in memory: a year of them would cost the
   * plugin's start and RSS. A late HTLC for one loads it from the datastore (loadAndTakeEntry).
   */
  private readonly finished = new Map<string, RecordSummary>();
  private readonly loading = new Map<string, Promise<void>>();
  private height = 0;
  /** HTLC in -> xpay out, and xpay result -> HTLCs resolved, inside the plugin. */
  readonly decisionTimes = new Samples();
  readonly resolveTimes = new Samples();
  /** scid or alias -> channel_id, for parts whose channel lightningd renames (parts.ts). */
  readonly channels: ChannelIds;
  /** lightningd's channel moves, read in pages, one scan shared by every settled relay that asks (check_claims). */
  readonly claims: ClaimScanner;

  /**
   * lightningd's sendpays created index when this runner started: parts up to it
   * were registered before (rdv, an important plugin, starts with lightningd;
   * markLostParts). Undefined until lightningd says (asked at once; a query never
   * waits for it) or if it does not: then no part is judged lost.
   */
  private startIndex: number | undefined;

  constructor(private readonly deps: RunnerDeps) {
    this.channels = new ChannelIds(deps.node, (m) => deps.log('warn', m));
    this.claims = new ClaimScanner(deps.node);
    deps.node.sendpaysCreatedIndex().then(
      (index) => (this.startIndex = index),
      (e: unknown) => deps.log('warn', `wait sendpays created: ${(e as Error).message}: parts lightningd lost in a crash will not be recognised`),
    );
  }

  get blockheight(): number {
    return this.height;
  }

  setHeight(height: number): void {
    if (height <= this.height) return;
    this.height = height;
    for (const [hash] of this.entries) this.enqueue(hash, { type: 'block', height });
  }

  /**
   * Add or refresh records (from the datastore at startup or on `rdv-reload`).
   * At startup, `guardClaims` are the parts rdv-guard resolved while rdv was gone.
   */
  adopt(stored: Stored, options: { startup?: { guardClaims: string[] }; full?: boolean } = {}): void {
    const { record, generation } = stored;
    if (record.role !== 'relay') {
      this.others.set(record.paymentHash, record);
      return;
    }
    const existing = this.entries.get(record.paymentHash);
    if (existing) {
      // Keep our live state; only pick up the generation if the record did not move.
      if (existing.relay.record.state === record.state) existing.generation = generation;
      return;
    }
    if (!options.full && isQuiet(record) && (options.startup?.guardClaims.length ?? 0) === 0) {
      this.finished.set(record.paymentHash, summaryOf(record));
      return;
    }
    this.finished.delete(record.paymentHash);
    this.entries.set(record.paymentHash, {
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
      replies: new Map(),
      intake: 0,
      heldSince: undefined,
    });
    if (options.startup) this.enqueue(record.paymentHash, { type: 'startup', guardClaims: options.startup.guardClaims });
  }

  /**
   * The htlc_accepted hook. Resolves with the reply for lightningd (maybe much
   * later). Parses at once so a held call keeps only the few fields it needs.
   */
  onHtlcAccepted(params: JsonObject): Promise<HookReply> {
    let htlc;
    try {
      htlc = parseHtlcAccepted(params);
    } catch (e) {
      this.deps.log('warn', `htlc_accepted payload not understood, letting lightningd handle it: ${(e as Error).message}`);
      return Promise.resolve(CONTINUE);
    }
    // Rule 1: forwards (and anything with a next hop) are not ours; nor is a payload
    // lightningd could not decode (it fails that itself) or a blinded one (our
    // invoices have no blinded paths): lightningd answers those as for any hash.
    if (!htlc.isFinalHop || !htlc.decoded || htlc.blinded) return Promise.resolve(CONTINUE);
    return this.onFinalHtlc(htlc);
  }

  private async onFinalHtlc(htlc: HtlcAccepted): Promise<HookReply> {
    this.setHeight(htlc.part.height);
    const hash = htlc.paymentHash;
    // The call is counted on the entry in the same synchronous step that finds it
    // (takeEntry): no await separates the two, so forget() sees it from then on.
    const entry = this.entries.has(hash) ? this.takeEntry(hash) : await this.loadAndTakeEntry(hash);
    if (!entry) return CONTINUE;
    let channel: ChannelNames | null | undefined;
    try {
      // Name the part by its channel_id, which survives alias -> real scid and splices. If
      // lightningd cannot say now, ask again (the HTLC waits): a part named by scid alone
      // could be mistaken for a look-alike on another channel after a rename (parts.ts).
      channel = this.channels.cached(htlc.part.scid);
      for (let attempt = 0; channel === undefined; attempt++) {
        const r = await this.channels.resolve(htlc.part.scid);
        if (r !== 'failed') {
          channel = r ?? null;
          break;
        }
        if (attempt === 0) this.deps.log('warn', `${hash.slice(0, 8)}: cannot name the channel of ${htlc.part.scid}/${htlc.part.id} yet: holding it and asking again`);
        await this.backoff(attempt);
      }
    } finally {
      entry.intake--;
    }
    if (channel) htlc.part.channelId = channel.channelId;
    const key = partKey(htlc.part);
    const t0 = performance.now();
    entry.lastHtlcAt = t0;
    return new Promise<HookReply>((resolve) => {
      const answer = (reply: HookReply): void => {
        this.deps.log('debug', `${hash.slice(0, 8)}: answered part ${key} (${String(reply.result)}) after ${(performance.now() - t0).toFixed(1)} ms`);
        resolve(reply);
      };
      if (this.entries.get(hash) !== entry) {
        // Cannot happen while forget() counts intake; if it ever does, the record is gone
        // from the datastore and nothing of ours is held: answer as for any unknown hash
        // rather than leave the call unanswered (lightningd would hold it to its expiry).
        this.deps.log('error', `${hash.slice(0, 8)}: the relay was let go while part ${key} was being taken in: letting lightningd handle it`);
        answer(CONTINUE);
        return;
      }
      const waiting = entry.replies.get(key) ?? [];
      waiting.push(answer);
      entry.replies.set(key, waiting);
      this.enqueue(hash, { type: 'htlc', part: htlc.part });
    });
  }

  /** The entry for a hash, with one more call counted on it (intake), if the hash is a relay of ours (rule 1). */
  private takeEntry(hash: PaymentHash): Entry | undefined {
    const entry = this.entries.get(hash);
    if (!entry || !isOurs(true, entry.relay.record)) return undefined;
    entry.intake++;
    return entry;
  }

  /** takeEntry, after reading the record from the datastore (one made since we loaded, or a finished one not held in memory). */
  private async loadAndTakeEntry(hash: PaymentHash): Promise<Entry | undefined> {
    if (this.others.has(hash)) return undefined;
    let loading = this.loading.get(hash);
    if (!loading) {
      loading = (async () => {
        // An RPC failure says nothing about whether the hash is ours: ask again (the
        // HTLC waits) rather than pass on an HTLC we may have to relay.
        for (let attempt = 0; ; attempt++) {
          try {
            const stored = await loadRecord(this.deps.node, hash);
            if (stored) this.adopt(stored, { full: true });
            return;
          } catch (e) {
            if (e instanceof ShapeError) {
              this.deps.log('error', `cannot read the record for ${hash.slice(0, 8)}: ${e.message}`);
              return;
            }
            if (attempt === 0) this.deps.log('warn', `could not read the record for ${hash.slice(0, 8)} (${(e as Error).message}): asking again`);
            await this.backoff(attempt);
          }
        }
      })().finally(() => this.loading.delete(hash));
      this.loading.set(hash, loading);
    }
    await loading;
    return this.takeEntry(hash);
  }

  /**
   * Let go of a record that is no longer in the datastore (rdv prune, rdv
   * forget). Refused while the relay may still need it: it holds HTLCs, has a
   * payment or a query running, a timer set, changes not yet written, or is not
   * finished; then the record is written back, so that a restart and rdv-guard
   * find it again. Resolves with why it was kept, or undefined once dropped.
   */
  forget(hash: string): Promise<string | undefined> {
    if (this.others.delete(hash) || this.finished.delete(hash)) return Promise.resolve(undefined);
    const entry = this.entries.get(hash);
    if (!entry) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.enqueueJob(entry, async () => {
        const why = stillNeeded(entry);
        if (why === undefined) {
          // Nothing is scheduled (stillNeeded checks): a late callback finds no entry and does nothing.
          this.entries.delete(hash);
          this.deps.log('info', `${hash.slice(0, 8)}: forgotten (removed from the datastore)`);
          resolve(undefined);
          return;
        }
        this.deps.log('warn', `${hash.slice(0, 8)}: its record was removed from the datastore, but ${why}: writing it back`);
        entry.generation = undefined;
        const error = await this.persist(entry, entry.relay.record);
        if (error !== undefined) this.deps.log('error', `${hash.slice(0, 8)}: could not write the record back: ${error}`);
        resolve(why);
      });
    });
  }

  /** A record for this hash is loaded (relay or last payee), or counted as finished. */
  knows(hash: string): boolean {
    return this.entries.has(hash) || this.others.has(hash) || this.finished.has(hash);
  }

  /** Finished relays counted but not in memory, whose hash starts with `prefix` (for rdv-status <hash>). */
  finishedMatching(prefix: string, max: number): string[] {
    const out: string[] = [];
    for (const hash of this.finished.keys()) {
      if (out.length >= max) break;
      if (hash.startsWith(prefix)) out.push(hash);
    }
    return out;
  }

  /** The relay records in memory: every one not finished (open, gathered, paying), and finished ones still busy. */
  *relayRecords(): Generator<RelayRecord> {
    for (const e of this.entries.values()) yield e.relay.record;
  }

  /** Counts over every relay record: those in memory and the finished ones. */
  tally(since: number): Tally {
    const summaries = function* (entries: Map<string, Entry>, finished: Map<string, RecordSummary>): Generator<RecordSummary> {
      for (const e of entries.values()) yield summaryOf(e.relay.record);
      yield* finished.values();
    };
    return tally(summaries(this.entries, this.finished), since);
  }

  views(): RelayView[] {
    const out: RelayView[] = [];
    for (const e of this.entries.values()) {
      out.push({
        record: e.relay.record,
        heldParts: e.relay.held.length,
        heldMsat: e.relay.held.reduce((s, p) => s + p.amountMsat, 0n),
        heldSince: e.heldSince,
        heldExpiry: e.relay.held.reduce<number | undefined>((min, p) => (min === undefined || p.cltvExpiry < min ? p.cltvExpiry : min), undefined),
        payInFlight: e.relay.payInFlight,
        outgoing: e.relay.lastOutgoing?.kind,
      });
    }
    for (const r of this.others.values()) out.push({ record: r, heldParts: 0, heldMsat: 0n, heldSince: undefined, heldExpiry: undefined, payInFlight: false, outgoing: undefined });
    return out;
  }

  /**
   * lightningd says a part of an outgoing payment succeeded or failed. If the
   * relay waits on listsendpays (no xpay of ours running), ask again now.
   */
  outgoingChanged(hash: string | undefined): void {
    const entry = hash === undefined ? undefined : this.entries.get(hash);
    if (!entry || !hash) return;
    const { record, payInFlight, queryInFlight } = entry.relay;
    if ((record.state === 'gathered' || record.state === 'paying') && !payInFlight && !queryInFlight) this.enqueue(hash, { type: 'requery' });
  }

  /** Held hook calls across all relays. */
  heldCount(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.replies.size;
    return n;
  }

  /** Wait before asking lightningd again: 100 ms, doubling, at most 5 s. */
  private backoff(attempt: number): Promise<void> {
    return new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
  }

  /**
   * Write every record whose checkpoint is still to come (lightningd is stopping):
   * a "settled" written 250 ms after the resolve would otherwise be lost, and the
   * restarted relay would count parts it was paid for as not received. Bounded.
   */
  async flush(timeoutMs: number): Promise<void> {
    const writes = [...this.entries.values()].map((entry) => {
      if (entry.checkpointTimer !== undefined) {
        this.deps.clock.clearTimeout(entry.checkpointTimer);
        entry.checkpointTimer = undefined;
      }
      this.enqueueJob(entry, () => this.checkpoint(entry));
      return entry.queue;
    });
    await Promise.race([Promise.all(writes), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  /** Wait until every queued event has been processed (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.queue));
  }

  private enqueue(hash: string, event: RelayEvent): void {
    const entry = this.entries.get(hash);
    if (!entry) {
      // Every caller of an htlc event holds the entry (intake) until it is queued; an
      // htlc event with no entry would be a hook call never answered: say so loudly.
      if (event.type === 'htlc') this.deps.log('error', `${hash.slice(0, 8)}: no relay for part ${partKey(event.part)}: its hook call is not answered`);
      return;
    }
    entry.queue = entry.queue
      .then(() => this.process(entry, event))
      .catch((e: unknown) => this.deps.log('error', `relay ${hash.slice(0, 8)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  }

  private ctx() {
    return { now: this.deps.clock.now(), height: this.height, config: this.deps.config };
  }

  private async process(entry: Entry, event: RelayEvent): Promise<void> {
    const { relay, effects } = step(entry.relay, event, this.ctx());
    entry.relay = relay;
    if (relay.held.length === 0) entry.heldSince = undefined;
    else entry.heldSince ??= this.deps.clock.now();
    await this.execute(entry, effects);
  }

  private async execute(entry: Entry, effects: Effect[]): Promise<void> {
    const hash = entry.relay.record.paymentHash;
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i];
      if (!effect) continue;
      switch (effect.type) {
        case 'hold':
          break;
        case 'resolve':
          if (entry.lastPayResultAt > 0) {
            this.resolveTimes.add(performance.now() - entry.lastPayResultAt);
            entry.lastPayResultAt = 0;
          }
          if (!preimageMatches(effect.preimage, hash)) {
            // Never hand lightningd a wrong payment_key: it could get the channel closed.
            this.deps.log('error', `refusing to resolve ${effect.part} with a preimage that does not match ${hash}`);
            break;
          }
          this.reply(entry, effect.part, { result: 'resolve', payment_key: effect.preimage });
          break;
        case 'fail':
          this.reply(entry, effect.part, { result: 'fail', failure_message: effect.failureMessage });
          break;
        case 'persist': {
          const t0 = performance.now();
          const error = await this.persist(entry, effect.record);
          this.deps.log('debug', `${hash.slice(0, 8)}: wrote ${effect.record.state} in ${(performance.now() - t0).toFixed(1)} ms`);
          if (error !== undefined) {
            const skipped = effects.slice(i + 1);
            const next = step(entry.relay, { type: 'persist_failed', error, skipped }, this.ctx());
            entry.relay = next.relay;
            // The machine never persists in answer to persist_failed, so this cannot loop.
            await this.execute(entry, next.effects);
            return;
          }
          break;
        }
        case 'checkpoint':
          entry.checkpointTimer ??= this.deps.clock.setTimeout(() => {
            entry.checkpointTimer = undefined;
            this.enqueueJob(entry, () => this.checkpoint(entry));
          }, CHECKPOINT_MS);
          break;
        case 'pay':
          if (entry.lastHtlcAt > 0) this.decisionTimes.add(performance.now() - entry.lastHtlcAt);
          this.startPay(hash, effect);
          break;
        case 'close_route':
          this.closeRoute(hash.slice(0, 8), effect.layer);
          break;
        case 'prepare_layer': {
          entry.layers.set(effect.layer, this.createLayer(hash, effect.layer));
          // Not used (the relay failed back before paying): no xpay can be using it, remove it.
          const layer = effect.layer;
          this.deps.clock.setTimeout(() => {
            if (entry.layers.delete(layer)) void this.deps.node.removeLayer(layer).catch(() => undefined);
          }, LAYER_LINGER_MS);
          break;
        }
        case 'query_outgoing':
          this.startQuery(hash);
          break;
        case 'check_claims':
          void this.claims.credits(hash).then(
            (credits) => this.enqueue(hash, { type: 'claims', credits }),
            (e: unknown) => {
              this.deps.log('warn', `${hash.slice(0, 8)}: listchannelmoves failed (${(e as Error).message})`);
              this.enqueue(hash, { type: 'claims', credits: [] });
            },
          );
          break;
        case 'start_timer': {
          this.cancelTimer(entry, effect.timer);
          const event: RelayEvent = { type: 'timer', timer: effect.timer };
          const generation = entry.timerGeneration.get(effect.timer) ?? 0;
          const handle = this.deps.clock.setTimeout(() => {
            entry.timers.delete(effect.timer);
            // A timer cancelled or started again after it fired (while the event
            // waited in the queue) is stale: the machine must not see it.
            this.enqueueJob(entry, () => (entry.timerGeneration.get(effect.timer) === generation ? this.process(entry, event) : Promise.resolve()));
          }, effect.ms);
          entry.timers.set(effect.timer, handle);
          break;
        }
        case 'cancel_timer':
          this.cancelTimer(entry, effect.timer);
          break;
        case 'log':
          this.deps.log(effect.level, `${hash.slice(0, 8)}: ${effect.message}`);
          break;
        default:
          assertNever(effect, 'effect');
      }
    }
  }

  private cancelTimer(entry: Entry, timer: TimerName): void {
    entry.timerGeneration.set(timer, (entry.timerGeneration.get(timer) ?? 0) + 1);
    const handle = entry.timers.get(timer);
    if (handle !== undefined) this.deps.clock.clearTimeout(handle);
    entry.timers.delete(timer);
  }

  private reply(entry: Entry, part: string, reply: HookReply): void {
    const waiting = entry.replies.get(part);
    if (!waiting) {
      this.deps.log('debug', `no hook call waiting for ${part}`);
      return;
    }
    entry.replies.delete(part);
    for (const resolve of waiting) resolve(reply);
  }

  /** Write the current record if it changed since it was last written (bookkeeping; failures are retried). */
  private async checkpoint(entry: Entry): Promise<void> {
    const record = entry.relay.record;
    if (record === entry.written) return;
    const error = await this.persist(entry, record);
    if (error === undefined) return;
    this.deps.log('warn', `${record.paymentHash.slice(0, 8)}: could not write the record (${error}): trying again in 5 s`);
    entry.checkpointTimer ??= this.deps.clock.setTimeout(() => {
      entry.checkpointTimer = undefined;
      this.enqueueJob(entry, () => this.checkpoint(entry));
    }, 5_000);
  }

  /** Run a job in the entry's queue, between events; none once the entry is forgotten (its timers may still fire). */
  private enqueueJob(entry: Entry, job: () => Promise<void>): void {
    const hash = entry.relay.record.paymentHash;
    entry.queue = entry.queue.then(() => (this.entries.get(hash) === entry ? job() : undefined)).catch((e: unknown) => this.deps.log('error', `relay ${entry.relay.record.paymentHash.slice(0, 8)}: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Returns an error message, or undefined when written. */
  private async persist(entry: Entry, record: RelayRecord): Promise<string | undefined> {
    try {
      const w = await writeRecord(this.deps.node, record, entry.generation, (m) => this.deps.log('warn', m));
      if (w.ok) {
        entry.generation = w.generation;
        entry.written = record;
        return undefined;
      }
      return w.error;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** Create a layer; false (logged) if askrene refuses. */
  private async createLayer(hash: string, layer: string): Promise<boolean> {
    try {
      await this.deps.node.createLayer(layer);
      return true;
    } catch (e) {
      this.deps.log('warn', `${hash.slice(0, 8)}: could not create askrene layer ${layer} (${(e as Error).message})`);
      return false;
    }
  }

  /**
   * xpay over a fresh askrene layer of our own: nothing is in it, so routing is
   * xpay's usual, until close_route disables our node and channels in it. If the
   * layer cannot be made, xpay runs without it (the margin then rests on maxdelay's
   * allowance alone).
   */
  private startPay(hash: string, effect: Extract<Effect, { type: 'pay' }>): void {
    const t0 = performance.now();
    const node = this.deps.node;
    const entry = this.entries.get(hash);
    const prepared = entry?.layers.get(effect.layer);
    entry?.layers.delete(effect.layer);
    void (async () => {
      // Usually made while "gathered" was written; else now.
      const made = (await prepared) ?? (await this.createLayer(hash, effect.layer));
      let layers: string[] | undefined = [effect.layer];
      if (!made) {
        this.deps.log('warn', `${hash.slice(0, 8)}: paying without an askrene layer: rdv cannot stop xpay's retries if blocks are found meanwhile`);
        layers = undefined;
      }
      const { xpayEnded, ...result } = await node.xpay({ invstring: effect.bolt11, maxfeeMsat: effect.maxfeeMsat, maxdelay: effect.maxdelay, retryForSeconds: effect.retryForSeconds, layers });
      this.deps.log('debug', `${hash.slice(0, 8)}: xpay answered in ${(performance.now() - t0).toFixed(1)} ms`);
      const entry = this.entries.get(hash);
      if (entry && result.ok) entry.lastPayResultAt = performance.now();
      this.enqueue(hash, { type: 'pay_result', result });
      if (!layers) return;
      if (xpayEnded) {
        // xpay is done with it; a while later no getroutes can be using it either (see closeRoute).
        this.deps.clock.setTimeout(() => void node.removeLayer(effect.layer).catch(() => undefined), LAYER_LINGER_MS);
      } else {
        // The call was lost, not xpay's command: it may still be routing with this layer,
        // and nothing rdv can see says when it stops (between attempts listsendpays shows
        // nothing pending while xpay is in getroutes). Removing it could make askrene abort
        // and stop lightningd; keeping it costs a small layer until lightningd restarts
        // (askrene keeps layers in memory), and the relay still closes its route when
        // blocks run short (close_route).
        this.deps.log('info', `${hash.slice(0, 8)}: xpay's answer was lost; its askrene layer ${effect.layer} stays (xpay may still be using it)`);
      }
    })();
  }

  /**
   * Close xpay's route: in its layer, disable our node (its announced channels) and
   * each of our channels' outgoing direction (private and unconfirmed ones are not
   * in gossip, only in auto.localchans). xpay's next getroutes finds no route, so
   * no new attempt starts. Never remove a layer a getroutes may be using: askrene
   * aborts, and lightningd stops. A close that fails is tried again while askrene
   * still lists the layer, for longer than any xpay's retry_for.
   */
  private closeRoute(label: string, layer: string): void {
    const node = this.deps.node;
    const attempt = (n: number): void => {
      void (async () => {
        await node.disableNode(layer, this.deps.selfId);
        for (const c of await this.channels.all()) {
          const name = c.scid ?? c.localAlias;
          if (name === undefined || c.direction === undefined) continue;
          await node.disableChannel(layer, `${name}/${c.direction}`).catch((e: unknown) => this.deps.log('debug', `${label}: ${name}: ${(e as Error).message}`));
        }
      })().then(
        () => this.deps.log('info', `${label}: xpay may start no new attempt (layer ${layer} closed)`),
        (e: unknown) => {
          if (n >= CLOSE_ROUTE_ATTEMPTS) {
            this.deps.log('error', `${label}: could not close layer ${layer} after ${n} attempts (${(e as Error).message})`);
            return;
          }
          this.deps.log('warn', `${label}: could not close layer ${layer} (${(e as Error).message}): retrying`);
          this.deps.clock.setTimeout(() => {
            node.listLayers().then(
              (layers) => (layers.includes(layer) ? attempt(n + 1) : undefined),
              () => attempt(n + 1),
            );
          }, Math.min(500 * 2 ** (n - 1), 10_000));
        },
      );
    };
    attempt(1);
  }

  /**
   * At startup: layers named rdv-* belong to xpay calls of an rdv that is gone,
   * which may still be running inside lightningd. Close their routes (not remove
   * them: see closeRoute), so such an xpay starts no attempt this rdv cannot watch
   * the blocks for; askrene forgets them when lightningd restarts.
   */
  async closeStaleLayers(): Promise<void> {
    try {
      const stale = (await this.deps.node.listLayers()).filter((l) => l.startsWith('rdv-'));
      for (const l of stale) this.closeRoute('startup', l);
      if (stale.length > 0) this.deps.log('info', `closed ${stale.length} askrene layer(s) left by an earlier rdv`);
    } catch (e) {
      this.deps.log('debug', `askrene-listlayers: ${(e as Error).message}`);
    }
  }

  /** listsendpays, retried every second until lightningd answers (the machine waits meanwhile). */
  private startQuery(hash: string): void {
    const attempt = (delayMs: number): void => {
      const t0 = performance.now();
      this.outgoingParts(hash as PaymentHash).then(
        (parts) => {
          this.deps.log('debug', `${hash.slice(0, 8)}: listsendpays answered in ${(performance.now() - t0).toFixed(1)} ms`);
          this.enqueue(hash, { type: 'outgoing_status', parts });
        },
        (e: unknown) => {
          this.deps.log('warn', `${hash.slice(0, 8)}: listsendpays failed (${(e as Error).message}): retrying`);
          this.deps.clock.setTimeout(() => attempt(Math.min(delayMs * 2, 30_000)), delayMs);
        },
      );
    };
    attempt(1000);
  }

  /**
   * listsendpays for the hash. When it shows a part pending that lightningd
   * registered before this rdv started, ask which HTLCs lightningd has offered, THEN listsendpays
   * again, and mark the parts lightningd lost (markLostParts: the order matters).
   */
  private async outgoingParts(hash: PaymentHash): Promise<OutgoingPart[]> {
    const first = await this.deps.node.listsendpays(hash);
    const startIndex = this.startIndex;
    if (startIndex === undefined || !first.some((p) => p.status === 'pending' && p.createdIndex !== undefined && p.createdIndex <= startIndex)) return first;
    const offered = await this.deps.node.outgoingHtlcHashes();
    const parts = markLostParts(await this.deps.node.listsendpays(hash), { startIndex, outgoingHtlc: offered.has(hash) });
    const lost = parts.filter((p) => p.lost === true).length;
    if (lost > 0) this.deps.log('warn', `${hash.slice(0, 8)}: ${lost} outgoing part(s) pending since before lightningd restarted have no HTLC in any channel: lightningd lost them (killed before committing their HTLC)`);
    return parts;
  }
}

/** Why a relay whose record was removed must stay loaded, or undefined. */
function stillNeeded(entry: Entry): string | undefined {
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
