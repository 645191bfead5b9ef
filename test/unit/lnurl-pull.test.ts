/**
 * pullInvoice (src/rpc/lnurl-pull.ts) against a small LNURL-pay server written
 * from the spec (test/helpers/lnurl-server.ts): the invoice a careful wallet
 * would pay, and a refusal with its reason for each way a server misbehaves.
 * Slow servers never answer and the time bound is a short option: no test
 * waits on the clock. The last test has a simulated CLN node make the invoice
 * (invoice ... deschashonly=true), as a real Lightning Address server does.
 */
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat, type Msat } from '../../src/chain/amount.js';
import { LNURL_MAX_BODY_BYTES, LNURL_MAX_REDIRECTS } from '../../src/chain/lnurl-pay.js';
import { RpcClient } from '../../src/rpc/client.js';
import type { HttpGet, JsonAnswer } from '../../src/rpc/http-get.js';
import { describeAddress, pullInvoice, type PullContext, type PulledInvoice } from '../../src/rpc/lnurl-pull.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';
import { makeInvoice } from '../helpers/invoices.js';
import { encodeLnurl } from '../helpers/lnurl.js';
import { startLnurlServer, type LnurlServer, type LnurlServerOptions } from '../helpers/lnurl-server.js';
import { withSimNet } from '../helpers/sim.js';
import { BOB } from './invoice-kit.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const CAROL_ID = nodeKeyFromSeed('carol').id;
/** D: an amount no default would produce. */
const D = msat(106_039_024n);

/** Carol's wallet: an invoice for the amount, `h` = sha256 of the metadata, signed by Carol's key. */
const carolWallet = (amountMsat: bigint, metadata: string): Promise<string> =>
  Promise.resolve(makeInvoice('carol', { amountMsat: msat(amountMsat), description: undefined, descriptionHash: sha256(metadata), expirySeconds: 3_600 }));

const ctx = (over: Partial<PullContext> = {}): PullContext => ({
  network: 'regtest',
  ourNodeId: BOB,
  now: Math.floor(Date.now() / 1000),
  minLifeSeconds: 660,
  ...over,
});

