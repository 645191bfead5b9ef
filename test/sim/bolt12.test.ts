/**
 * The simulated lightningd's BOLT 12 (src/simnet/node/offers.ts, payer.ts):
 * an offer on Carol, Bob's fetchinvoice for an exact amount, `decode` read by
 * rdv's own bolt12.ts, xpay through the invoice's blinded path, and what
 * listsendpays and listinvoices say afterwards, in CLN's shapes
 * (test/fixtures/bolt12/). Also the errors fetchinvoice gives.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { bolt12PathCosts, checkBolt12Downstream, readBolt12Invoice, readBolt12Offer } from '../../src/chain/bolt12.js';
import { RpcClient } from '../../src/rpc/client.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { bolt12Fixture } from '../helpers/paths.js';
import { rpcError, withSimNet } from '../helpers/sim.js';

interface Offer {
  offer_id: string;
  bolt12: string;
}
interface Fetched {
  invoice: string;
}
interface Payments {
  payments: Array<Record<string, unknown>>;
}
interface Invoices {
  invoices: Array<Record<string, unknown>>;
}

const D = 100_000_123n;

/**
 * alice -> bob -> carol (announced) and bob -> dave (unannounced, so dave's
 * invoices carry a blinded path from bob). Bob charges 1234 msat + 567 ppm and
 * a CLTV delta of 41, as in the real capture (test/fixtures/bolt12/README.md).
 */
async function shop(net: SimNetwork): Promise<{ alice: SimNode; bob: SimNode; carol: SimNode; dave: SimNode; b: RpcClient; a: RpcClient; c: RpcClient; d: RpcClient }> {
  const alice = await net.addNode('alice');
  const bob = await net.addNode('bob');
  const carol = await net.addNode('carol');
  const dave = await net.addNode('dave');
  const bobPolicy = { feeBaseMsat: 1234n, feePpm: 567n, cltvDelta: 41 };
  net.openChannel(alice, bob, 2_000_000n, { policyB: bobPolicy });
  net.openChannel(bob, carol, 1_000_000n, { policyA: bobPolicy });
  net.openChannel(bob, dave, 1_000_000n, { private: true, policyA: bobPolicy });
  const clients = await Promise.all([bob, alice, carol, dave].map((n) => RpcClient.connect(n.socketPath)));
  const [b, a, c, d] = clients as [RpcClient, RpcClient, RpcClient, RpcClient];
  return { alice, bob, carol, dave, b, a, c, d };
}

function close(...clients: RpcClient[]): void {
  for (const c of clients) c.close();
}

