/**
 * The bounded GET (src/rpc/http-get.ts) against small servers on 127.0.0.1:
 * what it sends (and does not: cookies, credentials), how it follows
 * redirects, and each way it gives up, as a value with a reason. No test waits
 * for time: a slow server never answers, and the bound is a short option.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, networkFailure, publicLookup, type HttpGetError } from '../../src/rpc/http-get.js';
import { RDV_VERSION } from '../../src/version.js';

/** A server whose routes are given by the test, recording each request's path and headers. */
class Recorder {
  readonly seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  private server: Server | undefined;
  origin = '';

  constructor(private readonly routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.seen.push({ path: req.url ?? '', headers: req.headers });
      const route = this.routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route) route(req, res);
      else {
        res.writeHead(404);
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const send = (status: number, body: string, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
};

const failure = async (p: Promise<{ ok: true } | { ok: false; error: HttpGetError }>): Promise<HttpGetError> => {
  const r = await p;
  if (r.ok) assert.fail('expected a failure');
  return r.error;
};

describe('getJson against a local server', () => {
  const server = new Recorder({
    '/ok': send(200, '{"tag":"payRequest","maxSendable":2100000000000000017}'),
    '/cookie-then-go': send(302, '', { Location: '/ok', 'Set-Cookie': 'session=s3cret; Path=/' }),
    '/relative': send(301, '', { Location: 'ok?x=1' }),
    '/no-location': send(307, ''),
    '/to-public-http': send(302, '', { Location: 'http://shop.example/ok' }),
    '/to-public-https': send(302, '', { Location: 'https://shop.example/ok' }),
    '/not-json': send(200, '<html>hello</html>', { 'Content-Type': 'text/html' }),
    // A JSON string holding the byte 0xff: a lenient decoder would read it as U+FFFD.
    '/not-utf8': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(Buffer.from([0x22, 0xff, 0x22]));
    },
    '/gone': send(410, '{"status":"ERROR","reason":"carol left"}'),
    '/gone-html': send(502, '<h1>Bad Gateway</h1>'),
    '/big': send(200, `{"pad":"${'x'.repeat(5_000)}"}`),
    '/slow': () => undefined,
    '/slow-body': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"tag":');
    },
    '/half': (req, res) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('{"tag":');
      req.socket.destroy();
    },
  });
  before(() => server.start());
  after(() => server.stop());

  test('reads JSON, integers past 2^53 exact, and sends Accept and a User-Agent naming rdv', async () => {
    const r = await getJson(`${server.origin}/ok`);
    assert.deepEqual(r, { ok: true, value: { url: `${server.origin}/ok`, status: 200, body: { tag: 'payRequest', maxSendable: 2_100_000_000_000_000_017n } } });
    const headers = server.seen.at(-1)?.headers;
    assert.equal(headers?.accept, 'application/json');
    assert.equal(headers?.['user-agent'], `rdv/${RDV_VERSION}`);
    assert.equal(headers?.cookie, undefined);
    assert.equal(headers?.authorization, undefined);
  });

  test('follows a redirect and sends back no cookie the server set', async () => {
    const before = server.seen.length;
    const r = await getJson(`${server.origin}/cookie-then-go`);
    assert.equal(r.ok, true);
    const seen = server.seen.slice(before);
    assert.deepEqual(seen.map((s) => s.path), ['/cookie-then-go', '/ok']);
    assert.equal(seen[1]?.headers.cookie, undefined);
  });

  test('a relative Location is read against the URL that sent it', async () => {
    const r = await getJson(`${server.origin}/relative`);
    assert.equal(r.ok && r.value.url, `${server.origin}/ok?x=1`);
  });

  test('a redirect without a Location', async () => {
    assert.match((await failure(getJson(`${server.origin}/no-location`))).reason, /no-location: redirect \(HTTP 307\) without a Location$/);
  });

  test('a redirect from loopback to plain http on a public host is refused, without going there', async () => {
    const e = await failure(getJson(`${server.origin}/to-public-http`));
    assert.equal(e.kind, 'redirect');
    assert.match(e.reason, /^redirect refused: .*redirects to http:\/\/shop\.example\/ok uses plain http/);
  });

  test('no redirects allowed (maxRedirects 0): the first one is refused', async () => {
    const e = await failure(getJson(`${server.origin}/relative`, { maxRedirects: 0 }));
    assert.equal(e.kind, 'redirect');
    assert.match(e.reason, /more than 0 redirects/);
  });

  test('a 200 that is not JSON', async () => {
    assert.deepEqual(await failure(getJson(`${server.origin}/not-json`)), { kind: 'not-json', reason: `${server.origin.slice(7)}/not-json: the answer is not JSON` });
  });

  test('a body that is not UTF-8 is not JSON', async () => {
    assert.equal((await failure(getJson(`${server.origin}/not-utf8`))).kind, 'not-json');
  });

  test('an error status keeps a JSON body, so an LNURL reason can be shown', async () => {
    const e = await failure(getJson(`${server.origin}/gone`));
    assert.deepEqual(e, { kind: 'status', reason: `${server.origin.slice(7)}/gone: HTTP 410 Gone`, status: 410, body: { status: 'ERROR', reason: 'carol left' } });
  });

  test('an error status with a body that is not JSON', async () => {
    const e = await failure(getJson(`${server.origin}/gone-html`));
    assert.deepEqual(e, { kind: 'status', reason: `${server.origin.slice(7)}/gone-html: HTTP 502 Bad Gateway`, status: 502 });
  });

