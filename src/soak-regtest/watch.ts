/**
 * The soak's eyes on real lightningd while it runs: every few hundred ms, each
 * running node's listhtlcs and its new listchannelmoves. From them, each
 * payment's progress (the phases its faults wait for: an HTLC of it reached a
 * node, a node was credited for it) and every incoming HTLC still held at or past
 * its expiry height, as that node's lightningd knew it. A node that is down is
 * simply not sampled.
 */
import { Reader } from '../chain/read.js';
import type { RegtestNode } from '../regtest/lightningd.js';
import type { Phase } from '../simnet/soak/plan.js';
import { expiredHeld, parseChannelMoves, parseHtlcs, type ExpirySeen, type HtlcRow } from './books.js';

/** Which node's what marks a phase. */
const HOLDS: Partial<Record<string, Phase>> = { alice: 'alice_holds', bob: 'bob_holds', carol: 'carol_holds' };
const SETTLED: Partial<Record<string, Phase>> = { alice: 'alice_settled', bob: 'bob_settled', carol: 'carol_settled' };

export class Watch {
  /** Incoming HTLCs seen held at or past their expiry (each sample that saw one). */
  readonly expiries: ExpirySeen[] = [];
  /** The last listhtlcs of each node. */
  readonly htlcs = new Map<string, HtlcRow[]>();
  private readonly movesCursor = new Map<string, number>();
  private readonly listeners = new Map<string, (phase: Phase) => void>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  samples = 0;

  constructor(
    private readonly nodes: readonly RegtestNode[],
    /** The chain's height now (bitcoind's, as the soak last mined). */
    private readonly height: () => number,
    private readonly everyMs = 200,
  ) {}

  /** Moves up to this index are not the soak's (channel opens): start after them. */
  startAfter(node: string, movesIndex: number): void {
    this.movesCursor.set(node, movesIndex);
  }

  /** Call `fn` with each phase of `hash` as it is seen (repeats are the caller's to drop). */
  follow(hash: string, fn: (phase: Phase) => void): () => void {
    this.listeners.set(hash, fn);
    return () => this.listeners.delete(hash);
  }

  start(): void {
    const tick = (): void => {
      this.running = this.sample().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.everyMs);
      });
    };
    this.timer = setTimeout(tick, this.everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One look at every running node. */
  async sample(): Promise<void> {
    this.samples++;
    await Promise.all(this.nodes.map((n) => this.sampleNode(n).catch(() => undefined)));
  }

  /** Does any node hold an incoming HTLC of `hash` (as last seen)? */
  holds(hash: string): boolean {
    for (const rows of this.htlcs.values()) if (rows.some((h) => h.paymentHash === hash && h.direction === 'in' && h.state.includes('_ADD_'))) return true;
    return false;
  }

  private async sampleNode(node: RegtestNode): Promise<void> {
    if (!node.up) return;
    // Held at its expiry as the node knew the chain: its own height, read before its HTLCs.
    // lightningd takes in a burst of blocks one at a time, behind bitcoind, and cannot act
    // on a block it has not seen; bitcoind's height counted HTLCs as held "past" expiry
    // in the middle of a burst (seed 9001, payment 17: 9 blocks past, failed soon after).
    // A node held up behind the chain for long is left to the force-close count.
    const info = Reader.of(await node.rpc.rpc.call('getinfo', {}, { timeoutMs: 10_000 }), 'getinfo');
    const height = Math.min(this.height(), info.int('blockheight'));
    const rows = parseHtlcs(await node.rpc.rpc.call('listhtlcs', {}, { timeoutMs: 10_000 }));
    this.htlcs.set(node.name, rows);
    this.expiries.push(...expiredHeld(node.name, rows, height));
    const holds = HOLDS[node.name];
    if (holds) for (const h of rows) if (h.direction === 'in') this.listeners.get(h.paymentHash)?.(holds);
    const cursor = this.movesCursor.get(node.name) ?? 0;
    const moves = parseChannelMoves(await node.rpc.rpc.call('listchannelmoves', { index: 'created', start: cursor + 1 }, { timeoutMs: 10_000 }));
    const settled = SETTLED[node.name];
    for (const m of moves) {
      this.movesCursor.set(node.name, Math.max(this.movesCursor.get(node.name) ?? 0, m.createdIndex));
      if (settled && m.creditMsat > 0n && m.paymentHash !== undefined) this.listeners.get(m.paymentHash)?.(settled);
    }
  }
}
