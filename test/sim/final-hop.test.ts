/**
 * lightningd's own answers at a final hop, for HTLCs no plugin claims, in its
 * order: handle_localpay (lightningd/peer_htlcs.c) then htlc_set_add and
 * invoice_check_payment (lightningd/htlc_set.c, invoice.c); and a payload it
 * cannot decode, which still reaches htlc_accepted (without onion.type) and
 * is failed after the hook says continue (htlc_accepted_hook_final).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import type { HopPayload } from '../../src/simnet/onion.js';
import { withSimNet } from '../helpers/sim.js';
import { HOLD_PLUGIN } from '../helpers/paths.js';
import { failureOf, sendFinalHtlc, wire } from '../helpers/raw-htlc.js';

interface Invoice {
  bolt11: string;
  payment_hash: string;
  payment_secret: string;
}

const UNKNOWN_HASH = 'ab'.repeat(32);
const AMOUNT = 10_007n;

/** payer -> carol; carol loads the hold plugin (it answers `continue`) so every call reaches htlc_accepted. */
async function payerAndCarol(net: SimNetwork, invoiceParams: Record<string, unknown> = {}): Promise<{ payer: SimNode; carol: SimNode; inv: Invoice; hooks: Array<Record<string, unknown>> }> {
  const payer = await net.addNode('payer');
  const carol = await net.addNode('carol', { plugin: true, pluginPath: HOLD_PLUGIN, guard: false, important: false });
  net.openChannel(payer, carol, 1_000_000n);
  const c = await RpcClient.connect(carol.socketPath);
  const inv = (await c.call('invoice', { amount_msat: Number(AMOUNT), label: 'final', description: 'final', ...invoiceParams })) as Invoice;
  c.close();
  const hooks: Array<Record<string, unknown>> = [];
  const original = carol.hookParams.bind(carol);
  carol.hookParams = (h) => {
    const p = original(h);
    hooks.push(p);
    return p;
  };
  return { payer, carol, inv, hooks };
}

describe("lightningd's checks at a final hop, in handle_localpay's order", () => {
  test('each bad field gets its own code; an HTLC with several gets the first check\'s', async () => {
    await withSimNet(async (net) => {
      const { payer, carol, inv } = await payerAndCarol(net);
      const h = net.height;
      const good = (): HopPayload => ({ forwardMsat: AMOUNT, outgoingCltv: h + 40, totalMsat: AMOUNT, paymentSecret: inv.payment_secret });
      const cases: Array<{ description: string; amountMsat?: bigint; cltvExpiry?: number; hash?: string; payload: HopPayload; expected: string }> = [
        { description: 'amt_to_forward above the HTLC amount', payload: { ...good(), forwardMsat: AMOUNT + 1n }, expected: wire.finalIncorrectHtlcAmount(AMOUNT) },
        { description: 'outgoing_cltv_value above cltv_expiry', payload: { ...good(), outgoingCltv: h + 41 }, expected: wire.finalIncorrectCltvExpiry(h + 40) },
        { description: 'both: the amount is checked first', payload: { ...good(), forwardMsat: AMOUNT + 1n, outgoingCltv: h + 41 }, expected: wire.finalIncorrectHtlcAmount(AMOUNT) },
        { description: 'fewer than cltv-final (18) blocks left', cltvExpiry: h + 17, payload: { ...good(), outgoingCltv: h + 17 }, expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'payment_metadata present', payload: { ...good(), paymentMetadata: '0102' }, expected: wire.invalidOnionPayload(16, 0) },
        { description: 'cltv before metadata', cltvExpiry: h + 17, payload: { ...good(), outgoingCltv: h + 17, paymentMetadata: '0102' }, expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'unknown hash', hash: UNKNOWN_HASH, payload: good(), expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'unknown hash, bad amount: handle_localpay comes before the invoice', hash: UNKNOWN_HASH, payload: { ...good(), forwardMsat: AMOUNT + 1n }, expected: wire.finalIncorrectHtlcAmount(AMOUNT) },
        { description: 'wrong payment_secret', payload: { ...good(), paymentSecret: '11'.repeat(32) }, expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'no payment_secret', payload: { forwardMsat: AMOUNT, outgoingCltv: h + 40 }, expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'total below the invoice amount', payload: { ...good(), totalMsat: AMOUNT - 1n }, expected: wire.incorrectOrUnknownPaymentDetails(AMOUNT, h) },
        { description: 'total above twice the invoice amount', amountMsat: 2n * AMOUNT + 1n, payload: { ...good(), forwardMsat: 2n * AMOUNT + 1n, totalMsat: 2n * AMOUNT + 1n }, expected: wire.incorrectOrUnknownPaymentDetails(2n * AMOUNT + 1n, h) },
      ];
      for (const c of cases) {
        const o = await sendFinalHtlc(net, payer, carol, { amountMsat: c.amountMsat ?? AMOUNT, cltvExpiry: c.cltvExpiry ?? h + 40, paymentHash: c.hash ?? inv.payment_hash, payload: c.payload });
        assert.equal(failureOf(o), c.expected, c.description);
      }
      assert.equal(carol.invoices.byHash(inv.payment_hash)?.status, 'unpaid');
      const ok = await sendFinalHtlc(net, payer, carol, { amountMsat: AMOUNT, paymentHash: inv.payment_hash, payload: good() });
      assert.equal(ok.ok, true, 'the good one settles');
    });
  });

  test("the invoice's own min_final_cltv is not checked, only cltv-final", async () => {
    await withSimNet(async (net) => {
      const { payer, carol, inv } = await payerAndCarol(net, { cltv: 78 });
      const h = net.height;
      const o = await sendFinalHtlc(net, payer, carol, { amountMsat: AMOUNT, cltvExpiry: h + 20, paymentHash: inv.payment_hash, payload: { forwardMsat: AMOUNT, outgoingCltv: h + 20, totalMsat: AMOUNT, paymentSecret: inv.payment_secret } });
      assert.equal(o.ok, true, '20 blocks left, the invoice asked for 78: lightningd accepts it');
    });
  });

  test('a part whose total_msat differs from the set\'s fails the whole set with final_incorrect_htlc_amount', async () => {
    await withSimNet(async (net) => {
      const { payer, carol, inv } = await payerAndCarol(net);
      const h = net.height;
      const part = (amountMsat: bigint, totalMsat: bigint): ReturnType<typeof sendFinalHtlc> =>
        sendFinalHtlc(net, payer, carol, { amountMsat, paymentHash: inv.payment_hash, payload: { forwardMsat: amountMsat, outgoingCltv: h + 40, totalMsat, paymentSecret: inv.payment_secret } });
      const first = part(4_001n, AMOUNT);
      const second = part(3_001n, AMOUNT + 5n);
      assert.deepEqual((await Promise.all([first, second])).map(failureOf), [wire.finalIncorrectHtlcAmount(3_001n), wire.finalIncorrectHtlcAmount(3_001n)]);
    });
  });
});

