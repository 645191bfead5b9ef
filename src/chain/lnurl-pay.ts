/**
 * The wallet's side of LNURL-pay: what a relay checks when it pulls the next
 * payee's invoice from a stranger's server. A Lightning Address (LUD-16), an
 * LNURL (LUD-01 bech32, or LUD-17's lnurlp:// URL) or a plain https URL leads
 * to the pay parameters (LUD-06); their callback, asked for an amount, answers
 * with a BOLT 11 invoice whose `h` must be sha256 of the metadata served.
 *
 * Everything here is pure: the HTTP is src/rpc/http-get.ts, the steps
 * src/rpc/lnurl-pull.ts. Nothing a server sends is trusted: every field is
 * checked for type and bound, and the reasons it gives are cleaned before an
 * operator reads them.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { msat, type Msat } from './amount.js';
import { INVOICE_TEXT_RE, type Invoice } from './bolt11.js';
import { shortHash, type NodeId } from './ids.js';
import { parseJson } from './json.js';
import type { NetworkName } from './network.js';
import { err, ok, type Result } from '../errors.js';

/**
 * Largest body rdv reads from an LNURL server. LUD-06 lets the metadata carry a
 * base64 image of up to 136,536 characters, so 64 KiB would refuse servers that
 * follow the spec; 256 KiB holds such an image with room to spare and is still
 * nothing to a relay's memory.
 */
export const LNURL_MAX_BODY_BYTES = 256 * 1024;
/** Largest metadata string: the LUD-06 image (136,536 characters) plus text. Hash it; do not store it. */
export const LNURL_MAX_METADATA_BYTES = 160 * 1024;
/** Redirects followed from the first URL (LUD-06 needs none; some hosts redirect once to a canonical name). */
export const LNURL_MAX_REDIRECTS = 3;
/** Time for the whole pull: pay parameters, callback, and any redirects. */
export const LNURL_TIMEOUT_MS = 10_000;
/** Longest URL rdv follows (callbacks and redirect targets). */
export const LNURL_MAX_URL_CHARS = 2_048;
/** A remote reason is cut to this many characters before it is shown. */
export const LNURL_MAX_REASON_CHARS = 200;
/** LUD-16 names: like an e-mail address's local part, at most 64 characters. */
export const ADDRESS_MAX_NAME_CHARS = 64;
/** A DNS name is at most 253 characters (without a port). */
export const ADDRESS_MAX_HOST_CHARS = 253;

/** The hosts plain http may reach: this machine only, for tests. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Whether `hostname` (a URL's hostname, IPv6 in brackets or not) is this machine. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname.toLowerCase());

/**
 * Why rdv must not fetch `url`, or undefined. https only; plain http only to
 * this machine (tests); no user name or password in the URL (rdv sends no
 * credentials); no .onion (rdv has no Tor). With `from` (the URL that led
 * here: a redirect, or the pay parameters naming a callback), a public server
 * may not send rdv to this machine: that would let a stranger make the relay
 * call its own local services.
 */
export function urlProblem(url: URL, from?: URL): string | undefined {
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return url.protocol === 'http:' ? 'uses plain http, which rdv allows only to this machine: it must be https' : `uses ${url.protocol.replace(/:$/, '')}, not https`;
  }
  if (url.username !== '' || url.password !== '') return 'carries a user name or password, and rdv sends no credentials';
  if (url.hostname.endsWith('.onion')) return 'is an onion service, which needs Tor, and rdv does not use Tor';
  if (url.href.length > LNURL_MAX_URL_CHARS) return `is longer than ${LNURL_MAX_URL_CHARS} characters`;
  if (from !== undefined && loopback && !isLoopbackHost(from.hostname)) return `points to this machine, which ${from.host} may not send rdv to`;
  // A stranger's server may not send rdv into a private network by address either (its DNS names are checked as they resolve: http-get.ts).
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (from !== undefined && !loopback && (isIPv4(literal) || isIPv6(literal)) && !isPublicAddress(literal) && from.hostname !== url.hostname) {
    return `points into a private network (${literal}), which ${from.host} may not send rdv to`;
  }
  return undefined;
}

/**
 * Is `ip` an address on the public internet? Not this machine (127/8, ::1),
 * a private network (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16, fe80::/10), shared (100.64/10), "this network" (0/8, ::),
 * multicast or broadcast, nor an IPv4 one of those inside ::ffff:.
 */
