/**
 * The regtest network the soak runs on, and what the soak knows of it: the
 * channels and each node's starting balances (the audit's baselines), the watch
 * (watch.ts) started, the blocks (in the background, in bursts, and Carol's
 * stall valve before each), Carol's stalls and failing spells released, nodes
 * started again after a fault, the network's events, and the final drain.
 *
 *   payer ==(3 x 6M sat)== alice --(15M)-- bob --(15M)-- carol
 */
import type { Regtest } from '../regtest/harness.js';
import type { RegtestNode } from '../regtest/lightningd.js';
import { addedNearDeadline, Miner, settledNearDeadline, Stalls, stallDue } from '../simnet/soak/blocks.js';
import { RdvJson } from '../simnet/soak/joins.js';
import { Lifecycle } from '../simnet/soak/lifecycle.js';
import type { Who } from '../simnet/soak/plan.js';
import { errorText, sleep, type PaymentRun } from '../simnet/soak/run.js';
import { parseChannelMoves, parseHtlcs, parsePeerChannels, type Baseline } from './books.js';
import { Watch } from './watch.js';

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

/** A payment on real lightningd: one payer pays them all; Carol's invoice (hers, or her offer's) is found by its hash. */
export type RegtestRun = PaymentRun;

/**
 * Carol's stalled HTLC is released when the next block would bring its expiry
 * this close: a stalling payee never lets it expire. Further than the simulated
 * soak's 3: lightningd goes on chain for an incoming HTLC it has fulfilled but
 * not yet removed at expiry - (cltv-delta + 1) / 2, 3 blocks on regtest
 * (htlc_in_deadline), so Carol's fulfill must be through before then.
 */
const STALL_VALVE_BLOCKS = 5;
/** How long a block waits for Bob to take the removal of an HTLC Carol settled (a disconnect lasts up to 3 s, an outage longer). */
const REMOVAL_WAIT_MS = 30_000;
const PAYER_CHANNEL_SAT = 6_000_000;
const RELAY_CHANNEL_SAT = 15_000_000;

export class RegtestSoak {
  payer!: RegtestNode;
  alice!: RegtestNode;
  bob!: RegtestNode;
  carol!: RegtestNode;
  watch!: Watch;
  readonly runs: RegtestRun[] = [];
  readonly setupFailures: Array<{ index: number; error: string }> = [];
  readonly baselines = new Map<string, Baseline>();
  readonly events: Array<{ type: string; node: string }> = [];
  private readonly t0 = Date.now();
  readonly nodes: Lifecycle;
  readonly rdv = new RdvJson({ downMs: 120_000, pollMs: 50, timeoutMs: 60_000, attempts: 8, retryMs: 500 });
  readonly miner = new Miner(
    async () => {
      this.height = await this.rt.bitcoind.mine(1);
    },
    () => this.stallValve(),
  );
  readonly stalls = new Stalls<RegtestRun>();
  /** Hashes Carol was ever told to hold or fail: all released in the drain. */
  readonly touched = new Set<string>();
  private ticker: NodeJS.Timeout | undefined;
  /** The chain's height as last mined. */
  height = 0;
  payerChannels: Array<{ scid: string; dir: number }> = [];

  constructor(
    readonly rt: Regtest,
    readonly o: RegtestSoakOptions,
  ) {
    this.nodes = new Lifecycle({
      now: () => this.now(),
      log: (line) => this.log(line),
      retryMs: 1_000,
      started: (node) => this.events.push({ type: 'node_restarted', node: node.name }),
    });
  }

  /** Milliseconds since the soak began. */
  now(): number {
    return Date.now() - this.t0;
  }

  log(line: string): void {
    this.o.progress?.(`soak: ${line}`);
  }

  /** Every node, the payer first. */
  all(): RegtestNode[] {
    return [this.payer, this.alice, this.bob, this.carol];
  }

