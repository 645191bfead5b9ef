/**
 * The chaos soak on real lightningd and bitcoind (`npm run soak -- --regtest`):
 * the simulated soak's payments and fault plans (src/simnet/soak/plan.ts, the
 * `regtest` vocabulary), made on a real regtest network (src/regtest), audited
 * from lightningd's own books instead of rdv's records or a simulated ledger.
 *
 * The cut: this file is the I/O (nodes, faults, the CLI, reading the books);
 * books.ts is the audit, pure (replies in, verdicts out, unit-tested on
 * captured replies); watch.ts samples the nodes while the payments run.
 *
 *   payer ==(3 x 6M sat)== alice --(15M)-- bob --(15M)-- carol
 *
 * Alice and Bob relay with rdv and rdv-guard (important-plugin); Carol is the
 * last payee, with two test plugins: hold-plugin.mjs after rdv in her
 * htlc_accepted chain to fail a payment, stall-plugin.mjs on invoice_payment to
 * stall one once it is complete (where the simulated payee stalls). One payer pays every payment (a run of 60
 * lightningd payers would not fit the machine); a plan's multi-part payment is
 * made with an askrene layer that caps each payer channel below the amount.
 *
 * Real faults: kill -9 of rdv alone (lightningd stops, as for an important
 * plugin) and of lightningd, clean restarts, peer disconnects while an HTLC is
 * held, bursts of blocks, Carol stalling (released after some time or blocks,
 * and always a few blocks before her HTLC's expiry) or failing the payment,
 * Carol deleting her invoice, the payer paying again.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson, stringifyJson } from '../rpc/json.js';
import { RpcError } from '../rpc/client.js';
import { locateBinaries } from '../regtest/binaries.js';
import { Regtest } from '../regtest/harness.js';
import type { RegtestNode } from '../regtest/lightningd.js';
import type { PaymentTerms, PaymentVerdict } from '../simnet/soak/audit.js';
import { at, ROOT, runCli } from '../simnet/soak/cli.js';
import { planPayment, type FaultKind, type FaultPlan, type PaymentPlan, type Phase, type Who } from '../simnet/soak/plan.js';
import { countBy, soakOk, soakSummary } from '../simnet/soak/summary.js';
import {
  auditFromBooks,
  balanceMismatches,
  forceCloses,
  parseAccountEvents,
  parseChannelMoves,
  parseClosedChannels,
  parseInvoices,
  parsePeerChannels,
  parseSendpays,
  parseStatusRecords,
  recordMismatches,
  parseHtlcs,
  stuckHtlcs,
  type Baseline,
  type ExpirySeen,
  type NodeBooks,
  type RelayRecordView,
} from './books.js';
import { Watch } from './watch.js';

/** Carol fails a payment with it (htlc_accepted: temporary_node_failure). */
export const HOLD_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'hold-plugin.mjs');
/** Carol stalls a complete payment with it (invoice_payment), as the simulated stalling payee does. */
export const STALL_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'stall-plugin.mjs');

export interface RegtestSoakOptions {
  payments: number;
  seed: number;
  concurrency: number;
  /** A block every this many ms in the background (0: only the faults' bursts and the drain mine). */
  blockIntervalMs: number;
  only?: number[];
  dump?: number[];
  /** Keep the regtest directory (logs, databases) and say where it is. */
  keep?: boolean;
  /** Write each node's books (the raw replies the audit read) to this directory, one JSON file per node and call. */
  saveBooks?: string;
  progress?: (line: string) => void;
}

export interface InjectedFault {
  id: string;
  kind: FaultKind;
  node: string;
  phase: Phase | 'retry';
  atMs: number;
  detail: string;
}

interface PaymentRun {
  plan: PaymentPlan;
  hash: string;
  bolt11: string;
  carolLabel: string;
  terms: PaymentTerms;
  faults: InjectedFault[];
  skipped: Array<{ id: string; kind: FaultKind; why: string }>;
  phases: Map<Phase, number>;
  notes: string[];
  pending: Array<Promise<void>>;
  startedMs: number;
  endedMs: number;
}

export interface BadPayment {
  index: number;
  verdict: PaymentVerdict;
  stuck: number;
  dump: string;
}

export interface RegtestSoakResult {
  summary: Record<string, unknown>;
  ok: boolean;
  bad: BadPayment[];
  shown: BadPayment[];
  recordMismatches: string[];
  /** Where a node's balances and its books disagree (the global conservation check). */
  balanceMismatches: string[];
  forceCloses: string[];
  setupFailures: Array<{ index: number; error: string }>;
  /** The regtest directory, when kept. */
  dir?: string;
}

const DELAY_BUDGET = '60';
/**
 * rdv-mpp-timeout, as in the simulated soak: how long a relay waits for a set's
 * parts, and after a restart for lightningd's replays before it asks the channel
 * moves whether a part it resolved just before the restart was received.
 */
