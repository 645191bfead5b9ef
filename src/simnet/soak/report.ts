/**
 * The chaos soak (issue 7): many three-payee rendez-vous (payer -> Alice -> Bob
 * -> Carol) on one simulated network, each chain built with the real CLI and
 * relayed by the real bin/rdv and bin/rdv-guard, with faults injected at
 * points of each payment's progress (plan.ts), then a drain and an audit of
 * the whole HTLC history (audit.ts).
 *
 * Each payment has its own payer node and channels to Alice (so a zero-conf
 * channel, a splice or a channel closing belongs to one payment); Alice, Bob
 * and Carol, their channels and the blocks are shared, so a crash, a disabled
 * channel or a burst of blocks meant for one payment hits the others in flight
 * too — more chaos, and the audit is per payment anyway.
 */
import { msat } from '../../chain/amount.js';
import { parseRecord, relayKey } from '../../chain/record.js';
import type { PayResult } from '../../chain/relay/types.js';
import { LightningNode } from '../../rpc/node.js';
import { parseJson } from '../../rpc/json.js';
import type { SimChannel } from '../channel.js';
import type { LedgerEntry } from '../ledger.js';
import { REGTEST_LATENCY, SimNetwork, sleep } from '../network.js';
import type { SimNode } from '../node.js';
import { auditPayment, type PaymentTerms, type PaymentVerdict } from './audit.js';
import { at, RDV_BIN, runCli } from './cli.js';
import { countBy, soakOk, soakSummary } from './summary.js';
import { planPayment, type ChannelName, type FaultKind, type FaultPlan, type PaymentPlan, type Phase, type Who } from './plan.js';

/** The phase a ledger entry marks: a payee holds an HTLC (add), a payee settles one. */
const PHASE_OF: Record<'add' | 'settle', Partial<Record<string, Phase>>> = {
  add: { alice: 'alice_holds', bob: 'bob_holds', carol: 'carol_holds' },
  settle: { alice: 'alice_settled', bob: 'bob_settled', carol: 'carol_settled' },
};

export interface SoakOptions {
  payments: number;
  seed: number;
  concurrency: number;
  withClosing: boolean;
  /** A block every this many ms in the background (0: only the faults' bursts and the drain mine). */
  blockIntervalMs: number;
  /** Load rdv-guard on Alice's and Bob's nodes (default true; false shows what the audit catches without it). */
  guard?: boolean;
  /** Run only these payment indexes (their plans as in the full run): to replay a bad payment. */
  only?: number[];
  /** Also dump these payments (as bad ones are), to look at them. */
  dump?: number[];
  /** Progress lines. */
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
  terms: PaymentTerms;
  payer: SimNode;
  payerChannels: SimChannel[];
  faults: InjectedFault[];
  skipped: Array<{ id: string; kind: FaultKind; why: string }>;
  /** Phases reached, with their time. */
  phases: Map<Phase, number>;
  /** Things that happened to this payment besides faults (attempts, stall releases). */
  notes: string[];
  pending: Array<Promise<void>>;
  armed: Array<{ node: SimNode; value: { afterMs: number } }>;
  startedMs: number;
  endedMs: number;
}

export interface BadPayment {
  index: number;
  verdict: PaymentVerdict;
  stuck: number;
  dump: string;
}

export interface SoakResult {
  summary: Record<string, unknown>;
  /** No money lost, nothing stuck, no force close, no preimage given away. */
  ok: boolean;
  bad: BadPayment[];
  /** Payments asked for with `dump` that are not bad. */
  shown: BadPayment[];
  /** Where a relay's own record (rdv status) disagrees with the ledger: bookkeeping, not money. */
  recordMismatches: string[];
  /** Payments whose chain could not be built with the CLI (not audited). */
  setupFailures: Array<{ index: number; error: string }>;
}

const DELAY_BUDGET = '60';
/** Carol's stalled HTLC is released when it gets this close to its expiry: a payee that stalls never lets it expire. */
const STALL_VALVE_BLOCKS = 3;

