/**
 * A bounded GET for JSON: how a relay asks a stranger's LNURL server for the
 * next payee's invoice (src/rpc/lnurl-pull.ts). It runs in the plugin's policy
 * path or in rdv serve, so it must never hang and never fill memory: one time
 * bound for the whole exchange (redirects included), a body bound enforced while
 * the body streams in, redirects followed by hand and each target checked again
 * (src/chain/lnurl-pay.ts urlProblem), no cookies and no credentials.
 *
 * node:http/https, not the global fetch: fetch hides why a connection failed
 * behind "fetch failed" (the errno is a cause deep inside), pools sockets in a
 * process-wide dispatcher that outlives the request, and adds headers of its
 * own (sec-fetch-mode, accept-encoding) that then decompress bodies behind the
 * bound's back. node:http gives the errno at once, one socket per request
 * (`agent: false`, closed when the answer ends), the bytes as they arrive, and
 * exactly the headers written here.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TextDecoder } from 'node:util';
import { parseJson } from '../chain/json.js';
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { cleanText, fetchableUrl, isLoopbackHost, isPublicAddress, LNURL_MAX_BODY_BYTES, LNURL_MAX_REDIRECTS, LNURL_TIMEOUT_MS } from '../chain/lnurl-pay.js';
import { err, ok, type Result } from '../errors.js';
import { RDV_VERSION } from '../version.js';

/** What went wrong, for a caller that treats kinds differently (a doctor check, a retry). */
export type HttpGetFailure =
  | 'url'
  | 'timeout'
  | 'cancelled'
  | 'dns'
  | 'refused'
  | 'tls'
  | 'network'
  | 'redirect'
  | 'status'
  | 'too-large'
  | 'not-json';

export interface HttpGetError {
  kind: HttpGetFailure;
  /** One line that names the host and says what happened. */
  reason: string;
  /** The HTTP status, for `status`. */
  status?: number;
  /** For `status`: the body, when it was JSON (an LNURL server may explain itself there). */
  body?: unknown;
}

export interface HttpGetOptions {
  /** For the whole exchange, redirects included. Default LNURL_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Largest body read; a longer one is cut off and refused. Default LNURL_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Default LNURL_MAX_REDIRECTS. */
  maxRedirects?: number;
  /** Stops the exchange (e.g. the plugin is shutting down): the result is `cancelled`. */
  signal?: AbortSignal;
}

export interface JsonAnswer {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  /** Parsed JSON; integers past 2^53 are exact bigints. */
  body: unknown;
}

/** The shape tests inject in place of getJson. */
export type HttpGet = (url: string, options?: HttpGetOptions) => Promise<Result<JsonAnswer, HttpGetError>>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Host and path: enough to say which server, without a query that may hold a token. */
const where = (url: URL): string => `${url.host}${url.pathname}`;

const duration = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);

interface RawAnswer {
  status: number;
  statusText: string;
  location: string | undefined;
  body: Buffer;
}

type Raw = Result<RawAnswer, HttpGetError>;