const MPP_TIMEOUT_S = 3;
/** How long the end waits for the relays' records to agree with lightningd's books (checkpoints, the replay wait after the last restart). */
const RECORDS_SETTLE_MS = 30_000;
/**
 * Carol's stalled HTLC is released when the next block would bring its expiry
 * this close: a stalling payee never lets it expire. Further than the simulated
 * soak's 3: lightningd goes on chain for an incoming HTLC it has fulfilled but
 * not yet removed at expiry - (cltv-delta + 1) / 2, 3 blocks on regtest
 * (htlc_in_deadline), so Carol's fulfill must be through before then.
 */
const STALL_VALVE_BLOCKS = 5;
const SAT = 1000n;
const PAYER_CHANNEL_SAT = 6_000_000;
const RELAY_CHANNEL_SAT = 15_000_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

class RegtestSoak {
  payer!: RegtestNode;
  alice!: RegtestNode;
  bob!: RegtestNode;
  carol!: RegtestNode;
  watch!: Watch;
  readonly runs: PaymentRun[] = [];
  readonly setupFailures: Array<{ index: number; error: string }> = [];
  readonly baselines = new Map<string, Baseline>();
  readonly events: Array<{ type: string; node: string }> = [];
  private readonly t0 = Date.now();
  private readonly busy = new Set<string>();
  private readonly stalls = new Map<string, { run: PaymentRun; sinceHeight: number; blocks: number; timer: NodeJS.Timeout }>();
  /** Hashes Carol was ever told to hold or fail: all released in the drain. */
  private readonly touched = new Set<string>();
  private mining: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | undefined;
  /** The chain's height as last mined. */
  height = 0;
  blocksMined = 0;
  payerChannels: Array<{ scid: string; dir: number }> = [];

  constructor(
    readonly rt: Regtest,
    readonly o: RegtestSoakOptions,
  ) {}

  now(): number {
    return Date.now() - this.t0;
  }

  log(line: string): void {
    this.o.progress?.(`soak: ${line}`);
  }

  async setup(): Promise<void> {
    const rt = this.rt;
    [this.payer, this.alice, this.bob, this.carol] = [rt.node('payer'), rt.node('alice'), rt.node('bob'), rt.node('carol')];
    await rt.fund(['payer', 'alice', 'bob'], { btc: 0.2, utxos: 3 });
    const channels = await rt.openChannels([
      { from: 'payer', to: 'alice', amountSat: PAYER_CHANNEL_SAT },
      { from: 'payer', to: 'alice', amountSat: PAYER_CHANNEL_SAT },
      { from: 'payer', to: 'alice', amountSat: PAYER_CHANNEL_SAT },
      { from: 'alice', to: 'bob', amountSat: RELAY_CHANNEL_SAT },
      { from: 'bob', to: 'carol', amountSat: RELAY_CHANNEL_SAT },
    ]);
    // The direction bit of a channel is 0 from the node whose id sorts first.
    const dir = this.payer.id < this.alice.id ? 0 : 1;
    this.payerChannels = channels.filter((c) => c.from === 'payer').map((c) => ({ scid: c.scid, dir }));
    this.height = await rt.bitcoind.blockCount();
    this.watch = new Watch([this.payer, this.alice, this.bob, this.carol], () => this.height, 100);
    for (const n of [this.payer, this.alice, this.bob, this.carol]) {
      const moves = parseChannelMoves(await n.rpc.rpc.call('listchannelmoves', {}));
      const channelsNow = parsePeerChannels(await n.rpc.rpc.call('listpeerchannels', {}));
      const base: Baseline = { toUsMsat: channelsNow.reduce((s, c) => s + c.toUsMsat, 0n), movesIndex: moves.reduce((m, x) => Math.max(m, x.createdIndex), 0) };
      this.baselines.set(n.name, base);
      this.watch.startAfter(n.name, base.movesIndex);
    }
    this.watch.start();
    if (this.o.blockIntervalMs > 0) this.ticker = setInterval(() => void this.mineBlocks(1, 0).catch(() => undefined), this.o.blockIntervalMs);
  }

  // --- blocks ------------------------------------------------------------------

  /** Mine `n` blocks, `gapMs` apart, after any mining already under way; the stall valve runs before each. */
  mineBlocks(n: number, gapMs: number): Promise<void> {
    const job = this.mining.then(async () => {
      for (let i = 0; i < n; i++) {
        await this.stallValve();
        this.height = await this.rt.bitcoind.mine(1);
        this.blocksMined++;
        if (gapMs > 0 && i < n - 1) await sleep(gapMs);
      }
    });
    this.mining = job.catch(() => undefined);
    return job;
  }