class Soak {
  readonly net: SimNetwork;
  alice!: SimNode;
  bob!: SimNode;
  carol!: SimNode;
  aliceBob!: SimChannel;
  bobCarol!: SimChannel;
  private readonly t0 = Date.now();
  /** Nodes a lifecycle fault is working on (one at a time per node). */
  private readonly busy = new Set<string>();
  /** How many faults disable each channel right now. */
  private readonly disabled = new Map<SimChannel, number>();
  private mining: Promise<void> = Promise.resolve();
  private readonly stalls = new Map<string, { run: PaymentRun; sinceHeight: number; blocks: number; timer: NodeJS.Timeout }>();
  readonly runs: PaymentRun[] = [];
  readonly setupFailures: Array<{ index: number; error: string }> = [];
  readonly logs: string[] = [];
  blocksMined = 0;
  private ticker: NodeJS.Timeout | undefined;

  constructor(readonly o: SoakOptions) {
    // rdv-guard's 75 s floor for its quiet time can be lowered only by this, for tests.
    process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS ??= '1000';
    this.net = new SimNetwork({
      pluginPath: RDV_BIN,
      latency: REGTEST_LATENCY,
      mppTimeoutMs: 5_000,
      pluginOptions: { 'rdv-mpp-timeout': 3 },
      guardOptions: { 'rdv-guard-quiet': 2 },
      onLog: (node, line) => this.logs.push(`${this.now()} [${node}] ${line}`),
    });
  }

  now(): number {
    return Date.now() - this.t0;
  }

  async setup(): Promise<void> {
    this.alice = await this.net.addNode('alice', { plugin: true, guard: this.o.guard ?? true });
    this.bob = await this.net.addNode('bob', { plugin: true, guard: this.o.guard ?? true });
    this.carol = await this.net.addNode('carol', { plugin: true });
    // Enough for every payment (each at most ~165 000 sat) with room to spare.
    this.aliceBob = this.net.openChannel(this.alice, this.bob, 100_000_000n);
    this.bobCarol = this.net.openChannel(this.bob, this.carol, 100_000_000n);
    if (this.o.blockIntervalMs > 0) this.ticker = setInterval(() => void this.mineBlocks(1, 0), this.o.blockIntervalMs);
  }

  // --- blocks ------------------------------------------------------------------

  /** Mine `n` blocks, `gapMs` apart, after any mining already under way. */
  mineBlocks(n: number, gapMs: number): Promise<void> {
    const job = this.mining.then(async () => {
      for (let i = 0; i < n; i++) {
        this.stallValve();
        await this.net.mine(1);
        this.blocksMined++;
        if (gapMs > 0 && i < n - 1) await sleep(gapMs);
      }
    });
    this.mining = job.catch(() => undefined);
    return job;
  }

  /** Before a block: release stalls whose block count is reached or whose HTLC at Carol nears its expiry. */
  private stallValve(): void {
    const next = this.net.height + 1;
    for (const [hash, s] of this.stalls) {
      const held = this.net.heldBy(this.carol).filter((h) => h.paymentHash === hash);
      const nearExpiry = held.some((h) => h.cltvExpiry - next <= STALL_VALVE_BLOCKS);
      if (nearExpiry || (s.blocks > 0 && next >= s.sinceHeight + s.blocks)) this.release(hash, nearExpiry ? 'near its expiry' : `after ${s.blocks} block(s)`);
    }
  }

  private release(hash: string, why: string): void {
    const s = this.stalls.get(hash);
    if (!s) return;
    clearTimeout(s.timer);
    this.stalls.delete(hash);
    s.run.notes.push(`${this.now()} stall released ${why} (height ${this.net.height})`);
    this.carol.releaseStalled(hash);
  }

  // --- the CLI -----------------------------------------------------------------

