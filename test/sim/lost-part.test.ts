/**
 * A payment part lightningd forgot (found by the soak on real CLN v26.06.6,
 * `npm run soak -- --regtest --seed 26`, payment 55): lightningd registers an
 * outgoing part (listsendpays: pending) before it commits the part's HTLC to the
 * channel; killed in between, it restarts with the part pending, no HTLC for it
 * anywhere, and it refuses any new payment for the hash ("still in progress")
 * for ever. The simulator now loses such a part too; a relay whose own payment
 * onward was lost this way must fail its incoming HTLCs back before they expire
 * (rule 11), not wait on a part that can never resolve.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import { rpcError, withSimNet } from '../helpers/sim.js';

interface Part {
  status: string;
  created_at: number;
}

describe('a part lightningd lost in a crash', () => {
  test('CLN fact: killed between registering a part and committing its HTLC, lightningd restarts with the part pending, no HTLC, and xpay refuses the hash', async () => {
    await withSimNet(async (net) => {
      const a = await net.addNode('a');
      const b = await net.addNode('b');
      const channel = net.openChannel(a, b, 2_000_000n);
      const bc = await RpcClient.connect(b.socketPath);
      const inv = (await bc.call('invoice', { amount_msat: 50_000_000, label: 'x', description: 'x' })) as { bolt11: string; payment_hash: string };
      let crashed: Promise<void> | undefined;
      a.payer.onNextPartRegistered = () => {
        crashed = a.crash();
      };
      const ac = await RpcClient.connect(a.socketPath);
      await ac.call('xpay', { invstring: inv.bolt11 }).catch(() => undefined);
      assert.ok(crashed, 'a crashed as its part was registered');
      await crashed;
      await a.start();
      const again = await RpcClient.connect(a.socketPath);
      const parts = ((await again.call('listsendpays', { payment_hash: inv.payment_hash })) as { payments: Part[] }).payments;
      assert.deepEqual(parts.map((p) => p.status), ['pending']);
      assert.deepEqual(net.htlcsOn(channel), [], 'no HTLC for it in the channel');
      assert.equal(net.events.filter((e) => e.type === 'htlc_lost').length, 1);
      assert.equal((await rpcError(again.call('xpay', { invstring: inv.bolt11 }))).code, -3, 'xpay: still in progress');
      for (const c of [bc, ac, again]) c.close();
    });
  });
});