  /** Before a block: release the stalls whose block count is reached or whose HTLC at Carol would come within STALL_VALVE_BLOCKS of its expiry. */
  private async stallValve(): Promise<void> {
    if (this.stalls.size === 0) return;
    const next = this.height + 1;
    let rows: ReturnType<typeof parseHtlcs> = [];
    if (this.carol.up) rows = parseHtlcs(await this.carol.rpc.rpc.call('listhtlcs', {}).catch(() => ({ htlcs: [] })));
    for (const [hash, s] of this.stalls) {
      const held = rows.filter((h) => h.paymentHash === hash && h.direction === 'in' && h.state.includes('_ADD_'));
      const nearExpiry = held.some((h) => h.expiry - next <= STALL_VALVE_BLOCKS);
      if (nearExpiry || (s.blocks > 0 && next >= s.sinceHeight + s.blocks)) {
        await this.release(hash, nearExpiry ? 'near its expiry' : `after ${s.blocks} block(s)`);
        // Carol's fulfill must be through (removed from the channel) before the block that brings her deadline.
        if (nearExpiry) await this.untilCarolLets(hash, 10_000);
      }
    }
  }

  private async untilCarolLets(hash: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.carol.up) {
      const rows = parseHtlcs(await this.carol.rpc.rpc.call('listhtlcs', {}).catch(() => ({ htlcs: [] })));
      if (!rows.some((h) => h.paymentHash === hash && h.direction === 'in' && h.state !== 'SENT_REMOVE_ACK_REVOCATION')) return;
      await sleep(50);
    }
  }

  /** Let Carol take the payment again (ends a stall and a failing spell alike). */
  private async release(hash: string, why: string): Promise<void> {
    const s = this.stalls.get(hash);
    if (s) {
      clearTimeout(s.timer);
      this.stalls.delete(hash);
      s.run.notes.push(`${this.now()} stall released ${why} (height ${this.height})`);
    }
    if (!this.carol.up) return;
    for (const method of ['stall-release', 'hold-release']) {
      await this.carol.rpc.rpc.call(method, { payment_hash: hash }).catch((e: unknown) => this.log(`${method} ${hash.slice(0, 8)} failed: ${errorText(e)}`));
    }
  }

  // --- nodes and the CLI ---------------------------------------------------------

  private async waitUp(node: RegtestNode, ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!node.up) {
      if (Date.now() > deadline) throw new Error(`${node.name} has been down for ${ms / 1000} s`);
      await sleep(50);
    }
  }

  /** Start a node after a fault, trying again (after killing what is left) if it does not come up. */
  private async startNode(node: RegtestNode, run?: PaymentRun): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await node.start();
        this.events.push({ type: 'node_restarted', node: node.name });
        return;
      } catch (e) {
        const line = `${this.now()} ${node.name} did not start (attempt ${attempt}): ${errorText(e)}`;
        run?.notes.push(line);
        this.log(line);
        if (attempt >= 5) throw e;
        await node.crash().catch(() => undefined);
        await sleep(1_000 * attempt);
      }
    }
  }

  /** `rdv --json ...` on `node`, asked again while the node is down or unreachable (another payment's fault). */
  private async rdvJson(node: RegtestNode, args: string[], joinedHash?: string): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt++) {
      await this.waitUp(node);
      const r = await runCli([...at(node), '--json', ...args], 60_000);
      if (r.code === 0) return parseJson(r.stdout) as Record<string, unknown>;
      if (attempt > 1 && joinedHash !== undefined && r.code === 2 && /it was joined before/.test(r.stderr)) return this.storedJoin(node, joinedHash);
      if (attempt >= 8 || r.code === 2) throw new Error(`rdv ${args.join(' ')} on ${node.name}: exit ${r.code}: ${r.stderr.trim()}`);
      await sleep(500 * attempt);
    }
  }

  private async storedJoin(node: RegtestNode, hash: string): Promise<Record<string, unknown>> {
    const status = await this.rdvJson(node, ['status', hash]);
    const [record] = (status.records ?? []) as Array<Record<string, unknown>>;
    if (!record || record.payment_hash !== hash) throw new Error(`rdv status ${hash.slice(0, 8)} on ${node.name}: no record after a join that was cut short`);
    return { payment_hash: hash, bolt11: record.bolt11, amount_msat: record.amount_msat };
  }

  // --- one payment -------------------------------------------------------------

  async runPayment(index: number): Promise<void> {
    const plan = planPayment(this.o.seed, index, { withClosing: false, vocabulary: 'regtest' });
    const startedMs = this.now();
    let c: Record<string, unknown>;
    let b: Record<string, unknown>;
    let a: Record<string, unknown>;
    try {
      c = await this.rdvJson(this.carol, ['join', '--last', '--amount', `${plan.carolSat}sat`, '--description', `soak ${index}`]);
      const hash = String(c.payment_hash);
      b = await this.rdvJson(this.bob, ['join', '--invoice', String(c.bolt11), '--payout', `${plan.payoutSat.bob}sat`, '--fee-budget', `${plan.feeBudgetSat.bob}sat`, '--delay-budget', DELAY_BUDGET], hash);
      a = await this.rdvJson(this.alice, ['join', '--invoice', String(b.bolt11), '--payout', `${plan.payoutSat.alice}sat`, '--fee-budget', `${plan.feeBudgetSat.alice}sat`, '--delay-budget', DELAY_BUDGET], hash);
    } catch (e) {
      this.setupFailures.push({ index, error: errorText(e) });
      return;
    }
    const hash = String(c.payment_hash);
    const run: PaymentRun = {
      plan,
      hash,
      bolt11: String(a.bolt11),
      carolLabel: String(c.label),
      terms: {
        paymentHash: hash,
        names: { payer: 'payer', alice: 'alice', bob: 'bob', carol: 'carol' },
        aliceAmountMsat: BigInt(String(a.amount_msat)),
        bobAmountMsat: BigInt(String(b.amount_msat)),
        carolAmountMsat: BigInt(String(c.amount_msat)),
        payoutMsat: { alice: plan.payoutSat.alice * SAT, bob: plan.payoutSat.bob * SAT },
        feeBudgetMsat: { alice: plan.feeBudgetSat.alice * SAT, bob: plan.feeBudgetSat.bob * SAT },
      },
      faults: [],
      skipped: [],
      phases: new Map(),
      notes: [],
      pending: [],
      startedMs,
      endedMs: 0,
    };
    this.runs.push(run);
    const unfollow = this.watch.follow(hash, (phase) => this.reach(run, phase));
    const layer = await this.mppLayer(run);
    try {
      // Faults due at the start with no delay (a stall, a failing payee) are in place before the payer pays.
      this.reach(run, 'start');
      await Promise.all(run.pending);
      for (let attempt = 0; ; attempt++) {
        const result = await this.payOnce(run, layer);
        run.notes.push(`${this.now()} payer attempt ${attempt + 1}: ${result.ok ? 'paid' : `failed: ${result.message}`}`);
        if (result.ok || attempt >= plan.retries) break;
        await Promise.all(run.pending);
        await sleep(plan.retryDelayMs);
        run.faults.push({ id: `${index}.r${attempt + 1}`, kind: 'payer_retry', node: 'payer', phase: 'retry', atMs: this.now(), detail: `the payer pays the same invoice again (attempt ${attempt + 2})` });
      }
      await this.waitSettledDown(hash, 60_000);
      await Promise.all(run.pending);
    } finally {
      unfollow();
      await this.release(hash, 'at the end of the payment');
      if (layer !== undefined) await this.payer.rpc.rpc.call('askrene-remove-layer', { layer }).catch(() => undefined);
      run.endedMs = this.now();
    }
  }

  /**
   * A plan of 2 or 3 parts: an askrene layer that caps each payer channel at
   * 1.2 x amount / parts, so xpay must split the payment (the payer's listsendpays
   * shows whether it did). Undefined for one part or if askrene refuses.
   */
  private async mppLayer(run: PaymentRun): Promise<string | undefined> {
    const parts = run.plan.payerChannelsSat.length;
    if (parts < 2) return undefined;
    const layer = `soak-mpp-${run.plan.index}`;
    const capMsat = (run.terms.aliceAmountMsat * 12n) / (10n * BigInt(parts)) + 1n;
    try {
      await this.payer.rpc.rpc.call('askrene-create-layer', { layer });
      for (const ch of this.payerChannels) {
        await this.payer.rpc.rpc.call('askrene-update-channel', { layer, short_channel_id_dir: `${ch.scid}/${ch.dir}`, htlc_maximum_msat: capMsat });
      }
      return layer;
    } catch (e) {
      run.notes.push(`${this.now()} no multi-part layer: ${errorText(e)}`);
      return undefined;
    }
  }

  private async payOnce(run: PaymentRun, layer: string | undefined): Promise<{ ok: boolean; message: string }> {
    const call = this.payer.rpc.rpc.call(
      'xpay',
      { invstring: run.bolt11, maxfee: 10_000_000, maxdelay: 2016, retry_for: 60, ...(layer !== undefined ? { layers: [layer] } : {}) },
      { timeoutMs: 600_000 },
    );
    try {
      await call;
      return { ok: true, message: 'paid' };
    } catch (e) {
      return { ok: false, message: e instanceof RpcError ? `${e.code} ${e.rpcMessage}` : errorText(e) };
    }
  }

  /** Until no node holds an incoming HTLC of `hash` (as the watch saw it last), or `ms` passed. */
  private async waitSettledDown(hash: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const seen = this.watch.samples;
    while (Date.now() < deadline && (this.watch.samples < seen + 2 || this.watch.holds(hash))) await sleep(100);
  }

  /** A phase is reached (the first time only): its faults are injected after their delay. */
  private reach(run: PaymentRun, phase: Phase): void {
    if (run.phases.has(phase) || run.endedMs > 0) return;
    run.phases.set(phase, this.now());
    for (const f of run.plan.faults.filter((x) => x.phase === phase)) {
      const job = (async () => {
        if (f.delayMs > 0) await sleep(f.delayMs);
        await this.inject(run, f);
      })().catch((e: unknown) => {
        run.notes.push(`${this.now()} fault ${f.id} ${f.kind} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      });
      run.pending.push(job);
    }
  }

  // --- faults ------------------------------------------------------------------

  private nodeOf(w: Who): RegtestNode {
    return w === 'alice' ? this.alice : w === 'bob' ? this.bob : this.carol;
  }

  private note(run: PaymentRun, f: FaultPlan, node: string, detail: string): void {
    run.faults.push({ id: f.id, kind: f.kind, node, phase: f.phase, atMs: this.now(), detail });
  }

  private skip(run: PaymentRun, f: FaultPlan, why: string): void {
    run.skipped.push({ id: f.id, kind: f.kind, why });
  }

  /** Run a lifecycle fault on `node` unless another one is working on it. */
  private async exclusive(run: PaymentRun, f: FaultPlan, node: RegtestNode, fn: () => Promise<void>): Promise<void> {
    if (this.busy.has(node.name)) return this.skip(run, f, `${node.name} is already being restarted`);
    if (!node.up) return this.skip(run, f, `${node.name} is down`);
    this.busy.add(node.name);
    try {
      await fn();
    } finally {
      this.busy.delete(node.name);
    }
  }

  private async inject(run: PaymentRun, f: FaultPlan): Promise<void> {
    const node = this.nodeOf(f.node);
    switch (f.kind) {
      case 'kill_rdv':
        return this.exclusive(run, f, node, async () => {
          const [plugin] = await node.rdvPluginProcesses();
          if (!plugin) return this.skip(run, f, 'rdv is not running');
          this.note(run, f, node.name, `kill -9 rdv (pid ${plugin.pid}): lightningd stops; started again after ${f.ms} ms`);
          await node.killRdvPlugin();
          this.events.push({ type: 'plugin_died', node: node.name });
          if (!(await node.waitDown(30_000))) {
            run.notes.push(`${this.now()} ${node.name}'s lightningd did not stop within 30 s of its important plugin's death: killed`);
            this.events.push({ type: 'lightningd_outlived_important_plugin', node: node.name });
          }
          await node.crash();
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'crash':
        return this.exclusive(run, f, node, async () => {
          this.note(run, f, node.name, `kill -9 lightningd (pid ${node.pid ?? '?'}); started again after ${f.ms} ms`);
          await node.crash();
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'restart':
        return this.exclusive(run, f, node, async () => {
          this.note(run, f, node.name, `lightningd stops cleanly (RPC stop); started again after ${f.ms} ms`);
          await node.stop();
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'stall': {
        if (!this.carol.up) return this.skip(run, f, 'carol is down');
        await this.carol.rpc.rpc.call('stall-hash', { payment_hash: run.hash });
        this.touched.add(run.hash);
        const timer = setTimeout(() => void this.release(run.hash, `after ${f.ms} ms`), f.ms);
        this.stalls.set(run.hash, { run, sinceHeight: this.height, blocks: f.blocks, timer });
        this.note(run, f, 'carol', f.blocks > 0 ? `Carol stalls the payment for ${f.blocks} block(s) (at most ${f.ms} ms)` : `Carol stalls the payment for ${f.ms} ms`);
        return;
      }
      case 'payee_fails': {
        if (!this.carol.up) return this.skip(run, f, 'carol is down');
        await this.carol.rpc.rpc.call('hold-fail', { payment_hash: run.hash });
        this.touched.add(run.hash);
        this.note(run, f, 'carol', `Carol fails every HTLC of the payment (temporary_node_failure) for ${f.ms} ms`);
        // Not awaited: the payer pays meanwhile.
        run.pending.push(sleep(f.ms).then(() => this.release(run.hash, `Carol takes payments again after failing them for ${f.ms} ms`)));
        return;
      }
      case 'invoice_deleted': {
        if (!this.carol.up) return this.skip(run, f, 'carol is down');
        const [inv] = await this.carol.rpc.listinvoices({ label: run.carolLabel });
        if (inv?.status !== 'unpaid') return this.skip(run, f, `Carol's invoice is ${inv?.status ?? 'gone'}`);
        await this.carol.rpc.delinvoice(run.carolLabel, 'unpaid');
        this.note(run, f, 'carol', `Carol deletes her invoice ${run.carolLabel}`);
        return;
      }
      case 'disconnect': {
        const peer = f.channel === 'alice-bob' ? this.bob : this.carol;
        if (!node.up || !peer.up) return this.skip(run, f, `${node.name} or ${peer.name} is down`);
        this.note(run, f, node.name, `${node.name} drops ${peer.name} (disconnect force), again whenever they are back, for ${f.ms} ms`);
        const until = Date.now() + f.ms;
        let drops = 0;
        while (Date.now() < until) {
          if (node.up && (await node.rpc.isConnected(peer.id).catch(() => false))) {
            await node.rpc.rpc.call('disconnect', { id: peer.id, force: true }).then(
              () => drops++,
              () => undefined,
            );
          }
          await sleep(100);
        }
        for (let i = 0; i < drops; i++) this.events.push({ type: 'peer_disconnected', node: node.name });
        run.notes.push(`${this.now()} ${f.id}: ${drops} disconnect(s) of ${peer.name} by ${node.name}`);
        return;
      }
      case 'block_burst':
        this.note(run, f, 'chain', `${f.blocks} blocks mined 15 ms apart from height ${this.height}`);
        await this.mineBlocks(f.blocks, 15);
        return;
      case 'channel_disabled':
      case 'splice':
      case 'zeroconf_confirm':
      case 'late_inject':
      case 'closing':
        // Drawn only for the simulated network (plan vocabulary 'sim').
        return this.skip(run, f, 'not a fault made on real lightningd');
      case 'payer_retry':
        return;
    }
  }

  // --- the end -----------------------------------------------------------------

  /**
   * Release every stall and failing spell, start every node, wait until nothing
   * is held, then mine blocks (one a second) while anything still is.
   */
  async drain(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.mining;
    for (const n of [this.payer, this.alice, this.bob, this.carol]) if (!n.up) await this.startNode(n);
    for (const hash of this.touched) await this.release(hash, 'in the final drain');
    const held = async (): Promise<number> => {
      let n = 0;
      for (const node of [this.payer, this.alice, this.bob, this.carol]) {
        if (!node.up) continue;
        n += parsePeerChannels(await node.rpc.rpc.call('listpeerchannels', {})).reduce((s, c) => s + c.htlcs.length, 0);
      }
      return n;
    };
    const deadline = Date.now() + 30_000;
    while ((await held()) > 0 && Date.now() < deadline) await sleep(250);
    for (let i = 0; i < 40 && (await held()) > 0; i++) {
      await this.mineBlocks(1, 0);
      await sleep(1_000);
    }
    const last = Date.now() + 10_000;
    while ((await held()) > 0 && Date.now() < last) await sleep(250);
    // Relays write "settled" as a checkpoint shortly after resolving: let them, before their records are compared.
    await sleep(2_000);
    await this.watch.sample();
    await this.watch.stop();
  }

  async readBooks(): Promise<NodeBooks[]> {
    const out: NodeBooks[] = [];
    if (this.o.saveBooks !== undefined) mkdirSync(this.o.saveBooks, { recursive: true });
    for (const n of [this.payer, this.alice, this.bob, this.carol]) {
      const call = async (method: string, params: Record<string, unknown> = {}): Promise<unknown> => {
        const reply = await n.rpc.rpc.call(method, params, { timeoutMs: 60_000 });
        if (this.o.saveBooks !== undefined) writeFileSync(join(this.o.saveBooks, `${n.name}-${method}.json`), `${stringifyJson(reply)}\n`);
        return reply;
      };
      out.push({
        name: n.name,
        moves: parseChannelMoves(await call('listchannelmoves')),
        sendpays: parseSendpays(await call('listsendpays')),
        invoices: parseInvoices(await call('listinvoices')),
        accountEvents: await call('bkpr-listaccountevents').then(parseAccountEvents, () => undefined),
        channels: parsePeerChannels(await call('listpeerchannels')),
        closed: parseClosedChannels(await call('listclosedchannels')),
      });
    }
    return out;
  }

  async relayRecords(): Promise<Record<'alice' | 'bob', Map<string, RelayRecordView>>> {
    const read = async (n: RegtestNode): Promise<Map<string, RelayRecordView>> => {
      try {
        return parseStatusRecords(await this.rdvJson(n, ['status']));
      } catch (e) {
        this.log(`rdv status on ${n.name}: ${errorText(e)}`);
        return new Map();
      }
    };
    return { alice: await read(this.alice), bob: await read(this.bob) };
  }

  async result(durationS: number): Promise<RegtestSoakResult> {
    const books = await this.readBooks();
    const expiries = this.watch.expiries;
    const verdictOf = new Map(this.runs.map((run) => [run, auditFromBooks(run.terms, books, expiries)] as const));
    const mismatchesOf = (r: Record<'alice' | 'bob', Map<string, RelayRecordView>>): string[] =>
      this.runs.flatMap((run) => {
        const v = verdictOf.get(run);
        if (!v) return [];
        return (['alice', 'bob'] as const).flatMap((relay) => recordMismatches(`#${run.plan.index} ${run.hash.slice(0, 8)}`, v, relay, r[relay].get(run.hash)) ?? []);
      });
    // A relay corrects its record a replay wait after its last restart, and writes
    // "settled" as a checkpoint: look again (a while) until the records agree with the books.
    let records = await this.relayRecords();
    for (const deadline = Date.now() + RECORDS_SETTLE_MS; mismatchesOf(records).length > 0 && Date.now() < deadline; ) {
      await sleep(2_000);
      records = await this.relayRecords();
    }
    const mismatches = mismatchesOf(records);
    const stuck = stuckHtlcs(books);
    const closes = forceCloses(books);
    const hashes = new Set(this.runs.map((r) => r.hash));
    const mismatchesOfBalances = balanceMismatches(books, this.baselines, hashes);
    const bad: BadPayment[] = [];
    const shown: BadPayment[] = [];
    const verdicts: PaymentVerdict[] = [];
    for (const run of this.runs) {
      const v = verdictOf.get(run) ?? auditFromBooks(run.terms, books, expiries);
      verdicts.push(v);
      const stuckHere = stuck.filter((s) => s.htlc.paymentHash === run.hash).length;
      const isBad = v.lostMsat > 0n || stuckHere > 0 || v.relayExpiries > 0 || v.preimageRevealed || v.payeeExpiries > 0;
      if (isBad || this.o.dump?.includes(run.plan.index)) {
        const entry = { index: run.plan.index, verdict: v, stuck: stuckHere, dump: this.dump(run, v, stuckHere, books) };
        if (isBad) bad.push(entry);
        else shown.push(entry);
      }
    }
    const faults = this.runs.flatMap((r) => r.faults);
    const expiredHtlcs = new Set(expiries.map((e) => `${e.node}/${e.scid}/${e.id}`)).size;
    const networkEvents = countBy(this.events, (e) => e.type);
    if (expiredHtlcs > 0) networkEvents.htlc_expired = expiredHtlcs;
    for (const n of [this.payer, this.alice, this.bob, this.carol]) {
      // An important plugin's death is logged as broken: that one is the kill_rdv fault itself.
      const broken = n.logLines('**BROKEN**').filter((l) => !l.includes('Plugin marked as important, shutting down lightningd')).length;
      if (broken > 0) networkEvents.broken_log_lines = (networkEvents.broken_log_lines ?? 0) + broken;
    }
    const multiPart = this.runs.filter((r) => {
      const parts = books.find((b) => b.name === 'payer')?.sendpays.filter((p) => p.paymentHash === r.hash && p.status === 'complete') ?? [];
      return parts.length > 1;
    }).length;
    const summary = soakSummary(
      {
        seed: this.o.seed,
        payments: this.runs.length,
        concurrency: this.o.concurrency,
        faultsByKind: countBy(faults, (f) => f.kind),
        faultsByPhase: countBy(faults, (f) => f.phase),
        faultsSkipped: countBy(
          this.runs.flatMap((r) => r.skipped),
          (s) => s.kind,
        ),
        networkEvents,
        verdicts,
        stuckHtlcs: stuck.length,
        forceCloses: closes.length,
        recordMismatches: mismatches.length,
        setupFailed: this.setupFailures.length,
        withClosing: false,
        blocks: this.blocksMined,
        htlcs: books.reduce((s, b) => s + (this.watch.htlcs.get(b.name)?.filter((h) => h.direction === 'in').length ?? 0), 0),
        durationS,
      },
      { mode: 'regtest', balance_mismatches: mismatchesOfBalances.length, multi_part: multiPart },
    );
    return {
      summary,
      ok: soakOk(summary) && mismatchesOfBalances.length === 0,
      bad,
      shown,
      recordMismatches: mismatches,
      balanceMismatches: mismatchesOfBalances,
      forceCloses: closes.map((c) => `channel ${c.channelId}: ${c.why} (seen by ${c.seenBy.join(', ')})`),
      setupFailures: [...this.setupFailures],
      ...(this.o.keep ? { dir: this.rt.dir } : {}),
    };
  }

  /** Everything needed to replay and debug one payment: its plan, faults, books and log lines. */
  private dump(run: PaymentRun, v: PaymentVerdict, stuck: number, books: readonly NodeBooks[]): string {
    const lines: string[] = [];
    const { plan } = run;
    lines.push(`=== ${stuck > 0 || v.lostMsat > 0n || v.relayExpiries > 0 || v.preimageRevealed || v.payeeExpiries > 0 ? 'bad ' : ''}payment #${plan.index} hash ${run.hash} (${v.outcome}): lost ${v.lostMsat} msat, stuck ${stuck}, relay expiries ${v.relayExpiries}, payee expiries ${v.payeeExpiries}, preimage revealed ${v.preimageRevealed}`);
    lines.push(`replay: npm run soak -- --regtest --seed ${this.o.seed} --payments ${Math.max(this.o.payments, plan.index + 1)} --only ${plan.index}`);
    lines.push(`plan: carol ${plan.carolSat} sat, payouts ${plan.payoutSat.alice}/${plan.payoutSat.bob} sat, fee budgets ${plan.feeBudgetSat.alice}/${plan.feeBudgetSat.bob} sat, ${plan.payerChannelsSat.length} part(s), retries ${plan.retries}`);
    lines.push(`planned: ${plan.faults.map((f) => `${f.id} ${f.kind}@${f.node}/${f.phase}+${f.delayMs}ms`).join('; ') || 'none'}`);
    for (const s of v.shortfalls) lines.push(`shortfall: ${s.role} ${s.msat} msat: ${s.why}`);
    for (const a of v.anomalies) lines.push(`anomaly: ${a}`);
    lines.push(`net (received - paid): ${Object.entries(v.netMsat).map(([r, n]) => `${r} ${n}`).join(', ')}`);
    lines.push(`phases: ${[...run.phases].map(([p, t]) => `${p} +${t}ms`).join(', ')}`);
    for (const f of run.faults) lines.push(`fault +${f.atMs}ms ${f.id} ${f.kind} on ${f.node} at ${f.phase}: ${f.detail}`);
    for (const s of run.skipped) lines.push(`skipped ${s.id} ${s.kind}: ${s.why}`);
    for (const other of this.runs) {
      if (other === run) continue;
      for (const f of other.faults) if (f.atMs >= run.startedMs && f.atMs <= run.endedMs) lines.push(`meanwhile +${f.atMs}ms ${f.id} ${f.kind} on ${f.node}: ${f.detail}`);
    }
    for (const n of run.notes) lines.push(`note ${n}`);
    for (const b of books) {
      for (const m of b.moves.filter((x) => x.paymentHash === run.hash)) lines.push(`  ${b.name} move #${m.createdIndex} ${m.tag} ${m.accountId.slice(0, 8)} +${m.creditMsat} -${m.debitMsat}`);
      for (const p of b.sendpays.filter((x) => x.paymentHash === run.hash)) lines.push(`  ${b.name} sendpay ${p.groupid}/${p.partid} ${p.status} ${p.amountSentMsat} msat`);
      for (const h of this.watch.htlcs.get(b.name)?.filter((x) => x.paymentHash === run.hash) ?? []) lines.push(`  ${b.name} htlc ${h.direction} ${h.scid}/${h.id} ${h.amountMsat} msat expiry ${h.expiry} ${h.state}`);
    }
    const firstSeen = new Map<string, ExpirySeen>();
    for (const e of this.watch.expiries) if (e.paymentHash === run.hash && !firstSeen.has(`${e.node}/${e.scid}/${e.id}`)) firstSeen.set(`${e.node}/${e.scid}/${e.id}`, e);
    for (const e of firstSeen.values()) lines.push(`  expiry: ${e.node} still held ${e.scid}/${e.id} (expiry ${e.expiry}) at height ${e.height}`);
    const prefix = run.hash.slice(0, 8);
    for (const n of [this.payer, this.alice, this.bob, this.carol]) {
      const logged = n.logLines(new RegExp(`${prefix}|${run.hash}`));
      // The first lines tell how it went wrong; the last ones how it ended.
      const shown = logged.length <= 80 ? logged : [...logged.slice(0, 50), `... ${logged.length - 80} more ...`, ...logged.slice(-30)];
      lines.push(`${n.name}'s log lines naming ${prefix} (${logged.length}; ${n.logFile}):`);
      for (const l of shown) lines.push(`  ${l}`);
    }
    return lines.join('\n');
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const s of this.stalls.values()) clearTimeout(s.timer);
    await this.watch?.stop();
    await this.mining;
  }
}