  nodeOf(w: Who): RegtestNode {
    return w === 'alice' ? this.alice : w === 'bob' ? this.bob : this.carol;
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
    this.watch = new Watch(this.all(), () => this.height, 100);
    for (const n of this.all()) {
      const moves = parseChannelMoves(await n.rpc.rpc.call('listchannelmoves', {}));
      const channelsNow = parsePeerChannels(await n.rpc.rpc.call('listpeerchannels', {}));
      const base: Baseline = { toUsMsat: channelsNow.reduce((s, c) => s + c.toUsMsat, 0n), movesIndex: moves.reduce((m, x) => Math.max(m, x.createdIndex), 0) };
      this.baselines.set(n.name, base);
      this.watch.startAfter(n.name, base.movesIndex);
    }
    this.watch.start();
    if (this.o.blockIntervalMs > 0) this.ticker = setInterval(() => void this.mineBlocks(1, 0).catch(() => undefined), this.o.blockIntervalMs);
  }

  // --- blocks and Carol ------------------------------------------------------------

  /** Mine `n` blocks, `gapMs` apart, after any mining already under way; the stall valve runs before each. */
  mineBlocks(n: number, gapMs: number): Promise<void> {
    return this.miner.mine(n, gapMs);
  }

  /**
   * Before a block: release the stalls whose block count is reached or whose HTLC at Carol
   * would come within STALL_VALVE_BLOCKS of its expiry; and let Bob take the removal of an
   * HTLC Carol has settled before the block brings its deadline (settledNearDeadline), for
   * up to REMOVAL_WAIT_MS. Carol never has to go on chain for her money: the audit reads
   * lightningd's channel moves, not on-chain resolutions.
   */
  private async stallValve(): Promise<void> {
    const next = this.height + 1;
    let rows: ReturnType<typeof parseHtlcs> = [];
    if (this.carol.up) rows = parseHtlcs(await this.carol.rpc.rpc.call('listhtlcs', {}).catch(() => ({ htlcs: [] })));
    const paid = new Set<string>();
    for (const hash of addedNearDeadline(rows, next, STALL_VALVE_BLOCKS)) {
      const [invoice] = await this.carol.rpc.listinvoices({ paymentHash: hash }).catch(() => []);
      if (invoice?.status === 'paid') paid.add(hash);
    }
    for (const hash of settledNearDeadline(rows, next, STALL_VALVE_BLOCKS, paid)) {
      const started = Date.now();
      await this.untilCarolLets(hash, REMOVAL_WAIT_MS);
      this.runs.find((r) => r.hash === hash)?.notes.push(`${this.now()} block ${next} waited ${Date.now() - started} ms for Carol's settled HTLC to leave her channel before its deadline`);
    }
    for (const [hash, s] of this.stalls.entries()) {
      const expiries = rows.filter((h) => h.paymentHash === hash && h.direction === 'in' && h.state.includes('_ADD_')).map((h) => h.expiry);
      const due = stallDue(s, next, expiries, STALL_VALVE_BLOCKS);
      if (due) {
        await this.release(hash, due.why);
        // Carol's fulfill must be through (removed from the channel) before the block that brings her deadline.
        if (due.nearExpiry) await this.untilCarolLets(hash, 10_000);
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

  /** Carol stalls `run` (stall-plugin.mjs) for `ms` or `blocks` blocks (see the valve). */
  async stall(run: RegtestRun, ms: number, blocks: number): Promise<void> {
    await this.carol.rpc.rpc.call('stall-hash', { payment_hash: run.hash });
    this.touched.add(run.hash);
    this.stalls.add(run, this.height, blocks, ms, () => void this.release(run.hash, `after ${ms} ms`));
  }

  /** Let Carol take the payment again (ends a stall and a failing spell alike). */
  async release(hash: string, why: string): Promise<void> {
    this.stalls.end(hash, why, this.height, this.now());
    if (!this.carol.up) return;
    for (const method of ['stall-release', 'hold-release']) {
      await this.carol.rpc.rpc.call(method, { payment_hash: hash }).catch((e: unknown) => this.log(`${method} ${hash.slice(0, 8)} failed: ${errorText(e)}`));
    }
  }

  // --- the end -----------------------------------------------------------------

  /**
   * Release every stall and failing spell, start every node, wait until nothing
   * is held, then mine blocks (one a second) while anything still is.
   */
  async drain(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.miner.idle();
    for (const n of this.all()) if (!n.up) await this.nodes.startNode(n);
    for (const hash of this.touched) await this.release(hash, 'in the final drain');
    const held = async (): Promise<number> => {
      let n = 0;
      for (const node of this.all()) {
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

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.stalls.clearTimers();
    await this.watch?.stop();
    await this.miner.idle();
  }
}
