/**
 * rdv serve over real HTTP on 127.0.0.1, in front of Alice's simulated
 * lightningd whose rdv-request is a fake chain: the Lightning Address pay
 * parameters, the callback (the invoice checked before a wallet sees it),
 * LUD-21 verify by token (never by payment hash), LNURL errors, and a node
 * that goes away and comes back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { preimageMatches, type PaymentHash, type Preimage } from '../../src/chain/ids.js';
import { pruneTokens } from '../../src/serve/backend.js';
import { serializeEntry, tokenKey, newEntry } from '../../src/serve/tokens.js';
import { startServer } from '../../src/serve/server.js';
import { eventually } from '../helpers/sim.js';
import { http, POLICY_ID, refuse, withServe, type ServeWorld } from '../helpers/serve.js';

const sha256hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The pay parameters, asserted to be a payRequest. */
async function params(w: ServeWorld, path = '/.well-known/lnurlp/shop'): Promise<{ callback: string; minSendable: number; maxSendable: number; metadata: string }> {
  const r = await http(`${w.base}${path}`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json?.tag, 'payRequest');
  return r.json as never;
}

function tokensIn(w: ServeWorld): string[] {
  return (JSON.parse(w.alice.datastore.snapshot()) as Array<[string[]]>).map(([key]) => key.join('/')).filter((k) => k.startsWith('rdv/v1/serve/'));
}