/**
 * Run the soak on a fresh regtest network: set up, run the payments
 * `concurrency` at a time, drain, read the books, audit. The network is
 * stopped (and its directory removed unless `keep`) before this returns.
 * An error value when the binaries or the hold plugin are missing, or the
 * network does not start.
 */
export async function runRegtestSoak(o: RegtestSoakOptions): Promise<{ ok: true; value: RegtestSoakResult } | { ok: false; error: string }> {
  const bins = locateBinaries();
  if (!bins.ok) return { ok: false, error: bins.error };
  const missing = [HOLD_PLUGIN, STALL_PLUGIN].find((p) => !existsSync(p));
  if (missing !== undefined) return { ok: false, error: `no ${missing}: the regtest soak runs from the repository` };
  const started = Date.now();
  const net = await Regtest.start({
    binaries: bins.value,
    nodes: [
      { name: 'payer', rdv: 'none' },
      { name: 'alice', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`] },
      { name: 'bob', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`] },
      { name: 'carol', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`, `--plugin=${HOLD_PLUGIN}`, `--plugin=${STALL_PLUGIN}`] },
    ],
    keep: o.keep ?? false,
  });
  if (!net.ok) return { ok: false, error: net.error };
  const rt = net.value;
  const soak = new RegtestSoak(rt, o);
  try {
    o.progress?.(`soak: regtest network in ${rt.dir}; setting up channels`);
    await soak.setup();
    o.progress?.(`soak: set up in ${Math.round((Date.now() - started) / 1000)} s at height ${soak.height}`);
    const indexes = o.only ?? Array.from({ length: o.payments }, (_, i) => i);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = indexes[next++];
        if (i === undefined) return;
        try {
          await soak.runPayment(i);
        } catch (e) {
          soak.setupFailures.push({ index: i, error: `the soak itself failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
        }
        done++;
        if (o.progress && (done % 5 === 0 || done === indexes.length)) o.progress(`soak: ${done}/${indexes.length} payments, ${Math.round((Date.now() - started) / 1000)} s, height ${soak.height}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
    o.progress?.('soak: draining');
    await soak.drain();
    return { ok: true, value: await soak.result((Date.now() - started) / 1000) };
  } finally {
    await soak.stop().catch(() => undefined);
    await rt.stop();
  }
}
