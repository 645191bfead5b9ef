/**
 * Real CLN (regtest): any wallet pays an on-demand chain. Alice, Bob and Carol
 * each ran `rdv policy add` once (the README's marketplace); Alice runs `rdv
 * serve` as its own process. Per payment nobody types anything: a real LNURL
 * client library from npm (lnurl-pay) follows the shop's LNURL to rdv serve,
 * reads the pay parameters, asks for an invoice of an amount it chooses, checks
 * it as a wallet does (amount, description hash), and the payer's node pays it
 * with xpay. Then Carol's invoice is paid, Alice and Bob kept what their
 * policies say (their records and lightningd's books agree), the payer's
 * preimage is its proof, and LUD-21 verify says settled with that preimage.
 * Also lnproxy's POST /spec, wrapping a real invoice of Carol's.
 *
 *   payer --(1M)-- alice --(2M)-- bob --(2M)-- carol
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { requestInvoiceWithServiceParams, requestPayServiceParams, utils } from 'lnurl-pay';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { Reader } from '../../src/chain/read.js';
import { poll } from '../../src/regtest/process.js';
import { encodeLnurl } from '../helpers/lnurl.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { assertChainPaid, bookedFor, e2eBinaries, marketplaceNetwork, noHtlcsLeft, rdvJson, sha256hex } from './lib.js';

const { bins, skip } = e2eBinaries();

type Sats = Parameters<typeof requestInvoiceWithServiceParams>[0]['tokens'];

describe('e2e: rdv serve on the first payee, a wallet-side LNURL client, real CLN', () => {
  let serve: ServeProcess | undefined;
  const { net, node, withLogs, policies } = marketplaceNetwork({
    // Alice wraps invoices of Carol's node too, routing through Bob: she must know that channel.
    gossipTo: ['alice'],
    tearDown: async () => {
      if (serve) assert.equal(await serve.stop(), 0, 'rdv serve stops cleanly on SIGTERM');
    },
  });
  let alicePolicy = '';
  let bobPolicy = '';
  let carolPolicy = '';
  let wrapPolicy = '';

  before(async () => {
    if (!bins) return;
    ({ alicePolicy, bobPolicy, carolPolicy } = policies());
    const [alice, carol] = [node('alice'), node('carol')];
    wrapPolicy = (await rdvJson(alice, ['policy', 'add', '--from', carol.id, '--payout', '1000sat', '--fee-budget', '1%', '--delay-budget', '80', '--note', 'lnproxy wraps'])).str('id');
    // What the shop runs next to Alice's node, once; its wallets see up to 1,500,000 sat (more than Carol takes: a refusal is tested below).
    serve = await startServeProcess(alice, [
      '--address', `shop=${alicePolicy}`,
      '--wrap', wrapPolicy,
      '--public-url', 'http://127.0.0.1:0',
      '--listen', '127.0.0.1:0',
      '--description', 'A coffee grinder from the corner shop',
      '--max-sendable', '1500000sat',
    ]);
  });

  const shopLnurl = (): string => {
    assert.ok(serve, 'rdv serve did not start');
    return encodeLnurl(`${serve.started.listening}/lnurlp/shop`);
  };

  test("lnurl-pay follows the shop's LNURL, gets an invoice for 108,690 sat and finds it valid; the payer pays it; Carol is paid, Alice and Bob keep what their policies say (records and books), the preimage is the proof, and LUD-21 verify says settled with it", { skip, timeout: 240_000 }, async () => {
    await withLogs(async () => {
      const [payer, alice, bob, carol] = [node('payer'), node('alice'), node('bob'), node('carol')];
      const params = await requestPayServiceParams({ lnUrlOrAddress: shopLnurl() });
      assert.equal(params.description, 'A coffee grinder from the corner shop');
      assert.equal(params.identifier, `shop@${new URL(serve?.started.public_url ?? '').host}`);
      assert.deepEqual([params.min, params.max], [1, 1_500_000]);
      // The wallet's user chooses an amount within them; the library checks the invoice as a wallet does.
      const got = await requestInvoiceWithServiceParams({ params, tokens: 108_690 as Sats, validateInvoice: true });
      assert.equal(got.hasValidAmount, true, 'the invoice is for exactly the amount asked');
      assert.equal(got.hasValidDescriptionHash, true, 'the invoice commits to the metadata the wallet read');
      const hash = utils.getHashFromInvoice(got.invoice) ?? '';
      const decoded = await payer.rpc.decode(got.invoice);
      assert.deepEqual([decoded.payee, decoded.amountMsat, decoded.paymentHash], [alice.id, 108_690_000n, hash]);
      const verifyUrl = String(got.rawData.verify);
      const unpaid = Reader.of(await (await fetch(verifyUrl)).json(), 'verify');
      assert.deepEqual([unpaid.str('status'), unpaid.bool('settled'), unpaid.value], ['OK', false, { status: 'OK', settled: false, preimage: null, pr: got.invoice }]);

      const paid = Reader.of(await payer.rpc.rpc.call('xpay', { invstring: got.invoice, retry_for: 60 }), 'xpay');
      const preimage = paid.str('payment_preimage');
      assert.equal(paid.msat('amount_msat'), 108_690_000n);
      // DESIGN.md's arithmetic: Alice's D is 106,039,024 msat (2% + 0.5%, the 1 msat remainder to her payout); Bob's fixed shares leave Carol 100,039,024.
      await assertChainPaid(net(), {
        hash,
        preimage,
        last: { node: carol, amountMsat: 100_039_024n },
        relays: [
          { node: alice, policy: alicePolicy, payoutMsat: 2_120_781n, keptMsat: 2_120_781n + 530_195n },
          { node: bob, policy: bobPolicy, payoutMsat: 5_000_000n, keptMsat: 5_000_000n + 1_000_000n },
        ],
      });
      const carolRecord = (await rdvJson(carol, ['status', hash.slice(0, 10)])).objects('records')[0];
      assert.deepEqual([carolRecord?.str('role'), carolRecord?.optStr('policy'), carolRecord?.optStr('requested_by')], ['last', carolPolicy, bob.id]);

      const settled = Reader.of(await (await fetch(verifyUrl)).json(), 'verify');
      assert.deepEqual(settled.value, { status: 'OK', settled: true, preimage, pr: got.invoice });
      assert.equal(got.validatePreimage(preimage), true, "lnurl-pay's own check of the proof");
    });
  });

  test("an amount the first payee takes but Carol does not: the chain's refusal, with its path, is the error lnurl-pay gives the wallet; nobody writes anything", { skip, timeout: 120_000 }, async () => {
    await withLogs(async () => {
      const [alice, bob, carol] = [node('alice'), node('bob'), node('carol')];
      const count = async (): Promise<number[]> => Promise.all([alice, bob, carol].map(async (n) => (await rdvJson(n, ['status'])).objects('records').length));
      const before = await count();
      const params = await requestPayServiceParams({ lnUrlOrAddress: shopLnurl() });
      // 1,200,000 sat at Alice leaves 1,170,731.707 sat for Bob and 1,164,731.707 sat for Carol, over her maximum.
      await assert.rejects(requestInvoiceWithServiceParams({ params, tokens: 1_200_000 as Sats, validateInvoice: true }), {
        message: `${bob.id.slice(0, 8)}: ${carol.id.slice(0, 8)}: policy ${carolPolicy}: 1,164,731.707 sat is over policy ${carolPolicy}'s maximum of 1,000,000 sat`,
      });
      assert.deepEqual(await count(), before);
    });
  });

  test("lnproxy's POST /spec wraps a real invoice of Carol's node: same hash and description, exactly the original + routing_msat; the payer pays it, Carol is paid through Alice, who keeps her payout and what routing left of the budget", { skip, timeout: 180_000 }, async () => {
    await withLogs(async () => {
      const [payer, alice, carol] = [node('payer'), node('alice'), node('carol')];
      const original = Reader.of(await carol.rpc.rpc.call('invoice', { amount_msat: 30_000_000, label: 'e2e-wrap-7', description: 'carol: order 7' }), 'invoice');
      const bolt11 = original.str('bolt11');
      const hash = original.str('payment_hash');
      assert.ok(serve);
      const res = await fetch(`${serve.started.listening}/spec`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ invoice: bolt11, routing_msat: '1005000' }) });
      assert.equal(res.status, 200);
      const body = Reader.of(await res.json(), 'POST /spec');
      const proxy = body.str('proxy_invoice');
      // What lnproxy's clients check before paying a proxy invoice.
      const [o, w] = [decodeBolt11(bolt11), decodeBolt11(proxy)];
      assert.ok(o.ok && w.ok);
      assert.deepEqual([w.value.paymentHash, w.value.description, w.value.amountMsat, w.value.payee], [o.value.paymentHash, 'carol: order 7', 30_000_000n + 1_005_000n, alice.id]);

      const paid = Reader.of(await payer.rpc.rpc.call('xpay', { invstring: proxy, retry_for: 60 }), 'xpay');
      assert.equal(sha256hex(paid.str('payment_preimage')), hash, "the payer's proof");
      await noHtlcsLeft(net());
      const invoice = Reader.of(await carol.rpc.rpc.call('listinvoices', { payment_hash: hash }), 'listinvoices').objects('invoices')[0];
      assert.deepEqual([invoice?.str('status'), invoice?.optMsat('amount_received_msat')], ['paid', 30_000_000n]);
      const record = await poll("Alice's wrap settled", async () => {
        const r = (await rdvJson(alice, ['status', hash.slice(0, 10)])).objects('records')[0];
        return r?.str('state') === 'settled' ? r : undefined;
      }, 60_000, 250);
      assert.equal(record.optStr('policy'), wrapPolicy);
      assert.deepEqual([record.msat('payout_msat'), record.msat('fee_budget_msat')], [1_000_000n, 5_000n]);
      // Alice pays Carol through Bob: his routing fee comes out of the 5,000 msat budget; the rest is hers.
      const routingMsat = (record.optMsat('sent_msat') ?? 0n) - 30_000_000n;
      assert.ok(routingMsat > 0n && routingMsat <= 5_000n, `routing fee ${routingMsat} msat`);
      assert.equal(record.optSignedMsat('earned_msat'), 1_005_000n - routingMsat);
      const books = await poll("Alice's channel moves for the wrap, in and out", async () => {
        const b = await bookedFor(alice, hash);
        return b.moves >= 2 ? b : undefined;
      }, 30_000, 100);
      assert.equal(books.netMsat, 1_005_000n - routingMsat, "Alice's books");
    });
  });
});
