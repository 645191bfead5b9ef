/**
 * The next payee's invoice as a relay joins it, whatever its format: BOLT 11
 * (read by rdv itself, src/chain/bolt11.ts) or BOLT 12 (fetched from an offer
 * and read through lightningd's decode, src/chain/bolt12.ts). What the budgets,
 * our same-hash invoice (always BOLT 11) and the record need of it. Pure.
 */
import type { Msat } from './amount.js';
import type { Invoice } from './bolt11.js';
import type { Bolt12Invoice } from './bolt12.js';
import type { NodeId, PaymentHash } from './ids.js';
import { BOLT11_PREFIX, type NetworkName } from './network.js';

export interface Downstream {
  kind: 'bolt11' | 'bolt12';
  /** The invoice as xpay is given it. */
  text: string;
  paymentHash: PaymentHash;
  /** Who signed it: the BOLT 11 payee, or BOLT 12's invoice_node_id (a blinded key when the offer names no issuer). */
  payee: NodeId;
  amountMsat: Msat;
  /** Unix seconds. */
  expiresAt: number;
  /** What our min_final_cltv builds on: BOLT 11's min_final_cltv, or the largest cltv_expiry_delta of the usable blinded paths (bolt12PathCosts). */
  minFinalCltv: number;
  /** BOLT 11's description; for BOLT 12 the offer's description (what the payer agreed to). */
  description: string | undefined;
  descriptionHash: string | undefined;
  /** Our BOLT 11 invoice's currency prefix. */
  currency: string;
}

/** A checked BOLT 11 invoice (an amount is required before this). */
export function bolt11Downstream(inv: Invoice, amountMsat: Msat): Downstream {
  return {
    kind: 'bolt11',
    text: inv.bolt11,
    paymentHash: inv.paymentHash,
    payee: inv.payee,
    amountMsat,
    expiresAt: inv.expiresAt,
    minFinalCltv: inv.minFinalCltv,
    description: inv.description,
    descriptionHash: inv.descriptionHash,
    currency: inv.currency,
  };
}

/** A checked BOLT 12 invoice, with the min_final_cltv equivalent of its usable paths. */
export function bolt12Downstream(inv: Bolt12Invoice, network: NetworkName, minFinalCltv: number): Downstream {
  return {
    kind: 'bolt12',
    text: inv.text,
    paymentHash: inv.paymentHash,
    payee: inv.nodeId,
    amountMsat: inv.amountMsat,
    expiresAt: inv.expiresAt,
    minFinalCltv,
    description: inv.offer.description,
    descriptionHash: undefined,
    currency: BOLT11_PREFIX[network],
  };
}
