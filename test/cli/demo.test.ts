/**
 * `rdv demo --serve` on the simulated network, as a user runs it: every payee
 * sets one policy, the first runs rdv serve as its own process, a wallet pays
 * its Lightning Address, and the three payees are paid by that one payment
 * (LUD-21 verify gives the wallet the payer's preimage). And its usage errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isObject } from '../../src/chain/read.js';
import { runRdv } from '../helpers/rdv.js';

describe('rdv demo --serve (simulated network)', () => {
  test('--json: a wallet pays shop@127.0.0.1:<port> 108,690 sat; alice keeps 3,000 sat, bob 6,000 sat, carol gets 99,690 sat; verify says settled', async () => {
    const r = await runRdv(['--json', 'demo', '--serve'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const out: unknown = JSON.parse(r.stdout);
    assert.ok(isObject(out));
    assert.equal(out.network, 'simulated');
    assert.equal(out.settled, true);
    assert.equal(out.verified, true);
    assert.match(String(out.lightning_address), /^shop@127\.0\.0\.1:\d+$/);
    assert.equal(out.payer_paid_msat, 108_690_000);
    // alice: 2,000 sat payout + 1,000 sat fee budget; bob: 5,000 + 1,000 (each pays the next over a direct channel: no fee spent).
    assert.deepEqual(out.payees, [
      { name: 'alice', role: 'relay', received_msat: 108_690_000, paid_on_msat: 105_690_000, kept_msat: 3_000_000 },
      { name: 'bob', role: 'relay', received_msat: 105_690_000, paid_on_msat: 99_690_000, kept_msat: 6_000_000 },
      { name: 'carol', role: 'last', received_msat: 99_690_000, paid_on_msat: 0, kept_msat: 99_690_000 },
    ]);
    const steps = (out.steps as Array<{ name: string }>).map((s) => s.name);
    assert.deepEqual(steps.slice(0, 4), ['carol adds a policy', 'bob adds a policy', 'alice adds a policy', 'alice starts rdv serve']);
    assert.ok(steps.includes('wallet gets the invoice (the whole chain asked)'), steps.join(', '));
  });

  test('the story as a user reads it: the commands each payee types once, the wallet\'s requests, the table', async () => {
    const r = await runRdv(['demo', '--serve', '--payees', '4'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dave\$ rdv policy add --last --for 0[23][0-9a-f]{64} --max-amount 1000000sat/);
    assert.match(r.stdout, /alice\$ rdv serve --address shop=[0-9a-f]{8} --public-url http:\/\/127\.0\.0\.1:0 --listen 127\.0\.0\.1:0/);
    assert.match(r.stdout, /wallet: GET http:\/\/127\.0\.0\.1:\d+\/\.well-known\/lnurlp\/shop/);
    assert.match(r.stdout, /the chain makes it now, dave -> carol -> bob -> alice, with nobody typing/);
    assert.match(r.stdout, /settled, with the preimage the payer got/);
    assert.match(r.stdout, /Settled: one payment paid every payee\./);
    assert.match(r.stdout, /^dave +[\d,]+ sat +- +[\d,]+ sat$/m);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['one payee: nobody to ask', ['--payees', '1'], /--serve needs at least 2 payees/],
    ['with --policy', ['--policy'], /--serve and --policy are two stories/],
  ];
  for (const [what, args, message] of usage) {
    test(`exit 2: ${what}`, async () => {
      const r = await runRdv(['demo', '--serve', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});
