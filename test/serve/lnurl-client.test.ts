/**
 * A real LNURL client library from npm against rdv serve, as a wallet uses it:
 * lnurl-pay (the client library of several wallets) decodes the shop's LNURL
 * (LUD-01, bech32 of the plain http://127.0.0.1 URL: the library builds https
 * URLs only for Lightning Addresses), fetches the pay parameters, asks for an
 * invoice of an amount it chooses within them, and checks it as a wallet does
 * (validateInvoice: the amount, and the description hash against the metadata
 * it read). Then LUD-21 verify, and the library's own preimage check.
 *
 * Why lnurl-pay and not @getalby/lightning-tools: Alby's LightningAddress builds
 * https://<domain>/.well-known/lnurlp/<name> and nothing else, and does not check
 * the invoice's description hash; lnurl-pay follows any LNURL and checks both.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestInvoiceWithServiceParams, requestPayServiceParams, utils } from 'lnurl-pay';
import { encodeLnurl } from '../helpers/lnurl.js';
import { http, POLICY_ID, refuse, withServe } from '../helpers/serve.js';

type Sats = Parameters<typeof requestInvoiceWithServiceParams>[0]['tokens'];

describe('an LNURL client library (lnurl-pay) pays through rdv serve', () => {
  test('it reads the pay parameters, gets an invoice for the amount it chose, and finds it valid; verify then gives it the proof it checks', () =>
    withServe(
      async (w) => {
        const lnurl = encodeLnurl(`${w.base}/lnurlp/shop`);
        assert.equal(utils.decodeUrlOrAddress(lnurl), `${w.base}/lnurlp/shop`);
        const params = await requestPayServiceParams({ lnUrlOrAddress: lnurl });
        assert.equal(params.identifier, `shop@127.0.0.1:${w.server.port}`);
        assert.equal(params.description, 'Order from the corner shop');
        assert.equal(params.min, 16_003);
        assert.equal(params.max, 506_011);
        // The wallet's user chooses an amount within them.
        const tokens = 108_690 as Sats;
        const got = await requestInvoiceWithServiceParams({ params, tokens, validateInvoice: true });
        assert.equal(got.hasValidAmount, true);
        assert.equal(got.hasValidDescriptionHash, true);
        assert.deepEqual(w.chain.calls.map((c) => c.amount_msat), [108_690_000]);
        const verify = String(got.rawData.verify);
        const paymentHash = utils.getHashFromInvoice(got.invoice) ?? '';
        assert.equal((await http(verify)).json?.settled, false);
        w.chain.settle(paymentHash);
        const proof = (await http(verify)).json;
        assert.equal(proof?.settled, true);
        assert.equal(got.validatePreimage(String(proof?.preimage)), true);
        assert.equal(got.validatePreimage('00'.repeat(32)), false);
      },
      {
        policies: [{ id: POLICY_ID, from: `03${'b0'.repeat(32)}`, payout: '5000sat', feeBudget: '1000sat', delayBudget: '80', minAmount: '10003sat', maxAmount: '500011sat' }],
        input: { description: 'Order from the corner shop' },
      },
    ));

  test('it refuses an amount outside the parameters before asking, and gets no invoice, with the reason, when the chain refuses', () =>
    withServe(async (w) => {
      const params = await requestPayServiceParams({ lnUrlOrAddress: encodeLnurl(`${w.base}/lnurlp/shop`) });
      await assert.rejects(requestInvoiceWithServiceParams({ params, tokens: 2_000_000 as Sats, validateInvoice: true }), /Invalid amount/);
      // The chain's reason reaches the library (it reads an LNURL error's reason only from an HTTP 200).
      w.chain.answer = refuse('02b0b0b0: the next payee is offline');
      await assert.rejects(requestInvoiceWithServiceParams({ params, tokens: 21 as Sats, validateInvoice: true }), { message: '02b0b0b0: the next payee is offline' });
      assert.equal(w.chain.calls.length, 1);
    }));

});
