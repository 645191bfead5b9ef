/**
 * What rdv serve says to wallets, in LNURL's words: the pay parameters of a
 * Lightning Address (LUD-06, LUD-16), the callback's invoice (with a LUD-21
 * verify URL), the verify answer, and errors as {"status":"ERROR","reason"}.
 * Also the check of the invoice the chain returned before a wallet sees it:
 * a wallet refuses one whose amount or description hash is not what it asked
 * for, so rdv refuses it first and says why. Pure.
 */
import { createHash } from 'node:crypto';
import type { Msat } from '../chain/amount.js';
import type { Invoice } from '../chain/bolt11.js';
import { shortHash, type NodeId, type PaymentHash, type Preimage } from '../chain/ids.js';
import type { NetworkName } from '../chain/network.js';
import type { SendableBounds } from './amounts.js';

/** LNURL's error answer; the reason is shown to the wallet's user. */
export interface LnurlError {
  status: 'ERROR';
  reason: string;
}

export const lnurlError = (reason: string): LnurlError => ({ status: 'ERROR', reason });

/** The host a Lightning Address names (user@host): the public URL's, with its port if not the default. */
export const addressHost = (publicUrl: URL): string => publicUrl.host;

/**
 * LUD-06 metadata: a JSON array, as a string, shown and hashed exactly as
 * served: the invoice's description hash is sha256 of these bytes.
 */
export function metadataFor(name: string, publicUrl: URL, description: string | undefined): string {
  const identifier = `${name}@${addressHost(publicUrl)}`;
  return JSON.stringify([
    ['text/plain', description ?? `Payment to ${identifier}`],
    ['text/identifier', identifier],
  ]);
}

/** sha256 of the metadata string's UTF-8 bytes, hex: the `h` field wallets check. */
export function metadataHash(metadata: string): string {
  return createHash('sha256').update(metadata, 'utf8').digest('hex');
}

/** Where a name's LUD-06 endpoints live under the public URL. */
export function namePath(publicUrl: URL, name: string, rest = ''): string {
  return `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, '')}/lnurlp/${encodeURIComponent(name)}${rest}`;
}

/** The payRequest a wallet reads first (LUD-06), amounts in msat. */
export interface PayParams {
  tag: 'payRequest';
  callback: string;
  minSendable: Msat;
  maxSendable: Msat;
  metadata: string;
}

export function payParams(publicUrl: URL, name: string, metadata: string, bounds: SendableBounds): PayParams {
  return { tag: 'payRequest', callback: namePath(publicUrl, name, '/callback'), minSendable: bounds.minMsat, maxSendable: bounds.maxMsat, metadata };
}

/** The callback's answer (LUD-06), with LUD-21's verify URL when a token was stored. */
export interface CallbackReply {
  pr: string;
  routes: [];
  verify?: string;
}

export function callbackReply(bolt11: string, verifyUrl: string | undefined): CallbackReply {
  return verifyUrl === undefined ? { pr: bolt11, routes: [] } : { pr: bolt11, routes: [], verify: verifyUrl };
}

/** LUD-21: the preimage only once settled, never otherwise. */
export interface VerifyReply {
  status: 'OK';
  settled: boolean;
  preimage: Preimage | null;
  pr: string;
}

export function verifyReply(bolt11: string, preimage: Preimage | undefined): VerifyReply {
  return { status: 'OK', settled: preimage !== undefined, preimage: preimage ?? null, pr: bolt11 };
}

/** What the invoice handed to a wallet must be. */
export interface ServedInvoiceWant {
  amountMsat: Msat;
  descriptionHash: string;
  /** The hash rdv-request said it made the invoice for. */
  paymentHash: PaymentHash;
  network: NetworkName;
  /** Our node: the first payee signs the first invoice. */
  nodeId: NodeId;
  now: number;
  /** Seconds the invoice must still live: a wallet needs time to pay it. */
  minLifeSeconds: number;
}

/**
 * Why the invoice the chain returned must not go to a wallet, or undefined:
 * the checks a wallet makes (amount exactly as asked, description hash of the
 * metadata) and the ones rdv owes it (our network, our node, the hash rdv-request
 * reported, time left to pay).
 */
export function servedInvoiceProblem(inv: Invoice, want: ServedInvoiceWant): string | undefined {
  if (!inv.networks.includes(want.network)) return `the invoice is for ${inv.networks.join('/')}, not ${want.network}`;
  if (inv.amountMsat !== want.amountMsat) return `the invoice is for ${inv.amountMsat ?? 'no'} msat, not the ${want.amountMsat} msat asked`;
  if (inv.descriptionHash !== want.descriptionHash) return `the invoice's description hash is ${inv.descriptionHash ?? 'missing'}, not sha256 of the metadata (${shortHash(want.descriptionHash)}…)`;
  if (inv.paymentHash !== want.paymentHash) return `the invoice's payment hash ${shortHash(inv.paymentHash)}… is not the ${shortHash(want.paymentHash)}… rdv-request reported`;
  if (inv.payee !== want.nodeId) return `the invoice is signed by ${shortHash(inv.payee)}…, not by this node`;
  if (inv.expiresAt - want.now < want.minLifeSeconds) return `the invoice expires in ${inv.expiresAt - want.now} s, too soon for a wallet to pay it`;
  return undefined;
}