export function isPublicAddress(ip: string): boolean {
  if (isIPv4(ip)) {
    const [a = 0, b = 0] = ip.split('.').map(Number);
    if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
    if (a === 169 && b === 254) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    return true;
  }
  if (!isIPv6(ip)) return false;
  const v6 = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (mapped?.[1] !== undefined) return isPublicAddress(mapped[1]);
  if (v6 === '::' || v6 === '::1') return false;
  return !/^(f[cd]|fe[89ab]|ff)/.test(v6);
}

/** A URL rdv may fetch, or why not (`what` names it in the reason). */
export function fetchableUrl(text: string, what: string, from?: URL): Result<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`${what} "${cleanText(text, 80)}" is not a URL`);
  }
  const problem = urlProblem(url, from);
  return problem === undefined ? ok(url) : err(`${what} ${cleanText(url.href, 120)} ${problem}`);
}

/**
 * Text from a stranger made safe to print on one line: control characters
 * (terminal escapes, newlines) and bidirectional overrides removed, runs of
 * spaces folded, cut to `maxChars` with an ellipsis.
 */
export function cleanText(text: string, maxChars = LNURL_MAX_REASON_CHARS): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= maxChars ? flat : `${chars.slice(0, maxChars - 1).join('')}…`;
}

// ---------------------------------------------------------------------------
// Where the pay parameters are: a Lightning Address, an LNURL, a URL.

/** A Lightning Address, checked (LUD-16). */
export interface LightningAddress {
  /** Lower case, a-z0-9-_.+ */
  name: string;
  /** The host as a URL writes it, lower case, with the port when not the default. */
  domain: string;
  /** Where its pay parameters are: https://<domain>/.well-known/lnurlp/<name> (http only for loopback). */
  url: string;
}

const ADDRESS_NAME_RE = /^[a-z0-9\-_.+]+$/;
const DNS_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `hostname` (from a URL, lower case, IDN already in xn-- form) is not a host rdv would pay, or undefined. */
function hostnameProblem(hostname: string): string | undefined {
  if (hostname.startsWith('[')) return isIPv6(hostname.slice(1, -1)) ? undefined : 'is not an IPv6 address';
  if (isIPv4(hostname) || hostname === 'localhost') return undefined;
  if (hostname.length > ADDRESS_MAX_HOST_CHARS) return `is longer than ${ADDRESS_MAX_HOST_CHARS} characters`;
  const labels = hostname.split('.');
  if (labels.length < 2) return 'is not a full domain name (it has no dot)';
  if (!labels.every((l) => DNS_LABEL_RE.test(l))) return 'is not a valid domain name';
  if (hostname.endsWith('.onion')) return 'is an onion service, which needs Tor, and rdv does not use Tor';
  return undefined;
}

/**
 * Parse a Lightning Address, "name@domain" (LUD-16), optionally written as a
 * lightning: URI. The name is lower-cased and limited to a-z0-9-_.+ ; the domain
 * is a host name or an IP address, with an optional port. The pay parameters
 * are at https://<domain>/.well-known/lnurlp/<name>, or http:// when the domain
 * is this machine (127.0.0.1, ::1, localhost: tests). Returns a one-line reason
 * on failure.
 */
