/**
 * The first attempt onward by sendpay (src/chain/first-attempt.ts): the invoice
 * fields sendpay needs, asked while "gathered" is written (with askrene's
 * routes: payments.ts findRoutes); then sendpay and waitsendpay, which never throw but say, like xpay's wrapper,
 * whether a failure is definite. A definite failure here means no HTLC of the
 * attempt is left anywhere (lightningd records the part failed), so xpay may
 * pay next; anything else is left to rule 5 (listsendpays).
 */
import type { Msat } from '../../chain/amount.js';
import type { SendpayHop } from '../../chain/first-attempt.js';
import type { PaymentHash, Preimage } from '../../chain/ids.js';
import { Reader, ShapeError } from '../../chain/read.js';
import type { PayResult } from '../../chain/relay/types.js';
import { RpcError, type Rpc } from '../client.js';
import { RdvError } from '../../errors.js';
import { HASH_RE } from './call.js';
import { decode, type DecodedInvoice } from './invoices.js';

/** What sendpay needs of a BOLT 11 invoice besides its hash and amount. */
export interface SendpayInvoice {
  paymentSecret: string;
  paymentMetadata?: string;
}

export interface SendpayRequest {
  hops: SendpayHop[];
  paymentHash: PaymentHash;
  amountMsat: Msat;
  invoice: SendpayInvoice;
  bolt11: string;
}

/** sendpay's outcome: `sent` with the part's group, or a PayResult when no part is running (definite) or when rdv cannot tell. */
export type SendpayStart = { sent: true; groupid: bigint } | ({ sent: false } & PayResult);

/**
 * Codes by which lightningd says the part failed, its HTLC gone or never sent
 * (PAY_UNPARSEABLE_ONION, PAY_DESTINATION_PERM_FAIL, PAY_TRY_OTHER_ROUTE).
 * Everything else (in progress, already paid, a lost connection, lightningd
 * stopping) leaves the part's fate to listsendpays. A parameter lightningd
 * refused is definite for sendpay (nothing was sent), never for waitsendpay.
 */
const FAILED = [202, 203, 204];
const SENDPAY_DEFINITE = new Set([...FAILED, -32602]);
const WAITSENDPAY_DEFINITE = new Set(FAILED);

function failure(e: unknown, definite: ReadonlySet<number>): PayResult {
  if (e instanceof RpcError) return { ok: false, definite: definite.has(e.code), message: `${e.rpcMessage} (code ${e.code})` };
  return { ok: false, definite: false, message: e instanceof Error ? e.message : String(e) };
}

/** The payment secret and metadata of a BOLT 11 invoice (lightningd's decode), or undefined if it has no secret or cannot be read. */
export async function sendpayInvoice(rpc: Rpc, bolt11: string): Promise<SendpayInvoice | undefined> {
  let d: DecodedInvoice;
  try {
    d = await decode(rpc, bolt11);
  } catch (e) {
    if (e instanceof RdvError) return undefined; // lightningd refused it, or answered in a shape rdv does not read
    throw e;
  }
  if (!d.valid || d.paymentSecret === undefined || !HASH_RE.test(d.paymentSecret)) return undefined;
  return { paymentSecret: d.paymentSecret, ...(d.paymentMetadata !== undefined ? { paymentMetadata: d.paymentMetadata } : {}) };
}

/** sendpay along `hops`: the whole amount in one part (partid 0), in a group lightningd numbers. */
export async function sendpay(rpc: Rpc, p: SendpayRequest): Promise<SendpayStart> {
  try {
    const result = await rpc.call('sendpay', {
      route: p.hops,
      payment_hash: p.paymentHash,
      payment_secret: p.invoice.paymentSecret,
      ...(p.invoice.paymentMetadata !== undefined ? { payment_metadata: p.invoice.paymentMetadata } : {}),
      amount_msat: p.amountMsat,
      bolt11: p.bolt11,
    });
    return { sent: true, groupid: Reader.of(result, 'sendpay').bigint('groupid') };
  } catch (e) {
    if (e instanceof ShapeError) return { sent: false, ok: false, definite: false, message: e.message };
    return { sent: false, ...failure(e, SENDPAY_DEFINITE) };
  }
}

/** waitsendpay for the part sendpay started: its preimage, or its failure (definite when lightningd says the part failed). */
export async function waitsendpay(rpc: Rpc, paymentHash: PaymentHash, groupid: bigint): Promise<PayResult> {
  try {
    const r = Reader.of(await rpc.call('waitsendpay', { payment_hash: paymentHash, partid: 0, groupid }), 'waitsendpay');
    return { ok: true, preimage: r.match<Preimage>('payment_preimage', HASH_RE, 'a preimage'), amountSentMsat: r.msat('amount_sent_msat') };
  } catch (e) {
    if (e instanceof ShapeError) return { ok: false, definite: false, message: e.message };
    return failure(e, WAITSENDPAY_DEFINITE);
  }
}