describe('BOLT 12 in the simulator', () => {
  test("Bob fetches an invoice for exactly D from Carol's offer, rdv reads it through decode, xpay pays it, and Carol's listinvoices says paid", async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      try {
        const offer = (await s.c.call('offer', { amount: 'any', description: 'coffee beans', label: 'beans' })) as Offer;
        // The keys of the real reply (rpc-offer-any.json), in its order.
        assert.deepEqual(Object.keys(offer), Object.keys(bolt12Fixture('rpc-offer-any.json') as object));
        assert.match(offer.bolt12, /^lno1/);
        const readOffer = readBolt12Offer(await s.b.call('decode', { string: offer.bolt12 }), offer.bolt12);
        assert.ok(readOffer.ok, readOffer.ok ? '' : readOffer.error);
        assert.deepEqual([readOffer.value.offerId, readOffer.value.issuerId, readOffer.value.amountMsat, readOffer.value.description], [offer.offer_id, s.carol.id, undefined, 'coffee beans']);

        const fetched = (await s.b.call('fetchinvoice', { offer: offer.bolt12, amount_msat: D })) as Fetched;
        assert.match(fetched.invoice, /^lni1/);
        const inv = readBolt12Invoice(await s.b.call('decode', { string: fetched.invoice }), fetched.invoice);
        assert.ok(inv.ok, inv.ok ? '' : inv.error);
        const now = Math.floor(Date.now() / 1000);
        assert.equal(
          checkBolt12Downstream(inv.value, { offer: readOffer.value, wantMsat: msat(D), network: 'regtest', ourNodeId: s.bob.id, now, expiryMarginSeconds: 600, hashInUse: false }),
          undefined,
        );
        // Carol is public: the stub path that starts at her, no fee, her cltv-final (18).
        assert.deepEqual(
          inv.value.paths.map((p) => [p.introduction, p.payinfo.feeBaseMsat, p.payinfo.feePpm, p.payinfo.cltvExpiryDelta]),
          [[{ kind: 'node', nodeId: s.carol.id }, 0n, 0, 18]],
        );

        const paid = (await s.b.call('xpay', { invstring: fetched.invoice })) as { payment_preimage: string; amount_msat: bigint; amount_sent_msat: bigint };
        assert.equal(BigInt(paid.amount_msat), D);
        // Bob -> Carol is Bob's own channel: no fee.
        assert.equal(BigInt(paid.amount_sent_msat), D);
        const sent = ((await s.b.call('listsendpays', { payment_hash: inv.value.paymentHash })) as Payments).payments;
        assert.deepEqual(
          sent.map((p) => [p.status, p.bolt12, 'bolt11' in p, p.destination, BigInt(p.amount_msat as bigint)]),
          [['complete', fetched.invoice, false, s.carol.id, D]],
        );
        const theirs = ((await s.c.call('listinvoices', { payment_hash: inv.value.paymentHash })) as Invoices).invoices;
        assert.deepEqual(
          theirs.map((i) => [i.status, i.bolt12, i.local_offer_id, 'bolt11' in i, BigInt(i.amount_received_msat as bigint), i.payment_preimage]),
          [['paid', fetched.invoice, offer.offer_id, false, D, paid.payment_preimage]],
        );
        // The keys of the real replies, in their order (rpc-listsendpays-public.json, rpc-listinvoices-public-paid.json).
        const keysOf = (name: string, list: string): string[] => Object.keys(((bolt12Fixture(name) as Record<string, Array<object>>)[list] ?? [])[0] ?? {});
        assert.deepEqual(Object.keys(sent[0] ?? {}), keysOf('rpc-listsendpays-public.json', 'payments'));
        assert.deepEqual(Object.keys(theirs[0] ?? {}), keysOf('rpc-listinvoices-public-paid.json', 'invoices'));
        assert.equal(theirs[0]?.label, `${offer.offer_id}-${inv.value.payerId}-0`);
      } finally {
        close(s.a, s.b, s.c, s.d);
      }
    });
  });

  test("an unannounced issuer's invoice has a path from its peer: Alice pays the payinfo's fee to Bob, the introduction node, and Dave gets exactly D", async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      try {
        const offer = (await s.d.call('offer', { amount: 'any', description: 'unannounced' })) as Offer;
        const fetched = (await s.a.call('fetchinvoice', { offer: offer.bolt12, amount_msat: 7_654_321 })) as Fetched;
        const inv = readBolt12Invoice(await s.a.call('decode', { string: fetched.invoice }), fetched.invoice);
        assert.ok(inv.ok, inv.ok ? '' : inv.error);
        const [path] = inv.value.paths;
        assert.deepEqual(path && [path.introduction, path.payinfo.feeBaseMsat, path.payinfo.feePpm, path.payinfo.cltvExpiryDelta], [{ kind: 'node', nodeId: s.bob.id }, 1234n, 567, 41 + 18]);
        const costs = bolt12PathCosts(inv.value, msat(7_654_321n));
        assert.ok(costs.ok);
        // 1234 + floor(7,654,321 * 567 / 1e6) = 1234 + floor(4340.000007) = 5574 (a ceiling would say 5575).
        assert.equal(costs.value.minFeeMsat, 5_574n);

        const paid = (await s.a.call('xpay', { invstring: fetched.invoice })) as { amount_sent_msat: bigint };
        // Alice's own channel to Bob is free; Bob, the introduction node, takes the path's fee.
        assert.equal(BigInt(paid.amount_sent_msat), 7_654_321n + 5_574n);
        const theirs = ((await s.d.call('listinvoices', { payment_hash: inv.value.paymentHash })) as Invoices).invoices;
        assert.deepEqual(theirs.map((i) => [i.status, BigInt(i.amount_received_msat as bigint)]), [['paid', 7_654_321n]]);
      } finally {
        close(s.a, s.b, s.c, s.d);
      }
    });
  });

  test('fetchinvoice errors: no amount for an any-amount offer, less than a fixed amount, a disabled offer, an expired offer, an issuer no peer leads to', async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      const zed = await net.addNode('zed');
      const z = await RpcClient.connect(zed.socketPath);
      try {
        const any = (await s.c.call('offer', { amount: 'any', description: 'any' })) as Offer;
        assert.equal((await rpcError(s.b.call('fetchinvoice', { offer: any.bolt12 }))).code, -32602);
        const fixed = (await s.c.call('offer', { amount: '250000msat', description: 'fixed' })) as Offer;
        const less = await rpcError(s.b.call('fetchinvoice', { offer: fixed.bolt12, amount_msat: 1000 }));
        assert.equal(less.code, 1004);
        const gone = (await s.c.call('offer', { amount: 'any', description: 'gone' })) as Offer;
        const disabled = (await s.c.call('disableoffer', { offer_id: gone.offer_id })) as Record<string, unknown>;
        assert.deepEqual([disabled.active, Object.keys(disabled)], [false, Object.keys(bolt12Fixture('rpc-disableoffer.json') as object).filter((k) => k !== 'label')]);
        assert.equal((await rpcError(s.b.call('fetchinvoice', { offer: gone.bolt12, amount_msat: 1_000_000 }))).code, 1004);
        const old = (await s.c.call('offer', { amount: 'any', description: 'old', absolute_expiry: Math.floor(Date.now() / 1000) - 1 })) as Offer;
        assert.equal((await rpcError(s.b.call('fetchinvoice', { offer: old.bolt12, amount_msat: 1_000_000 }))).code, 1002);
        const lonely = (await z.call('offer', { amount: 'any', description: 'lonely' })) as Offer;
        assert.equal((await rpcError(s.b.call('fetchinvoice', { offer: lonely.bolt12, amount_msat: 1_000_000 }))).code, 1003);
      } finally {
        close(s.a, s.b, s.c, s.d, z);
      }
    });
  });

  test('a changed character in the signature: decode refuses it as CLN does (no valid: false), and so does xpay', async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      try {
        const offer = (await s.c.call('offer', { amount: 'any', description: 'x' })) as Offer;
        const { invoice } = (await s.b.call('fetchinvoice', { offer: offer.bolt12, amount_msat: D })) as Fetched;
        const at = invoice.length - 3;
        const tampered = `${invoice.slice(0, at)}${invoice[at] === 'q' ? 'p' : 'q'}${invoice.slice(at + 1)}`;
        const refused = await rpcError(s.b.call('decode', { string: tampered }));
        assert.equal(refused.code, -32602);
        assert.match(refused.message, /^string: Invalid signature: invalid token/);
        assert.equal((await rpcError(s.b.call('xpay', { invstring: tampered }))).code, -32602);
      } finally {
        close(s.a, s.b, s.c, s.d);
      }
    });
  });

  test("Bob pays Dave's invoice as the path's introduction node: the fee counts against maxfee and the delta against maxdelay, but only the amount is sent", async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      try {
        const offer = (await s.d.call('offer', { amount: 'any', description: 'from bob' })) as Offer;
        const fetch = async (amount: number): Promise<string> => ((await s.b.call('fetchinvoice', { offer: offer.bolt12, amount_msat: amount })) as Fetched).invoice;
        // 1234 + floor(2,109,876 * 567 / 1e6) = 2430, as on real CLN (rpc-xpay-intro-self-maxfee-below-path-fee.json).
        assert.deepEqual(await rpcError(s.b.call('xpay', { invstring: await fetch(2_109_876), maxfee: 2_429, retry_for: 1 })), { code: 206, message: 'Failed: Could not find route without excessive cost' });
        assert.deepEqual(await rpcError(s.b.call('xpay', { invstring: await fetch(1_098_765), maxdelay: 41 + 18 - 1, retry_for: 1 })), { code: 206, message: 'Failed: Could not find route without excessive delays' });
        const held: Array<{ to: string; amountMsat: bigint; cltvExpiry: number }> = [];
        const send = net.sendHtlc.bind(net);
        net.sendHtlc = (from, channel, amountMsat, cltvExpiry, hash, onion, options) => {
          held.push({ to: channel.other(from).name, amountMsat, cltvExpiry });
          return send(from, channel, amountMsat, cltvExpiry, hash, onion, options);
        };
        const invoice = await fetch(54_321_987);
        const paid = (await s.b.call('xpay', { invstring: invoice, maxfee: 32_034, maxdelay: 41 + 18 })) as { amount_msat: bigint; amount_sent_msat: bigint };
        assert.deepEqual([BigInt(paid.amount_msat), BigInt(paid.amount_sent_msat)], [54_321_987n, 54_321_987n]);
        // As real: Dave's HTLC carries the amount and height + 1 + the payinfo's whole delta (hook-htlc_accepted-bolt12-dave.json).
        assert.deepEqual(held, [{ to: 'dave', amountMsat: 54_321_987n, cltvExpiry: net.height + 1 + 41 + 18 }]);
      } finally {
        close(s.a, s.b, s.c, s.d);
      }
    });
  });

  test("htlc_accepted at both ends of Dave's path has the real hook's fields: next_node_id at Bob, a payment_secret and the path key at Dave", async () => {
    await withSimNet(async (net) => {
      const s = await shop(net);
      try {
        const offer = (await s.d.call('offer', { amount: 'any', description: 'hooks' })) as Offer;
        const { invoice } = (await s.a.call('fetchinvoice', { offer: offer.bolt12, amount_msat: 7_654_321 })) as Fetched;
        // The params lightningd would give the hook, as each HTLC arrives.
        const seen = new Map<string, Record<string, unknown>>();
        for (const n of [s.bob, s.dave]) {
          const accept = n.acceptHtlc.bind(n);
          n.acceptHtlc = (h) => {
            seen.set(n.name, n.hookParams(h));
            return accept(h);
          };
        }
        await s.a.call('xpay', { invstring: invoice });
        const real = (name: string): Record<string, unknown> => ((bolt12Fixture(name) as Array<{ params: Record<string, unknown> }>)[0] as { params: Record<string, unknown> }).params;
        const shape = (p: Record<string, unknown> | undefined): unknown => p && [Object.keys(p).sort(), Object.keys(p.onion as object).sort(), Object.keys(p.htlc as object).sort()];
        assert.deepEqual(shape(seen.get('bob')), shape(real('hook-htlc_accepted-bolt12-bob.json')));
        assert.deepEqual(shape(seen.get('dave')), shape(real('hook-htlc_accepted-bolt12-dave.json')));
        const bob = seen.get('bob') as { onion: Record<string, unknown>; htlc: { cltv_expiry: number; amount_msat: bigint } };
        assert.deepEqual([bob.onion.next_node_id, bob.onion.forward_msat, bob.onion.outgoing_cltv_value, BigInt(bob.htlc.amount_msat)], [s.dave.id, 7_654_321n, bob.htlc.cltv_expiry - 41, 7_654_321n + 5_574n]);
      } finally {
        close(s.a, s.b, s.c, s.d);
      }
    });
  });
});
