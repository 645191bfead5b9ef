/**
 * The simulated network's HTLC ledger: every HTLC added, settled, failed or
 * expired, in order, per node name and payment hash. It is the history a
 * Jepsen-style audit checks a conservation law over (src/simnet/soak/audit.ts),
 * and listeners see each entry as it is written, so a test can act at an exact
 * moment of a payment ("Carol settled, Bob has not resolved yet").
 */

export type LedgerKind =
  /** `to` accepted an HTLC from `from` (it is now held until decided). */
  | 'add'
  /** `to` settled it: `to` received the amount, `from` paid it. */
  | 'settle'
  /** `to` failed it back: no money moved. */
  | 'fail'
  /** It reached its cltv_expiry while `to` held it: the upstream peer goes on chain (a force close), `from` keeps the money. */
  | 'expire'
  /** `to` answered after the HTLC had expired (money does not move: the answer came too late). */
  | 'late_settle'
  | 'late_fail';

export interface LedgerEntry {
  seq: number;
  /** ms since the ledger was made. */
  atMs: number;
  height: number;
  kind: LedgerKind;
  paymentHash: string;
  /** Node names: who offered the HTLC, who was offered it. */
  from: string;
  to: string;
  /** The channel's label at the time (its real scid, else `alias:...`) and its fixed channel_id. */
  channel: string;
  channelId: string;
  htlcId: bigint;
  amountMsat: bigint;
  cltvExpiry: number;
  failureMessage?: string;
}

export interface NodeNet {
  receivedMsat: bigint;
  paidMsat: bigint;
}

export class Ledger {
  readonly entries: LedgerEntry[] = [];
  private readonly listeners = new Set<(e: LedgerEntry) => void>();
  private readonly t0 = Date.now();

  record(e: Omit<LedgerEntry, 'seq' | 'atMs'>): void {
    const entry: LedgerEntry = { seq: this.entries.length, atMs: Date.now() - this.t0, ...e };
    this.entries.push(entry);
    for (const l of [...this.listeners]) {
      try {
        l(entry);
      } catch {
        // A listener's bug must not break the network's HTLC traffic.
      }
    }
  }

  /** Call `fn` with every new entry; returns a function that stops it. */
  onEntry(fn: (e: LedgerEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  forHash(paymentHash: string): LedgerEntry[] {
    return this.entries.filter((e) => e.paymentHash === paymentHash);
  }

  /**
   * Per node, what it received (HTLCs offered to it that it settled) and paid
   * (HTLCs it offered that were settled) for `paymentHash`. Only `settle`
   * moves money: an expired HTLC goes back to its sender.
   */
  nets(paymentHash: string): Map<string, NodeNet> {
    return netsOf(this.forHash(paymentHash));
  }
}

/** Nets of a list of entries (see Ledger.nets). */
export function netsOf(entries: readonly LedgerEntry[]): Map<string, NodeNet> {
  const out = new Map<string, NodeNet>();
  const get = (n: string): NodeNet => {
    let v = out.get(n);
    if (!v) out.set(n, (v = { receivedMsat: 0n, paidMsat: 0n }));
    return v;
  };
  for (const e of entries) {
    get(e.from);
    get(e.to);
    if (e.kind !== 'settle') continue;
    get(e.to).receivedMsat += e.amountMsat;
    get(e.from).paidMsat += e.amountMsat;
  }
  return out;
}
