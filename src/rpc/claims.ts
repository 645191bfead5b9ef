/**
 * What lightningd's channel moves say each payment hash was paid (the relay's
 * check_claims after a restart), read in pages and shared between hashes.
 *
 * listchannelmoves holds the node's whole history (every payment, forward and
 * fee); one unpaged call at 400 000 moves is a 133 MB reply, and a reply over
 * the RPC client's size limit closes the connection every call shares (xpay's
 * included). So the scanner asks for PAGE_MOVES moves at a time, one call at a
 * time, and every hash asked while a scan runs joins that scan instead of
 * starting its own: the scan goes on to the newest move, then wraps around to
 * the first and stops, for each hash, where that hash joined. Each hash sees
 * every move that existed when it was asked, once.
 */
import type { Msat } from '../chain/amount.js';
import type { ChannelMovesPage } from './node.js';

/** Moves per listchannelmoves call: about 330 KB of reply, a few ms to parse. */
export const PAGE_MOVES = 1000;

export interface Credit {
  channelId: string;
  amountMsat: Msat;
}

/** The one call the scanner makes (LightningNode.channelMovesPage). */
export interface MovesSource {
  channelMovesPage(start: number, limit: number): Promise<ChannelMovesPage | undefined>;
}

interface Asker {
  /** The created_index the scan was about to read when this hash joined. */
  from: number;
  /** The scan has passed the newest move since this hash joined, and started again from the first. */
  wrapped: boolean;
  credits: Credit[];
  answers: Array<{ resolve: (credits: Credit[]) => void; reject: (e: unknown) => void }>;
}

export class ClaimScanner {
  private readonly askers = new Map<string, Asker>();
  private running = false;
  /** The created_index the scan reads next (from the first move when idle). */
  private next = 1;
  /** listchannelmoves calls made, for tests and status. */
  calls = 0;

  constructor(
    private readonly source: MovesSource,
    private readonly pageMoves = PAGE_MOVES,
  ) {}

  /**
   * The "invoice" credits lightningd's channel moves hold for `paymentHash`: empty
   * on a CLN without listchannelmoves. Rejects (every hash waiting) if a call is
   * lost; the next ask starts a new scan.
   */
  credits(paymentHash: string): Promise<Credit[]> {
    return new Promise((resolve, reject) => {
      const asker = this.askers.get(paymentHash);
      if (asker) {
        asker.answers.push({ resolve, reject });
        return;
      }
      this.askers.set(paymentHash, { from: this.next, wrapped: false, credits: [], answers: [{ resolve, reject }] });
      if (!this.running) void this.scan();
    });
  }

  private async scan(): Promise<void> {
    this.running = true;
    try {
      while (this.askers.size > 0) {
        const start = this.next;
        let page: ChannelMovesPage | undefined;
        try {
          this.calls++;
          page = await this.source.channelMovesPage(start, this.pageMoves);
        } catch (e) {
          this.endAll((a) => a.reject(e));
          return;
        }
        if (page === undefined) {
          // No listchannelmoves (CLN before v25.09), or a reply rdv cannot read: nothing to count.
          this.endAll((a) => a.resolve([]));
          return;
        }
        for (const c of page.credits) {
          const asker = this.askers.get(c.paymentHash);
          // After the wrap, only what comes before where it joined: the rest it has seen.
          if (asker && (!asker.wrapped || c.createdIndex < asker.from)) asker.credits.push({ channelId: c.channelId, amountMsat: c.amountMsat });
        }
        if (page.moves < this.pageMoves || page.lastIndex === undefined) {
          // The newest move: whoever has now seen every move is answered; the rest start again from the first.
          for (const [hash, asker] of this.askers) {
            if (asker.wrapped || asker.from <= 1) this.answer(hash, asker);
            else asker.wrapped = true;
          }
          this.next = 1;
        } else {
          this.next = page.lastIndex + 1;
          for (const [hash, asker] of this.askers) if (asker.wrapped && asker.from <= this.next) this.answer(hash, asker);
        }
      }
    } finally {
      this.running = false;
      this.next = 1;
    }
  }

  private answer(hash: string, asker: Asker): void {
    this.askers.delete(hash);
    for (const a of asker.answers) a.resolve(asker.credits);
  }

  private endAll(end: (a: Asker['answers'][number]) => void): void {
    const all = [...this.askers.values()];
    this.askers.clear();
    for (const asker of all) for (const a of asker.answers) end(a);
  }
}
