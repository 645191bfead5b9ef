/**
 * The one client of the rdv plugin's rdv-request and rdv-wrap (what `rdv
 * request` and `rdv serve` call, and what any program on the node may call with
 * lightning-cli): the call, its reply read, and its JSON-RPC errors made rdv's
 * own here. `askChain`/`askWrap` give the outcome as a value (rdv serve turns it
 * into an LNURL answer); `requestInvoice` throws it as an RdvError with the exit
 * code the CLI gives (a bad `via` is bad input, a refusal or no answer in time a
 * failed operation, no plugin to ask a failed one that says what to load).
 */
import type { Msat } from '../chain/amount.js';
import type { PaymentHash } from '../chain/ids.js';
import { Reader, ShapeError } from '../chain/read.js';
import { err, failedError, inputError, ok, RdvError, type Result } from '../errors.js';
import { RpcError } from './client.js';
import { HASH_RE } from './node/call.js';
import type { LightningNode } from './node.js';

/** rdv-request's and rdv-wrap's error codes, as the plugin answers them (src/relay/plugin/methods.ts). */
export const REQUEST_REFUSED = 1701;
export const REQUEST_TIMED_OUT = 1702;

/** lightningd and the socket get this much more than the plugin's own time to answer. */
const RPC_SLACK_SECONDS = 10;

export interface InvoiceAsked {
  amountMsat: Msat;
  /** A relay policy's id, or its --from node id. */
  via: string;
  description?: string;
  descriptionHash?: string;
  /** Seconds for the chain to answer: the plugin stops waiting then, and answers. */
  timeoutSeconds: number;
}

/** What rdv-wrap is given: an lnproxy client's request, joined by one relay policy. */
export interface WrapAsked {
  /** The relay policy's id (rdv serve --wrap). */
  policy: string;
  bolt11: string;
  /** Our invoice is then exactly the original amount plus this (lnproxy's routing_msat). */
  routingMsat?: Msat;
  description?: string;
  descriptionHash?: string;
}

/** What rdv-request and rdv-wrap answer: our invoice (the first of the chain). */
export interface RequestedInvoice {
  bolt11: string;
  paymentHash: PaymentHash;
  amountMsat: Msat;
  expiresAt: number;
  policy: string | undefined;
}

/**
 * Why no invoice: `input`, the parameters (a `via` naming no relay policy, a bad
 * invoice to wrap); `refused`, the chain or a policy said no, the reason passed
 * back hop by hop; `timeout`, no answer in time; `no-plugin`, lightningd has no
 * such method; `unreachable`, lightningd itself is not answering; `failed`,
 * anything else the plugin said (its message), or a reply rdv cannot read.
 */
export interface RequestProblem {
  kind: 'input' | 'refused' | 'timeout' | 'no-plugin' | 'unreachable' | 'failed';
  message: string;
}

/** Ask the node's rdv plugin for an invoice through the chain: the invoice, or why not, as a value. */
export function askChain(node: LightningNode, ask: InvoiceAsked): Promise<Result<RequestedInvoice, RequestProblem>> {
  return call(
    node,
    'rdv-request',
    { amount_msat: ask.amountMsat, via: ask.via, description: ask.description, description_hash: ask.descriptionHash, timeout: ask.timeoutSeconds },
    (ask.timeoutSeconds + RPC_SLACK_SECONDS) * 1000,
  );
}

/** Ask the node's rdv plugin to wrap an invoice (join it by a relay policy): our invoice, or why not. */
export function askWrap(node: LightningNode, ask: WrapAsked, timeoutSeconds: number): Promise<Result<RequestedInvoice, RequestProblem>> {
  return call(
    node,
    'rdv-wrap',
    { invoice: ask.bolt11, policy: ask.policy, routing_msat: ask.routingMsat, description: ask.description, description_hash: ask.descriptionHash },
    (timeoutSeconds + RPC_SLACK_SECONDS) * 1000,
  );
}

async function call(node: LightningNode, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<Result<RequestedInvoice, RequestProblem>> {
  let reply: unknown;
  try {
    reply = await node.rpc.call(method, params, { timeoutMs });
  } catch (e) {
    if (e instanceof RdvError && e.kind === 'unreachable') return err({ kind: 'unreachable', message: e.message });
    if (!(e instanceof RpcError)) throw e;
    switch (e.code) {
      case -32602:
        return err({ kind: 'input', message: e.rpcMessage });
      case REQUEST_REFUSED:
        return err({ kind: 'refused', message: e.rpcMessage });
      case REQUEST_TIMED_OUT:
        return err({ kind: 'timeout', message: e.rpcMessage });
      case -32601:
        return err({ kind: 'no-plugin', message: `the rdv plugin is not loaded on this node, or is older than ${method}: load this rdv (see rdv watch --start)` });
      default:
        return err({ kind: 'failed', message: `${method} failed: ${e.rpcMessage}` });
    }
  }
  try {
    const r = Reader.of(reply, method);
    return ok({
      bolt11: r.str('bolt11'),
      paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
      amountMsat: r.msat('amount_msat'),
      expiresAt: r.int('expires_at'),
      policy: r.optStr('policy'),
    });
  } catch (e) {
    if (e instanceof ShapeError) return err({ kind: 'failed', message: `${method} answered in an unexpected shape (${e.message})` });
    throw e;
  }
}

/** `rdv request`: askChain, with its problem thrown as an RdvError (input: exit 2; failed: exit 1; unreachable: exit 3). */
export async function requestInvoice(node: LightningNode, ask: InvoiceAsked): Promise<RequestedInvoice> {
  const r = await askChain(node, ask);
  if (r.ok) return r.value;
  const { kind, message } = r.error;
  switch (kind) {
    case 'input':
      throw inputError(message);
    case 'refused':
      throw failedError(`the chain refused: ${message}`);
    case 'timeout':
      throw failedError(`the chain did not answer in time: ${message}`);
    case 'no-plugin':
    case 'failed':
      throw failedError(message);
    case 'unreachable':
      throw new RdvError('unreachable', message);
  }
}