/** dns.lookup, refusing any answer that is not a public address (error code ENOTPUBLIC). */
export function publicLookup(hostname: string, options: LookupOptions, callback: (e: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  lookup(hostname, { ...options, all: true }, (e, addresses) => {
    if (e) return callback(e, []);
    const list = addresses;
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) {
      const refusal: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, not a public address`);
      refusal.code = 'ENOTPUBLIC';
      return callback(refusal, []);
    }
    if (options.all) return callback(null, list);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
}

/** Why a request to `url` failed, from node's error (its errno `code`), in words an operator can act on. */
export function networkFailure(e: unknown, url: URL): HttpGetError {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  const message = e instanceof Error ? e.message : String(e);
  const at = where(url);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return { kind: 'dns', reason: `${at}: DNS found no address for ${url.hostname}` };
    case 'ECONNREFUSED':
      return { kind: 'refused', reason: `${at}: connection refused by ${url.host}` };
    case 'ENOTPUBLIC':
      return { kind: 'dns', reason: `${at}: ${message}: rdv reaches LNURL servers on the public internet only` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { kind: 'network', reason: `${at}: the connection was reset` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { kind: 'network', reason: `${at}: no route to ${url.hostname} (is this machine on the internet?)` };
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return { kind: 'tls', reason: `${at}: TLS failed: ${message}` };
      if (code.startsWith('HPE_')) return { kind: 'network', reason: `${at}: the answer is not valid HTTP` };
      return { kind: 'network', reason: `${at}: ${message}${code !== '' && !message.includes(code) ? ` (${code})` : ''}` };
  }
}

/**
 * One GET, no redirect followed: the status and, unless it redirects, the body
 * (at most `maxBodyBytes`, read as it streams and cut off beyond).
 */
function getOnce(url: URL, signal: AbortSignal, maxBodyBytes: number): Promise<Raw> {
  return new Promise<Raw>((resolve) => {
    let settled = false;
    const done = (r: Raw): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const tooLarge = (): Raw => err({ kind: 'too-large', reason: `${where(url)}: the answer is larger than ${maxBodyBytes} bytes` });
    const onAnswer = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      const answer = (body: Buffer): Raw => ok({ status, statusText: cleanText(res.statusMessage ?? '', 60), location: res.headers.location, body });
      if (REDIRECT_STATUSES.has(status)) {
        res.destroy();
        done(answer(Buffer.alloc(0)));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        res.destroy();
        done(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) {
          res.destroy();
          done(tooLarge());
        } else chunks.push(chunk);
      });
      res.on('end', () => done(answer(Buffer.concat(chunks))));
      res.on('error', (e) => done(err(networkFailure(e, url))));
      // After 'end' this changes nothing; before it, the server hung up mid-answer.
      res.on('close', () => done(err({ kind: 'network', reason: `${where(url)}: the connection closed before the whole answer came` })));
    };
    const options = {
      method: 'GET',
      // A socket of its own, closed when the answer ends: nothing outlives the request.
      agent: false as const,
      signal,
      // A name that resolves to this machine or a private network is refused (DNS rebinding: a stranger's
      // server naming a host that points at the relay's own services); only a loopback name may (tests).
      ...(isLoopbackHost(url.hostname) ? {} : { lookup: publicLookup }),
      headers: { Accept: 'application/json', 'User-Agent': `rdv/${RDV_VERSION}` },
    };
    try {
      const req = url.protocol === 'https:' ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
      req.on('error', (e) => done(err(networkFailure(e, url))));
      req.end();
    } catch (e) {
      done(err(networkFailure(e, url)));
    }
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The body as JSON, or undefined when it is not UTF-8 JSON. */
function jsonOf(body: Buffer): { value: unknown } | undefined {
  try {
    return { value: parseJson(utf8.decode(body)) };
  } catch {
    return undefined;
  }
}

/**
 * GET `url` and read its body as JSON, within bounds (see HttpGetOptions): at
 * most `maxRedirects` redirects, each target checked again by urlProblem (https
 * only, plain http only to this machine, never from a public host to this
 * machine); a 2xx status; the body within `maxBodyBytes` and JSON. Sends
 * Accept: application/json and a User-Agent naming rdv, nothing else: no
 * cookies, no credentials. Never throws; a failure is a value with a one-line
 * reason.
 */
export async function getJson(url: string, options: HttpGetOptions = {}): Promise<Result<JsonAnswer, HttpGetError>> {
  const timeoutMs = options.timeoutMs ?? LNURL_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? LNURL_MAX_BODY_BYTES;
  const maxRedirects = options.maxRedirects ?? LNURL_MAX_REDIRECTS;
  const first = fetchableUrl(url, 'the URL');
  if (!first.ok) return err({ kind: 'url', reason: first.error });
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const cancel = (): void => controller.abort();
  options.signal?.addEventListener('abort', cancel, { once: true });
  if (options.signal?.aborted) controller.abort();
  let current = first.value;
  try {
    for (let redirects = 0; ; redirects++) {
      const raw = await getOnce(current, controller.signal, maxBodyBytes);
      // Whatever node reported, an aborted exchange failed because it was aborted.
      if (controller.signal.aborted) {
        return err(
          timedOut
            ? { kind: 'timeout', reason: `${where(current)}: no whole answer within ${duration(timeoutMs)}` }
            : { kind: 'cancelled', reason: `${where(current)}: the request was cancelled` },
        );
      }
      if (!raw.ok) return raw;
      const { status, statusText, location, body } = raw.value;
      if (REDIRECT_STATUSES.has(status)) {
        if (location === undefined) return err({ kind: 'redirect', reason: `${where(current)}: redirect (HTTP ${status}) without a Location`, status });
        if (redirects >= maxRedirects) return err({ kind: 'redirect', reason: `${where(current)}: more than ${maxRedirects} redirects`, status });
        let target: string;
        try {
          target = new URL(location, current).href;
        } catch {
          return err({ kind: 'redirect', reason: `${where(current)}: redirect to something that is not a URL`, status });
        }
        const next = fetchableUrl(target, `${where(current)} redirects to`, current);
        if (!next.ok) return err({ kind: 'redirect', reason: `redirect refused: ${next.error}`, status });
        current = next.value;
        continue;
      }
      const json = jsonOf(body);
      if (status < 200 || status > 299) {
        const failure: HttpGetError = { kind: 'status', reason: `${where(current)}: HTTP ${status}${statusText === '' ? '' : ` ${statusText}`}`, status };
        if (json !== undefined) failure.body = json.value;
        return err(failure);
      }
      if (json === undefined) return err({ kind: 'not-json', reason: `${where(current)}: the answer is not JSON` });
      return ok({ url: current.href, status, body: json.value });
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
  }
}
