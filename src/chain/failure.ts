import type { Msat } from './amount.js';

/** BOLT 4 failure messages rdv returns, as hex for htlc_accepted's `failure_message`. */

const PERM = 0x4000;
const NODE = 0x2000;

export const FAILURE_CODE = {
  /** PERM|15: unknown hash, wrong secret, wrong amount, too-low CLTV: all look the same. */
  incorrectOrUnknownPaymentDetails: PERM | 15,
  /** 23: the rest of a multi-part payment did not arrive in time. */
  mppTimeout: 23,
  /** NODE|2: we could not complete the payment (downstream failed). */
  temporaryNodeFailure: NODE | 2,
  /** 18: the onion's outgoing_cltv_value is above the HTLC's cltv_expiry. */
  finalIncorrectCltvExpiry: 18,
  /** 19: the onion's amt_to_forward is above the HTLC's amount. */
  finalIncorrectHtlcAmount: 19,
  /** PERM|22: a payload field the node does not take (lightningd: payment_metadata). */
  invalidOnionPayload: PERM | 22,
} as const;

const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const u64 = (n: bigint): string => n.toString(16).padStart(16, '0');

/** incorrect_or_unknown_payment_details with [u64 htlc_msat][u32 height], as BOLT 4 requires. */
export function unknownPaymentDetails(htlcMsat: Msat, height: number): string {
  return u16(FAILURE_CODE.incorrectOrUnknownPaymentDetails) + u64(htlcMsat) + u32(height);
}

/** final_incorrect_htlc_amount with [u64 incoming_htlc_amt]. */
export function finalIncorrectHtlcAmount(htlcMsat: Msat): string {
  return u16(FAILURE_CODE.finalIncorrectHtlcAmount) + u64(htlcMsat);
}

/** final_incorrect_cltv_expiry with [u32 cltv_expiry]. */
export function finalIncorrectCltvExpiry(cltvExpiry: number): string {
  return u16(FAILURE_CODE.finalIncorrectCltvExpiry) + u32(cltvExpiry);
}

/** invalid_onion_payload with [bigsize type][u16 offset]; lightningd names payment_metadata (16) at offset 0. */
export function invalidOnionPayload(tlvType: number, offset: number): string {
  if (tlvType >= 0xfd) throw new RangeError('only one-byte bigsize types are needed here');
  return u16(FAILURE_CODE.invalidOnionPayload) + tlvType.toString(16).padStart(2, '0') + u16(offset);
}

export function mppTimeout(): string {
  return u16(FAILURE_CODE.mppTimeout);
}

export function temporaryNodeFailure(): string {
  return u16(FAILURE_CODE.temporaryNodeFailure);
}

/** The 2-byte failure code at the start of a failure message. */
export function failureCodeOf(hex: string): number {
  return Number.parseInt(hex.slice(0, 4), 16);
}
