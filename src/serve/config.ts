/**
 * What `rdv serve` was told on its command line, checked before the node is
 * asked anything: the Lightning Addresses and the policy each asks through, the
 * public URL wallets reach, where to listen, and the bounds on what a stranger
 * may make the server (and the node behind it) do. Pure.
 */
import { MSAT_PER_SAT, msat, parseAmount, type Msat } from '../chain/amount.js';
import { isNodeId } from '../chain/ids.js';
import { MAX_DESCRIPTION_BYTES } from '../chain/policy/policy.js';
import { HOP_MARGIN_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS } from '../chain/request.js';
import { parseDuration } from '../chain/units.js';
import { err, ok, type Result } from '../errors.js';

/** One Lightning Address: `<name>@<public host>`, answered by asking the chain through `via`. */
export interface AddressSpec {
  /** The address's user part (LUD-16: a-z, 0-9, -, _ and .). */
  name: string;
  /** What rdv-request is given as `via`: a relay policy's id, or its --from node id. */
  via: string;
}

/** What a stranger may make the server do; each bound is tested in test/serve/bounds.test.ts. */
export interface ServeLimits {
  /** Longest request line URL, in bytes: longer gets 414. */
  maxUrlBytes: number;
  /** Largest request body (only the wrap endpoint reads one), in bytes: larger gets 413. */
  maxBodyBytes: number;
  /** Requests one client address may make in any 60 seconds; more get 429. */
  perClientPerMinute: number;
  /** Client addresses the rate limiter remembers (least recently seen forgotten first). */
  maxClients: number;
  /** Chains asked for (rdv-request or a wrap) running at once; more get 503 at once. */
  maxChains: number;
  /** A callback or wrap answers within this, with an LNURL error if the chain has not answered; the chain (rdv-request's timeout) stops then too. */
  answerWithinMs: number;
  /** Time for a client to send its request headers (node:http headersTimeout). */
  headersTimeoutMs: number;
  /** Time for a client to send its whole request (node:http requestTimeout). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (node:http keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** Open connections at once; more are refused by the server (node:http maxConnections). */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxUrlBytes: 2_048,
  // A BOLT 11 invoice is at most 7 089 characters, a description 639 bytes: 16 KiB holds a wrap request.
  maxBodyBytes: 16_384,
  perClientPerMinute: 30,
  maxClients: 10_000,
  maxChains: 8,
  // Wallets give up on an LNURL callback after 15 to 30 s; answering first, even with an error, is what they can show.
  answerWithinMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

export interface ServeConfig {
  addresses: AddressSpec[];
  /** Where wallets reach us (through the TLS proxy): callbacks and verify URLs are built on it. */
  publicUrl: URL;
  listen: { host: string; port: number };
  /** The text/plain metadata; default "Payment to <name>@<host>". */
  description: string | undefined;
  /** The policy (id) the lnproxy-shaped wrap endpoint joins by; undefined: the endpoint is off. */
  wrapPolicy: string | undefined;
  /** Take the client's address from X-Forwarded-For (set by our own reverse proxy). */
  trustProxy: boolean;
  /** Bounds on the amounts offered, on top of the policy's own (min/maxSendable). */
  minSendableMsat: Msat;
  maxSendableMsat: Msat;
  /** How long a verify token lives after its invoice expired (the payer checks after paying). */
  verifyKeepSeconds: number;
  limits: ServeLimits;
}

/** What `rdv serve` was given, as text (commander's values). */
export interface ServeInput {
  address?: string[];
  publicUrl?: string;
  listen?: string;
  description?: string;
  wrap?: string;
  trustProxy?: boolean;
  minSendable?: string;
  maxSendable?: string;
  rate?: string;
  maxChains?: string;
  answerWithin?: string;
  maxConnections?: string;
  verifyKeep?: string;
}

const NAME_RE = /^[a-z0-9._-]{1,64}$/;
const POLICY_ID_RE = /^[0-9a-f]{8}$/;
export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_MIN_SENDABLE = msat(1n * MSAT_PER_SAT);
export const DEFAULT_MAX_SENDABLE = msat(1_000_000n * MSAT_PER_SAT);
export const DEFAULT_VERIFY_KEEP_SECONDS = 7 * 86_400;
/** JSON numbers past 2^53 are rounded by most wallets' parsers: maxSendable stays below. */
const MAX_SAFE_MSAT = msat(BigInt(Number.MAX_SAFE_INTEGER));

/** `name=via`: a Lightning Address's name and the policy (id or --from node) it asks through. */
export function parseAddress(text: string): Result<AddressSpec> {
  const i = text.indexOf('=');
  if (i < 0) return err(`--address "${text}" is not <name>=<policy id or node id>, e.g. shop=5e1f0c2a`);
  const name = text.slice(0, i).trim();
  const via = text.slice(i + 1).trim().toLowerCase();
  if (!NAME_RE.test(name)) return err(`--address name "${name}" may only have a-z, 0-9, '-', '_' and '.' (at most 64; Lightning Addresses are lower case)`);
  if (!POLICY_ID_RE.test(via) && !isNodeId(via)) return err(`--address ${name}=${via}: give a policy id (8 hex digits, see rdv policy list) or the node id of a policy's --from`);
  return ok({ name, via });
}

/**
 * The public URL wallets are given: https (the reverse proxy's), or http only
 * for a loopback or .onion host (LUD-01 asks for https on the clear web).
 */
export function parsePublicUrl(text: string): Result<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`--public-url "${text}" is not a URL: give what wallets reach, e.g. https://shop.example`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return err(`--public-url "${text}" must be a plain base URL, without query, fragment or credentials`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const local = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith('.onion');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    return err(`--public-url "${text}" must be https (wallets refuse plain http on the clear web): put a TLS reverse proxy in front, see rdv-serve(1)`);
  }
  // Callbacks are joined to it: keep one trailing-slash-free form.
  url.pathname = url.pathname.replace(/\/+$/, '');
  return ok(url);
}

