/**
 * The wallet side of `rdv demo --serve`: what any LNURL wallet does with a
 * Lightning Address, written out so the demo shows each step. Resolve the
 * address to its pay parameters (LUD-16: https://<host>/.well-known/lnurlp/<name>;
 * plain http for a loopback or .onion host, which is where the demo's rdv serve
 * listens), ask the callback for an invoice of an amount within them (LUD-06),
 * check it as wallets do (exactly the amount asked, `h` = sha256 of the metadata
 * as served, not expired), and later ask LUD-21 verify whether it settled.
 * Errors are LNURL's reasons, as a wallet shows them.
 */
import { createHash } from 'node:crypto';
import { formatAmount, msat, type Msat } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { isObject } from '../chain/read.js';
import { err, ok, type Result } from '../errors.js';

export interface PayParams {
  callback: string;
  minSendableMsat: Msat;
  maxSendableMsat: Msat;
  metadata: string;
  /** The metadata's text/plain: what a wallet shows its user. */
  description: string;
}

export interface WalletInvoice {
  bolt11: string;
  paymentHash: string;
  /** LUD-21's verify URL, if the service gave one. */
  verify: string | undefined;
}

/** LUD-16: where a Lightning Address's pay parameters are. */
export function addressUrl(address: string): Result<string> {
  const m = /^([a-z0-9._-]+)@([^@\s/]+)$/.exec(address);
  if (!m) return err(`"${address}" is not a Lightning Address (name@host)`);
  const [, name, host] = m;
  const hostname = (host ?? '').replace(/:\d+$/, '');
  const local = hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname.endsWith('.onion');
  return ok(`${local ? 'http' : 'https'}://${host}/.well-known/lnurlp/${name}`);
}

async function getJson(url: string): Promise<Result<Record<string, unknown>>> {
  let body: unknown;
  try {
    const res = await fetch(url);
    body = await res.json();
  } catch (e) {
    return err(`${url}: ${(e as Error).message}`);
  }
  if (!isObject(body)) return err(`${url} answered something that is not a JSON object`);
  if (body.status === 'ERROR') return err(String(body.reason ?? 'an error with no reason'));
  return ok(body);
}

/** The pay parameters a Lightning Address points at. */
export async function payParams(address: string): Promise<Result<PayParams>> {
  const url = addressUrl(address);
  if (!url.ok) return url;
  const got = await getJson(url.value);
  if (!got.ok) return got;
  const p = got.value;
  if (p.tag !== 'payRequest' || typeof p.callback !== 'string' || typeof p.metadata !== 'string') return err(`${url.value} is not an LNURL-pay service`);
  const min = p.minSendable;
  const max = p.maxSendable;
  if (typeof min !== 'number' || typeof max !== 'number') return err(`${url.value}: minSendable and maxSendable must be numbers`);
  let description = '';
  try {
    const entries: unknown = JSON.parse(p.metadata);
    const plain = Array.isArray(entries) ? entries.find((e): e is [string, string] => Array.isArray(e) && e[0] === 'text/plain') : undefined;
    description = plain?.[1] ?? '';
  } catch {
    return err(`${url.value}: its metadata is not JSON`);
  }
  return ok({ callback: p.callback, minSendableMsat: msat(BigInt(min)), maxSendableMsat: msat(BigInt(max)), metadata: p.metadata, description });
}

/** Ask the callback for an invoice of `amountMsat`, and check it as a wallet does before paying. */
export async function requestInvoice(params: PayParams, amountMsat: Msat, now: number): Promise<Result<WalletInvoice>> {
  if (amountMsat < params.minSendableMsat || amountMsat > params.maxSendableMsat) {
    return err(`${formatAmount(amountMsat)} is outside what the service takes (${formatAmount(params.minSendableMsat)} to ${formatAmount(params.maxSendableMsat)})`);
  }
  const url = new URL(params.callback);
  url.searchParams.set('amount', amountMsat.toString());
  const got = await getJson(url.href);
  if (!got.ok) return got;
  const pr = got.value.pr;
  if (typeof pr !== 'string') return err('the service answered without an invoice');
  const inv = decodeBolt11(pr);
  if (!inv.ok) return err(`the service's invoice cannot be read: ${inv.error}`);
  if (inv.value.amountMsat !== amountMsat) return err(`the invoice is for ${inv.value.amountMsat ?? 'no'} msat, not the ${amountMsat} msat asked: not paying it`);
  const h = createHash('sha256').update(params.metadata, 'utf8').digest('hex');
  if (inv.value.descriptionHash !== h) return err("the invoice's description hash is not that of the metadata: not paying it");
  if (inv.value.expiresAt <= now) return err('the invoice has expired');
  return ok({ bolt11: pr, paymentHash: inv.value.paymentHash, verify: typeof got.value.verify === 'string' ? got.value.verify : undefined });
}

/** LUD-21: settled, and the preimage once it is. */
export async function verify(url: string): Promise<Result<{ settled: boolean; preimage: string | undefined }>> {
  const got = await getJson(url);
  if (!got.ok) return got;
  return ok({ settled: got.value.settled === true, preimage: typeof got.value.preimage === 'string' ? got.value.preimage : undefined });
}