/** A server for one test, closed after it. */
async function withServer<T>(options: Partial<LnurlServerOptions>, fn: (server: LnurlServer) => Promise<T>): Promise<T> {
  const server = await startLnurlServer({ makeInvoice: carolWallet, ...options });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

async function refusal(target: string, amountMsat: Msat, context: PullContext): Promise<string> {
  const r = await pullInvoice(target, amountMsat, context);
  if (r.ok) assert.fail(`expected a refusal, got an invoice from ${r.value.from}`);
  return r.error;
}

function pulled(r: { ok: true; value: PulledInvoice } | { ok: false; error: string }): PulledInvoice {
  if (!r.ok) assert.fail(r.error);
  return r.value;
}

describe('pullInvoice: a well-behaved server', () => {
  let server: LnurlServer;
  before(async () => {
    server = await startLnurlServer({ makeInvoice: carolWallet, callbackQuery: 'k=a%20b&x=1' });
  });
  after(() => server.close());

  test('from a Lightning Address: the invoice for exactly D, its hash the metadata\'s', async () => {
    const requestsBefore = server.requests;
    const got = pulled(await pullInvoice(server.address, D, ctx()));
    assert.equal(got.invoice.amountMsat, D);
    assert.equal(got.invoice.descriptionHash, sha256(server.metadata));
    assert.equal(got.invoice.payee, CAROL_ID);
    assert.equal(got.bolt11, got.invoice.bolt11);
    assert.equal(got.metadata, server.metadata);
    assert.equal(got.description, `Payment to ${server.address}`);
    assert.equal(got.domain, server.address.split('@')[1]);
    assert.equal(got.from, server.address);
    assert.equal(server.requests - requestsBefore, 2);
  });

  test('the callback\'s own query is kept and amount=D added to it', async () => {
    pulled(await pullInvoice(server.address, D, ctx()));
    assert.equal(server.paths.at(-1), `/lnurlp/carol/callback?k=a%20b&x=1&amount=${D}`);
  });

  test('from the URL of the pay parameters, and from its LNURL', async () => {
    const host = server.address.split('@')[1] ?? '';
    assert.equal(pulled(await pullInvoice(server.url, D, ctx())).from, `${host}/.well-known/lnurlp/carol`);
    assert.equal(pulled(await pullInvoice(encodeLnurl(server.url), D, ctx())).invoice.amountMsat, D);
  });

  test('D below minSendable: refused without calling the callback', async () => {
    const requestsBefore = server.requests;
    assert.equal(await refusal(server.address, msat(999n), ctx()), `${server.address} takes 1000 to 1000000000 msat, and 999 msat is outside that`);
    assert.equal(server.requests - requestsBefore, 1);
  });

  test('D above maxSendable', async () => {
    assert.match(await refusal(server.address, msat(1_000_000_001n), ctx()), /takes 1000 to 1000000000 msat, and 1000000001 msat is outside that$/);
  });

  test('an invoice payable to this node itself', async () => {
    assert.match(await refusal(server.address, D, ctx({ ourNodeId: CAROL_ID })), /sent an invoice payable to this node itself/);
  });

  test('an invoice that would not live long enough to relay', async () => {
    assert.match(await refusal(server.address, D, ctx({ minLifeSeconds: 7_200 })), /sent an invoice that expires in 3\d{3} s, too soon: rdv needs at least 7200 s to relay it$/);
  });

  test('an invoice for another network', async () => {
    assert.match(await refusal(server.address, D, ctx({ network: 'signet' })), /sent an invoice for regtest \(prefix lnbcrt\), but this node runs on signet$/);
  });

  test('an unknown name: the server\'s 404 and its LNURL reason', async () => {
    const host = server.address.split('@')[1] ?? '';
    assert.equal(
      await refusal(`dave@${host}`, D, ctx()),
      `could not read the pay parameters of dave@${host}: ${host}/.well-known/lnurlp/dave: HTTP 404 Not Found: "unknown name"`,
    );
  });

  test('not an address at all: refused before any request', async () => {
    const requestsBefore = server.requests;
    assert.match(await refusal('carol at shop', D, ctx()), /is not a Lightning Address/);
    assert.equal(server.requests, requestsBefore);
  });
});

describe('pullInvoice: a server that misbehaves', () => {
  const cases: Array<{ description: string; options: Partial<LnurlServerOptions>; context?: Partial<PullContext>; reason: (s: LnurlServer) => RegExp | string; requests?: number }> = [
    {
      description: 'the pay parameters are an LNURL error: its reason is passed on, quoted',
      options: { paramsFault: 'lnurl-error', errorReason: 'Carol is on holiday\n\u001b[31m' },
      reason: (s) => `${s.address} refused: "Carol is on holiday [31m"`,
    },
    {
      description: 'the pay parameters are HTTP 500 with an LNURL reason',
      options: { paramsFault: 'http-error', errorReason: 'database down' },
      reason: (s) => new RegExp(`^could not read the pay parameters of ${s.address}: .*: HTTP 500 Internal Server Error: "database down"$`),
    },
    {
      description: 'the callback is an LNURL error',
      options: { callbackFault: 'lnurl-error', errorReason: 'Amount above daily limit' },
      reason: (s) => `${s.address} refused to make an invoice for ${D} msat: "Amount above daily limit"`,
    },
    {
      description: 'the invoice is for one msat more than asked',
      options: { invoiceFault: 'wrong-amount' },
      reason: (s) => `${s.address} sent an invoice for ${D + 1n} msat, not the ${D} msat asked`,
    },
    {
      description: 'the invoice hashes other metadata',
      options: { invoiceFault: 'wrong-description-hash' },
      reason: (s) => new RegExp(`^${s.address} sent an invoice whose description hash [0-9a-f]{8}… is not sha256 of the metadata it served \\([0-9a-f]{8}…\\)$`),
    },
    {
      description: 'the pay parameters never come',
      options: { paramsFault: 'slow' },
      context: { timeoutMs: 150 },
      reason: (s) => new RegExp(`^could not read the pay parameters of ${s.address}: .*/\\.well-known/lnurlp/carol: no whole answer within \\d+ ms$`),
    },
    {
      description: 'the callback never answers (the time bound covers the whole pull)',
      options: { callbackFault: 'slow' },
      context: { timeoutMs: 400 },
      reason: (s) => new RegExp(`^${s.address}'s callback gave no invoice for ${D} msat: .*/lnurlp/carol/callback: no whole answer within \\d+ ms$`),
    },
    {
      description: 'the pay parameters stream on past the body bound',
      options: { paramsFault: 'oversized' },
      reason: () => new RegExp(`the answer is larger than ${LNURL_MAX_BODY_BYTES} bytes$`),
    },
    {
      description: 'the callback streams on past a smaller bound given as an option',
      options: { callbackFault: 'oversized' },
      context: { maxBodyBytes: 4_096 },
      reason: (s) => new RegExp(`^${s.address}'s callback gave no invoice for ${D} msat: .*: the answer is larger than 4096 bytes$`),
    },
    {
      description: 'the pay parameters declare a length past the bound',
      options: { paramsFault: 'oversized-declared' },
      reason: () => new RegExp(`the answer is larger than ${LNURL_MAX_BODY_BYTES} bytes$`),
      requests: 1,
    },
    {
      description: 'a redirect loop: followed at most LNURL_MAX_REDIRECTS times',
      options: { paramsFault: 'redirect-loop' },
      reason: () => new RegExp(`more than ${LNURL_MAX_REDIRECTS} redirects$`),
      requests: LNURL_MAX_REDIRECTS + 1,
    },
    {
      description: 'a redirect to plain http on a public host: refused, not followed',
      options: { callbackFault: 'redirect-to-http' },
      reason: () => /callback gave no invoice for 106039024 msat: redirect refused: .* redirects to http:\/\/shop\.example\/lnurlp\/carol\/callback\?amount=106039024 uses plain http/,
      requests: 2,
    },
    {
      description: 'pay parameters that are not JSON',
      options: { paramsFault: 'malformed-json' },
      reason: (s) => new RegExp(`^could not read the pay parameters of ${s.address}: .*: the answer is not JSON$`),
    },
    {
      description: 'a callback answer that is not JSON',
      options: { callbackFault: 'malformed-json' },
      reason: (s) => new RegExp(`^${s.address}'s callback gave no invoice for ${D} msat: .*: the answer is not JSON$`),
    },
  ];
  for (const c of cases) {
    test(c.description, () =>
      withServer(c.options, async (server) => {
        const reason = await refusal(server.address, D, ctx(c.context));
        const expected = c.reason(server);
        if (typeof expected === 'string') assert.equal(reason, expected);
        else assert.match(reason, expected);
        if (c.requests !== undefined) assert.equal(server.requests, c.requests);
      }),
    );
  }

  test('one redirect between loopback URLs is followed', () =>
    withServer({ paramsFault: 'redirect-once' }, async (server) => {
      assert.equal(pulled(await pullInvoice(server.address, D, ctx())).invoice.amountMsat, D);
      assert.deepEqual(server.paths.map((p) => p.replace(/\?.*/, '')), ['/.well-known/lnurlp/carol', '/.well-known/lnurlp/carol', '/lnurlp/carol/callback']);
    }));

  test('nothing listening at the address: connection refused', async () => {
    const server = await startLnurlServer({ makeInvoice: carolWallet });
    await server.close();
    assert.match(await refusal(server.address, D, ctx()), new RegExp(`^could not read the pay parameters of ${server.address}: .*: connection refused by ${server.address.split('@')[1]}$`));
  });
});

describe('pullInvoice with an injected HTTP client (what a public server cannot make rdv do)', () => {
  const answer = (url: string, body: unknown): { ok: true; value: JsonAnswer } => ({ ok: true, value: { url, status: 200, body } });

  test('a public server\'s callback that points at this machine is never called', async () => {
    const asked: string[] = [];
    const get: HttpGet = (url) => {
      asked.push(url);
      return Promise.resolve(
        answer(url, { tag: 'payRequest', callback: 'http://127.0.0.1:9835/admin?amount_is_next', minSendable: 1, maxSendable: 10 ** 12, metadata: '[["text/plain","x"]]' }),
      );
    };
    const reason = await refusal('carol@shop.example', D, ctx({ get }));
    assert.match(reason, /^carol@shop\.example answered pay parameters rdv cannot use: its callback http:\/\/127\.0\.0\.1:9835\/admin\?amount_is_next points to this machine, which shop\.example may not send rdv to$/);
    assert.deepEqual(asked, ['https://shop.example/.well-known/lnurlp/carol']);
  });

  test('a withdraw link instead of a pay link', async () => {
    const get: HttpGet = (url) => Promise.resolve(answer(url, { tag: 'withdrawRequest', callback: 'https://shop.example/w', k1: 'ab' }));
    assert.equal(await refusal('carol@shop.example', D, ctx({ get })), 'carol@shop.example answered pay parameters rdv cannot use: it is a "withdrawRequest" LNURL, not a payRequest');
  });

  test('a callback answer without an invoice', async () => {
    const metadata = '[["text/plain","x"]]';
    const get: HttpGet = (url) =>
      Promise.resolve(url.includes('amount=') ? answer(url, { routes: [] }) : answer(url, { tag: 'payRequest', callback: 'https://pay.example/cb', minSendable: 1, maxSendable: 10 ** 12, metadata }));
    assert.equal(await refusal('carol@shop.example', D, ctx({ get })), "carol@shop.example's callback answered something rdv cannot use: its answer has no invoice (pr)");
  });

  test('an invoice that does not decode', async () => {
    const metadata = '[["text/plain","x"]]';
    const get: HttpGet = (url) =>
      Promise.resolve(url.includes('amount=') ? answer(url, { pr: 'lnbcrt1qqqqqqqq' }) : answer(url, { tag: 'payRequest', callback: 'https://pay.example/cb', minSendable: 1, maxSendable: 10 ** 12, metadata }));
    assert.match(await refusal('carol@shop.example', D, ctx({ get })), /^carol@shop\.example sent an invoice that does not decode: /);
  });

  test('an amount of 0 msat is not asked for', async () => {
    const get: HttpGet = () => assert.fail('no request expected');
    assert.equal(await refusal('carol@shop.example', msat(0n), ctx({ get })), 'cannot ask carol@shop.example for 0 msat: an invoice needs at least 1 msat');
  });
});

describe('describeAddress', () => {
  const cases: Array<{ given: string; expected: string }> = [
    { given: 'Carol@Shop.Example', expected: 'carol@shop.example' },
    { given: 'https://shop.example/lnurlp/carol?token=f00d', expected: 'shop.example/lnurlp/carol' },
    { given: encodeLnurl('https://shop.example/lnurlp/carol?token=f00d'), expected: 'shop.example/lnurlp/carol' },
    { given: 'not\nan address', expected: '"not an address"' },
  ];
  for (const c of cases) test(`${JSON.stringify(c.given).slice(0, 40)} -> ${c.expected}`, () => assert.equal(describeAddress(c.given), c.expected));
});

describe('pullInvoice: a simulated CLN node makes the invoice (invoice ... deschashonly=true)', () => {
  test('the invoice pulled is Carol\'s node\'s, for exactly D, tied to the metadata, and passes every check', () =>
    withSimNet(async (net) => {
      const carol = await net.addNode('carol');
      const rpc = await RpcClient.connect(carol.socketPath);
      let labels = 0;
      const server = await startLnurlServer({
        makeInvoice: async (amountMsat, metadata) => {
          const made = (await rpc.call('invoice', { amount_msat: amountMsat, label: `lnurl-${++labels}`, description: metadata, deschashonly: true })) as { bolt11: string };
          return made.bolt11;
        },
      });
      try {
        const got = pulled(await pullInvoice(server.address, D, ctx()));
        assert.equal(got.invoice.payee, carol.id);
        assert.equal(got.invoice.amountMsat, D);
        assert.equal(got.invoice.descriptionHash, sha256(server.metadata));
        assert.equal(got.invoice.description, undefined);
        // Carol's node has the invoice, and keeps the metadata as its description.
        const listed = (await rpc.call('listinvoices', { label: 'lnurl-1' })) as { invoices: Array<{ bolt11: string; description: string; status: string }> };
        assert.deepEqual(listed.invoices.map((i) => [i.bolt11, i.description, i.status]), [[got.bolt11, server.metadata, 'unpaid']]);
      } finally {
        await server.close();
        rpc.close();
      }
    }));
});
