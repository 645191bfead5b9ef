/**
 * The soak's ledger audit: a conservation law checked over the whole HTLC
 * history of each payment (every settle on every channel), not over final
 * balances. Pure: entries in, verdict out. The verdict itself (verdictOf) is
 * shared with the soak on real lightningd, which reads the same facts from
 * lightningd's own books (src/soak-regtest/books.ts).
 *
 * For a payment Carol was paid for (settled): the payer paid at most Alice's
 * invoice amount, each relay kept at least its payout (with direct channels
 * exactly payout + fee budget: anything else is reported as an anomaly), and
 * Carol got her amount. For a payment Carol was not paid for (failed back):
 * everyone's received - paid is exactly 0, and no HTLC of it was ever settled
 * (a settle anywhere gives the preimage away, and the preimage is the payer's
 * proof of payment).
 */
import { netsOf, type LedgerEntry, type NodeNet } from '../ledger.js';

export type Role = 'payer' | 'alice' | 'bob' | 'carol';
export const ROLES: readonly Role[] = ['payer', 'alice', 'bob', 'carol'];

export interface PaymentTerms {
  paymentHash: string;
  /** Node name of each role. */
  names: Record<Role, string>;
  /** Invoice amounts: Alice's (what the payer pays), Bob's, Carol's. */
  aliceAmountMsat: bigint;
  bobAmountMsat: bigint;
  carolAmountMsat: bigint;
  payoutMsat: { alice: bigint; bob: bigint };
  feeBudgetMsat: { alice: bigint; bob: bigint };
}

export interface Shortfall {
  role: Role;
  msat: bigint;
  why: string;
}

export interface PaymentVerdict {
  paymentHash: string;
  outcome: 'settled' | 'failed_back';
  /** received - paid per role. */
  netMsat: Record<Role, bigint>;
  shortfalls: Shortfall[];
  lostMsat: bigint;
  /** A failed payment some HTLC of which was settled (or resolved too late). */
  preimageRevealed: boolean;
  /** HTLCs of this payment that reached their expiry while a relay held them. */
  relayExpiries: number;
  /** ... while the last payee held them (the soak's stall valve should prevent it). */
  payeeExpiries: number;
  /** Not money lost, but not what the scheme promises either (e.g. a relay kept more than payout + fee budget). */
  anomalies: string[];
}

/**
 * What an audit needs to know of one payment, whatever the books it was read
 * from (the simulated network's HTLC ledger here, lightningd's own books in
 * src/soak-regtest/books.ts).
 */
export interface PaymentFacts {
  /** Per node name: what it received (incoming HTLCs it settled) and paid (outgoing HTLCs settled) for the hash. */
  nets: ReadonlyMap<string, NodeNet>;
  /** Some HTLC of the payment was settled somewhere (on time or late). */
  settleSeen: boolean;
  /** HTLCs of this payment that reached their expiry while a relay held them. */
  relayExpiries: number;
  /** ... while the last payee held them. */
  payeeExpiries: number;
  /** Where the books disagree with each other (not money lost, but not to be trusted either). */
  anomalies?: readonly string[];
}

/** Audit one payment over its ledger entries (entries of other hashes are ignored). */
export function auditPayment(terms: PaymentTerms, all: readonly LedgerEntry[]): PaymentVerdict {
  const entries = all.filter((e) => e.paymentHash === terms.paymentHash);
  const relays = new Set([terms.names.alice, terms.names.bob]);
  return verdictOf(terms, {
    nets: netsOf(entries),
    settleSeen: entries.some((e) => e.kind === 'settle' || e.kind === 'late_settle'),
    relayExpiries: entries.filter((e) => e.kind === 'expire' && relays.has(e.to)).length,
    payeeExpiries: entries.filter((e) => e.kind === 'expire' && e.to === terms.names.carol).length,
  });
}

/**
 * The conservation law over one payment's facts. Pure.
 *
 * Carol was paid (settled) iff she received anything. Then the payer paid at
 * most Alice's invoice, each relay kept at least its payout (anything but
 * payout + fee budget is an anomaly: the chains are direct channels), and Carol
 * got her amount. Otherwise everyone is at exactly 0 and any settle gave the
 * preimage away.
 */
export function verdictOf(terms: PaymentTerms, facts: PaymentFacts): PaymentVerdict {
  const nets = facts.nets;
  const net = (r: Role): bigint => {
    const n = nets.get(terms.names[r]);
    return n ? n.receivedMsat - n.paidMsat : 0n;
  };
  const netMsat = { payer: net('payer'), alice: net('alice'), bob: net('bob'), carol: net('carol') };
  const carolReceived = nets.get(terms.names.carol)?.receivedMsat ?? 0n;
  const settled = carolReceived > 0n;
  const shortfalls: Shortfall[] = [];
  const anomalies: string[] = [...(facts.anomalies ?? [])];
  const short = (role: Role, msat: bigint, why: string): void => {
    if (msat > 0n) shortfalls.push({ role, msat, why });
  };
  const known = new Set(Object.values(terms.names));
  for (const name of nets.keys()) if (!known.has(name)) anomalies.push(`node ${name} took part in this payment's HTLCs`);
  if (settled) {
    short('payer', -netMsat.payer - terms.aliceAmountMsat, `paid ${-netMsat.payer} msat for an invoice of ${terms.aliceAmountMsat} msat`);
    for (const relay of ['alice', 'bob'] as const) {
      const payout = terms.payoutMsat[relay];
      const full = payout + terms.feeBudgetMsat[relay];
      short(relay, payout - netMsat[relay], `kept ${netMsat[relay]} msat, below its payout of ${payout} msat`);
      if (netMsat[relay] !== full) anomalies.push(`${relay} kept ${netMsat[relay]} msat, not payout + fee budget = ${full} msat (direct channels)`);
    }
    short('carol', terms.carolAmountMsat - netMsat.carol, `received ${netMsat.carol} msat of ${terms.carolAmountMsat} msat`);
  } else {
    for (const r of ROLES) {
      short(r, -netMsat[r], `${r === 'payer' ? 'paid' : 'is out of pocket by'} ${-netMsat[r]} msat for a payment that failed`);
      if (netMsat[r] > 0n) anomalies.push(`${r} gained ${netMsat[r]} msat on a payment that failed`);
    }
  }
  return {
    paymentHash: terms.paymentHash,
    outcome: settled ? 'settled' : 'failed_back',
    netMsat,
    shortfalls,
    lostMsat: shortfalls.reduce((s, x) => s + x.msat, 0n),
    preimageRevealed: !settled && facts.settleSeen,
    relayExpiries: facts.relayExpiries,
    payeeExpiries: facts.payeeExpiries,
    anomalies,
  };
}
