/**
 * Probing a relay learns nothing (DESIGN rules 2 and 10): for hand-made final
 * HTLCs, Bob's rdv answers a relay hash exactly as his lightningd answers a
 * hash it has no invoice for. Both answers come from the same simulated node.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { HopPayload } from '../../src/simnet/onion.js';
import { buildChain, recordIn, relayRecord, type Chain } from '../helpers/chain.js';
import { failureOf, sendFinalHtlc } from '../helpers/raw-htlc.js';
import { withSimNet } from '../helpers/sim.js';

const UNKNOWN_HASH = 'cd'.repeat(32);

interface Probe {
  description: string;
  cltvExpiry?: number;
  payload: HopPayload;
}

/** Each probe twice from Alice to Bob, for the relay hash and for an unknown one: the differences. */
async function differences(net: SimNetwork, chain: Chain, probes: (good: () => HopPayload, h: number) => Probe[]): Promise<string[]> {
  const record = relayRecord(chain.bob, chain.hash);
  const amount = record.amountMsat;
  const h = net.height;
  const good = (): HopPayload => ({ forwardMsat: amount, outgoingCltv: h + 100, totalMsat: amount, paymentSecret: record.paymentSecret });
  const out: string[] = [];
  for (const c of probes(good, h)) {
    const send = (paymentHash: string): ReturnType<typeof sendFinalHtlc> =>
      sendFinalHtlc(net, chain.alice, chain.bob, { amountMsat: amount, cltvExpiry: c.cltvExpiry ?? h + 100, paymentHash, payload: c.payload });
    const [relay, unknown] = [failureOf(await send(chain.hash)), failureOf(await send(UNKNOWN_HASH))];
    assert.notEqual(unknown, '', `${c.description}: lightningd fails it`);
    if (relay !== unknown) out.push(`${c.description}: relay ${relay || 'resolved'}, unknown hash ${unknown}`);
  }
  return out;
}

describe('a relay hash answers bad parts like an unknown hash', () => {
  test('too few blocks, a wrong or missing secret, a short total: incorrect_or_unknown_payment_details for both', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const found = await differences(net, chain, (good, h) => [
        { description: 'fewer than cltv-final blocks left', cltvExpiry: h + 17, payload: { ...good(), outgoingCltv: h + 17 } },
        { description: 'fewer blocks than our min_final_cltv', cltvExpiry: h + 40, payload: { ...good(), outgoingCltv: h + 40 } },
        { description: 'wrong payment_secret', payload: { ...good(), paymentSecret: '11'.repeat(32) } },
        { description: 'no payment_secret', payload: { forwardMsat: good().forwardMsat, outgoingCltv: h + 100 } },
        { description: 'total below the invoice amount', payload: { ...good(), totalMsat: (good().totalMsat ?? 0n) - 1n } },
      ]);
      assert.deepEqual(found, []);
      assert.equal(relayRecord(chain.bob, chain.hash).state, 'open');
    });
  });

  test(
    "handle_localpay's own codes and an undecodable payload",
    async () => {
      await withSimNet(async (net) => {
        const chain = await buildChain(net);
        const found = await differences(net, chain, (good, h) => [
          { description: 'amt_to_forward above the HTLC amount', payload: { ...good(), forwardMsat: (good().forwardMsat ?? 0n) + 1n } },
          { description: 'outgoing_cltv_value above cltv_expiry', payload: { ...good(), outgoingCltv: h + 101 } },
          { description: 'no amt_to_forward (undecodable)', payload: { outgoingCltv: h + 100, totalMsat: good().totalMsat, paymentSecret: good().paymentSecret } },
          // Last: rdv takes this one as a whole payment and relays it.
          { description: 'payment_metadata present', payload: { ...good(), paymentMetadata: '0102' } },
        ]);
        assert.deepEqual(found, []);
      });
    },
  );

  test('after the relay settled, a new part for its hash is failed like an unknown hash (rule 10)', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      // A whole, good part from Alice: Bob relays it and settles.
      const first = await differences(net, chain, (good) => [{ description: 'a good part', payload: good() }]);
      assert.match(first.join(''), /a good part: relay resolved/);
      assert.equal((await recordIn(chain.bob, chain.hash, 'settled')).state, 'settled');
      const found = await differences(net, chain, (good) => [{ description: 'wrong payment_secret, after settling', payload: { ...good(), paymentSecret: '11'.repeat(32) } }]);
      assert.deepEqual(found, []);
    });
  });
});