/** "host:port", "[::1]:port" or ":port" (loopback); port 0 takes a free one. */
export function parseListen(text: string): Result<{ host: string; port: number }> {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65_535) return err(`--listen "${text}" is not host:port, e.g. 127.0.0.1:8080`);
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : (m[2] ?? '127.0.0.1'));
  return ok({ host, port });
}

/** Is this a loopback address (what rdv serve binds to unless told otherwise)? */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function count(text: string | undefined, flag: string, fallback: number, min: number, max: number): Result<number> {
  if (text === undefined) return ok(fallback);
  if (!/^\d{1,7}$/.test(text.trim())) return err(`${flag} "${text}" is not a whole number`);
  const n = Number(text.trim());
  if (n < min || n > max) return err(`${flag} ${n} is out of range (${min} to ${max})`);
  return ok(n);
}

function amount(text: string | undefined, flag: string, fallback: Msat): Result<Msat> {
  if (text === undefined) return ok(fallback);
  const a = parseAmount(text);
  return a.ok ? a : err(`${flag}: ${a.error}`);
}

/** Check everything given to `rdv serve`; the first problem, in words, or the config. */
export function parseServeInput(input: ServeInput): Result<ServeConfig> {
  const addresses: AddressSpec[] = [];
  for (const text of input.address ?? []) {
    const a = parseAddress(text);
    if (!a.ok) return a;
    if (addresses.some((x) => x.name === a.value.name)) return err(`--address ${a.value.name} is given twice`);
    addresses.push(a.value);
  }
  if (addresses.length === 0 && input.wrap === undefined) return err('give at least one --address <name>=<policy id> (or --wrap <policy id>): there would be nothing to serve');
  if (input.publicUrl === undefined) return err('--public-url is required: the https URL wallets reach (your reverse proxy), e.g. https://shop.example');
  const publicUrl = parsePublicUrl(input.publicUrl);
  if (!publicUrl.ok) return publicUrl;
  const listen = parseListen(input.listen ?? DEFAULT_LISTEN);
  if (!listen.ok) return listen;
  if (input.description !== undefined && Buffer.byteLength(input.description) > MAX_DESCRIPTION_BYTES) {
    return err(`--description is ${Buffer.byteLength(input.description)} bytes; wallets show at most ${MAX_DESCRIPTION_BYTES}`);
  }
  const wrap = input.wrap?.trim().toLowerCase();
  if (wrap !== undefined && !POLICY_ID_RE.test(wrap)) return err(`--wrap "${input.wrap}" is not a policy id (8 hex digits, see rdv policy list)`);
  const min = amount(input.minSendable, '--min-sendable', DEFAULT_MIN_SENDABLE);
  if (!min.ok) return min;
  const max = amount(input.maxSendable, '--max-sendable', DEFAULT_MAX_SENDABLE);
  if (!max.ok) return max;
  if (min.value > max.value) return err('--min-sendable is more than --max-sendable');
  if (max.value > MAX_SAFE_MSAT) return err(`--max-sendable is more than ${MAX_SAFE_MSAT} msat, which wallets' JSON parsers cannot read exactly`);
  const rate = count(input.rate, '--rate', DEFAULT_LIMITS.perClientPerMinute, 1, 100_000);
  if (!rate.ok) return rate;
  const chains = count(input.maxChains, '--max-chains', DEFAULT_LIMITS.maxChains, 1, 1_000);
  if (!chains.ok) return chains;
  const connections = count(input.maxConnections, '--max-connections', DEFAULT_LIMITS.maxConnections, 1, 100_000);
  if (!connections.ok) return connections;
  let answerWithinMs = DEFAULT_LIMITS.answerWithinMs;
  if (input.answerWithin !== undefined) {
    const d = parseDuration(input.answerWithin, '--answer-within');
    if (!d.ok) return d;
    // It is also rdv-request's timeout: the chain stops when rdv serve stops waiting for it.
    if (d.value > MAX_REQUEST_TIMEOUT_SECONDS) return err(`--answer-within is more than ${MAX_REQUEST_TIMEOUT_SECONDS} s: wallets give up long before`);
    if (d.value < MIN_REQUEST_TIMEOUT_SECONDS) return err(`--answer-within is less than ${MIN_REQUEST_TIMEOUT_SECONDS} s: a chain of relays needs a few seconds (each one answers ${HOP_MARGIN_SECONDS} s before its asker stops waiting)`);
    answerWithinMs = d.value * 1000;
  }
  let verifyKeepSeconds = DEFAULT_VERIFY_KEEP_SECONDS;
  if (input.verifyKeep !== undefined) {
    const d = parseDuration(input.verifyKeep, '--verify-keep');
    if (!d.ok) return d;
    verifyKeepSeconds = d.value;
  }
  return ok({
    addresses,
    publicUrl: publicUrl.value,
    listen: listen.value,
    description: input.description,
    wrapPolicy: wrap,
    trustProxy: input.trustProxy === true,
    minSendableMsat: min.value,
    maxSendableMsat: max.value,
    verifyKeepSeconds,
    limits: {
      ...DEFAULT_LIMITS,
      perClientPerMinute: rate.value,
      maxChains: chains.value,
      maxConnections: connections.value,
      // The server's own timeouts leave the answer deadline room to be sent.
      answerWithinMs,
      requestTimeoutMs: Math.max(DEFAULT_LIMITS.requestTimeoutMs, answerWithinMs + 5_000),
    },
  });
}
