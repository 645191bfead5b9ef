/**
 * Real CLN (regtest): hands-free relays. Bob and Alice each set one rdv policy and
 * type nothing else; Carol, the last payee, types `rdv join --last` and `rdv
 * pass-back`. The payer's node (rdv loaded) receives Alice's invoice in its inbox
 * and pays it with xpay: Alice, Bob and Carol are paid by that one payment.
 *
 *   payer --(1M)-- alice --(2M)-- bob --(2M)-- carol
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reader } from '../../src/chain/read.js';
import { poll } from '../../src/regtest/process.js';
import { e2eBinaries, rdv, rdvJson, regtestNetwork } from './lib.js';

const { skip } = e2eBinaries();

describe('e2e: rdv policy, only the last payee types anything', () => {
  const { node, withLogs } = regtestNetwork({
    nodes: [{ name: 'payer', rdv: 'plain' }, { name: 'alice' }, { name: 'bob' }, { name: 'carol' }],
    fund: { nodes: ['payer', 'alice', 'bob'], btc: 0.05, utxos: 1 },
    channels: [
      { from: 'payer', to: 'alice', amountSat: 1_000_000 },
      { from: 'alice', to: 'bob', amountSat: 2_000_000 },
      { from: 'bob', to: 'carol', amountSat: 2_000_000 },
    ],
  });

  test('Bob and Alice set a policy each; Carol joins and passes back; the payer pays the invoice its inbox got, and all three are paid', { skip, timeout: 180_000 }, async () => {
    await withLogs(async () => {
      const [payer, alice, bob, carol] = [node('payer'), node('alice'), node('bob'), node('carol')];
      const bobPolicy = await rdvJson(bob, ['policy', 'add', '--from', carol.id, '--payout', '5%', '--fee-budget', '1000sat', '--delay-budget', '80', '--pass-to', alice.address, '--max-amount', '1000000sat', '--note', 'marketplace cut']);
      const alicePolicy = await rdvJson(alice, ['policy', 'add', '--from', bob.id, '--payout', '2000sat', '--fee-budget', '0.5%', '--delay-budget', '80', '--pass-to', payer.address]);

      // What Carol types: the only commands of the whole chain.
      const last = await rdvJson(carol, ['join', '--last', '--amount', '100000sat', '--description', 'order 42']);
      const hash = last.str('payment_hash');
      const sent = await rdv(carol, ['pass-back', hash.slice(0, 8), '--to', bob.address, '--timeout', '30']);
      assert.equal(sent.code, 0, `pass-back: ${sent.stderr}`);
      assert.match(sent.stdout, new RegExp(`joined by policy ${bobPolicy.str('id')}`));

      // The payer's rdv keeps Alice's invoice in its inbox, like any pass-back.
      const entry = await poll('Alice\'s invoice in the payer\'s inbox', async () => {
        const inbox = await rdvJson(payer, ['inbox']);
        return inbox.objects('invoices').find((i) => i.str('payment_hash') === hash);
      }, 60_000, 250);
      assert.equal(entry.str('from'), alice.id);
      const bolt11 = entry.str('bolt11');
      const decoded = await payer.rpc.decode(bolt11);
      assert.equal(decoded.payee, alice.id);
      // 100,000 + Bob's 5% (5,000) + 1,000 fee budget = 106,000; + Alice's 2,000 + 0.5% of 106,000 (530).
      assert.equal(decoded.amountMsat, 108_530_000n);

      const bobStatus = await rdvJson(bob, ['status', hash.slice(0, 10)]);
      assert.equal(bobStatus.objects('records')[0]?.str('policy'), bobPolicy.str('id'));

      const paid = Reader.of(await payer.rpc.rpc.call('xpay', { invstring: bolt11, retry_for: 60 }), 'xpay');
      assert.equal(paid.str('payment_preimage').length, 64);
      for (const [n, id] of [[alice, alicePolicy.str('id')], [bob, bobPolicy.str('id')]] as const) {
        const settled = await poll(`${n.name}'s record settled`, async () => {
          const s = await rdvJson(n, ['status', hash.slice(0, 10)]);
          const r = s.objects('records')[0];
          return r?.str('state') === 'settled' ? r : undefined;
        }, 60_000, 250);
        assert.equal(settled.str('policy'), id);
      }
      const carolInvoice = Reader.of(await carol.rpc.rpc.call('listinvoices', { payment_hash: hash }), 'listinvoices').objects('invoices')[0];
      assert.equal(carolInvoice?.str('status'), 'paid');
    });
  });

  test('a pass-back over the policy\'s maximum is refused with the reason, and Bob writes nothing', { skip, timeout: 90_000 }, async () => {
    await withLogs(async () => {
      const [bob, carol] = [node('bob'), node('carol')];
      const last = await rdvJson(carol, ['join', '--last', '--amount', '5000000sat']);
      const hash = last.str('payment_hash');
      const sent = await rdv(carol, ['pass-back', hash.slice(0, 8), '--to', bob.address, '--timeout', '30']);
      assert.equal(sent.code, 1, sent.stdout);
      assert.match(sent.stderr, /refused the invoice: policy [0-9a-f]{8}: 5,000,000 sat is over policy [0-9a-f]{8}'s maximum of 1,000,000 sat/);
      const status = await rdv(bob, ['--json', 'status', hash.slice(0, 10)]);
      assert.equal(status.code, 2, 'Bob has no record for it');
    });
  });
});