describe('payloads in the htlc_accepted hook', () => {
  test('a payload lightningd cannot decode reaches the hook without onion.type and forward_msat, then fails with invalid_onion_payload', async () => {
    await withSimNet(async (net) => {
      const { payer, carol, inv, hooks } = await payerAndCarol(net);
      const h = net.height;
      // No amt_to_forward (type 2). A 32-byte zero secret and a 2-byte total make the payload 40 bytes with its
      // length prefix; tlv_field_offset then finds no type 2 and returns that length as the offset.
      const o = await sendFinalHtlc(net, payer, carol, { amountMsat: AMOUNT, paymentHash: inv.payment_hash, payload: { outgoingCltv: h + 40, totalMsat: AMOUNT, paymentSecret: '00'.repeat(32) } });
      assert.equal(failureOf(o), wire.invalidOnionPayload(2, 40));
      const [call] = hooks;
      assert.ok(call);
      assert.deepEqual(Object.keys(call.onion as object), ['payload', 'next_onion', 'shared_secret']);
      assert.equal((call.onion as { payload: string }).payload.length, 80);
      assert.deepEqual(Object.keys(call), ['peer_id', 'onion', 'htlc']);
    });
  });

  test('payment_metadata is passed to the hook (then lightningd rejects it)', async () => {
    await withSimNet(async (net) => {
      const { payer, carol, inv, hooks } = await payerAndCarol(net);
      const h = net.height;
      const o = await sendFinalHtlc(net, payer, carol, { amountMsat: AMOUNT, paymentHash: inv.payment_hash, payload: { forwardMsat: AMOUNT, outgoingCltv: h + 40, totalMsat: AMOUNT, paymentSecret: inv.payment_secret, paymentMetadata: 'c0ffee' } });
      assert.equal(failureOf(o), wire.invalidOnionPayload(16, 0));
      const onion = hooks[0]?.onion as Record<string, unknown>;
      assert.deepEqual(
        [onion.type, onion.forward_msat, onion.total_msat, onion.payment_secret, onion.payment_metadata],
        ['tlv', AMOUNT, AMOUNT, inv.payment_secret, 'c0ffee'],
      );
      assert.match(String(onion.payload), /1003c0ffee$/, 'TLV 16, 3 bytes, last in the payload');
    });
  });
});
