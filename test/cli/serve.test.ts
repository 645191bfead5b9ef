/**
 * `rdv serve` as a user runs it: bin/rdv against Alice's simulated lightningd
 * (rdv-request answered by a fake chain), listening on a free port, saying
 * where, answering wallets, and stopping cleanly on SIGTERM; its usage errors
 * (exit 2, nothing listened on) and an unreachable node (exit 3).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import { replyWithin } from '../helpers/fake-lightningd.js';
import { makeInvoice } from '../helpers/invoices.js';
import { setPolicies } from '../helpers/policies.js';
import { at, runRdv } from '../helpers/rdv.js';
import { BOB_ID, POLICY_ID } from '../helpers/serve.js';
import { startServeProcess } from '../helpers/serve-process.js';
import { withSimNet } from '../helpers/sim.js';

describe('rdv serve (the command)', () => {
  test('listens where it says, serves the address, and stops on SIGTERM with exit 0', () =>
    withSimNet(async (net) => {
      const alice = await net.addNode('alice');
      setPolicies(alice, [{ id: POLICY_ID, from: BOB_ID, payout: '2%', feeBudget: '0.5%', delayBudget: '80' }]);
      alice.overrides.set('rdv-request', async (p) => {
        const paymentHash = createHash('sha256').update(String(p.amount_msat)).digest('hex');
        return { bolt11: makeInvoice('alice', { amountMsat: msat(BigInt(String(p.amount_msat))), paymentHash: paymentHash as never, descriptionHash: String(p.description_hash), description: undefined }), payment_hash: paymentHash, amount_msat: p.amount_msat, expires_at: Math.floor(Date.now() / 1000) + 3600, policy: POLICY_ID };
      });
      const serve = await startServeProcess(alice, ['--address', `shop=${POLICY_ID}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0']);
      try {
        const started = serve.started;
        const port = Number(new URL(started.listening).port);
        assert.ok(port > 0);
        assert.equal(started.public_url, `http://127.0.0.1:${port}`);
        assert.equal(started.node_id, alice.id);
        assert.deepEqual(started.addresses, [{ name: 'shop', via: POLICY_ID, policy: POLICY_ID, min_sendable_msat: 1_000, max_sendable_msat: 1_000_000_000, address: `shop@127.0.0.1:${port}` }]);
        const params = (await (await fetch(`${started.listening}/.well-known/lnurlp/shop`)).json()) as { callback: string };
        const cb = (await (await fetch(`${params.callback}?amount=21000`)).json()) as { pr: string; verify: string };
        assert.match(cb.pr, /^lnbcrt210n1/);
        assert.match(cb.verify, /\/lnurlp\/shop\/verify\/[0-9a-f]{32}$/);
        // The simulated lightningd's `help` does not list the fake rdv-request: rdv serve says so at start.
        assert.match(serve.stderr(), /lightningd has no rdv-request method/);
      } finally {
        assert.equal(await replyWithin(serve.stop(), 'rdv serve exits on SIGTERM'), 0);
      }
      assert.match(serve.stderr(), /rdv serve stopped/);
    }));

  const usage: Array<[string, string[], RegExp]> = [
    ['no --public-url', ['--address', 'shop=5e1f0c2a'], /--public-url is required/],
    ['plain http on the clear web', ['--address', 'shop=5e1f0c2a', '--public-url', 'http://shop.example'], /must be https/],
    ['a bad address', ['--address', 'Shop', '--public-url', 'https://shop.example'], /is not <name>=<policy id or node id>/],
    ['nothing to serve', ['--public-url', 'https://shop.example'], /at least one --address/],
  ];
  for (const [what, args, message] of usage) {
    test(`usage error, exit 2: ${what}`, async () => {
      const r = await runRdv(['--lightning-dir', '/nonexistent', 'serve', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  test('an address whose policy this node does not have: exit 2, naming it', () =>
    withSimNet(async (net) => {
      const alice = await net.addNode('alice');
      const r = await runRdv([...at(alice), 'serve', '--address', 'shop=77aa0c2b', '--public-url', 'https://shop.example', '--listen', '127.0.0.1:0']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--address shop=77aa0c2b: no relay policy 77aa0c2b: see rdv policy list; add one with rdv policy add/);
    }));

  test('no lightningd: exit 3', async () => {
    const r = await runRdv(['--lightning-dir', '/nonexistent', '--network', 'regtest', 'serve', '--address', 'shop=5e1f0c2a', '--public-url', 'https://shop.example']);
    assert.equal(r.code, 3, r.stderr);
  });
});
