/**
 * lightningd's own final-hop handling, for an HTLC no plugin claimed that pays
 * one of our invoices: handle_localpay's checks (../final-hop.ts), then
 * htlc_set_add's MPP sets, gathered by total_msat and failed together on a
 * mismatched total or on timeout; and the stalling-payee fault, which holds a
 * complete payment until it is released.
 */
import { msat } from '../../chain/amount.js';
import { mppTimeout, unknownPaymentDetails } from '../../chain/failure.js';
import { finalIncorrectHtlcAmount, invoiceAccepts, localpayFailure } from '../final-hop.js';
import type { DecodedPayload } from '../onion.js';
import { sleep } from '../sleep.js';
import type { HtlcOutcome, Incoming } from '../types.js';
import type { NodeCore } from './core.js';

interface MppSet {
  parts: Array<{ h: Incoming; resolve: (o: HtlcOutcome) => void }>;
  timer: NodeJS.Timeout | undefined;
  /** The first part's total_msat: every later part must say the same. */
  totalMsat: bigint;
  /** Sum of the parts' HTLC amounts (not their amt_to_forward), as htlc_set.c counts. */
  soFarMsat: bigint;
}

/** Payments to a node's invoices: the MPP sets being gathered, and the complete ones a stall holds. */
export class FinalHop {
  private readonly mpp = new Map<string, MppSet>();
  private stalled: Array<{ hash: string; release: () => void }> = [];

  constructor(
    private readonly node: NodeCore,
    /** CLN's own MPP timeout for its invoices. */
    private readonly mppTimeoutMs: number,
  ) {}

  /**
   * lightningd's own final-hop handling (no plugin claimed the HTLC):
   * handle_localpay's checks, then htlc_set_add: an invoice of ours, MPP
   * gathering by total_msat, all parts failed together on a mismatched total
   * or on timeout.
   */
  receive(h: Incoming, p: DecodedPayload): Promise<HtlcOutcome> {
    const node = this.node;
    const height = node.net.height;
    const fail = (failureMessage: string): Promise<HtlcOutcome> => Promise.resolve({ ok: false, failureMessage, failingNode: node.id, failingScid: undefined });
    const local = localpayFailure(h, p, height, node.cltvFinal);
    if (local) return fail(local);
    const inv = node.invoices.byHash(h.paymentHash);
    if (!invoiceAccepts(inv, p, Math.floor(Date.now() / 1000))) return fail(unknownPaymentDetails(msat(h.amountMsat), height));
    const total = p.totalMsat ?? p.forwardMsat;
    return new Promise((resolve) => {
      let set = this.mpp.get(h.paymentHash);
      if (!set) {
        set = { parts: [], timer: undefined, totalMsat: total, soFarMsat: 0n };
        this.mpp.set(h.paymentHash, set);
      }
      const thisSet = set;
      thisSet.parts.push({ h, resolve });
      const failSet = (message: (part: Incoming) => string): void => {
        if (thisSet.timer) clearTimeout(thisSet.timer);
        this.mpp.delete(h.paymentHash);
        for (const part of thisSet.parts) part.resolve({ ok: false, failureMessage: message(part.h), failingNode: node.id, failingScid: undefined });
      };
      // htlc_set_add: every part must carry the set's total_msat.
      if (total !== thisSet.totalMsat) {
        failSet(() => finalIncorrectHtlcAmount(h.amountMsat));
        return;
      }
      thisSet.soFarMsat += h.amountMsat;
      thisSet.timer ??= setTimeout(() => failSet(() => mppTimeout()), this.mppTimeoutMs);
      if (thisSet.soFarMsat < total) return;
      clearTimeout(thisSet.timer);
      this.mpp.delete(h.paymentHash);
      void sleep(node.net.latency.finalSettleMs)
        .then(() => (node.stallFinal || node.stallHashes.has(h.paymentHash) ? new Promise<void>((release) => this.stalled.push({ hash: h.paymentHash, release })) : undefined))
        .then(() => {
          node.invoices.markPaid(inv, msat(thisSet.soFarMsat), Math.floor(Date.now() / 1000));
          // A paid BOLT 12 invoice marks its offer used; a single-use offer is then no longer active.
          const offer = inv.bolt12 && node.offers.get(inv.bolt12.offerId);
          if (offer) {
            offer.used = true;
            if (offer.singleUse) offer.active = false;
          }
          for (const part of thisSet.parts) part.resolve({ ok: true, preimage: inv.preimage });
        });
    });
  }

  /** Let stalled payments settle: all of them, or those for `hash` (the node stops stalling first). */
  release(hash?: string): void {
    const go = this.stalled.filter((s) => hash === undefined || s.hash === hash);
    this.stalled = this.stalled.filter((s) => !go.includes(s));
    for (const s of go) s.release();
  }

  /** Hashes of complete payments to our invoices that a stall holds now. */
  stalledHashes(): string[] {
    return this.stalled.map((s) => s.hash);
  }

  /** The node stops for good: no MPP timeout fires after it. */
  stop(): void {
    for (const set of this.mpp.values()) if (set.timer) clearTimeout(set.timer);
  }
}