  test('a body over the bound is refused', async () => {
    const e = await failure(getJson(`${server.origin}/big`, { maxBodyBytes: 4_999 }));
    assert.deepEqual(e, { kind: 'too-large', reason: `${server.origin.slice(7)}/big: the answer is larger than 4999 bytes` });
  });

  test('a body exactly at the bound is read', async () => {
    assert.equal((await getJson(`${server.origin}/big`, { maxBodyBytes: 5_010 })).ok, true);
  });

  test('a server that never answers: the time bound ends it', async () => {
    assert.deepEqual(await failure(getJson(`${server.origin}/slow`, { timeoutMs: 120 })), { kind: 'timeout', reason: `${server.origin.slice(7)}/slow: no whole answer within 120 ms` });
  });

  test('a body that never ends: the time bound covers the body too', async () => {
    assert.equal((await failure(getJson(`${server.origin}/slow-body`, { timeoutMs: 120 }))).kind, 'timeout');
  });

  test('a server that hangs up in the middle of the body', async () => {
    const e = await failure(getJson(`${server.origin}/half`));
    assert.equal(e.kind, 'network');
  });

  test('a cancelled request says so, not that it timed out', async () => {
    const stop = new AbortController();
    const pending = getJson(`${server.origin}/slow`, { signal: stop.signal });
    stop.abort();
    assert.deepEqual(await failure(pending), { kind: 'cancelled', reason: `${server.origin.slice(7)}/slow: the request was cancelled` });
  });

  test('a URL rdv may not fetch is refused before any connection', async () => {
    const before = server.seen.length;
    const e = await failure(getJson('http://shop.example/.well-known/lnurlp/carol'));
    assert.equal(e.kind, 'url');
    assert.match(e.reason, /^the URL http:\/\/shop\.example\/\.well-known\/lnurlp\/carol uses plain http/);
    assert.equal(server.seen.length, before);
  });

  test('nothing listening: connection refused', async () => {
    const closed = new Recorder({});
    await closed.start();
    const origin = closed.origin;
    await closed.stop();
    assert.deepEqual(await failure(getJson(`${origin}/x`)), { kind: 'refused', reason: `${origin.slice(7)}/x: connection refused by ${origin.slice(7)}` });
  });
});

describe('a name that resolves to this machine or a private network is refused (DNS rebinding)', () => {
  test('publicLookup refuses localhost\'s addresses with ENOTPUBLIC, which reads as a DNS failure naming the address', async () => {
    const e = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicLookup('localhost', {}, (err) => resolve(err)));
    assert.equal(e?.code, 'ENOTPUBLIC');
    assert.match(e?.message ?? '', /^localhost resolves to (127\.0\.0\.1|::1), not a public address$/);
    const said = networkFailure(e, new URL('https://carol.example/.well-known/lnurlp/carol'));
    assert.equal(said.kind, 'dns');
    assert.match(said.reason, /^carol\.example\/\.well-known\/lnurlp\/carol: localhost resolves to .*, not a public address: rdv reaches LNURL servers on the public internet only$/);
  });
});

describe('networkFailure: node\'s errors in an operator\'s words', () => {
  const url = new URL('https://shop.example/.well-known/lnurlp/carol');
  const errno = (code: string, message = `${code} happened`): Error => Object.assign(new Error(message), { code });
  const cases: Array<{ description: string; error: unknown; expected: HttpGetError }> = [
    { description: 'DNS: no such name', error: errno('ENOTFOUND'), expected: { kind: 'dns', reason: 'shop.example/.well-known/lnurlp/carol: DNS found no address for shop.example' } },
    { description: 'DNS: resolver unreachable', error: errno('EAI_AGAIN'), expected: { kind: 'dns', reason: 'shop.example/.well-known/lnurlp/carol: DNS found no address for shop.example' } },
    { description: 'refused', error: errno('ECONNREFUSED'), expected: { kind: 'refused', reason: 'shop.example/.well-known/lnurlp/carol: connection refused by shop.example' } },
    { description: 'reset', error: errno('ECONNRESET'), expected: { kind: 'network', reason: 'shop.example/.well-known/lnurlp/carol: the connection was reset' } },
    {
      description: 'no route (a relay with no internet)',
      error: errno('ENETUNREACH'),
      expected: { kind: 'network', reason: 'shop.example/.well-known/lnurlp/carol: no route to shop.example (is this machine on the internet?)' },
    },
    {
      description: 'a certificate for another name',
      error: errno('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      expected: { kind: 'tls', reason: "shop.example/.well-known/lnurlp/carol: TLS failed: Hostname/IP does not match certificate's altnames" },
    },
    { description: 'a self-signed certificate', error: errno('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), expected: { kind: 'tls', reason: 'shop.example/.well-known/lnurlp/carol: TLS failed: self-signed certificate' } },
    { description: 'not HTTP', error: errno('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/'), expected: { kind: 'network', reason: 'shop.example/.well-known/lnurlp/carol: the answer is not valid HTTP' } },
    { description: 'anything else, with its code', error: errno('EMFILE', 'too many open files'), expected: { kind: 'network', reason: 'shop.example/.well-known/lnurlp/carol: too many open files (EMFILE)' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(networkFailure(c.error, url), c.expected));
});