export function parseAddress(text: string): Result<LightningAddress> {
  const input = text.trim().replace(/^lightning:/i, '').toLowerCase();
  const shown = cleanText(input, 80);
  const at = input.indexOf('@');
  if (at === -1 || input.indexOf('@', at + 1) !== -1) return err(`"${shown}" is not a Lightning Address: write it as name@domain`);
  const name = input.slice(0, at);
  const domainText = input.slice(at + 1);
  if (name === '') return err(`"${shown}" has no name before the @`);
  if (name.length > ADDRESS_MAX_NAME_CHARS) return err(`the name of "${shown}" is longer than ${ADDRESS_MAX_NAME_CHARS} characters`);
  if (!ADDRESS_NAME_RE.test(name)) return err(`the name of "${shown}" may use only a-z, 0-9 and - _ . + (LUD-16)`);
  if (/^\.+$/.test(name)) return err(`the name of "${shown}" is only dots`);
  if (domainText === '') return err(`"${shown}" has no domain after the @`);
  let host: URL;
  try {
    // The URL parser lower-cases, turns an IDN into its xn-- form and checks the port.
    host = new URL(`https://${domainText}/`);
  } catch {
    return err(`the domain of "${shown}" is not a host name or host:port`);
  }
  if (host.username !== '' || host.password !== '' || host.pathname !== '/' || host.search !== '' || host.hash !== '' || /[/?#\\]/.test(domainText)) {
    return err(`the domain of "${shown}" is not a host name or host:port`);
  }
  const problem = hostnameProblem(host.hostname);
  if (problem !== undefined) return err(`the domain of "${shown}" ${problem}`);
  const scheme = isLoopbackHost(host.hostname) ? 'http' : 'https';
  const url = `${scheme}://${host.host}/.well-known/lnurlp/${name}`;
  return ok({ name, domain: host.host, url });
}

/** What a relay pulls from: a Lightning Address, or the URL of LNURL-pay parameters. */
export type LnurlTarget = ({ kind: 'address' } & LightningAddress) | { kind: 'url'; domain: string; url: string };

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** LUD-01: an LNURL is a URL's bytes in bech32 under "lnurl", with no length limit. */
function decodeLnurl(text: string): string | undefined {
  const s = text.toLowerCase();
  if (s !== text && s.toUpperCase() !== text) return undefined;
  const sep = s.lastIndexOf('1');
  if (s.slice(0, sep) !== 'lnurl' || s.length - sep - 1 < 6) return undefined;
  const words: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const w = BECH32_CHARSET.indexOf(c);
    if (w === -1) return undefined;
    words.push(w);
  }
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of [...[...'lnurl'].map((c) => c.charCodeAt(0) >> 5), 0, ...[...'lnurl'].map((c) => c.charCodeAt(0) & 31), ...words]) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i] ?? 0;
  }
  if (chk !== 1) return undefined;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words.slice(0, -6)) {
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >>> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parse what names the next payee's LNURL-pay service: a Lightning Address
 * (name@domain), an LNURL (LUD-01, "lnurl1..."), an lnurlp:// URL (LUD-17, read
 * as https) or an https URL; each may carry a lightning: prefix. The URL is
 * checked as urlProblem says. Returns a one-line reason on failure.
 */
export function parseTarget(text: string): Result<LnurlTarget> {
  const input = text.trim().replace(/^lightning:/i, '');
  if (input === '') return err('no Lightning Address or LNURL given');
  if (/^lnurl1/i.test(input)) {
    const decoded = decodeLnurl(input);
    if (decoded === undefined) return err(`"${cleanText(input, 40)}" is not a valid LNURL (bad bech32 or checksum)`);
    return urlTarget(decoded, 'the LNURL');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return urlTarget(input.replace(/^lnurlp:\/\//i, 'https://'), 'the URL');
  const address = parseAddress(input);
  return address.ok ? ok({ kind: 'address', ...address.value }) : address;
}

function urlTarget(text: string, what: string): Result<LnurlTarget> {
  const url = fetchableUrl(text, what);
  if (!url.ok) return url;
  const problem = hostnameProblem(url.value.hostname);
  if (problem !== undefined) return err(`${what} ${cleanText(url.value.href, 120)}: its host ${problem}`);
  return ok({ kind: 'url', domain: url.value.host, url: url.value.href });
}

/**
 * How a target is named in logs and reasons: the address itself, or the URL's
 * host and path (its query may carry a token, so it is left out).
 */
export function describeTarget(target: LnurlTarget): string {
  if (target.kind === 'address') return `${target.name}@${target.domain}`;
  const url = new URL(target.url);
  return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

// ---------------------------------------------------------------------------
// What the server answers.

/** The pay parameters (LUD-06 step 3), checked. */
export interface PayParams {
  /** The callback URL, as given (normalised by the URL parser). */
  callback: string;
  minSendableMsat: Msat;
  maxSendableMsat: Msat;
  /** The metadata string exactly as served: the invoice's `h` is sha256 of its UTF-8 bytes. */
  metadata: string;
  /** The text/plain entry: what the payment is for. */
  description: string;
  /** The text/identifier or text/email entry (LUD-16), when there is one. */
  identifier: string | undefined;
}

/** Why an answer was not usable: the server said so (an LNURL error), or it said something wrong. */
export type LnurlProblem =
  /** {"status":"ERROR","reason"}: the reason, cleaned for printing. */
  | { kind: 'refused'; reason: string }
  /** The answer is not what LUD-06 says it must be. */
  | { kind: 'malformed'; reason: string };

const malformed = (reason: string): { ok: false; error: LnurlProblem } => err({ kind: 'malformed', reason });

/**
 * The answer as an object: from JSON text or an already-parsed value (integers
 * past 2^53 stay exact); an LNURL error answer becomes a `refused` problem.
 */
function answerObject(input: unknown): Result<Record<string, unknown>, LnurlProblem> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseJson(input);
    } catch {
      return malformed('the answer is not JSON');
    }
  }
  const refusal = lnurlRefusal(value);
  if (refusal) return err(refusal);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return malformed('the answer is not a JSON object');
  return ok(value as Record<string, unknown>);
}

/** An LNURL error answer ({"status":"ERROR","reason":...}) as a problem, or undefined. */
export function lnurlRefusal(value: unknown): LnurlProblem | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.status !== 'string' || o.status.toUpperCase() !== 'ERROR') return undefined;
  const reason = typeof o.reason === 'string' ? cleanText(o.reason) : '';
  return { kind: 'refused', reason: reason === '' ? '(no reason given)' : reason };
}

