/**
 * `rdv serve`: an HTTP door to on-demand chains, run next to the node as its own
 * process (a fault here never stops lightningd or the relay plugin). Wallets
 * speak LNURL-pay (LUD-06), Lightning Address (LUD-16) and LUD-21 verify;
 * lnproxy's clients speak its wrap API. Every invoice comes from the chain
 * through the plugin's rdv-request, over lightningd's RPC socket.
 *
 * node:http, no framework: the surface a stranger reaches is a handful of GET
 * routes and one small POST, and node:http gives every bound we need (header,
 * request and keep-alive timeouts, header size, connection count) with no
 * dependency to keep up to date. This file is that edge: bounds, routing, the
 * rate limit, the body, the reply. The rest, by what a reader comes for:
 *   config.ts   the command line, checked: addresses, public URL, listen address, limits
 *   request.ts  which endpoint a request asks for, and who asks (X-Forwarded-For only with --trust-proxy)
 *   limits.ts   counting: requests per client a minute, chains at once
 *   amounts.ts  min/maxSendable: what the plugin's arithmetic accepts, and the asked amount
 *   lnurl.ts    LNURL's answers and errors; the check of the invoice before a wallet sees it
 *   tokens.ts   LUD-21 verify tokens, stored in the datastore
 *   wrap.ts     lnproxy's request and its amounts
 *   app.ts      what each endpoint answers (the deadline, the chains slot, the token, LNURL errors)
 *   backend.ts  what is read from the node: the book, tokens, records (rdv-request and rdv-wrap
 *               go through src/rpc/request.ts, the CLI's client)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringifyJson } from '../chain/json.js';
import { ServeApp, type AppDeps, type Reply } from './app.js';
import { RateLimiter } from './limits.js';
import { clientAddress, routeRequest } from './request.js';

export interface RunningServer {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  port: number;
  /** The public URL wallets are given (the configured one, with the port filled in if it was 0). */
  publicUrl: URL;
  app: ServeApp;
  server: Server;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** How often node:http checks the header and request timeouts (default 1 s; tests make it shorter). */
  checkIntervalMs?: number;
}

/** Write a reply and end; a reply to a closed socket is dropped quietly. */
function send(res: ServerResponse, reply: Reply, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers, 'Cache-Control': 'no-store' };
  if (close) headers.Connection = 'close';
  let body = '';
  if (reply.json !== undefined) {
    body = stringifyJson(reply.json);
    headers['Content-Type'] = 'application/json';
  } else if (reply.text !== undefined) {
    body = reply.text;
    headers['Content-Type'] = 'text/plain; charset=utf-8';
  }
  headers['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers);
  res.end(body);
}

const lnurlError = (status: number, reason: string, headers: Record<string, string> = {}): Reply => ({
  status,
  json: { status: 'ERROR', reason },
  headers: { 'Access-Control-Allow-Origin': '*', ...headers },
});

/**
 * Read the body, at most `max` bytes: the text, or 'too-large' (the rest is not
 * read; the connection is closed after the 413).
 */
function readBody(req: IncomingMessage, max: number): Promise<string | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: string | 'too-large' | 'aborted'): void => {
      if (done) return;
      done = true;
      resolve(v);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        req.pause();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish('aborted'));
  });
}

/** Start listening; resolves once bound (port 0: a free port, see `port`). */
export async function startServer(deps: AppDeps, options: ServerOptions = {}): Promise<RunningServer> {
  const limits = deps.config.limits;
  const rate = new RateLimiter(limits.perClientPerMinute, limits.maxClients);
  // Made once listening: a loopback public URL with port 0 takes the port we got (tests, demos).
  let config = deps.config;
  let app: ServeApp | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const routed = routeRequest(req.method ?? 'GET', req.url ?? '/', { maxUrlBytes: limits.maxUrlBytes, wrap: config.wrapPolicy !== undefined });
    if (!routed.ok) {
      const r = routed.refusal;
      send(res, lnurlError(r.status, r.reason, r.allow ? { Allow: r.allow } : {}), r.status === 414);
      return;
    }
    const client = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustProxy);
    const admitted = rate.take(client, deps.nowMs());
    if (!admitted.ok) {
      send(res, lnurlError(429, `too many requests: try again in ${admitted.retryAfterSeconds} s`, { 'Retry-After': String(admitted.retryAfterSeconds) }));
      return;
    }
    let body: string | undefined;
    if (routed.route.kind === 'wrap-spec') {
      const read = await readBody(req, limits.maxBodyBytes);
      if (read === 'aborted') return;
      if (read === 'too-large') {
        send(res, lnurlError(413, `the request body is larger than ${limits.maxBodyBytes} bytes`), true);
        return;
      }
      body = read;
    }
    if (!app) throw new Error('a request before the server was listening');
    send(res, await app.handle(routed.route, body));
  };

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // The request line and headers together: a URL over maxUrlBytes is refused with 414 anyway.
      maxHeaderSize: 8_192,
      connectionsCheckingInterval: options.checkIntervalMs ?? 1_000,
    },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        deps.log('warn', `unexpected error: ${(e as Error).stack ?? String(e)}`);
        send(res, lnurlError(500, 'internal error'));
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  // A client that stops reading its answer does not hold a connection for ever.
  server.timeout = limits.requestTimeoutMs + limits.answerWithinMs;
  server.maxRequestsPerSocket = 100;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  if (config.publicUrl.port === '0') {
    const publicUrl = new URL(config.publicUrl.href);
    publicUrl.port = String(address.port);
    publicUrl.pathname = publicUrl.pathname.replace(/\/+$/, '');
    config = { ...config, publicUrl };
  }
  app = new ServeApp({ ...deps, config });
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    publicUrl: config.publicUrl,
    app,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
