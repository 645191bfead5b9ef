/**
 * How lightningd answers a final-hop HTLC for a payment hash it has no invoice
 * for, so that rdv answers a bad part of its relay hash the same way: a node
 * that knows H and probes with hand-made onions (createonion + sendonion) must
 * not be able to tell a relay from a node that never heard of H.
 *
 * lightningd/peer_htlcs.c handle_localpay checks, in this order, before it looks
 * for an invoice: the onion's amt_to_forward against the HTLC amount, its
 * outgoing_cltv_value against the HTLC's cltv_expiry, the expiry against
 * blockheight + cltv-final, and payment_metadata; then htlc_set_add finds no
 * invoice and answers incorrect_or_unknown_payment_details. A payload it could
 * not decode reaches the htlc_accepted hook without `onion.type` and is failed
 * with invalid_onion_payload once the hook says `continue`. Pure.
 */
import type { Msat } from './amount.js';
import { finalIncorrectCltvExpiry, finalIncorrectHtlcAmount, invalidOnionPayload, unknownPaymentDetails } from './failure.js';

/** lightningd's default cltv-final (the node's own, not an invoice's min_final_cltv). */
export const DEFAULT_CLTV_FINAL = 18;
/** BOLT 4 TLV type of payment_metadata. */
const PAYMENT_METADATA_TLV = 16;

export interface FinalHop {
  amountMsat: Msat;
  cltvExpiry: number;
  /** Block height when lightningd called the hook. */
  height: number;
  forwardMsat: Msat | undefined;
  outgoingCltv: number | undefined;
  paymentMetadata: string | undefined;
}

export interface Refusal {
  failureMessage: string;
  reason: string;
}

/**
 * The answer lightningd gives before it looks for an invoice, or undefined if
 * the HTLC passes those checks (then an unknown hash gets unknownPaymentDetails).
 */
export function lightningdRefusal(hop: FinalHop, cltvFinal = DEFAULT_CLTV_FINAL): Refusal | undefined {
  if (hop.forwardMsat !== undefined && hop.forwardMsat > hop.amountMsat) {
    return { failureMessage: finalIncorrectHtlcAmount(hop.amountMsat), reason: `forward amount ${hop.forwardMsat} is above the HTLC amount ${hop.amountMsat}` };
  }
  if (hop.outgoingCltv !== undefined && hop.outgoingCltv > hop.cltvExpiry) {
    return { failureMessage: finalIncorrectCltvExpiry(hop.cltvExpiry), reason: `outgoing_cltv_value ${hop.outgoingCltv} is above cltv_expiry ${hop.cltvExpiry}` };
  }
  if (hop.height + cltvFinal > hop.cltvExpiry) {
    return { failureMessage: unknownPaymentDetails(hop.amountMsat, hop.height), reason: `cltv_expiry ${hop.cltvExpiry} is within cltv-final (${cltvFinal}) of height ${hop.height}` };
  }
  if (hop.paymentMetadata !== undefined) {
    return { failureMessage: invalidOnionPayload(PAYMENT_METADATA_TLV, 0), reason: 'the onion carries payment_metadata, which our invoices never ask for' };
  }
  return undefined;
}

/**
 * lightningd's checks that do not depend on the block height: what a replay of an
 * HTLC we accepted always passes (its onion is the same), and a look-alike may not.
 */
export function onionRefusal(hop: FinalHop): Refusal | undefined {
  // The cltv-final check is the only one that looks at the height: no height, no check.
  return lightningdRefusal({ ...hop, height: -Infinity });
}

/** The whole answer for a hash with no invoice: lightningd's early checks, else unknown payment details. */
export function unknownHashAnswer(hop: FinalHop, reason: string, cltvFinal = DEFAULT_CLTV_FINAL): Refusal {
  return lightningdRefusal(hop, cltvFinal) ?? { failureMessage: unknownPaymentDetails(hop.amountMsat, hop.height), reason };
}