  /** Until `node` is up; throws after `ms` (a node that does not come back is the soak's failure, not a hang). */
  private async waitUp(node: SimNode, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!node.up) {
      if (Date.now() > deadline) throw new Error(`${node.name} has been down for ${ms / 1000} s`);
      await sleep(25);
    }
  }

  /** Start a node after a fault, trying again if lightningd (a plugin's start) fails, as an operator would. */
  private async startNode(node: SimNode, run?: PaymentRun): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await node.start();
        return;
      } catch (e) {
        const line = `${this.now()} ${node.name} did not start (attempt ${attempt}): ${(e as Error).message}`;
        run?.notes.push(line);
        this.logs.push(line);
        this.o.progress?.(`soak: ${line}`);
        if (attempt >= 5) throw e;
        await node.crash().catch(() => undefined);
        await sleep(500 * attempt);
      }
    }
  }

  /** Lines describing what the soak is waiting on (for a run that seems stuck). */
  describe(): string[] {
    const lines = [`soak: height ${this.net.height}, ${this.runs.filter((r) => r.endedMs === 0).length} payment(s) in flight, busy [${[...this.busy].join(', ')}]`];
    for (const n of [this.alice, this.bob, this.carol]) {
      lines.push(`soak:   ${n.name} ${n.up ? 'up' : 'DOWN'}, plugins ${n.plugins.map((p) => `${p.path.split('/').pop() ?? ''}:${p.host?.alive ? 'alive' : 'dead'}`).join(' ')}, holds ${this.net.heldBy(n).length}`);
    }
    for (const r of this.runs.filter((x) => x.endedMs === 0)) {
      lines.push(`soak:   #${r.plan.index} ${r.hash.slice(0, 8)} phases ${[...r.phases.keys()].join(',')} last note: ${r.notes.at(-1) ?? '-'}`);
    }
    return lines;
  }

  /** `rdv --json ...` on `node`, asked again while the node is down or unreachable (another payment's fault). */
  private async rdvJson(node: SimNode, args: string[], joinedHash?: string): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt++) {
      await this.waitUp(node);
      const r = await runCli([...at(node), '--json', ...args]);
      if (r.code === 0) return parseJson(r.stdout) as Record<string, unknown>;
      // A join the node's crash cut short after the record was stored: the retry finds it, as a payee would with rdv status.
      if (attempt > 1 && joinedHash !== undefined && r.code === 2 && /it was joined before/.test(r.stderr)) return this.storedJoin(node, joinedHash);
      if (attempt >= 6 || r.code === 2) throw new Error(`rdv ${args.join(' ')} on ${node.name}: exit ${r.code}: ${r.stderr.trim()}`);
      await sleep(300 * attempt);
    }
  }

  private async storedJoin(node: SimNode, hash: string): Promise<Record<string, unknown>> {
    const status = await this.rdvJson(node, ['status', hash]);
    const [record] = (status.records ?? []) as Array<Record<string, unknown>>;
    if (!record || record.payment_hash !== hash) throw new Error(`rdv status ${hash.slice(0, 8)} on ${node.name}: no record after a join that was cut short`);
    return { payment_hash: hash, bolt11: record.bolt11 };
  }

  // --- one payment -------------------------------------------------------------

  async runPayment(index: number): Promise<void> {
    const plan = planPayment(this.o.seed, index, { withClosing: this.o.withClosing });
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
      this.setupFailures.push({ index, error: (e as Error).message });
      return;
    }
    const payer = await this.net.addNode(`payer${index}`);
    // Opened after Alice's invoice, so its route hints never name another payment's zero-conf channel.
    const payerChannels = plan.payerChannelsSat.map((sat) => this.net.openChannel(payer, this.alice, sat, { zeroConf: plan.zeroConf }));
    const hash = String(c.payment_hash);
    const run: PaymentRun = {
      plan,
      hash,
      bolt11: String(a.bolt11),
      terms: {
        paymentHash: hash,
        names: { payer: payer.name, alice: 'alice', bob: 'bob', carol: 'carol' },
        aliceAmountMsat: BigInt(String(a.amount_msat)),
        bobAmountMsat: BigInt(String(b.amount_msat)),
        carolAmountMsat: BigInt(String(c.amount_msat)),
        payoutMsat: { alice: plan.payoutSat.alice * 1000n, bob: plan.payoutSat.bob * 1000n },
        feeBudgetMsat: { alice: plan.feeBudgetSat.alice * 1000n, bob: plan.feeBudgetSat.bob * 1000n },
      },
      payer,
      payerChannels,
      faults: [],
      skipped: [],
      phases: new Map(),
      notes: [],
      pending: [],
      armed: [],
      startedMs,
      endedMs: 0,
    };
    this.runs.push(run);
    const stop = this.net.ledger.onEntry((e) => {
      if (e.paymentHash === hash) this.onProgress(run, e);
    });
    try {
      this.reach(run, 'start');
      for (let attempt = 0; ; attempt++) {
        const result = await this.payOnce(run);
        run.notes.push(`${this.now()} payer attempt ${attempt + 1}: ${result.ok ? 'paid' : `failed: ${result.message}`}`);
        if (result.ok || attempt >= plan.retries) break;
        // Pay again once this payment's faults are over (a disabled channel enabled again...).
        await Promise.all(run.pending);
        await sleep(plan.retryDelayMs);
        run.faults.push({ id: `${index}.r${attempt + 1}`, kind: 'payer_retry', node: payer.name, phase: 'retry', atMs: this.now(), detail: `the payer pays the same invoice again (attempt ${attempt + 2})` });
      }
      await this.waitSettledDown(hash, 30_000);
      await Promise.all(run.pending);
    } finally {
      stop();
      this.release(hash, 'at the end of the payment');
      for (const { node, value } of run.armed) if (node.payer.lateInject === value) node.payer.lateInject = undefined;
      // A zero-conf channel confirms after a while anyway (and keeps Alice's route hints short).
      for (const ch of payerChannels) if (ch.scid === undefined && ch.canAddHtlc()) ch.confirm();
      run.endedMs = this.now();
    }
  }

  private async payOnce(run: PaymentRun): Promise<PayResult> {
    const client = await LightningNode.connect(run.payer.socketPath);
    try {
      const timeout = new Promise<PayResult>((resolve) => setTimeout(() => resolve({ ok: false, definite: false, message: 'the payer\'s xpay did not return within 120 s' }), 120_000).unref());
      return await Promise.race([client.xpay({ invstring: run.bolt11, maxfeeMsat: msat(10_000_000n), maxdelay: 2016, retryForSeconds: 2 }), timeout]);
    } finally {
      client.close();
    }
  }

  /** Until no HTLC of `hash` is held anywhere (or `ms` passed). */
  private async waitSettledDown(hash: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.net.allHeld().some((h) => h.incoming.paymentHash === hash)) await sleep(50);
  }

  private onProgress(run: PaymentRun, e: LedgerEntry): void {
    const phase = e.kind === 'add' || e.kind === 'settle' ? PHASE_OF[e.kind][e.to] : undefined;
    if (phase) this.reach(run, phase);
  }

  /** A phase is reached (the first time only): its faults are injected after their delay. */
  private reach(run: PaymentRun, phase: Phase): void {
    if (run.phases.has(phase)) return;
    run.phases.set(phase, this.now());
    if (phase === 'start') {
      // xpay's late inject is armed before the payment, and fires on the failure the fault causes later.
      for (const f of run.plan.faults.filter((x) => x.kind === 'late_inject')) {
        const node = this.nodeOf(f.node);
        const value = { afterMs: f.afterMs };
        node.payer.lateInject = value;
        run.armed.push({ node, value });
      }
    }
    for (const f of run.plan.faults.filter((x) => x.phase === phase)) {
      const job = (async () => {
        if (f.delayMs > 0) await sleep(f.delayMs);
        await this.inject(run, f);
      })().catch((err: unknown) => {
        run.notes.push(`${this.now()} fault ${f.id} ${f.kind} threw: ${(err as Error).stack ?? String(err)}`);
      });
      run.pending.push(job);
    }
  }

  // --- faults ------------------------------------------------------------------

  private nodeOf(w: Who): SimNode {
    return w === 'alice' ? this.alice : w === 'bob' ? this.bob : this.carol;
  }

  private channelOf(run: PaymentRun, name: ChannelName): SimChannel {
    if (name === 'alice-bob') return this.aliceBob;
    if (name === 'bob-carol') return this.bobCarol;
    // The payer's channel carrying an HTLC of this payment, else its first.
    const holding = run.payerChannels.find((ch) => this.net.htlcsOn(ch).some((x) => x.incoming.paymentHash === run.hash));
    return holding ?? (run.payerChannels[0] as SimChannel);
  }

  private note(run: PaymentRun, f: FaultPlan, node: string, detail: string): void {
    run.faults.push({ id: f.id, kind: f.kind, node, phase: f.phase, atMs: this.now(), detail });
  }

  private skip(run: PaymentRun, f: FaultPlan, why: string): void {
    run.skipped.push({ id: f.id, kind: f.kind, why });
  }

  /** Run a lifecycle fault on `node` unless another one is working on it. */
  private async exclusive(run: PaymentRun, f: FaultPlan, node: SimNode, fn: () => Promise<void>): Promise<void> {
    if (this.busy.has(node.name)) return this.skip(run, f, `${node.name} is already being restarted`);
    if (!node.up) return this.skip(run, f, `${node.name} is down`);
    this.busy.add(node.name);
    try {
      await fn();
    } finally {
      this.busy.delete(node.name);
    }
  }

  private disable(ch: SimChannel): void {
    this.disabled.set(ch, (this.disabled.get(ch) ?? 0) + 1);
    ch.enabled = false;
  }

  private enable(ch: SimChannel): void {
    const n = (this.disabled.get(ch) ?? 1) - 1;
    if (n > 0) this.disabled.set(ch, n);
    else {
      this.disabled.delete(ch);
      ch.enabled = true;
    }
  }

  private heldOn(ch: SimChannel, hash: string): boolean {
    return this.net.htlcsOn(ch).some((x) => x.incoming.paymentHash === hash);
  }

  private async inject(run: PaymentRun, f: FaultPlan): Promise<void> {
    const node = this.nodeOf(f.node);
    switch (f.kind) {
      case 'kill_rdv':
        return this.exclusive(run, f, node, async () => {
          if (!node.plugin?.alive) return this.skip(run, f, 'rdv is not running');
          this.note(run, f, node.name, `kill -9 rdv (pid ${node.plugin.pid ?? '?'}): lightningd stops; started again after ${f.ms} ms`);
          await node.killPlugin('rdv');
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'crash':
        return this.exclusive(run, f, node, async () => {
          this.note(run, f, node.name, `kill -9 lightningd; started again after ${f.ms} ms`);
          await node.crash();
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'restart':
        return this.exclusive(run, f, node, async () => {
          this.note(run, f, node.name, `lightningd stops cleanly; started again after ${f.ms} ms`);
          await node.stopCleanly(2_000);
          await sleep(f.ms);
          await this.startNode(node, run);
        });
      case 'stall': {
        const hash = run.hash;
        this.carol.stallHashes.add(hash);
        const timer = setTimeout(() => this.release(hash, `after ${f.ms} ms`), f.ms);
        this.stalls.set(hash, { run, sinceHeight: this.net.height, blocks: f.blocks, timer });
        this.note(run, f, 'carol', f.blocks > 0 ? `Carol stalls the payment for ${f.blocks} block(s) (at most ${f.ms} ms)` : `Carol stalls the payment for ${f.ms} ms`);
        return;
      }
      case 'invoice_deleted': {
        const inv = this.carol.invoices.byHash(run.hash);
        if (!inv || inv.status !== 'unpaid') return this.skip(run, f, `Carol's invoice is ${inv?.status ?? 'gone'}`);
        this.carol.invoices.delete(inv.label, 'unpaid');
        this.note(run, f, 'carol', `Carol deletes her invoice ${inv.label}`);
        return;
      }
      case 'channel_disabled':
      case 'late_inject': {
        const ch = this.channelOf(run, f.channel ?? 'bob-carol');
        const extra = f.kind === 'late_inject' ? ` so ${node.name}'s xpay fails; its late part comes ${f.afterMs} ms after the failure` : '';
        this.note(run, f, node.name, `channel ${f.channel ?? ''} (${ch.label}) disabled for ${f.ms} ms${extra}`);
        this.disable(ch);
        await sleep(f.ms);
        this.enable(ch);
        return;
      }
      case 'splice': {
        const ch = this.channelOf(run, f.channel ?? 'alice-bob');
        if (!this.heldOn(ch, run.hash)) return this.skip(run, f, `no HTLC of this payment on ${f.channel ?? ''}`);
        const old = ch.label;
        const scid = ch.splice();
        this.note(run, f, node.name, `splice of ${f.channel ?? ''} confirms: ${old} -> ${scid}${f.thenRestart ? `; ${node.name} restarts after ${f.ms} ms` : ''}`);
        if (f.thenRestart) await this.restartHolder(run, f, node);
        return;
      }
      case 'zeroconf_confirm': {
        const unconfirmed = run.payerChannels.filter((ch) => ch.scid === undefined && this.heldOn(ch, run.hash));
        if (unconfirmed.length === 0) return this.skip(run, f, 'no unconfirmed payer channel holds an HTLC of this payment');
        const names = unconfirmed.map((ch) => `${ch.label} -> ${ch.confirm()}`);
        this.note(run, f, 'alice', `zero-conf channel(s) confirm: ${names.join(', ')}${f.thenRestart ? `; alice restarts after ${f.ms} ms` : ''}`);
        if (f.thenRestart) await this.restartHolder(run, f, this.alice);
        return;
      }
      case 'block_burst':
        this.note(run, f, 'chain', `${f.blocks} blocks mined 15 ms apart from height ${this.net.height}`);
        await this.mineBlocks(f.blocks, 15);
        return;
      case 'closing':
        return this.exclusive(run, f, this.alice, async () => {
          if (!run.payerChannels.some((ch) => this.heldOn(ch, run.hash))) return this.skip(run, f, 'no HTLC of this payment on the payer channels');
          this.note(run, f, 'alice', `alice crashes; meanwhile the payer's channel(s) go on chain (AWAITING_UNILATERAL); alice starts again after ${f.ms} ms`);
          await this.alice.crash();
          for (const ch of run.payerChannels) ch.state = 'AWAITING_UNILATERAL';
          await sleep(f.ms);
          await this.startNode(this.alice, run);
        });
      case 'payer_retry':
        return;
      case 'disconnect':
      case 'payee_fails':
        // Drawn only for real lightningd (plan vocabulary 'regtest').
        return this.skip(run, f, 'not a fault of the simulated network');
    }
  }

  /** After a channel got a new name: crash the node holding an HTLC on it, so the replay comes under the new name. */
  private async restartHolder(run: PaymentRun, f: FaultPlan, node: SimNode): Promise<void> {
    if (this.busy.has(node.name) || !node.up) {
      run.notes.push(`${this.now()} ${f.id}: ${node.name} was not restarted (already down or restarting)`);
      return;
    }
    this.busy.add(node.name);
    try {
      await node.crash();
      await sleep(f.ms);
      await this.startNode(node, run);
    } finally {
      this.busy.delete(node.name);
    }
  }

  // --- the end -----------------------------------------------------------------

  /**
   * Final drain: release every stall, enable every channel, start every node,
   * wait for timers, then mine blocks (slowly) while anything is still held.
   */
  async drain(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const hash of [...this.stalls.keys()]) this.release(hash, 'in the final drain');
    this.carol.releaseStalled();
    for (const ch of this.disabled.keys()) ch.enabled = true;
    this.disabled.clear();
    for (const n of this.net.nodes.values()) {
      n.payer.lateInject = undefined;
      if (!n.up) await this.startNode(n);
    }
    const held = (): number => this.net.allHeld().length;
    const deadline = Date.now() + 15_000;
    while (held() > 0 && Date.now() < deadline) await sleep(100);
    for (let i = 0; i < 40 && held() > 0; i++) {
      await this.mineBlocks(1, 0);
      await sleep(250);
    }
    const last = Date.now() + 5_000;
    while (held() > 0 && Date.now() < last) await sleep(100);
    // Relays write "settled" as a checkpoint shortly after resolving: let them, before their records are compared.
    await sleep(1_000);
  }

  result(durationS: number): SoakResult {
    const entries = this.net.ledger.entries;
    const bad: BadPayment[] = [];
    const shown: BadPayment[] = [];
    const verdicts: PaymentVerdict[] = [];
    const heldNow = this.net.allHeld();
    for (const run of this.runs) {
      const v = auditPayment(run.terms, entries);
      verdicts.push(v);
      const stuck = heldNow.filter((h) => h.incoming.paymentHash === run.hash).length;
      const isBad = v.lostMsat > 0n || stuck > 0 || v.relayExpiries > 0 || v.preimageRevealed || v.payeeExpiries > 0;
      if (isBad || this.o.dump?.includes(run.plan.index)) {
        const entry = { index: run.plan.index, verdict: v, stuck, dump: this.dump(run, v, stuck) };
        if (isBad) bad.push(entry);
        else shown.push(entry);
      }
    }
    const mismatches = this.recordMismatches();
    const relays = new Set(['alice', 'bob']);
    const faults = this.runs.flatMap((r) => r.faults);
    const summary = soakSummary({
      seed: this.o.seed,
      payments: this.runs.length,
      concurrency: this.o.concurrency,
      faultsByKind: countBy(faults, (f) => f.kind),
      faultsByPhase: countBy(faults, (f) => f.phase),
      faultsSkipped: countBy(this.runs.flatMap((r) => r.skipped), (s) => s.kind),
      networkEvents: countBy(this.net.events, (e) => e.type),
      verdicts,
      stuckHtlcs: heldNow.length,
      forceCloses: entries.filter((e) => e.kind === 'expire' && relays.has(e.to)).length,
      recordMismatches: mismatches.length,
      setupFailed: this.setupFailures.length,
      withClosing: this.o.withClosing,
      ...(this.o.guard === false ? { guard: false as const } : {}),
      blocks: this.blocksMined,
      htlcs: entries.filter((e) => e.kind === 'add').length,
      durationS,
    });
    return { summary, ok: soakOk(summary), bad, shown, setupFailures: [...this.setupFailures], recordMismatches: mismatches };
  }

  /**
   * rdv's own view against the ledger: a relay's record of a payment Carol was
   * paid for says `settled` and earned exactly what the ledger says it kept; of
   * one she was not paid for, it is not `settled`.
   */
  private recordMismatches(): string[] {
    const out: string[] = [];
    for (const run of this.runs) {
      const v = auditPayment(run.terms, this.net.ledger.forHash(run.hash));
      for (const node of [this.alice, this.bob]) {
        const role = node === this.alice ? 'alice' : 'bob';
        const raw = node.datastore.get(relayKey(run.hash));
        let state = 'missing';
        let earned: bigint | undefined;
        try {
          const r = raw ? parseRecord(raw) : undefined;
          if (r?.role === 'relay') {
            state = r.state;
            earned = r.earnedMsat;
          } else if (r) state = `role ${r.role}`;
        } catch (e) {
          state = `unreadable (${(e as Error).message})`;
        }
        const net = v.netMsat[role];
        if (v.outcome === 'settled' && (state !== 'settled' || earned !== net)) {
          out.push(`#${run.plan.index} ${run.hash.slice(0, 8)} ${role}: record ${state}, earned ${earned ?? '-'} msat; the ledger says it kept ${net} msat`);
        } else if (v.outcome === 'failed_back' && state === 'settled') {
          out.push(`#${run.plan.index} ${run.hash.slice(0, 8)} ${role}: record settled (earned ${earned ?? '-'} msat) for a payment Carol was not paid for`);
        }
      }
    }
    return out;
  }

  /** Everything needed to replay and debug one bad payment. */
  private dump(run: PaymentRun, v: PaymentVerdict, stuck: number): string {
    const lines: string[] = [];
    const { plan } = run;
    lines.push(`=== ${stuck > 0 || v.lostMsat > 0n || v.relayExpiries > 0 || v.preimageRevealed || v.payeeExpiries > 0 ? 'bad ' : ''}payment #${plan.index} hash ${run.hash} (${v.outcome}): lost ${v.lostMsat} msat, stuck ${stuck}, relay expiries ${v.relayExpiries}, preimage revealed ${v.preimageRevealed}`);
    lines.push(`replay: npm run soak -- --seed ${this.o.seed} --payments ${Math.max(this.o.payments, plan.index + 1)} --only ${plan.index}`);
    lines.push(`plan: carol ${plan.carolSat} sat, payouts ${plan.payoutSat.alice}/${plan.payoutSat.bob} sat, fee budgets ${plan.feeBudgetSat.alice}/${plan.feeBudgetSat.bob} sat, payer channels ${plan.payerChannelsSat.join('+')} sat${plan.zeroConf ? ' (zero-conf)' : ''}, retries ${plan.retries}`);
    lines.push(`planned: ${plan.faults.map((f) => `${f.id} ${f.kind}@${f.node}/${f.phase}+${f.delayMs}ms`).join('; ') || 'none'}`);
    for (const s of v.shortfalls) lines.push(`shortfall: ${s.role} ${s.msat} msat: ${s.why}`);
    for (const a of v.anomalies) lines.push(`anomaly: ${a}`);
    lines.push(`net (received - paid): ${Object.entries(v.netMsat).map(([r, n]) => `${r} ${n}`).join(', ')}`);
    lines.push(`phases: ${[...run.phases].map(([p, t]) => `${p} +${t}ms`).join(', ')}`);
    for (const f of run.faults) lines.push(`fault +${f.atMs}ms ${f.id} ${f.kind} on ${f.node} at ${f.phase}: ${f.detail}`);
    for (const s of run.skipped) lines.push(`skipped ${s.id} ${s.kind}: ${s.why}`);
    // Faults of other payments while this one ran hit it too.
    for (const other of this.runs) {
      if (other === run) continue;
      for (const f of other.faults) if (f.atMs >= run.startedMs && f.atMs <= run.endedMs) lines.push(`meanwhile +${f.atMs}ms ${f.id} ${f.kind} on ${f.node}: ${f.detail}`);
    }
    for (const n of run.notes) lines.push(`note ${n}`);
    lines.push('ledger:');
    for (const e of this.net.ledger.forHash(run.hash)) {
      lines.push(`  +${e.atMs}ms h${e.height} ${e.kind.padEnd(11)} ${e.from} -> ${e.to} ${e.channel}/${e.htlcId} ${e.amountMsat} msat cltv ${e.cltvExpiry}${e.failureMessage ? ` failure ${e.failureMessage.slice(0, 4)}` : ''}`);
    }
    for (const node of [this.alice, this.bob]) {
      const raw = node.datastore.get(relayKey(run.hash));
      if (!raw) continue;
      try {
        const r = parseRecord(raw) as unknown as Record<string, unknown>;
        lines.push(`${node.name} record: state ${String(r.state)}, parts ${JSON.stringify(r.parts, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}, lastError ${String(r.lastError ?? '-')}`);
      } catch (e) {
        lines.push(`${node.name} record unreadable: ${(e as Error).message}`);
      }
    }
    const prefix = run.hash.slice(0, 8);
    const logLines = this.logs.filter((l) => l.includes(prefix));
    lines.push(`plugin log lines naming ${prefix} (${logLines.length}):`);
    for (const l of logLines.slice(-80)) lines.push(`  ${l}`);
    return lines.join('\n');
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.net.stop();
  }
}

/**
 * Run the soak: set up the network, run the payments `concurrency` at a time,
 * drain, audit. The network is stopped before this returns.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const soak = new Soak(o);
  try {
    await soak.setup();
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
          soak.setupFailures.push({ index: i, error: `the soak itself failed: ${(e as Error).stack ?? String(e)}` });
        }
        done++;
        if (o.progress && (done % 10 === 0 || done === indexes.length)) {
          o.progress(`soak: ${done}/${indexes.length} payments, ${Math.round((Date.now() - started) / 1000)} s, height ${soak.net.height}`);
        }
      }
    };
    let lastSeen = -1;
    const watchdog = setInterval(() => {
      const seen = soak.net.ledger.entries.length + done;
      if (seen === lastSeen) for (const line of soak.describe()) o.progress?.(line);
      lastSeen = seen;
    }, 30_000);
    try {
      await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
    } finally {
      clearInterval(watchdog);
    }
    await soak.drain();
    return soak.result((Date.now() - started) / 1000);
  } finally {
    await soak.stop();
  }
}
