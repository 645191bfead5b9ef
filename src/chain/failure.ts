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
} as const;

const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const u64 = (n: bigint): string => n.toString(16).padStart(16, '0');

/** incorrect_or_unknown_payment_details with [u64 htlc_msat][u32 height], as BOLT 4 requires. */
export function unknownPaymentDetails(htlcMsat: Msat, height: number): string {
  return u16(FAILURE_CODE.incorrectOrUnknownPaymentDetails) + u64(htlcMsat) + u32(height);
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