/** An msat amount from JSON: a non-negative integer (a bigint past 2^53), or undefined. */
function msatField(v: unknown): Msat | undefined {
  if (typeof v === 'bigint') return v >= 0n ? msat(v) : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return msat(BigInt(v));
  return undefined;
}

/** The metadata's text/plain and identifier entries, or why it is not LUD-06 metadata. */
function readMetadata(metadata: string): Result<{ description: string; identifier: string | undefined }> {
  let entries: unknown;
  try {
    entries = JSON.parse(metadata);
  } catch {
    return err('its metadata is not a JSON array');
  }
  if (!Array.isArray(entries)) return err('its metadata is not a JSON array');
  const plain: string[] = [];
  let identifier: string | undefined;
  for (const entry of entries) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') return err('its metadata holds something that is not a [type, content] pair');
    const [type, content] = entry as [string, unknown];
    if (type === 'text/plain') {
      if (typeof content !== 'string') return err('its metadata\'s text/plain entry is not a string');
      plain.push(content);
    } else if ((type === 'text/identifier' || type === 'text/email') && typeof content === 'string') {
      identifier ??= content;
    }
  }
  if (plain.length !== 1) return err(`its metadata has ${plain.length} text/plain entries, not exactly one`);
  return ok({ description: plain[0] ?? '', identifier });
}

/**
 * Check the pay parameters (LUD-06 step 3): tag "payRequest"; a callback URL
 * rdv may fetch (see urlProblem; `from` is where the parameters came from);
 * minSendable and maxSendable integers of msat with 1 <= min <= max; metadata a
 * string of at most LNURL_MAX_METADATA_BYTES that is a JSON array of
 * [type, content] pairs with exactly one text/plain entry. An LNURL error
 * answer becomes a `refused` problem carrying the server's reason, cleaned.
 */
export function parsePayParams(input: unknown, from?: URL): Result<PayParams, LnurlProblem> {
  const object = answerObject(input);
  if (!object.ok) return object;
  const o = object.value;
  if (o.tag !== 'payRequest') {
    return malformed(typeof o.tag === 'string' ? `it is a "${cleanText(o.tag, 40)}" LNURL, not a payRequest` : 'it has no tag "payRequest": it is not LNURL-pay parameters');
  }
  if (typeof o.callback !== 'string') return malformed('it has no callback URL');
  const callback = fetchableUrl(o.callback, 'its callback', from);
  if (!callback.ok) return malformed(callback.error);
  if (callback.value.searchParams.has('amount')) return malformed('its callback already carries an amount parameter');
  const min = msatField(o.minSendable);
  const max = msatField(o.maxSendable);
  if (min === undefined || max === undefined) return malformed('its minSendable and maxSendable are not whole numbers of msat');
  if (min < 1n) return malformed('its minSendable is below 1 msat');
  if (min > max) return malformed(`its minSendable (${min} msat) is above its maxSendable (${max} msat)`);
  if (typeof o.metadata !== 'string') return malformed('it has no metadata string');
  const metadataBytes = Buffer.byteLength(o.metadata, 'utf8');
  if (metadataBytes > LNURL_MAX_METADATA_BYTES) return malformed(`its metadata is ${metadataBytes} bytes, more than rdv reads (${LNURL_MAX_METADATA_BYTES})`);
  const meta = readMetadata(o.metadata);
  if (!meta.ok) return malformed(meta.error);
  return ok({
    callback: callback.value.href,
    minSendableMsat: min,
    maxSendableMsat: max,
    metadata: o.metadata,
    description: meta.value.description,
    identifier: meta.value.identifier,
  });
}

