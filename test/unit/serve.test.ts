/**
 * rdv serve's pure parts: the command line, the amounts offered and asked, the
 * routing of a stranger's request and who it is from, LNURL's answers and the
 * check of the chain's invoice, verify tokens, the counting behind the bounds,
 * and lnproxy's request and amounts. Tables with distinctive numbers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { msat, type Msat } from '../../src/chain/amount.js';
import { decodeBolt11, type Invoice } from '../../src/chain/bolt11.js';
import type { NodeId, PaymentHash } from '../../src/chain/ids.js';
import type { Policy } from '../../src/chain/policy/policy.js';
import { downstreamForAsked } from '../../src/chain/policy/asked.js';
import { wrapValues } from '../../src/chain/policy/decide.js';
import { PPM } from '../../src/chain/policy/policy.js';
import { parseAskedAmount, sendableBounds } from '../../src/serve/amounts.js';
import { DEFAULT_LIMITS, parseAddress, parseListen, parsePublicUrl, parseServeInput } from '../../src/serve/config.js';
import { RateLimiter, Slots } from '../../src/serve/limits.js';
import { callbackReply, metadataFor, metadataHash, payParams, servedInvoiceProblem, verifyReply } from '../../src/serve/lnurl.js';
import { clientAddress, routeRequest } from '../../src/serve/request.js';
import { entryExpired, isToken, newEntry, parseEntry, serializeEntry, tokenKey } from '../../src/serve/tokens.js';
import { parseSpecBody } from '../../src/serve/wrap.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';
import { makeInvoice } from '../helpers/invoices.js';

const BOB = `03${'b0'.repeat(32)}` as NodeId;
const NOW = 1_795_620_807;

function policy(over: Partial<Policy> = {}): Policy {
  return { id: '5e1f0c2a', from: BOB, payout: { kind: 'percent', ppm: 20_000n }, feeBudget: { kind: 'percent', ppm: 5_000n }, delayBudget: 80, createdAt: NOW - 99, ...over };
}
const sat = (n: bigint): Msat => msat(n * 1000n);

describe('rdv serve options', () => {
  const base = { address: ['shop=5e1f0c2a'], publicUrl: 'https://shop.example' };
  const cases: Array<{ description: string; given: Record<string, unknown>; error?: RegExp; check?: (c: NonNullable<ReturnType<typeof parseServeInput> & { ok: true }>['value']) => void }> = [
    { description: 'the defaults', given: base, check: (c) => {
      assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
      assert.equal(c.limits.perClientPerMinute, 30);
      assert.equal(c.limits.answerWithinMs, 10_000);
      assert.equal(c.trustProxy, false);
      assert.equal(c.wrapPolicy, undefined);
      assert.equal(c.minSendableMsat, 1_000n);
      assert.equal(c.maxSendableMsat, 1_000_000_000n);
    } },
    { description: 'a node id as via, upper case', given: { ...base, address: [`tips=${BOB.toUpperCase()}`] }, check: (c) => assert.deepEqual(c.addresses, [{ name: 'tips', via: BOB }]) },
    { description: 'two addresses of one name', given: { ...base, address: ['shop=5e1f0c2a', 'shop=77aa0c2b'] }, error: /given twice/ },
    { description: 'nothing to serve', given: { publicUrl: 'https://shop.example' }, error: /at least one --address/ },
    { description: 'wrap only', given: { publicUrl: 'https://shop.example', wrap: '77AA0C2B' }, check: (c) => assert.equal(c.wrapPolicy, '77aa0c2b') },
    { description: 'no public URL', given: { address: ['shop=5e1f0c2a'] }, error: /--public-url is required/ },
    { description: 'plain http on the clear web', given: { ...base, publicUrl: 'http://shop.example' }, error: /must be https/ },
    { description: 'plain http on loopback', given: { ...base, publicUrl: 'http://127.0.0.1:8080/' }, check: (c) => assert.equal(c.publicUrl.href, 'http://127.0.0.1:8080/') },
    { description: 'http on an onion', given: { ...base, publicUrl: 'http://abcdefgh.onion' }, check: (c) => assert.equal(c.publicUrl.protocol, 'http:') },
    { description: 'a query in the public URL', given: { ...base, publicUrl: 'https://shop.example/?x=1' }, error: /plain base URL/ },
    { description: '--min-sendable above --max-sendable', given: { ...base, minSendable: '7001sat', maxSendable: '7000sat' }, error: /more than --max-sendable/ },
    { description: '--max-sendable past 2^53 msat', given: { ...base, maxSendable: '100000btc' }, error: /JSON parsers/ },
    { description: '--rate 0', given: { ...base, rate: '0' }, error: /--rate 0 is out of range/ },
    { description: '--answer-within 3m', given: { ...base, answerWithin: '3m' }, error: /more than 60 s/ },
    { description: '--answer-within 4s: less than rdv-request takes', given: { ...base, answerWithin: '4s' }, error: /less than 5 s/ },
    { description: '--answer-within 7s', given: { ...base, answerWithin: '7s' }, check: (c) => assert.equal(c.limits.answerWithinMs, 7_000) },
    { description: 'a description over 639 bytes', given: { ...base, description: 'é'.repeat(320) }, error: /640 bytes/ },
    { description: '--wrap not a policy id', given: { ...base, wrap: 'shop' }, error: /not a policy id/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = parseServeInput(c.given);
      if (c.error) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.error);
      } else {
        assert.ok(r.ok, r.ok ? '' : r.error);
        if (r.ok) c.check?.(r.value);
      }
    });
  }

  test('addresses: names are LUD-16 user parts, via a policy id or a node id', () => {
    assert.deepEqual(parseAddress('my.shop-1_x=5e1f0c2a'), { ok: true, value: { name: 'my.shop-1_x', via: '5e1f0c2a' } });
    for (const bad of ['Shop=5e1f0c2a', 'shop', 'shop=', 'sh op=5e1f0c2a', 'shop=5e1f0c2', `shop=04${'b0'.repeat(32)}`]) assert.equal(parseAddress(bad).ok, false, bad);
  });

  test('listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:0'), { ok: true, value: { host: '127.0.0.1', port: 0 } });
    assert.deepEqual(parseListen('[::1]:8443'), { ok: true, value: { host: '::1', port: 8443 } });
    assert.deepEqual(parseListen(':9735'), { ok: true, value: { host: '127.0.0.1', port: 9735 } });
    for (const bad of ['8080', '127.0.0.1:70000', 'host:port']) assert.equal(parseListen(bad).ok, false, bad);
  });

  test('a public URL keeps its path, without a trailing slash', () => {
    const r = parsePublicUrl('https://shop.example/pay/');
    assert.ok(r.ok);
    if (r.ok) assert.equal(r.value.pathname, '/pay');
  });
});

describe('amounts offered and asked', () => {
  const caps = { minMsat: sat(1n), maxMsat: sat(1_000_000n) };
  const cases: Array<{ description: string; given: Partial<Policy>; expected?: [bigint, bigint]; error?: RegExp }> = [
    { description: 'percent shares, no bounds: from the cap (the policy\'s least is 52 msat: D 50, 1 msat of payout) to the cap', given: {}, expected: [sat(1n), sat(1_000_000n)] },
    // D >= 333,334 msat for a payout of 1 msat; an invoice of 340,335 msat leaves D 333,333 (the payout 0): the least is 340,336.
    { description: 'a percent payout needs D >= 1e6/ppm: 0.0003% -> D >= 333,334 msat, so an invoice of at least 340,336 msat', given: { payout: { kind: 'percent', ppm: 3n }, feeBudget: { kind: 'fixed', msat: msat(7_000n) } }, expected: [340_336n, sat(1_000_000n)] },
    { description: 'fixed shares and policy bounds mapped through them', given: { payout: { kind: 'fixed', msat: sat(5_000n) }, feeBudget: { kind: 'fixed', msat: sat(1_000n) }, minAmountMsat: sat(10_003n), maxAmountMsat: sat(500_011n) }, expected: [sat(16_003n), sat(506_011n)] },
    { description: "a policy max above the cap: the cap", given: { maxAmountMsat: sat(9_000_000n) }, expected: [sat(1n), sat(1_000_000n)] },
    // 41,000,001 msat leaves D = 40,000,000.97 -> 40,000,000: the extra msat is the relay's.
    { description: 'percent bounds: the most is 1 msat over D + shares of the maximum, the rounding the relay keeps', given: { minAmountMsat: sat(20_000n), maxAmountMsat: sat(40_000n) }, expected: [sat(20_500n), 41_000_001n] },
    { description: 'bounds outside the caps', given: { minAmountMsat: sat(2_000_000n) }, error: /outside --min-sendable/ },
    { description: 'bounds that leave no amount: a fixed fee budget over the maximum', given: { feeBudget: { kind: 'fixed', msat: sat(9n) }, maxAmountMsat: sat(8n) }, error: /leave no amount/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = sendableBounds(policy(c.given), caps);
      if (c.error) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.error);
      } else {
        assert.ok(r.ok, r.ok ? '' : r.error);
        if (r.ok) assert.deepEqual([r.value.minMsat, r.value.maxMsat], c.expected);
      }
    });
  }

  const share = fc.oneof(
    fc.bigInt({ min: 0n, max: 3_000_000_000n }).map((m) => ({ kind: 'fixed' as const, msat: msat(m) })),
    fc.bigInt({ min: 0n, max: PPM }).map((ppm) => ({ kind: 'percent' as const, ppm })),
  );
  const anyPolicy = fc
    .record({ payout: share, feeBudget: share, min: fc.option(fc.bigInt({ min: 1n, max: 10n ** 11n })), span: fc.option(fc.bigInt({ min: 0n, max: 10n ** 11n })) })
    .map(({ payout, feeBudget, min, span }) =>
      policy({
        // rdv policy add refuses a zero payout.
        payout: payout.kind === 'fixed' ? (payout.msat === 0n ? { kind: 'fixed', msat: msat(1n) } : payout) : payout.ppm === 0n ? { kind: 'percent', ppm: 1n } : payout,
        feeBudget,
        ...(min !== null ? { minAmountMsat: msat(min) } : {}),
        ...(min !== null && span !== null ? { maxAmountMsat: msat(min + span) } : {}),
      }),
    );
  const anyCaps = fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n })).map(([min, span]) => ({ minMsat: msat(min), maxMsat: msat(min + span) }));

  test("every amount offered is one the plugin's arithmetic accepts, with D within the policy's bounds; and the ends are tight", () => {
    fc.assert(
      fc.property(anyPolicy, anyCaps, fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n }), { minLength: 1, maxLength: 8 }), (p, caps, picks) => {
        const offered = sendableBounds(p, caps);
        if (!offered.ok) return;
        const { minMsat, maxMsat } = offered.value;
        const span = maxMsat - minMsat + 1n;
        // Both ends, their neighbours inside, and amounts picked anywhere in between.
        const inside = [minMsat, maxMsat, minMsat + 1n, maxMsat - 1n, ...picks.map((x) => minMsat + (x % span))].filter((a) => a >= minMsat && a <= maxMsat);
        for (const a of inside) {
          const split = downstreamForAsked(p, msat(a));
          assert.ok(split.ok, `${a} msat is offered (${minMsat} to ${maxMsat}) but refused: ${split.ok ? '' : split.error}`);
          if (!split.ok) return;
          const d = split.value.downstreamMsat;
          assert.ok(p.minAmountMsat === undefined || d >= p.minAmountMsat, `D ${d} under the minimum`);
          assert.ok(p.maxAmountMsat === undefined || d <= p.maxAmountMsat, `D ${d} over the maximum`);
          assert.equal(d + split.value.payoutMsat + split.value.feeBudgetMsat, a);
        }
        // Tight: one msat past an end is refused, by the plugin where the end is the policy's, by the caps where it is theirs.
        if (minMsat > caps.minMsat) assert.equal(downstreamForAsked(p, msat(minMsat - 1n)).ok, false, `${minMsat - 1n} msat is accepted but not offered`);
        else assert.equal(minMsat, caps.minMsat);
        if (maxMsat < caps.maxMsat) assert.equal(downstreamForAsked(p, msat(maxMsat + 1n)).ok, false, `${maxMsat + 1n} msat is accepted but not offered`);
        else assert.equal(maxMsat, caps.maxMsat);
      }),
      { numRuns: 3_000 },
    );
  });

  test('the asked amount: whole msat within the bounds', () => {
    const b = { minMsat: msat(16_003_000n), maxMsat: msat(506_011_000n) };
    assert.deepEqual(parseAskedAmount('16003000', b), { ok: true, value: 16_003_000n });
    assert.deepEqual(parseAskedAmount('506011000', b), { ok: true, value: 506_011_000n });
    for (const [text, why] of [[undefined, /missing/], ['', /missing/], ['16002999', /below the minimum/], ['506011001', /above the maximum/], ['1e9', /whole number/], ['-5', /whole number/], ['1.5', /whole number/], ['99999999999999999999', /whole number/]] as const) {
      const r = parseAskedAmount(text, b);
      assert.equal(r.ok, false, String(text));
      if (!r.ok) assert.match(r.error, why);
    }
  });
});

describe("a stranger's request", () => {
  const o = { maxUrlBytes: 2_048, wrap: true };
  const cases: Array<{ description: string; method?: string; url: string; wrap?: boolean; expected: unknown }> = [
    { description: 'LUD-16', url: '/.well-known/lnurlp/shop', expected: { kind: 'pay-params', name: 'shop' } },
    { description: 'LUD-06 (a bech32 LNURL points here)', url: '/lnurlp/shop', expected: { kind: 'pay-params', name: 'shop' } },
    { description: 'the callback', url: '/lnurlp/shop/callback?amount=108690000&nonce=7', expected: { kind: 'callback', name: 'shop', amount: '108690000' } },
    { description: 'the callback without an amount', url: '/lnurlp/shop/callback', expected: { kind: 'callback', name: 'shop', amount: undefined } },
    { description: 'verify', url: `/lnurlp/shop/verify/${'a7'.repeat(16)}`, expected: { kind: 'verify', name: 'shop', token: 'a7'.repeat(16) } },
    { description: 'verify by a payment hash (not a token) is not found', url: `/lnurlp/shop/verify/${'a7'.repeat(32)}`, expected: 404 },
    { description: 'a name with capitals is not found', url: '/.well-known/lnurlp/Shop', expected: 404 },
    { description: 'deeper paths are not found', url: '/.well-known/lnurlp/shop/x', expected: 404 },
    { description: 'POST to a GET route', method: 'POST', url: '/lnurlp/shop/callback?amount=1', expected: 405 },
    { description: 'preflight', method: 'OPTIONS', url: '/lnurlp/shop', expected: { kind: 'preflight' } },
    { description: 'wrap, POST /spec', method: 'POST', url: '/spec', expected: { kind: 'wrap-spec' } },
    { description: 'wrap, GET /spec', url: '/spec', expected: 405 },
    { description: 'wrap, GET /api', url: '/api/lnbcrt1abc?routing_msat=1000', expected: { kind: 'wrap-api', invoice: 'lnbcrt1abc', routingMsat: '1000' } },
    { description: 'wrap off: /spec is not found', method: 'POST', url: '/spec', wrap: false, expected: 404 },
    { description: 'a URL over the limit', url: `/lnurlp/shop/callback?amount=1&pad=${'x'.repeat(2_048)}`, expected: 414 },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = routeRequest(c.method ?? 'GET', c.url, { ...o, wrap: c.wrap ?? true });
      if (typeof c.expected === 'number') {
        assert.equal(r.ok, false);
        if (!r.ok) assert.equal(r.refusal.status, c.expected);
      } else {
        assert.deepEqual(r, { ok: true, route: c.expected });
      }
    });
  }

  test('the client address: X-Forwarded-For only with --trust-proxy, and only its last (our proxy\'s) entry', () => {
    assert.equal(clientAddress('::ffff:127.0.0.1', '203.0.113.7', false), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', '198.51.100.9, 203.0.113.7', true), '203.0.113.7');
    assert.equal(clientAddress('127.0.0.1', ['198.51.100.9', '2001:DB8::5'], true), '2001:db8::5');
    assert.equal(clientAddress('127.0.0.1', 'not-an-ip', true), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', undefined, true), '127.0.0.1');
  });
});

describe('LNURL answers', () => {
  const url = new URL('https://shop.example:8443/pay');
  test('metadata names the address; its hash is of the exact string', () => {
    const m = metadataFor('shop', url, undefined);
    assert.equal(m, '[["text/plain","Payment to shop@shop.example:8443"],["text/identifier","shop@shop.example:8443"]]');
    assert.equal(metadataHash(m), createHash('sha256').update(Buffer.from(m, 'utf8')).digest('hex'));
    assert.equal(metadataFor('shop', url, 'Order at Carol\'s "shop" ☕'), '[["text/plain","Order at Carol\'s \\"shop\\" ☕"],["text/identifier","shop@shop.example:8443"]]');
  });
  test('payRequest, callback and verify replies', () => {
    assert.deepEqual(payParams(url, 'shop', '[]', { minMsat: msat(1_000n), maxMsat: msat(7_000n) }), {
      tag: 'payRequest',
      callback: 'https://shop.example:8443/pay/lnurlp/shop/callback',
      minSendable: 1_000n,
      maxSendable: 7_000n,
      metadata: '[]',
    });
    assert.deepEqual(callbackReply('lnbcrt1x', undefined), { pr: 'lnbcrt1x', routes: [] });
    assert.deepEqual(callbackReply('lnbcrt1x', 'https://v'), { pr: 'lnbcrt1x', routes: [], verify: 'https://v' });
    assert.deepEqual(verifyReply('lnbcrt1x', undefined), { status: 'OK', settled: false, preimage: null, pr: 'lnbcrt1x' });
  });

  describe("the chain's invoice, checked before a wallet sees it", () => {
    const alice = nodeKeyFromSeed('alice');
    const metadata = metadataFor('shop', url, undefined);
    const h = metadataHash(metadata);
    const hash = 'c4'.repeat(32) as PaymentHash;
    const now = Math.floor(Date.now() / 1000);
    const inv = (over: Parameters<typeof makeInvoice>[1] = {}, signer = 'alice'): Invoice => {
      const d = decodeBolt11(makeInvoice(signer, { amountMsat: msat(108_690_000n), descriptionHash: h, description: undefined, paymentHash: hash, createdAt: now, expirySeconds: 3_600, ...over }));
      assert.ok(d.ok);
      return d.ok ? d.value : (undefined as never);
    };
    const want = { amountMsat: msat(108_690_000n), descriptionHash: h, paymentHash: hash, network: 'regtest' as const, nodeId: alice.id, now, minLifeSeconds: 60 };
    const cases: Array<{ description: string; invoice: () => Invoice; expected: RegExp | undefined }> = [
      { description: 'as asked', invoice: () => inv(), expected: undefined },
      { description: '1 msat less', invoice: () => inv({ amountMsat: msat(108_689_999n) }), expected: /108689999 msat, not the 108690000 msat asked/ },
      { description: 'a description instead of its hash', invoice: () => inv({ descriptionHash: undefined, description: metadata }), expected: /description hash is missing/ },
      { description: 'another description hash', invoice: () => inv({ descriptionHash: 'd5'.repeat(32) }), expected: /not sha256 of the metadata/ },
      { description: 'another network', invoice: () => inv({ currency: 'tb' }), expected: /not regtest/ },
      { description: 'another payment hash than reported', invoice: () => inv({ paymentHash: 'e6'.repeat(32) as PaymentHash }), expected: /not the c4c4c4c4… rdv-request reported/ },
      { description: 'signed by another node', invoice: () => inv({}, 'bob'), expected: /not by this node/ },
      { description: 'about to expire', invoice: () => inv({ createdAt: now - 3_590 }), expected: /expires in 10 s/ },
    ];
    for (const c of cases) {
      test(c.description, () => {
        const p = servedInvoiceProblem(c.invoice(), want);
        if (c.expected === undefined) assert.equal(p, undefined);
        else assert.match(p ?? '', c.expected);
      });
    }
  });
});

describe('verify tokens', () => {
  test('round trip; the key; expiry', () => {
    const e = newEntry('shop', 'c4'.repeat(32) as PaymentHash, 'lnbcrt1x', NOW + 3_600, NOW, 604_800);
    assert.deepEqual(parseEntry(serializeEntry(e)), e);
    assert.deepEqual(tokenKey('a7'.repeat(16)), ['rdv', 'v1', 'serve', 'a7'.repeat(16)]);
    assert.equal(entryExpired(e, NOW + 3_600 + 604_799), false);
    assert.equal(entryExpired(e, NOW + 3_600 + 604_800), true);
    assert.equal(isToken('a7'.repeat(16)), true);
    assert.equal(isToken('A7'.repeat(16)), false);
    assert.equal(isToken('a7'.repeat(32)), false);
    assert.throws(() => parseEntry('{"version":2}'), /version 2/);
    assert.throws(() => parseEntry('{"version":1,"name":"shop","payment_hash":"xyz"}'), /payment_hash/);
  });
});

describe('counting', () => {
  test('requests per client in a sliding minute, with the wait', () => {
    const r = new RateLimiter(3, 100);
    const t = 1_000_000;
    assert.deepEqual([r.take('a', t), r.take('a', t + 10_000), r.take('a', t + 20_000)].map((x) => x.ok), [true, true, true]);
    assert.deepEqual(r.take('a', t + 30_000), { ok: false, retryAfterSeconds: 30 });
    assert.equal(r.take('b', t + 30_000).ok, true);
    // The first request leaves the window 60 s after it was made.
    assert.equal(r.take('a', t + 59_999).ok, false);
    assert.equal(r.take('a', t + 60_000).ok, true);
  });
  test('the limiter forgets the least recently seen client first', () => {
    const r = new RateLimiter(1, 2);
    assert.equal(r.take('a', 0).ok, true);
    assert.equal(r.take('b', 1).ok, true);
    assert.equal(r.take('a', 2).ok, false);
    assert.equal(r.take('c', 3).ok, true);
    assert.equal(r.size, 2);
    // b was forgotten (a was seen after it): it starts afresh; a is still counted.
    assert.equal(r.take('b', 4).ok, true);
    assert.equal(r.take('c', 5).ok, false);
  });
  test('slots: at most max held, each released once', () => {
    const s = new Slots(2);
    const one = s.take();
    const two = s.take();
    assert.ok(one && two);
    assert.equal(s.take(), undefined);
    one?.();
    one?.();
    assert.equal(s.inUse, 1);
    assert.ok(s.take());
    assert.equal(s.take(), undefined);
  });
});

describe('lnproxy requests', () => {
  test('POST /spec bodies', () => {
    assert.deepEqual(parseSpecBody('{"invoice":"lnbcrt1x","routing_msat":"5003"}'), { ok: true, value: { invoice: 'lnbcrt1x', routingMsat: 5_003n, description: undefined, descriptionHash: undefined } });
    assert.deepEqual(parseSpecBody(`{"invoice":"lnbcrt1x","description_hash":"${'AB'.repeat(32)}"}`), { ok: true, value: { invoice: 'lnbcrt1x', routingMsat: undefined, description: undefined, descriptionHash: 'ab'.repeat(32) } });
    const bad: Array<[string, RegExp]> = [
      ['not json', /not JSON object/],
      ['[1]', /not JSON object/],
      ['{}', /needs an invoice/],
      ['{"invoice":7}', /must be a string/],
      ['{"invoice":"not an invoice"}', /Invalid invoice/],
      ['{"invoice":"lnbcrt1x","routing_msat":"1.5"}', /whole number/],
      ['{"invoice":"lnbcrt1x","routing_msat":"0"}', /more than 0/],
      ['{"invoice":"lnbcrt1x","description":"a","description_hash":"' + 'ab'.repeat(32) + '"}', /not both/],
      ['{"invoice":"lnbcrt1x","description_hash":"abc"}', /64 hex/],
    ];
    for (const [body, why] of bad) {
      const r = parseSpecBody(body);
      assert.equal(r.ok, false, body);
      if (!r.ok) assert.match(r.error, why);
    }
  });
  test('with routing_msat the proxy invoice is exactly original + routing_msat: the payout comes out of it', () => {
    // The policy's values for 100,000 sat: a fixed payout of 2.003 sat, 0.5% fee budget.
    const values = { payoutMsat: msat(2_003n), feeBudgetMsat: msat(500_000n), delayBudget: 80 };
    assert.deepEqual(wrapValues(values, msat(100_000_000n), msat(50_007n)), { ok: true, value: { payoutMsat: 2_003n, feeBudgetMsat: 48_004n, delayBudget: 80 } });
    const short = wrapValues(values, msat(100_000_000n), msat(2_003n));
    assert.equal(short.ok, false);
    if (!short.ok) assert.match(short.error, /does not cover this relay's fee of 2\.003 sat/);
    assert.deepEqual(wrapValues(values, msat(100_000_000n), undefined), { ok: true, value: values });
  });
});

test('DEFAULT_LIMITS bound every stranger-driven resource', () => {
  for (const [k, v] of Object.entries(DEFAULT_LIMITS)) assert.ok(Number.isInteger(v) && v > 0, k);
});