describe('rdv serve: a Lightning Address whose invoices the chain makes', () => {
  test('LUD-16 and LUD-06 give the same pay parameters: callback, amounts in msat from the policy, metadata naming the address', () =>
    withServe(async (w) => {
      const p = await params(w);
      const port = w.server.port;
      assert.equal(p.callback, `http://127.0.0.1:${port}/lnurlp/shop/callback`);
      // 2% + 0.5% and no bounds: from 1 sat (--min-sendable; the policy's least is 51 msat) to --max-sendable.
      assert.equal(p.minSendable, 1_000);
      assert.equal(p.maxSendable, 1_000_000_000);
      assert.equal(p.metadata, `[["text/plain","Payment to shop@127.0.0.1:${port}"],["text/identifier","shop@127.0.0.1:${port}"]]`);
      assert.deepEqual(await params(w, '/lnurlp/shop'), p);
      const r = await http(`${w.base}/.well-known/lnurlp/shop`);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.equal(w.chain.calls.length, 0, 'reading the parameters asks the chain nothing');
    }));

  test("the policy's bounds, mapped through its shares, are the amounts offered", () =>
    withServe(
      async (w) => {
        const p = await params(w);
        assert.equal(p.minSendable, 16_003_000);
        assert.equal(p.maxSendable, 506_011_000);
      },
      { policies: [{ id: POLICY_ID, from: `03${'b0'.repeat(32)}`, payout: '5000sat', feeBudget: '1000sat', delayBudget: '80', minAmount: '10003sat', maxAmount: '500011sat' }] },
    ));

  test('the callback asks the chain for exactly the amount with h = sha256(metadata) and a timeout within --answer-within, and hands out the invoice with a verify URL', () =>
    withServe(async (w) => {
      const p = await params(w);
      const r = await http(`${p.callback}?amount=108690000`);
      assert.equal(r.status, 200, r.body);
      const [{ timeout, ...call } = {}] = w.chain.calls;
      assert.deepEqual(call, { amount_msat: 108_690_000, via: POLICY_ID, description_hash: sha256hex(p.metadata) });
      assert.equal(w.chain.calls.length, 1);
      // rdv-request's timeout is what is left of --answer-within (10 s), in whole seconds: the chain stops when rdv serve stops waiting.
      assert.ok(typeof timeout === 'number' && timeout >= 5 && timeout <= 10, `timeout ${String(timeout)}`);
      const pr = String(r.json?.pr);
      const inv = decodeBolt11(pr);
      assert.ok(inv.ok);
      if (!inv.ok) return;
      assert.equal(inv.value.amountMsat, 108_690_000n);
      assert.equal(inv.value.descriptionHash, sha256hex(p.metadata));
      assert.equal(inv.value.payee, w.alice.id);
      assert.deepEqual(r.json?.routes, []);
      assert.match(String(r.json?.verify), new RegExp(`^http://127\\.0\\.0\\.1:${w.server.port}/lnurlp/shop/verify/[0-9a-f]{32}$`));
      assert.equal(tokensIn(w).length, 1);
    }));

  test('LUD-21 verify: not settled, then settled with the preimage; by token only, never by payment hash or under another name', () =>
    withServe(
      async (w) => {
        const p = await params(w);
        const r = await http(`${p.callback}?amount=21000`);
        const verify = String(r.json?.verify);
        const hash = decodeBolt11(String(r.json?.pr));
        assert.ok(hash.ok);
        if (!hash.ok) return;
        const paymentHash = hash.value.paymentHash;
        assert.deepEqual((await http(verify)).json, { status: 'OK', settled: false, preimage: null, pr: r.json?.pr });
        w.chain.settle(paymentHash);
        const settled = (await http(verify)).json;
        assert.equal(settled?.settled, true);
        assert.ok(preimageMatches(settled?.preimage as Preimage, paymentHash as PaymentHash));
        // Knowing the hash (every routing node does) gives nothing: not a token (no such path, 404), or an unknown one (LNURL's "Not found").
        const tries: Array<[string, number, string]> = [
          [`/lnurlp/shop/verify/${paymentHash}`, 404, 'not found'],
          [`/lnurlp/shop/verify/${paymentHash.slice(0, 32)}`, 200, 'Not found'],
          [`/lnurlp/tips/verify/${verify.slice(-32)}`, 200, 'Not found'],
          [`/lnurlp/shop/verify/${randomBytes(16).toString('hex')}`, 200, 'Not found'],
        ];
        for (const [path, status, reason] of tries) {
          const x = await http(`${w.base}${path}`);
          assert.equal(x.status, status, path);
          assert.deepEqual(x.json, { status: 'ERROR', reason }, path);
          assert.ok(!x.body.includes(String(settled?.preimage)), path);
        }
      },
      { input: { address: [`shop=${POLICY_ID}`, `tips=${POLICY_ID}`] } },
    ));

  test('verify tokens are durable: a new rdv serve on the same node answers the URLs the last one gave out', () =>
    withServe(async (w) => {
      const r = await http(`${w.base}/lnurlp/shop/callback?amount=21000`);
      const token = String(r.json?.verify).slice(-32);
      await w.server.close();
      const again = await startServer({ node: w.node, info: await w.node.checkedInfo(), config: w.config, nowMs: () => Date.now(), random: randomBytes, log: () => undefined });
      try {
        const v = await http(`${again.url}/lnurlp/shop/verify/${token}`);
        assert.equal(v.status, 200);
        assert.equal(v.json?.pr, r.json?.pr);
      } finally {
        await again.close();
      }
    }));

  test('expired tokens are not answered, and pruning removes them (and only them)', () =>
    withServe(async (w) => {
      const r = await http(`${w.base}/lnurlp/shop/callback?amount=21000`);
      assert.equal(r.status, 200);
      const old = 'e7'.repeat(16);
      const now = Math.floor(Date.now() / 1000);
      w.alice.datastore.datastore({ key: tokenKey(old), string: serializeEntry(newEntry('shop', 'c4'.repeat(32) as PaymentHash, 'lnbcrt1old', now - 100, now - 4_000, 60)), mode: 'must-create' });
      const expired = await http(`${w.base}/lnurlp/shop/verify/${old}`);
      assert.deepEqual([expired.status, expired.json], [200, { status: 'ERROR', reason: 'Not found' }]);
      assert.equal(tokensIn(w).length, 2);
      assert.deepEqual(await pruneTokens(w.node, now), { removed: 1, unreadable: 0 });
      assert.deepEqual(tokensIn(w), [`rdv/v1/serve/${String(r.json?.verify).slice(-32)}`]);
    }));

  test('LNURL errors, as HTTP 200 with status ERROR: an unknown name, an amount out of bounds or missing; an unknown path is a plain 404; the chain asked nothing', () =>
    withServe(async (w) => {
      const cases: Array<[string, number, RegExp]> = [
        ['/.well-known/lnurlp/nobody', 200, /^no such Lightning Address here: nobody$/],
        ['/lnurlp/nobody/callback?amount=21000', 200, /^no such Lightning Address here: nobody$/],
        ['/lnurlp/shop/callback?amount=999', 200, /^amount 999 msat is below the minimum of 1000 msat$/],
        ['/lnurlp/shop/callback?amount=1000000001', 200, /^amount 1000000001 msat is above the maximum of 1000000000 msat$/],
        ['/lnurlp/shop/callback', 200, /^amount is missing/],
        ['/lnurlp/shop/callback?amount=12.5', 200, /^amount must be a whole number of millisatoshis$/],
        ['/nothing/here', 404, /^not found$/],
      ];
      for (const [path, status, reason] of cases) {
        const r = await http(`${w.base}${path}`);
        assert.equal(r.status, status, path);
        assert.equal(r.json?.status, 'ERROR', path);
        assert.match(String(r.json?.reason), reason, path);
      }
      assert.equal(w.chain.calls.length, 0);
    }));

  test("a refusal anywhere in the chain reaches the wallet as the LNURL error's reason; no token is stored", () =>
    withServe(async (w) => {
      w.chain.answer = refuse('03c9b5ac: 2,000,000 sat is over policy 7a1b2c3d\'s maximum of 1,000,000 sat');
      const r = await http(`${w.base}/lnurlp/shop/callback?amount=900000000`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { status: 'ERROR', reason: "03c9b5ac: 2,000,000 sat is over policy 7a1b2c3d's maximum of 1,000,000 sat" });
      assert.equal(tokensIn(w).length, 0);
    }));

  const wrong: Array<[string, (w: ServeWorld) => (params: Record<string, unknown>) => Promise<unknown>, RegExp]> = [
    ['1 msat short', (w) => async (p) => w.chain.invoiceFor(p, { amountMsat: 108_689_999n }), /108689999 msat, not the 108690000 msat asked/],
    ['a description, not the metadata hash', (w) => async (p) => w.chain.invoiceFor(p, { descriptionHash: undefined }), /description hash is missing/],
    ['another description hash', (w) => async (p) => w.chain.invoiceFor(p, { descriptionHash: 'd5'.repeat(32) }), /not sha256 of the metadata/],
    ['about to expire', (w) => async (p) => w.chain.invoiceFor(p, { expirySeconds: 30 }), /too soon for a wallet to pay it/],
    ['another payment hash than reported', (w) => async (p) => ({ ...w.chain.invoiceFor(p), payment_hash: 'e6'.repeat(32) }), /rdv-request reported/],
    ['not an invoice', () => async () => ({ bolt11: 'lnbcrt1garbage', payment_hash: 'e6'.repeat(32), amount_msat: 108_690_000, expires_at: 2_000_000_000 }), /not a BOLT 11 invoice|not a valid/],
    ['an answer of the wrong shape', () => async () => ({ invoice: 'x' }), /unexpected shape/],
  ];
  for (const [what, answer, reason] of wrong) {
    test(`an invoice from the chain that a wallet would refuse is not handed out: ${what}`, () =>
      withServe(async (w) => {
        w.chain.answer = answer(w);
        const r = await http(`${w.base}/lnurlp/shop/callback?amount=108690000`);
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json?.status, 'ERROR');
        assert.match(String(r.json?.reason), reason);
        assert.equal(r.json?.pr, undefined);
        assert.equal(tokensIn(w).length, 0);
      }));
  }

  test('lightningd goes away: an LNURL error (HTTP 200, status ERROR), not a hang; when it is back, rdv serve reconnects', () =>
    withServe(async (w) => {
      await w.alice.crash();
      const down = await http(`${w.base}/lnurlp/shop/callback?amount=21000`);
      assert.equal(down.status, 200);
      assert.deepEqual(down.json, { status: 'ERROR', reason: 'the Lightning node is not reachable now: try again in a minute' });
      await w.alice.start();
      await eventually(async () => typeof (await http(`${w.base}/lnurlp/shop/callback?amount=21000`)).json?.pr === 'string', 'rdv serve answers again once lightningd is back');
    }));

  test('no relay policy behind an address (removed since the start): an LNURL error, and the log says which', () =>
    withServe(
      async (w) => {
        const r = await http(`${w.base}/.well-known/lnurlp/gone`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { status: 'ERROR', reason: 'gone takes no payments now' });
        assert.ok(w.logs.some((l) => /gone: no relay policy 77aa0c2b: see rdv policy list/.test(l)), w.logs.join('\n'));
      },
      { input: { address: [`shop=${POLICY_ID}`, 'gone=77aa0c2b'] } },
    ));
});
