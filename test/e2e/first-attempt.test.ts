/**
 * Real CLN (regtest): relay Bob's first attempt onward goes by sendpay, over
 * one hop when Carol is his channel peer; when that channel cannot carry the
 * payment, lightningd fails the part and xpay pays through Dave. Carol is paid
 * once either way. Erin is two hops away: the part goes by sendpay over
 * askrene's route, with the shadow CLTV xpay would add.
 *
 *   payer --(2M)-- bob --(60k)-- carol
 *                   \--(2M)-- dave --(2M)--/
 *                                \--(2M)-- erin
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { poll } from '../../src/regtest/process.js';
import { e2eBinaries, rdvJson, regtestNetwork } from './lib.js';

const { skip } = e2eBinaries();

/** Carol invoices `amount`; Bob joins it (a delay budget with room for a route through Dave); the payer pays Bob. */
async function payThroughBob(payer: RegtestNode, bob: RegtestNode, carol: RegtestNode, amount: string): Promise<{ hash: PaymentHash; ok: boolean }> {
  const c = await rdvJson(carol, ['join', '--last', '--amount', amount]);
  const b = await rdvJson(bob, ['join', '--invoice', c.str('bolt11'), '--payout', '500sat', '--fee-budget', '1000sat', '--delay-budget', '120']);
  const paid = await payer.rpc.xpay({ invstring: b.str('bolt11'), maxfeeMsat: msat(1_000_000n), maxdelay: 2016, retryForSeconds: 60 });
  return { hash: c.str('payment_hash') as PaymentHash, ok: paid.ok };
}

/** Bob's outgoing parts for the hash: [partid, status]. */
async function parts(bob: RegtestNode, hash: PaymentHash): Promise<Array<[number, string]>> {
  const r = (await bob.rpc.rpc.call('listsendpays', { payment_hash: hash })) as { payments: Array<{ partid?: number; status: string }> };
  return r.payments.map((p) => [p.partid ?? 0, p.status]);
}

/**
 * The shadow CLTV Bob logged for the first attempt of `hash` over `hops` hops, after
 * checking that the payee received her invoice's final CLTV plus exactly that:
 * lightningd sends at its height + 1 + delay.
 */
async function shadowReceived(bob: RegtestNode, payee: RegtestNode, hash: PaymentHash, hops: number, height: number): Promise<number> {
  const sent = bob.rdvLog().find((l) => l.includes(`${hash.slice(0, 8)}: first attempt sent by sendpay: ${hops} hop(s)`));
  const shadow = Number(/\(shadow (\d+)\)/.exec(sent ?? '')?.[1]);
  assert.ok(Number.isSafeInteger(shadow), `Bob's log: ${sent}`);
  const invoice = (await payee.rpc.rpc.call('listinvoices', { payment_hash: hash })) as { invoices: Array<{ status: string; bolt11: string }> };
  assert.equal(invoice.invoices[0]?.status, 'paid');
  const decoded = (await payee.rpc.rpc.call('decode', { string: invoice.invoices[0]?.bolt11 })) as { min_final_cltv_expiry: number };
  const htlcs = (await payee.rpc.rpc.call('listhtlcs', {})) as { htlcs: Array<{ payment_hash: string; expiry: number; direction: string }> };
  const received = htlcs.htlcs.filter((h) => h.payment_hash === hash && h.direction === 'in');
  assert.deepEqual(
    received.map((h) => h.expiry),
    [height + 1 + decoded.min_final_cltv_expiry + shadow],
    `${payee.name} gets her final CLTV plus the shadow`,
  );
  return shadow;
}

