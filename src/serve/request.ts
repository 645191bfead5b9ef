/**
 * Reading what a stranger sent, before anything is asked of the node: which
 * endpoint (or 404/405/414), its parameters, and who is asking (the client
 * address the rate limit counts). Pure.
 *
 *   GET  /.well-known/lnurlp/<name>          LUD-16 Lightning Address: pay parameters
 *   GET  /lnurlp/<name>                      LUD-06 (what a bech32 LNURL points at): the same
 *   GET  /lnurlp/<name>/callback?amount=<msat>   an invoice for that amount
 *   GET  /lnurlp/<name>/verify/<token>       LUD-21: settled? (and the preimage once it is)
 *   POST /spec                               lnproxy: {invoice, routing_msat?, description?} -> {proxy_invoice}
 *   GET  /api/<invoice>?routing_msat=<msat>  lnproxy's older form: the proxy invoice as text
 */
import { isIP } from 'node:net';
import { isToken } from './tokens.js';
import { INVOICE_TEXT_RE } from '../chain/bolt11.js';

export type Route =
  | { kind: 'pay-params'; name: string }
  | { kind: 'callback'; name: string; amount: string | undefined }
  | { kind: 'verify'; name: string; token: string }
  | { kind: 'wrap-spec' }
  | { kind: 'wrap-api'; invoice: string; routingMsat: string | undefined }
  /** CORS preflight (browser wallets): answered 204 with the allowed methods. */
  | { kind: 'preflight' };

/** A request refused before routing: the HTTP status and a reason. */
export interface Refusal {
  status: number;
  reason: string;
  /** For 405: what is allowed. */
  allow?: string;
}

export type Routed = { ok: true; route: Route } | { ok: false; refusal: Refusal };

const refuse = (status: number, reason: string, allow?: string): Routed => ({ ok: false, refusal: { status, reason, ...(allow ? { allow } : {}) } });
const routed = (route: Route): Routed => ({ ok: true, route });

const NAME_RE = /^[a-z0-9._-]{1,64}$/;

/**
 * The endpoint `method` `rawUrl` asks for. `maxUrlBytes` bounds the URL (414);
 * `wrap` says whether the lnproxy endpoints are on (404 otherwise, as for any
 * unknown path: an off endpoint is not advertised).
 */
export function routeRequest(method: string, rawUrl: string, o: { maxUrlBytes: number; wrap: boolean }): Routed {
  if (Buffer.byteLength(rawUrl) > o.maxUrlBytes) return refuse(414, `the URL is longer than ${o.maxUrlBytes} bytes`);
  let url: URL;
  try {
    url = new URL(rawUrl, 'http://rdv.invalid');
  } catch {
    return refuse(400, 'the URL is not understood');
  }
  const parts = url.pathname.split('/').slice(1);
  const segment = (i: number): string | undefined => {
    const s = parts[i];
    if (s === undefined) return undefined;
    try {
      return decodeURIComponent(s);
    } catch {
      return undefined;
    }
  };
  const get = (route: Route): Routed => (method === 'GET' ? routed(route) : method === 'OPTIONS' ? routed({ kind: 'preflight' }) : refuse(405, `use GET for ${url.pathname}`, 'GET, OPTIONS'));
  const name = (i: number): string | undefined => {
    const n = segment(i);
    return n !== undefined && NAME_RE.test(n) ? n : undefined;
  };
  const notFound = refuse(404, 'not found');

  // /.well-known/lnurlp/<name>
  if (parts[0] === '.well-known' && parts[1] === 'lnurlp' && parts.length === 3) {
    const n = name(2);
    return n === undefined ? notFound : get({ kind: 'pay-params', name: n });
  }
  if (parts[0] === 'lnurlp') {
    const n = name(1);
    if (n === undefined) return notFound;
    if (parts.length === 2) return get({ kind: 'pay-params', name: n });
    if (parts.length === 3 && parts[2] === 'callback') return get({ kind: 'callback', name: n, amount: url.searchParams.get('amount') ?? undefined });
    if (parts.length === 4 && parts[2] === 'verify') {
      const token = segment(3);
      return token !== undefined && isToken(token) ? get({ kind: 'verify', name: n, token }) : notFound;
    }
    return notFound;
  }
  if (!o.wrap) return notFound;
  if (parts[0] === 'spec' && parts.length === 1) {
    if (method === 'POST') return routed({ kind: 'wrap-spec' });
    if (method === 'OPTIONS') return routed({ kind: 'preflight' });
    return refuse(405, 'use POST for /spec', 'POST, OPTIONS');
  }
  if (parts[0] === 'api' && parts.length === 2) {
    const invoice = segment(1);
    if (invoice === undefined || !INVOICE_TEXT_RE.test(invoice)) return notFound;
    return get({ kind: 'wrap-api', invoice, routingMsat: url.searchParams.get('routing_msat') ?? undefined });
  }
  return notFound;
}

/** IPv4-mapped IPv6 (::ffff:1.2.3.4) counts as the IPv4 address. */
function normaliseIp(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (v4?.[1] ?? ip).toLowerCase();
}

/**
 * Who is asking, for the rate limit. The socket's peer, unless `trustProxy`: then
 * the last address in X-Forwarded-For, the one our own reverse proxy added (those
 * before it are whatever the client chose to send). Without --trust-proxy the
 * header is ignored, so no one can pose as many clients by setting it.
 */
export function clientAddress(remote: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: boolean): string {
  const socket = normaliseIp(remote ?? 'unknown');
  if (!trustProxy || forwardedFor === undefined) return socket;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = header.split(',').map((s) => s.trim()).filter((s) => s !== '').at(-1);
  return last !== undefined && isIP(normaliseIp(last)) !== 0 ? normaliseIp(last) : socket;
}
