/**
 * Calling the rdv plugin's rdv-request (what `rdv request` does, and what any
 * program on the node may do with lightning-cli): its reply read, its errors made
 * rdv errors here (a bad `via` is bad input, a refusal or no answer in time a
 * failed operation, no plugin to ask a failed one that says what to load).
 */
import type { Msat } from '../chain/amount.js';
import type { PaymentHash } from '../chain/ids.js';
import { Reader, ShapeError } from '../chain/read.js';
import { failedError, inputError, RdvError } from '../errors.js';
import { RpcError } from './client.js';
import { HASH_RE } from './node/call.js';
import type { LightningNode } from './node.js';

/** rdv-request's error codes, as the plugin answers them (src/relay/plugin/methods.ts). */
export const REQUEST_REFUSED = 1701;
export const REQUEST_TIMED_OUT = 1702;

export interface InvoiceAsked {
  amountMsat: Msat;
  /** A relay policy's id, or its --from node id. */
  via: string;
  description?: string;
  descriptionHash?: string;
  /** Seconds for the chain to answer. */
  timeoutSeconds: number;
}

export interface RequestedInvoice {
  bolt11: string;
  paymentHash: PaymentHash;
  amountMsat: Msat;
  expiresAt: number;
  policy: string | undefined;
}

/** Ask the node's rdv plugin for an invoice through the chain. Throws RdvError (input: exit 2; failed: exit 1; unreachable: exit 3). */
export async function requestInvoice(node: LightningNode, ask: InvoiceAsked): Promise<RequestedInvoice> {
  let reply: unknown;
  try {
    reply = await node.rpc.call(
      'rdv-request',
      { amount_msat: ask.amountMsat, via: ask.via, description: ask.description, description_hash: ask.descriptionHash, timeout: ask.timeoutSeconds },
      // The plugin answers within the timeout; lightningd and the socket get a little more.
      { timeoutMs: (ask.timeoutSeconds + 10) * 1000 },
    );
  } catch (e) {
    if (!(e instanceof RpcError)) throw e;
    switch (e.code) {
      case -32602:
        throw inputError(e.rpcMessage);
      case REQUEST_REFUSED:
        throw failedError(`the chain refused: ${e.rpcMessage}`, e);
      case REQUEST_TIMED_OUT:
        throw failedError(`the chain did not answer in time: ${e.rpcMessage}`, e);
      case -32601:
        throw failedError('the rdv plugin is not loaded on this node, or is older than rdv-request: load this rdv (see rdv watch --start)', e);
      default:
        throw failedError(`rdv-request failed: ${e.rpcMessage}`, e);
    }
  }
  try {
    const r = Reader.of(reply, 'rdv-request');
    return {
      bolt11: r.str('bolt11'),
      paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
      amountMsat: r.msat('amount_msat'),
      expiresAt: r.int('expires_at'),
      policy: r.optStr('policy'),
    };
  } catch (e) {
    if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from the rdv plugin: ${e.message}`, { cause: e });
    throw e;
  }
}
