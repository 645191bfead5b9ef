/**
 * The lnproxy-shaped wrap endpoint on a simulated network where Alice runs the
 * real rdv plugin: Carol's invoice in, Alice's same-hash invoice out (joined by
 * Alice's --wrap policy in her plugin's rdv-wrap, with rdv join's code and the
 * policy's one gate), shaped as
 * lnproxy's clients check it (same hash and description, amount exactly the
 * original plus routing_msat); then the payer pays the wrapped invoice and
 * Carol is paid through Alice.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { decodeBolt11, resignInvoice, type Invoice } from '../../src/chain/bolt11.js';
import { relayKey } from '../../src/chain/record.js';
import { LightningNode } from '../../src/rpc/node.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';
import type { SimNode } from '../../src/simnet/node.js';
import { relayRecord } from '../helpers/chain.js';
import { eventually } from '../helpers/sim.js';
import { http, withServe, type ServeOptions, type ServeWorld } from '../helpers/serve.js';

const WRAP = '77aa0c2b';
const CAROL = nodeKeyFromSeed('carol').id;

function decoded(bolt11: string): Invoice {
  const d = decodeBolt11(bolt11);
  assert.ok(d.ok, d.ok ? '' : d.error);
  return d.ok ? d.value : (undefined as never);
}

async function carolInvoice(w: ServeWorld, amountSat: bigint, description = 'carol: order 42'): Promise<string> {
  const carol = await LightningNode.connect(w.net.node('carol').socketPath);
  try {
    return (await carol.invoice({ amountMsat: msat(amountSat * 1000n), label: `c-${amountSat}-${description.length}`, description })).bolt11;
  } finally {
    carol.close();
  }
}

async function pay(node: SimNode, bolt11: string): Promise<void> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    const r = await client.xpay({ invstring: bolt11, maxfeeMsat: msat(10_000_000n), maxdelay: 2016, retryForSeconds: 5 });
    assert.ok(r.ok, r.ok ? '' : r.message);
  } finally {
    client.close();
  }
}

const WRAP_POLICY = { id: WRAP, from: CAROL, payout: '1000sat', feeBudget: '1%', delayBudget: '60' };
const serveWrap: ServeOptions = { input: { address: [], wrap: WRAP }, plugin: true, policies: [WRAP_POLICY], setup: async (net: ServeWorld['net'], alice: SimNode) => {
  const payer = await net.addNode('payer');
  const carol = await net.addNode('carol');
  net.openChannel(payer, alice, 2_000_000n);
  net.openChannel(alice, carol, 2_000_000n);
} };

describe('rdv serve --wrap: an lnproxy relay that is an rdv relay', () => {
  test('POST /spec with routing_msat: the proxy invoice keeps hash and description, is exactly original + routing_msat, and paying it pays Carol', () =>
    withServe(async (w) => {
      const original = await carolInvoice(w, 100_000n);
      const r = await http(`${w.base}/spec`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ invoice: original, routing_msat: '1005000' }) });
      assert.equal(r.status, 200, r.body);
      const proxy = decoded(String(r.json?.proxy_invoice));
      const orig = decoded(original);
      // What lnproxy-client's ValidateProxyInvoice checks.
      assert.equal(proxy.paymentHash, orig.paymentHash);
      assert.equal(proxy.description, 'carol: order 42');
      assert.equal(proxy.descriptionHash, undefined);
      assert.equal(proxy.amountMsat, 100_000_000n + 1_005_000n);
      assert.equal(proxy.payee, w.alice.id);
      assert.equal(proxy.minFinalCltv, orig.minFinalCltv + 60);
      const rec = relayRecord(w.alice, orig.paymentHash);
      assert.equal(rec.policy, WRAP);
      assert.equal(rec.payoutMsat, 1_000_000n);
      assert.equal(rec.feeBudgetMsat, 5_000n);
      assert.deepEqual(
        w.alice.server.calls.filter((c) => c.method === 'rdv-wrap').map((c) => [c.params.invoice, c.params.policy, c.params.routing_msat]),
        [[original, WRAP, 1_005_000]],
        'joined by the plugin (rdv-wrap), which holds the record from then on',
      );
      await pay(w.net.node('payer'), String(r.json?.proxy_invoice));
      await eventually(() => relayRecord(w.alice, orig.paymentHash).state === 'settled', "Alice's relay settles");
    }, serveWrap));

  test("GET /api/<invoice> (lnproxy's older form) answers the proxy invoice as text; without routing_msat the policy's shares apply", () =>
    withServe(async (w) => {
      const original = await carolInvoice(w, 50_000n);
      const r = await http(`${w.base}/api/${original}`);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      // 50,000 sat + 1,000 sat payout + 1% fee budget.
      assert.equal(decoded(r.body).amountMsat, 50_000_000n + 1_000_000n + 500_000n);
    }, serveWrap));

  test('a description hash asked for replaces the original description', () =>
    withServe(async (w) => {
      const original = await carolInvoice(w, 30_000n);
      const h = 'ab'.repeat(32);
      const r = await http(`${w.base}/spec`, { method: 'POST', body: JSON.stringify({ invoice: original, routing_msat: '1000001', description_hash: h }) });
      assert.equal(r.status, 200, r.body);
      const proxy = decoded(String(r.json?.proxy_invoice));
      assert.equal(proxy.descriptionHash, h);
      assert.equal(proxy.description, undefined);
    }, serveWrap));

  test("refusals in lnproxy's {status, reason} form, HTTP 200 as lnproxy answers them: a bad invoice, a routing_msat short of the payout, the same invoice twice; nothing stored for them", () =>
    withServe(async (w) => {
      const original = await carolInvoice(w, 20_000n);
      const post = (body: unknown): Promise<Awaited<ReturnType<typeof http>>> => http(`${w.base}/spec`, { method: 'POST', body: JSON.stringify(body) });
      const cases: Array<[unknown, RegExp]> = [
        [{ invoice: 'lnbcrt1notaninvoice' }, /not a (valid )?BOLT 11 invoice/],
        [{ invoice: 'not an invoice at all' }, /^Invalid invoice$/],
        [{ invoice: original, routing_msat: '999999' }, /routing_msat 999999 does not cover this relay's fee of 1,000 sat for 20,000 sat/],
        [{ invoice: original, routing_msat: 5 }, /routing_msat 5 does not cover/],
        [{ routing_msat: '5' }, /^Body needs an invoice field$/],
      ];
      for (const [body, reason] of cases) {
        const r = await post(body);
        assert.equal(r.status, 200, JSON.stringify(body));
        assert.equal(r.json?.status, 'ERROR');
        assert.match(String(r.json?.reason), reason);
      }
      assert.equal(w.alice.datastore.get(relayKey(decoded(original).paymentHash)), undefined);
      assert.equal((await post({ invoice: original, routing_msat: '1005000' })).status, 200);
      const again = await post({ invoice: original, routing_msat: '1005000' });
      assert.equal(again.status, 200);
      assert.equal(again.json?.status, 'ERROR');
      assert.match(String(again.json?.reason), /already has a record or invoice for payment hash/);
    }, serveWrap));

  test("a wrap answered too late still counts against the policy's --max-open (the plugin's one gate): its relay record exists", () =>
    withServe(
      async (w) => {
        let release = (): void => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let signing = 0;
        w.alice.overrides.set('signinvoice', async (p) => {
          signing++;
          await gate;
          return { bolt11: resignInvoice(String(p.invstring), w.alice.privateKey) };
        });
        const first = await carolInvoice(w, 40_000n);
        const late = await http(`${w.base}/spec`, { method: 'POST', body: JSON.stringify({ invoice: first, routing_msat: '1005000' }) });
        assert.equal(late.status, 200);
        assert.deepEqual(late.json, { status: 'ERROR', reason: 'the wrap took too long: try again' });
        await eventually(() => signing === 1, 'the late wrap reaches signinvoice, and is held there');
        release();
        await eventually(() => w.alice.datastore.get(relayKey(decoded(first).paymentHash)) !== undefined, 'the late wrap is stored');
        await eventually(() => w.server.app.chains.inUse === 0, 'its slot is freed');
        const second = await http(`${w.base}/spec`, { method: 'POST', body: JSON.stringify({ invoice: await carolInvoice(w, 41_000n), routing_msat: '1005000' }) });
        assert.equal(second.status, 200);
        assert.equal(second.json?.status, 'ERROR');
        assert.match(String(second.json?.reason), new RegExp(`^policy ${WRAP}: 1 relays it joined are open and unpaid, its limit \\(--max-open 1\\)`));
        assert.equal(signing, 1, 'the second was refused before anything was signed');
      },
      { ...serveWrap, policies: [{ ...WRAP_POLICY, maxOpen: '1' }], limits: { answerWithinMs: 300 } },
    ));

  test('without --wrap the endpoints do not exist', () =>
    withServe(async (w) => {
      assert.equal((await http(`${w.base}/spec`, { method: 'POST', body: '{}' })).status, 404);
      assert.equal((await http(`${w.base}/api/lnbcrt1abc`)).status, 404);
    }));
});

