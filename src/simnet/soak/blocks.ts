/**
 * Blocks and Carol's stalls, for both soaks. Blocks are mined one at a time,
 * after any mining already under way, with the stall valve before each; a stall
 * ends after its time or its blocks, and always before Carol's HTLC nears its
 * expiry (a payee that stalls never lets it expire: stallDue).
 */
import type { PaymentRun } from './run.js';
import { sleep } from './run.js';

/** Mines blocks one at a time; `beforeBlock` (the stall valve) runs before each. */
export class Miner {
  blocksMined = 0;
  private mining: Promise<void> = Promise.resolve();

  constructor(
    private readonly mineOne: () => Promise<void>,
    private readonly beforeBlock: () => void | Promise<void>,
  ) {}

  /** Mine `n` blocks, `gapMs` apart, after any mining already under way. */
  mine(n: number, gapMs: number): Promise<void> {
    const job = this.mining.then(async () => {
      for (let i = 0; i < n; i++) {
        const valve = this.beforeBlock();
        if (valve) await valve;
        await this.mineOne();
        this.blocksMined++;
        if (gapMs > 0 && i < n - 1) await sleep(gapMs);
      }
    });
    this.mining = job.catch(() => undefined);
    return job;
  }

  /** Settles once the mining under way is over (whether it failed or not). */
  idle(): Promise<void> {
    return this.mining;
  }
}

export interface Stall<R extends PaymentRun> {
  run: R;
  sinceHeight: number;
  /** Released after this many blocks (0: only by time or near the expiry). */
  blocks: number;
  timer: NodeJS.Timeout;
}

/** The payments Carol stalls, by hash. */
export class Stalls<R extends PaymentRun> {
  private readonly byHash = new Map<string, Stall<R>>();

  get size(): number {
    return this.byHash.size;
  }

  /** Carol stalls `run` from `height`: released by `onTimeout` after `ms`, or by the valve after `blocks`. */
  add(run: R, height: number, blocks: number, ms: number, onTimeout: () => void): void {
    this.byHash.set(run.hash, { run, sinceHeight: height, blocks, timer: setTimeout(onTimeout, ms) });
  }

  entries(): IterableIterator<[string, Stall<R>]> {
    return this.byHash.entries();
  }

  hashes(): string[] {
    return [...this.byHash.keys()];
  }

  /** End the stall of `hash`, noting why on its payment. False if there was none. */
  end(hash: string, why: string, height: number, atMs: number): boolean {
    const s = this.byHash.get(hash);
    if (!s) return false;
    clearTimeout(s.timer);
    this.byHash.delete(hash);
    s.run.notes.push(`${atMs} stall released ${why} (height ${height})`);
    return true;
  }

  clearTimers(): void {
    for (const s of this.byHash.values()) clearTimeout(s.timer);
  }
}

/**
 * Whether stall `s` is released before the block at height `next`, given the
 * expiries of the HTLCs Carol holds for it: when that block would bring one
 * within `valveBlocks` of its expiry, or when its block count is reached.
 */
export function stallDue(s: Stall<PaymentRun>, next: number, expiries: readonly number[], valveBlocks: number): { why: string; nearExpiry: boolean } | undefined {
  const nearExpiry = expiries.some((e) => e - next <= valveBlocks);
  if (nearExpiry || (s.blocks > 0 && next >= s.sinceHeight + s.blocks)) return { why: nearExpiry ? 'near its expiry' : `after ${s.blocks} block(s)`, nearExpiry };
  return undefined;
}

/**
 * The hashes of incoming HTLCs Carol has settled and not yet seen leave her
 * channel whose expiry the block at `next` would bring within `valveBlocks`:
 * those being removed (fulfilled or failed, not yet SENT_REMOVE_ACK_REVOCATION),
 * and those still added whose invoice is paid (`paid`: lightningd has the
 * preimage, and Bob was away when it came). lightningd goes on chain for an
 * incoming HTLC with a preimage still in its channel at expiry - (cltv-delta +
 * 1) / 2 (htlc_in_deadline): with Bob away (a disconnect, a restart) amid a burst
 * of blocks, a final CLTV of regtest's 10 blocks is soon used up. The miner
 * waits for Bob to take the removal.
 */
export function settledNearDeadline(rows: readonly HtlcSeen[], next: number, valveBlocks: number, paid: ReadonlySet<string>): string[] {
  const settled = (h: HtlcSeen): boolean => (h.state.includes('_REMOVE_') && h.state !== 'SENT_REMOVE_ACK_REVOCATION') || (h.state.includes('_ADD_') && paid.has(h.paymentHash));
  return hashesNearDeadline(rows, next, valveBlocks, settled);
}

/** Carol's incoming HTLCs still added whose expiry the block at `next` would bring within `valveBlocks`: whose invoices settledNearDeadline needs to know about. */
export function addedNearDeadline(rows: readonly HtlcSeen[], next: number, valveBlocks: number): string[] {
  return hashesNearDeadline(rows, next, valveBlocks, (h) => h.state.includes('_ADD_'));
}

/** An HTLC as listhtlcs shows it, as far as the valves read it. */
interface HtlcSeen {
  paymentHash: string;
  direction: 'in' | 'out';
  state: string;
  expiry: number;
}

/** The hashes (each once) of incoming HTLCs in `rows` that are `wanted` and within `valveBlocks` of their expiry at block `next`. */
function hashesNearDeadline(rows: readonly HtlcSeen[], next: number, valveBlocks: number, wanted: (h: HtlcSeen) => boolean): string[] {
  return [...new Set(rows.filter((h) => h.direction === 'in' && wanted(h) && h.expiry - next <= valveBlocks).map((h) => h.paymentHash))];
}