/**
 * The callback URL for `amountMsat` (LUD-06 step 4): <callback><?|&>amount=<msat>.
 * The callback's own query is kept byte for byte (servers put tokens there);
 * a fragment is dropped, as a browser would not send it.
 */
export function callbackUrl(params: Pick<PayParams, 'callback'>, amountMsat: Msat): string {
  const url = new URL(params.callback);
  url.hash = '';
  url.search = url.search === '' || url.search === '?' ? `?amount=${amountMsat}` : `${url.search}&amount=${amountMsat}`;
  return url.href;
}

/**
 * The callback's answer (LUD-06 step 5): `pr`, a BOLT 11 invoice as text
 * (not yet decoded); or an LNURL error, as a `refused` problem with its reason.
 */
export function parseCallbackAnswer(input: unknown): Result<{ pr: string }, LnurlProblem> {
  const object = answerObject(input);
  if (!object.ok) return object;
  const pr = object.value.pr;
  if (typeof pr !== 'string') return malformed('its answer has no invoice (pr)');
  const bolt11 = pr.trim().replace(/^lightning:/i, '');
  if (!INVOICE_TEXT_RE.test(bolt11)) return malformed(`its answer's pr "${cleanText(bolt11, 40)}" is not a BOLT 11 invoice`);
  return ok({ pr: bolt11 });
}

// ---------------------------------------------------------------------------
// The invoice.

/** sha256 of the metadata string's UTF-8 bytes, hex: what the invoice's `h` must be (LUD-06 step 6). */
export const metadataHash = (metadata: string): string => createHash('sha256').update(metadata, 'utf8').digest('hex');

/** What the pulled invoice must be. */
export interface PulledInvoiceWant {
  /** D, the amount asked: the invoice must be for exactly this (LUD-06 step 7). */
  amountMsat: Msat;
  /** The metadata string as served with the pay parameters. */
  metadata: string;
  network: NetworkName;
  ourNodeId: NodeId;
  /** Unix seconds. */
  now: number;
  /** Seconds the invoice must still live: the relay needs time to join and pay it. */
  minLifeSeconds: number;
  /** Who sent it, for the reason: the address or the domain (describeTarget). */
  from: string;
}

const when = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Why the invoice pulled from an LNURL server must not be used, or undefined.
 * What a careful wallet checks (LUD-06 steps 6 and 7: the amount is D to the
 * msat, the description hash is sha256 of the metadata) and what a relay owes
 * its payer (our network, a payment secret, not payable to this node itself,
 * at least `minLifeSeconds` left). One line that names the sender.
 */
export function checkPulledInvoice(inv: Invoice, want: PulledInvoiceWant): string | undefined {
  const from = want.from;
  if (!inv.networks.includes(want.network)) {
    return `${from} sent an invoice for ${inv.networks.join('/')} (prefix ln${inv.currency}), but this node runs on ${want.network}`;
  }
  if (inv.amountMsat === undefined) return `${from} sent an invoice with no amount, not one for the ${want.amountMsat} msat asked`;
  if (inv.amountMsat !== want.amountMsat) return `${from} sent an invoice for ${inv.amountMsat} msat, not the ${want.amountMsat} msat asked`;
  const expected = metadataHash(want.metadata);
  if (inv.descriptionHash === undefined) return `${from} sent an invoice with no description hash, so it is not tied to the metadata it served (LUD-06)`;
  if (inv.descriptionHash !== expected) {
    return `${from} sent an invoice whose description hash ${shortHash(inv.descriptionHash)}… is not sha256 of the metadata it served (${shortHash(expected)}…)`;
  }
  if (inv.paymentSecret === undefined) return `${from} sent an invoice without a payment secret, which cannot be relayed safely`;
  if (inv.payee === want.ourNodeId) return `${from} sent an invoice payable to this node itself: the address must be the next payee's, not this node's`;
  if (inv.expiresAt <= want.now) return `${from} sent an invoice that expired at ${when(inv.expiresAt)}`;
  const left = inv.expiresAt - want.now;
  if (left < want.minLifeSeconds) return `${from} sent an invoice that expires in ${left} s, too soon: rdv needs at least ${want.minLifeSeconds} s to relay it`;
  return undefined;
}
