/**
 * lightningd's own answers at a final hop for an HTLC no plugin claimed, in
 * its order: handle_localpay (lightningd/peer_htlcs.c), then htlc_set_add and
 * invoice_check_payment (lightningd/htlc_set.c, lightningd/invoice.c). Pure:
 * the caller supplies the block height, the node's cltv-final and its invoice.
 */
import { msat } from '../chain/amount.js';
import { unknownPaymentDetails } from '../chain/failure.js';
import type { SimInvoice } from './invoices.js';
import { bigsize, TLV_PAYMENT_METADATA, type DecodedPayload } from './onion.js';

const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const u64 = (n: bigint): string => n.toString(16).padStart(16, '0');

/** 19 final_incorrect_htlc_amount [u64 incoming_htlc_amt]. */
export const finalIncorrectHtlcAmount = (htlcMsat: bigint): string => u16(0x0013) + u64(htlcMsat);
/** 18 final_incorrect_cltv_expiry [u32 cltv_expiry]. */
export const finalIncorrectCltvExpiry = (cltvExpiry: number): string => u16(0x0012) + u32(cltvExpiry);
/** PERM|22 invalid_onion_payload [bigsize type][u16 offset]. */
export const invalidOnionPayload = (type: number, offset: number): string => u16(0x4016) + bigsize(type).toString('hex') + u16(offset & 0xffff);
/** BADONION|PERM|24 invalid_onion_blinding [sha256 onion] (the simulator has no onion: zeros). */
export const invalidOnionBlinding = (): string => u16(0xc018) + '00'.repeat(32);
/** PERM|8 permanent_channel_failure. */
export const permanentChannelFailure = (): string => u16(0x4008);
/** PERM|10 unknown_next_peer. */
export const unknownNextPeer = (): string => u16(0x400a);
/** A bare 0x400f, what htlc_accepted_hook_try_resolve sends for a payment_key that does not hash to the payment hash. */
export const bareUnknownPaymentDetails = (): string => u16(0x400f);

export interface FinalHtlc {
  amountMsat: bigint;
  cltvExpiry: number;
}

/**
 * handle_localpay's checks before the HTLC joins a set, in its order; the
 * failure message, or undefined when the HTLC goes on to htlc_set_add.
 * `cltvFinal` is lightningd's cltv-final option (18 on mainnet, 10 on
 * regtest), NOT the invoice's min_final_cltv_expiry, which lightningd never
 * checks.
 */
export function localpayFailure(h: FinalHtlc, p: DecodedPayload, height: number, cltvFinal: number): string | undefined {
  if (h.amountMsat < p.forwardMsat) return finalIncorrectHtlcAmount(h.amountMsat);
  if (h.cltvExpiry < p.outgoingCltv) return finalIncorrectCltvExpiry(h.cltvExpiry);
  if (height + cltvFinal > h.cltvExpiry) return unknownPaymentDetails(msat(h.amountMsat), height);
  if (p.paymentMetadata !== undefined) return invalidOnionPayload(TLV_PAYMENT_METADATA, 0);
  return undefined;
}

/**
 * invoice_check_payment: an unpaid, unexpired invoice of ours for the hash,
 * the right payment_secret (our invoices require one; a BOLT 12 invoice's
 * path_id instead), and a total between
 * the invoice amount and twice it. Any failure is answered as
 * incorrect_or_unknown_payment_details.
 */
export function invoiceAccepts(inv: SimInvoice | undefined, p: DecodedPayload, nowSeconds: number): inv is SimInvoice {
  if (!inv || inv.status !== 'unpaid' || inv.expiresAt <= nowSeconds) return false;
  // A BOLT 12 invoice is paid through its blinded path: the path_id stands for the payment_secret.
  if (inv.bolt12 ? p.pathId !== inv.bolt12.pathId : p.paymentSecret === undefined || p.paymentSecret !== inv.paymentSecret) return false;
  const total = p.totalMsat ?? p.forwardMsat;
  return total >= inv.amountMsat && total <= 2n * inv.amountMsat;
}
