/**
 * Real CLN (regtest): the seller runs nothing new (issue 19). Carol has only
 * lightningd (no rdv loaded): a BOLT 12 offer, or a Lightning Address served by a
 * small LNURL-pay server written from the LUD spec (not by rdv) that makes each
 * invoice on her node. Bob's policy pulls her invoice for exactly D; Alice's
 * policy joins Bob's; Alice runs `rdv serve`. A wallet-side LNURL client from npm
 * (lnurl-pay) asks Alice's address for an invoice, checks it as a wallet does,
 * the payer's node pays it, and Carol's offer (or address) is paid while Bob and
 * Alice keep their cuts, by their records and lightningd's books. Nobody types
 * anything per payment.
 *
 *   payer --(1M)-- alice --(2M)-- bob --(2M)-- carol (lightningd only)
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { requestInvoiceWithServiceParams, requestPayServiceParams, utils } from 'lnurl-pay';
import { Reader } from '../../src/chain/read.js';
import { startLnurlServer, type LnurlServer } from '../helpers/lnurl-server.js';
import { encodeLnurl } from '../helpers/lnurl.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { assertChainPaid, e2eBinaries, rdv, rdvJson, regtestNetwork, sha256hex } from './lib.js';

const { bins, skip } = e2eBinaries();

type Sats = Parameters<typeof requestInvoiceWithServiceParams>[0]['tokens'];

describe("e2e: the last payee runs no rdv, its invoice pulled from an offer or a Lightning Address; a wallet pays through Alice's rdv serve, real CLN", () => {
  let serve: ServeProcess | undefined;
  let address: LnurlServer | undefined;
  let made = 0;
  const { net, node, withLogs } = regtestNetwork({
    nodes: [{ name: 'payer', rdv: 'none' }, { name: 'alice' }, { name: 'bob' }, { name: 'carol', rdv: 'none' }],
    fund: { nodes: ['payer', 'alice', 'bob'], btc: 0.05, utxos: 1 },
    channels: [
      { from: 'payer', to: 'alice', amountSat: 1_000_000 },
      { from: 'alice', to: 'bob', amountSat: 2_000_000 },
      { from: 'bob', to: 'carol', amountSat: 2_000_000 },
    ],
    tearDown: async () => {
      await address?.close();
      if (serve) assert.equal(await serve.stop(), 0, 'rdv serve stops cleanly on SIGTERM');
    },
  });
  let alicePolicy = '';

  before(async () => {
    if (!bins) return;
    const [alice, bob] = [node('alice'), node('bob')];
    alicePolicy = (await rdvJson(alice, ['policy', 'add', '--from', bob.id, '--payout', '2%', '--fee-budget', '0.5%', '--delay-budget', '80'])).str('id');
    serve = await startServeProcess(alice, ['--address', `shop=${alicePolicy}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0', '--description', 'A coffee grinder from the corner shop', '--max-sendable', '500000sat']);
  });

  /** The wallet: lnurl-pay follows the shop's LNURL, asks for `sats` and checks the invoice; the payer's node pays it. */
  async function walletPays(sats: number): Promise<{ hash: string; preimage: string; verify: string; invoice: string }> {
    assert.ok(serve, 'rdv serve did not start');
    const params = await requestPayServiceParams({ lnUrlOrAddress: encodeLnurl(`${serve.started.listening}/lnurlp/shop`) });
    const got = await requestInvoiceWithServiceParams({ params, tokens: sats as Sats, validateInvoice: true });
    assert.equal(got.hasValidAmount, true, 'the invoice is for exactly the amount asked');
    assert.equal(got.hasValidDescriptionHash, true, 'the invoice commits to the metadata the wallet read');
    const hash = utils.getHashFromInvoice(got.invoice) ?? '';
    const paid = Reader.of(await node('payer').rpc.rpc.call('xpay', { invstring: got.invoice, retry_for: 60 }), 'xpay');
    const preimage = paid.str('payment_preimage');
    assert.equal(sha256hex(preimage), hash, "the payer's proof");
    return { hash, preimage, verify: String(got.rawData.verify), invoice: got.invoice };
  }

  test("Carol's BOLT 12 offer: Bob's policy fetches her invoice for exactly D (fetchinvoice), the wallet pays Alice's address 108,690 sat, Carol's offer is paid 100,039.024 sat, Alice and Bob keep their cuts, and LUD-21 verify says settled", { skip, timeout: 240_000 }, async () => {
    await withLogs(async () => {
      const [alice, bob, carol] = [node('alice'), node('bob'), node('carol')];
      const offer = Reader.of(await carol.rpc.rpc.call('offer', { amount: 'any', description: 'a coffee grinder' }), 'offer').str('bolt12');
      const bobPolicy = (await rdvJson(bob, ['policy', 'add', '--offer', offer, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '80', '--pass-to', alice.id])).str('id');
      const { hash, preimage, verify, invoice } = await walletPays(108_690);
      await assertChainPaid(net(), {
        hash,
        preimage,
        last: { node: carol, amountMsat: 100_039_024n },
        relays: [
          { node: alice, policy: alicePolicy, payoutMsat: 2_120_781n, keptMsat: 2_120_781n + 530_195n },
          { node: bob, policy: bobPolicy, payoutMsat: 5_000_000n, keptMsat: 5_000_000n + 1_000_000n },
        ],
      });
      const carols = Reader.of(await carol.rpc.rpc.call('listinvoices', { payment_hash: hash }), 'listinvoices').objects('invoices');
      assert.equal(carols.length, 1);
      assert.ok(carols[0]?.str('bolt12').startsWith('lni1'), "Carol's invoice is the BOLT 12 one Bob fetched");
      const bobs = (await rdvJson(bob, ['status', hash.slice(0, 10)])).objects('records')[0];
      assert.ok(bobs?.str('downstream_bolt12').startsWith('lni1'));
      const settled = Reader.of(await (await fetch(verify)).json(), 'verify');
      assert.deepEqual(settled.value, { status: 'OK', settled: true, preimage, pr: invoice });
      await rdvJson(bob, ['policy', 'remove', bobPolicy]);
    });
  });

  test("Carol behind a Lightning Address (an LNURL-pay server from the spec, her node making each invoice with deschashonly): Bob's policy pulls it, the wallet pays, Carol is paid, Alice and Bob keep their cuts", { skip, timeout: 240_000 }, async () => {
    await withLogs(async () => {
      const [alice, bob, carol] = [node('alice'), node('bob'), node('carol')];
      address = await startLnurlServer({
        name: 'carol',
        makeInvoice: async (amountMsat, metadata) =>
          Reader.of(await carol.rpc.rpc.call('invoice', { amount_msat: amountMsat.toString(), label: `lnurl-${++made}`, description: metadata, deschashonly: true }), 'invoice').str('bolt11'),
      });
      const bobPolicy = (await rdvJson(bob, ['policy', 'add', '--address', address.address, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '80', '--pass-to', alice.id])).str('id');
      const { hash, preimage } = await walletPays(54_321);
      // Alice: D = floor(54,321,000 / 1.025) = 52,996,097 msat; Bob leaves Carol 46,996,097 msat.
      await assertChainPaid(net(), {
        hash,
        preimage,
        last: { node: carol, amountMsat: 46_996_097n },
        relays: [
          { node: alice, policy: alicePolicy, payoutMsat: 54_321_000n - 52_996_097n - 264_980n, keptMsat: 54_321_000n - 52_996_097n },
          { node: bob, policy: bobPolicy, payoutMsat: 5_000_000n, keptMsat: 6_000_000n },
        ],
      });
      assert.equal(made, 1, 'one invoice asked of the address');
      // rdv doctor on Bob reaches the address from this machine (its exit code is about the other checks too).
      const doctor = Reader.of(JSON.parse((await rdv(bob, ['--json', 'doctor'])).stdout), 'doctor');
      const pull = doctor.objects('checks').find((c) => c.str('name') === 'pull');
      assert.deepEqual([pull?.str('status'), pull?.str('message')], ['ok', `policy ${bobPolicy}: ${address.address} takes 1 sat to 1,000,000 sat`]);
    });
  });
});
