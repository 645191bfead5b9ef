/**
 * Runs the relay state machine (src/chain/relay/) against lightningd: one serial
 * event queue per payment hash, effects executed in order, a persist finished
 * before the next effect, hook replies kept until the machine decides.
 *
 * The runner is this class and five rooms beside it, each with one concern:
 *   entry.ts    one relay as the runner holds it (Entry), when it may be let go,
 *               the runner's dependencies (RunnerDeps, Clock) and what the rooms
 *               may reach of the runner (RunnerCore)
 *   intake.ts   the htlc_accepted hook's way in: rule 1, the call counted on its
 *               relay at once, the channel named, the reply registered
 *   effects.ts  the effect executor: hook replies, writes, timers, queries
 *   xpay.ts     paying onward: xpay over our askrene layer, closing its route
 *   outgoing.ts what listsendpays says of it, with parts lightningd lost in a crash marked
 *   samples.ts  decision and resolve times for rdv-status
 * This file owns the relays (in memory, counted as finished, or not ours), their
 * queues and durable writes, and answers rdv-status, prune and the plugin's calls.
 */
import { partKey } from '../../chain/parts.js';
import type { JsonObject } from '../../chain/read.js';
import type { AnyRecord, LastRecord, RelayRecord } from '../../chain/record.js';
import { isQuiet } from '../../chain/relay/startup.js';
import { step } from '../../chain/relay/step.js';
import type { RelayEvent } from '../../chain/relay/types.js';
import { summaryOf, tally, type RecordSummary, type Tally } from '../../chain/selection.js';
import { ChannelIds } from '../../rpc/channels.js';
import { ClaimScanner } from '../../rpc/claims.js';
import { writeRecord, type Stored } from '../../rpc/records.js';
import { EffectExecutor } from './effects.js';
import { newEntry, stillNeeded, type Entry, type HookReply, type RunnerCore, type RunnerDeps } from './entry.js';
import { HookIntake } from './intake.js';
import { OutgoingParts } from './outgoing.js';
import { Samples } from './samples.js';
import { XpayPayments } from './xpay.js';

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
   * plugin's start and RSS. A late HTLC for one loads it from the datastore (HookIntake).
   */
  private readonly finished = new Map<string, RecordSummary>();
  private height = 0;
  /** HTLC in -> xpay out, and xpay result -> HTLCs resolved, inside the plugin. */
  readonly decisionTimes = new Samples();
  readonly resolveTimes = new Samples();
  /** scid or alias -> channel_id, for parts whose channel lightningd renames (parts.ts). */
  readonly channels: ChannelIds;
  /** lightningd's channel moves, read in pages, one scan shared by every settled relay that asks (check_claims). */
  readonly claims: ClaimScanner;
  private readonly payments: XpayPayments;
  private readonly executor: EffectExecutor;
  private readonly intake: HookIntake;

  constructor(private readonly deps: RunnerDeps) {
    this.channels = new ChannelIds(deps.node, (m) => deps.log('warn', m));
    this.claims = new ClaimScanner(deps.node);
    const core: RunnerCore = {
      deps,
      entry: (hash) => this.entries.get(hash),
      enqueue: (hash, event) => this.enqueue(hash, event),
      enqueueJob: (entry, job) => this.enqueueJob(entry, job),
      process: (entry, event) => this.process(entry, event),
      ctx: () => this.ctx(),
      persist: (entry, record) => this.persist(entry, record),
      checkpoint: (entry) => this.checkpoint(entry),
    };
    this.payments = new XpayPayments(core, this.channels);
    this.executor = new EffectExecutor(core, this.payments, this.claims, new OutgoingParts(deps), { decision: this.decisionTimes, resolve: this.resolveTimes });
    this.intake = new HookIntake({
      core,
      channels: this.channels,
      isOther: (hash) => this.others.has(hash),
      adopt: (stored) => this.adopt(stored, { full: true }),
      setHeight: (height) => this.setHeight(height),
      backoff: (attempt) => this.backoff(attempt),
    });
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
    this.entries.set(record.paymentHash, newEntry(record, generation));
    if (options.startup) this.enqueue(record.paymentHash, { type: 'startup', guardClaims: options.startup.guardClaims });
  }

  /** The htlc_accepted hook: resolves with the reply for lightningd (maybe much later). See HookIntake. */
  onHtlcAccepted(params: JsonObject): Promise<HookReply> {
    return this.intake.onHtlcAccepted(params);
  }

  /** Close the routes of xpay layers an earlier rdv left (see XpayPayments.closeStaleLayers). */
  closeStaleLayers(): Promise<void> {
    return this.payments.closeStaleLayers();
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

  /** The last payees' records (role `last`) in memory: every one the datastore holds. */
  *lastRecords(): Generator<LastRecord> {
    for (const r of this.others.values()) if (r.role === 'last') yield r;
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
    await this.executor.execute(entry, effects);
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
}
