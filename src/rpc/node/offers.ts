/**
 * BOLT 12 at the edge: CLN's `decode` of an offer or an invoice (read by
 * src/chain/bolt12.ts; rdv never parses BOLT 12 strings itself) and
 * `fetchinvoice`, which asks an offer's issuer for an invoice over onion
 * messages. Errors are values: what the caller must decide on is typed.
 */
import type { Msat } from '../../chain/amount.js';
import { readBolt12Invoice, readBolt12Offer, type Bolt12Invoice, type Bolt12Offer } from '../../chain/bolt12.js';
import { Reader, ShapeError } from '../../chain/read.js';
import { err, ok, type Result } from '../../errors.js';
import { RpcError, type Rpc } from '../client.js';

async function decodeWith<T>(rpc: Rpc, text: string, what: string, read: (reply: unknown, text: string) => Result<T>): Promise<Result<T>> {
  let reply: unknown;
  try {
    reply = await rpc.call('decode', { string: text });
  } catch (e) {
    // CLN quotes the whole string after "invalid token": the reason before it is enough.
    if (e instanceof RpcError) return err(`lightningd cannot decode the ${what}: ${e.rpcMessage.replace(/: invalid token .*$/s, '')}`);
    throw e;
  }
  return read(reply, text);
}

/** CLN's decode of an lno1... string, read and checked for shape; why not, as one line. */
export function decodeOffer(rpc: Rpc, text: string): Promise<Result<Bolt12Offer>> {
  return decodeWith(rpc, text, 'offer', readBolt12Offer);
}

/**
 * CLN's decode of an lni1... string. v26.06 refuses one with a bad signature
 * outright (-32602 "Invalid signature"): that is an error here; a reply with
 * `valid` false (a required field missing) is for the checks to refuse.
 */
export function decodeBolt12Invoice(rpc: Rpc, text: string): Promise<Result<Bolt12Invoice>> {
  return decodeWith(rpc, text, 'BOLT 12 invoice', readBolt12Invoice);
}

/**
 * Why fetchinvoice gave no invoice (doc/schemas/fetchinvoice.json): the offer
 * expired (1002), no path to its issuer (1003), the issuer answered with an
 * error (1004: e.g. an amount it does not accept, a disabled offer), no answer
 * in time (1005), the call's parameters (-32602), or anything else.
 */
export type FetchInvoiceProblem = {
  kind: 'expired' | 'unreachable' | 'refused' | 'timeout' | 'input' | 'failed';
  code: number | undefined;
  message: string;
};

export interface FetchInvoiceRequest {
  offer: string;
  amountMsat: Msat;
  /** Seconds fetchinvoice waits for the issuer's answer (CLN's default: 60). */
  timeoutSeconds?: number;
  payerNote?: string;
}

const KIND_BY_CODE: Record<number, FetchInvoiceProblem['kind']> = { 1002: 'expired', 1003: 'unreachable', 1004: 'refused', 1005: 'timeout', [-32602]: 'input' };

/** fetchinvoice for exactly `amountMsat`: the lni1... string, or why not. */
export async function fetchinvoice(rpc: Rpc, p: FetchInvoiceRequest): Promise<Result<string, FetchInvoiceProblem>> {
  let reply: unknown;
  try {
    reply = await rpc.call('fetchinvoice', { offer: p.offer, amount_msat: p.amountMsat, timeout: p.timeoutSeconds, payer_note: p.payerNote });
  } catch (e) {
    if (e instanceof RpcError) return err({ kind: KIND_BY_CODE[e.code] ?? 'failed', code: e.code, message: e.rpcMessage });
    throw e;
  }
  try {
    return ok(Reader.of(reply, 'fetchinvoice').str('invoice'));
  } catch (e) {
    if (e instanceof ShapeError) return err({ kind: 'failed', code: undefined, message: `unexpected reply from lightningd: ${e.message}` });
    throw e;
  }
}