describe('e2e: the first attempt onward by sendpay', () => {
  const { net, node, withLogs } = regtestNetwork({
    nodes: [{ name: 'payer', rdv: 'none' }, { name: 'bob' }, { name: 'carol' }, { name: 'dave', rdv: 'none' }, { name: 'erin' }],
    fund: { nodes: ['payer', 'bob', 'dave'], btc: 0.05, utxos: 2 },
    channels: [
      { from: 'payer', to: 'bob', amountSat: 2_000_000 },
      { from: 'bob', to: 'carol', amountSat: 60_000 },
      { from: 'bob', to: 'dave', amountSat: 2_000_000 },
      { from: 'dave', to: 'carol', amountSat: 2_000_000 },
      { from: 'dave', to: 'erin', amountSat: 2_000_000 },
    ],
    gossipTo: ['payer', 'bob'],
  });

  test('Carol is his channel peer: Bob pays her in one part sent by sendpay (partid 0), no xpay; she receives her final CLTV plus the shadow he logged', { skip, timeout: 120_000 }, async () => {
    await withLogs(async () => {
      const [payer, bob, carol] = [node('payer'), node('bob'), node('carol')];
      const height = (await bob.rpc.getinfo()).blockheight;
      const { hash, ok } = await payThroughBob(payer, bob, carol, '10000sat');
      assert.ok(ok, 'the payer was paid');
      assert.deepEqual(await parts(bob, hash), [[0, 'complete']]);
      assert.ok(bob.rdvLog().some((l) => l.includes(`${hash.slice(0, 8)}: first attempt sent by sendpay: 1 hop(s), fee 0 msat`)), 'Bob logged the first attempt');
      await shadowReceived(bob, carol, hash, 1, height);
      assert.ok(!bob.rdvLog().some((l) => l.includes(`${hash.slice(0, 8)}: xpay answered`)), 'xpay paid');
      void net;
    });
  });

  test("Bob's channel to Carol is too small: lightningd fails the first attempt, xpay pays through Dave, Carol is paid once", { skip, timeout: 120_000 }, async () => {
    await withLogs(async () => {
      const [payer, bob, carol] = [node('payer'), node('bob'), node('carol')];
      const { hash, ok } = await payThroughBob(payer, bob, carol, '100000sat');
      assert.ok(ok, 'the payer was paid');
      const log = bob.rdvLog().filter((l) => l.includes(hash.slice(0, 8)));
      assert.ok(log.some((l) => /sendpay refused|the first attempt failed/.test(l)), `Bob's log:\n${log.join('\n')}`);
      assert.ok(log.some((l) => l.includes('xpay answered')), 'xpay paid after it');
      // xpay answers at the first preimage; a second part of its payment may show pending a moment longer.
      const outgoing = await poll("Bob's parts, none pending", async () => {
        const now = await parts(bob, hash);
        return now.some(([, s]) => s === 'pending') ? undefined : now;
      }, 30_000);
      assert.ok(outgoing.some(([, s]) => s === 'complete'));
      assert.ok(!outgoing.some(([id, s]) => id === 0 && s === 'complete'), 'the direct part cannot have gone through');
      const invoice = (await carol.rpc.rpc.call('listinvoices', { payment_hash: hash })) as { invoices: Array<{ status: string; amount_received_msat?: number | bigint }> };
      assert.deepEqual(
        invoice.invoices.map((i) => [i.status, BigInt(i.amount_received_msat ?? 0)]),
        [['paid', 100_000_000n]],
      );
    });
  });

  test('Erin is two hops away: each of three payments goes by sendpay over Dave (partid 0), and Erin receives her final CLTV plus exactly the shadow Bob logged', { skip, timeout: 180_000 }, async () => {
    await withLogs(async () => {
      const [payer, bob, erin] = [node('payer'), node('bob'), node('erin')];
      const shadows: number[] = [];
      for (let i = 0; i < 3; i++) {
        const height = (await bob.rpc.getinfo()).blockheight;
        const { hash, ok } = await payThroughBob(payer, bob, erin, '10000sat');
        assert.ok(ok, 'the payer was paid');
        assert.deepEqual(await parts(bob, hash), [[0, 'complete']]);
        shadows.push(await shadowReceived(bob, erin, hash, 2, height));
      }
      console.log(`# shadow CLTV of the three payments: ${shadows.join(', ')} blocks`);
    });
  });
});
