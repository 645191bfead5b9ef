/**
 * The network the simulated soak runs on, and what the soak knows of it: Alice,
 * Bob and Carol with rdv (and rdv-guard on the relays) and their channels, the
 * blocks (in the background, in bursts, and Carol's stall valve before each),
 * nodes started again after a fault, channels disabled by faults, the payments
 * so far, the plugins' log lines, and the final drain.
 */
import type { SimChannel } from '../channel.js';
import { REGTEST_LATENCY, SimNetwork, sleep } from '../network.js';
import type { SimNode } from '../node.js';
import { Miner, Stalls, stallDue } from './blocks.js';
import { RDV_BIN } from './cli.js';
import { RdvJson } from './joins.js';
import { Lifecycle } from './lifecycle.js';
import type { Who } from './plan.js';
import type { PaymentRun } from './run.js';

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

/** A payment on the simulated network: each has its own payer node and channels to Alice. */
export interface SimRun extends PaymentRun {
  payer: SimNode;
  payerChannels: SimChannel[];
  /** xpay late injects armed for this payment (late_inject), disarmed at its end. */
  armed: Array<{ node: SimNode; value: { afterMs: number } }>;
}

/** Carol's stalled HTLC is released when it gets this close to its expiry: a payee that stalls never lets it expire. */
const STALL_VALVE_BLOCKS = 3;

export class SimSoak {
  readonly net: SimNetwork;
  alice!: SimNode;
  bob!: SimNode;
  carol!: SimNode;
  aliceBob!: SimChannel;
  bobCarol!: SimChannel;
  private readonly t0 = Date.now();
  readonly nodes: Lifecycle;
  readonly rdv = new RdvJson({ downMs: 60_000, pollMs: 25, attempts: 6, retryMs: 300 });
  readonly miner = new Miner(
    () => this.net.mine(1),
    () => this.stallValve(),
  );
  readonly stalls = new Stalls<SimRun>();
  /** How many faults disable each channel right now. */
  private readonly disabled = new Map<SimChannel, number>();
  readonly runs: SimRun[] = [];
  readonly setupFailures: Array<{ index: number; error: string }> = [];
  readonly logs: string[] = [];
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
    this.nodes = new Lifecycle({
      now: () => this.now(),
      log: (line) => {
        this.logs.push(line);
        this.o.progress?.(`soak: ${line}`);
      },
      retryMs: 500,
    });
  }

  /** Milliseconds since the soak began. */
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

  nodeOf(w: Who): SimNode {
    return w === 'alice' ? this.alice : w === 'bob' ? this.bob : this.carol;
  }

  // --- blocks and stalls ---------------------------------------------------------

  /** Mine `n` blocks, `gapMs` apart, after any mining already under way. */
  mineBlocks(n: number, gapMs: number): Promise<void> {
    return this.miner.mine(n, gapMs);
  }

  /** Before a block: release stalls whose block count is reached or whose HTLC at Carol nears its expiry. */
  private stallValve(): void {
    const next = this.net.height + 1;
    for (const [hash, s] of this.stalls.entries()) {
      const expiries = this.net
        .heldBy(this.carol)
        .filter((h) => h.paymentHash === hash)
        .map((h) => h.cltvExpiry);
      const due = stallDue(s, next, expiries, STALL_VALVE_BLOCKS);
      if (due) this.release(hash, due.why);
    }
  }

  /** Carol stalls `run` for `ms` or `blocks` blocks (see the valve). */
  stall(run: SimRun, ms: number, blocks: number): void {
    this.carol.stallHashes.add(run.hash);
    this.stalls.add(run, this.net.height, blocks, ms, () => this.release(run.hash, `after ${ms} ms`));
  }

  /** End Carol's stall of `hash`, if there is one. */
  release(hash: string, why: string): void {
    if (this.stalls.end(hash, why, this.net.height, this.now())) this.carol.releaseStalled(hash);
  }

  // --- channels disabled by faults ------------------------------------------------

  disable(ch: SimChannel): void {
    this.disabled.set(ch, (this.disabled.get(ch) ?? 0) + 1);
    ch.enabled = false;
  }

  /** Enabled again once no fault disables it. */
  enable(ch: SimChannel): void {
    const n = (this.disabled.get(ch) ?? 1) - 1;
    if (n > 0) this.disabled.set(ch, n);
    else {
      this.disabled.delete(ch);
      ch.enabled = true;
    }
  }

  // --- the end -----------------------------------------------------------------

  /**
   * Final drain: release every stall, enable every channel, start every node,
   * wait for timers, then mine blocks (slowly) while anything is still held.
   */
  async drain(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const hash of this.stalls.hashes()) this.release(hash, 'in the final drain');
    this.carol.releaseStalled();
    for (const ch of this.disabled.keys()) ch.enabled = true;
    this.disabled.clear();
    for (const n of this.net.nodes.values()) {
      n.payer.lateInject = undefined;
      if (!n.up) await this.nodes.startNode(n);
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

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.net.stop();
  }
}
