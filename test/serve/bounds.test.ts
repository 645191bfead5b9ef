/**
 * Every bound on what a stranger can make rdv serve (and the node behind it) do,
 * each tested over real sockets on 127.0.0.1: URL and body size, requests per
 * client (X-Forwarded-For only with --trust-proxy), chains at once, the time to
 * answer (a slow chain is an LNURL error, never a hung connection), header,
 * request and keep-alive timeouts, and connections at once. Tests wait for
 * states (a socket closed, a call seen), never for wall time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { replyWithin } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';
import { held, http, withServe, type ServeWorld } from '../helpers/serve.js';

/** A raw connection: what it received, and whether the server closed it. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function raw(w: ServeWorld): Promise<Raw> {
  const socket = connect(w.server.port, '127.0.0.1');
  let data = '';
  let closed = false;
  socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
  socket.on('error', () => undefined);
  const closedP = new Promise<void>((resolve) => socket.on('close', () => ((closed = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed: closedP, isClosed: () => closed };
}

const connections = (w: ServeWorld): Promise<number> => new Promise((resolve, reject) => w.server.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

describe('rdv serve: bounds on what a stranger can make it do', () => {
  test('a URL over the limit: 414, and the chain is asked nothing', () =>
    withServe(async (w) => {
      const r = await http(`${w.base}/lnurlp/shop/callback?amount=21000&pad=${'x'.repeat(2_100)}`);
      assert.equal(r.status, 414);
      assert.deepEqual(r.json, { status: 'ERROR', reason: 'the URL is longer than 2048 bytes' });
      assert.equal(w.chain.calls.length, 0);
    }));

  test('headers over 8 KiB: 431, and the connection closed', () =>
    withServe(async (w) => {
      const c = await raw(w);
      c.socket.write(`GET /.well-known/lnurlp/shop HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(9_000)}\r\n\r\n`);
      await replyWithin(c.closed, 'the server closes the connection');
      assert.match(c.received(), /^HTTP\/1\.1 431 /);
    }));

  test('a body over the limit (declared, or streamed without a length): 413 and the connection closed', () =>
    withServe(
      async (w) => {
        const big = JSON.stringify({ invoice: `lnbcrt${'q'.repeat(20_000)}` });
        const declared = await http(`${w.base}/spec`, { method: 'POST', body: big, headers: { 'Content-Type': 'application/json' } });
        assert.equal(declared.status, 413);
        assert.equal(declared.json?.status, 'ERROR');
        // Chunked: no Content-Length, the server counts what arrives.
        const c = await raw(w);
        c.socket.write('POST /spec HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
        for (let i = 0; i < 5; i++) c.socket.write(`1000\r\n${'q'.repeat(4_096)}\r\n`);
        await replyWithin(c.closed, 'the server closes the connection');
        assert.match(c.received(), /^HTTP\/1\.1 413 /);
        assert.equal(w.chain.calls.length, 0);
      },
      { input: { wrap: '5e1f0c2a' } },
    ));

  test('requests per client a minute: the next gets 429 with Retry-After; X-Forwarded-For does not make a new client without --trust-proxy', () =>
    withServe(
      async (w) => {
        const url = `${w.base}/.well-known/lnurlp/shop`;
        for (let i = 0; i < 3; i++) assert.equal((await http(url, { headers: { 'X-Forwarded-For': `198.51.100.${i}` } })).status, 200);
        const r = await http(url, { headers: { 'X-Forwarded-For': '198.51.100.77' } });
        assert.equal(r.status, 429);
        assert.equal(r.json?.status, 'ERROR');
        assert.match(String(r.json?.reason), /too many requests: try again in \d+ s/);
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
        // A callback is counted the same way: refused before the chain is asked.
        assert.equal((await http(`${w.base}/lnurlp/shop/callback?amount=21000`)).status, 429);
        assert.equal(w.chain.calls.length, 0);
      },
      { input: { rate: '3' } },
    ));

  test('with --trust-proxy each X-Forwarded-For client (its last entry) is counted on its own', () =>
    withServe(
      async (w) => {
        const url = `${w.base}/.well-known/lnurlp/shop`;
        const as = (ip: string): RequestInit => ({ headers: { 'X-Forwarded-For': `10.0.0.1, ${ip}` } });
        assert.equal((await http(url, as('203.0.113.7'))).status, 200);
        assert.equal((await http(url, as('203.0.113.7'))).status, 200);
        assert.equal((await http(url, as('203.0.113.7'))).status, 429);
        assert.equal((await http(url, as('203.0.113.8'))).status, 200);
      },
      { input: { rate: '2', trustProxy: true } },
    ));

  test('chains at once: with two held, a third callback is turned away at once (503), and the chain is not asked', () =>
    withServe(
      async (w) => {
        const h = held(w.chain);
        w.chain.answer = h.answer;
        const first = http(`${w.base}/lnurlp/shop/callback?amount=21000`);
        const second = http(`${w.base}/lnurlp/shop/callback?amount=22000`);
        await eventually(() => h.waiting() === 2, 'two chains asked and waiting');
        const third = await http(`${w.base}/lnurlp/shop/callback?amount=23000`);
        assert.equal(third.status, 503);
        assert.match(String(third.json?.reason), /too many payments are being set up at once/);
        assert.equal(third.headers.get('retry-after'), '2');
        assert.equal(w.chain.calls.length, 2);
        // Pay parameters ask no chain: still answered.
        assert.equal((await http(`${w.base}/.well-known/lnurlp/shop`)).status, 200);
        h.release();
        assert.equal((await first).status, 200);
        assert.equal((await second).status, 200);
        assert.equal((await http(`${w.base}/lnurlp/shop/callback?amount=23000`)).status, 200);
      },
      { input: { maxChains: '2' } },
    ));

  test('a chain slower than --answer-within: an LNURL error (HTTP 200, status ERROR) in time; its slot is held until the chain answers, then freed', () =>
    withServe(
      async (w) => {
        const h = held(w.chain);
        w.chain.answer = h.answer;
        const r = await http(`${w.base}/lnurlp/shop/callback?amount=21000`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { status: 'ERROR', reason: 'the payees did not answer within 1 s: try again' });
        // The chain still works on it: its slot bounds the work asked of the node.
        assert.equal(w.server.app.chains.inUse, 1);
        h.release();
        await eventually(() => w.server.app.chains.inUse === 0, 'the slot is freed once the chain answers');
        await eventually(() => w.logs.some((l) => /answered after the deadline \(an invoice, unused\)/.test(l)), 'the late answer is logged');
      },
      { limits: { answerWithinMs: 200 } },
    ));

  test('a lightningd that stops answering: pay parameters and verify are LNURL errors (HTTP 200, status ERROR) in time, not hung connections', () =>
    withServe(
      async (w) => {
        w.alice.overrides.set('listdatastore', () => new Promise(() => undefined));
        const params = await http(`${w.base}/.well-known/lnurlp/shop`);
        assert.equal(params.status, 200);
        assert.deepEqual(params.json, { status: 'ERROR', reason: 'the Lightning node did not answer in time: try again' });
        const verify = await http(`${w.base}/lnurlp/shop/verify/${'a7'.repeat(16)}`);
        assert.equal(verify.status, 200);
        assert.deepEqual(verify.json, { status: 'ERROR', reason: 'the Lightning node did not answer in time: try again' });
      },
      { limits: { answerWithinMs: 200 } },
    ));

  test('headers not sent in time: 408 and the connection closed', () =>
    withServe(
      async (w) => {
        const c = await raw(w);
        c.socket.write('GET /.well-known/lnurlp/shop HTTP/1.1\r\nHost: x\r\n');
        await replyWithin(c.closed, 'the server closes the connection');
        assert.match(c.received(), /^HTTP\/1\.1 408 /);
      },
      { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 }, checkIntervalMs: 50 },
    ));

  test('a body not sent in time: 408 and the connection closed', () =>
    withServe(
      async (w) => {
        const c = await raw(w);
        c.socket.write('POST /spec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"invoice":');
        await replyWithin(c.closed, 'the server closes the connection');
        assert.match(c.received(), /^HTTP\/1\.1 408 /);
        assert.equal(w.chain.calls.length, 0);
      },
      { input: { wrap: '5e1f0c2a' }, limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 }, checkIntervalMs: 50 },
    ));

  test('an idle kept-alive connection is closed by the server', () =>
    withServe(
      async (w) => {
        const c = await raw(w);
        c.socket.write('GET /.well-known/lnurlp/shop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
        await eventually(() => c.received().includes('"payRequest"'), 'the answer');
        assert.match(c.received(), /^HTTP\/1\.1 200 /);
        await replyWithin(c.closed, 'the server closes the connection');
        assert.ok(c.isClosed());
      },
      { limits: { keepAliveTimeoutMs: 200 } },
    ));

  test('connections at once: one more is closed unanswered; those held still work', () =>
    withServe(
      async (w) => {
        const a = await raw(w);
        const b = await raw(w);
        await eventually(async () => (await connections(w)) === 2, 'the server counts two connections');
        const c = await raw(w);
        await replyWithin(c.closed, 'the server closes the connection');
        assert.equal(c.received(), '');
        a.socket.write('GET /.well-known/lnurlp/shop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await replyWithin(a.closed, 'the server answers and closes');
        assert.match(a.received(), /^HTTP\/1\.1 200 /);
        b.socket.destroy();
      },
      { limits: { maxConnections: 2 } },
    ));
});
