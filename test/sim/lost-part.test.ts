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
import { REGTEST_LATENCY } from '../../src/simnet/network.js';
import { auditChain, buildChain, pay, recordIn } from '../helpers/chain.js';
import { eventually, rpcError, withSimNet } from '../helpers/sim.js';

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

  test('CLN fact: while a part of our own payment shows pending in listsendpays, its HTLC is in listpeerchannels (lightningd records the outcome at RCVD_REMOVE_COMMIT and drops the HTLC at RCVD_REMOVE_ACK_REVOCATION), so rdv never judges a part that is settling lost', async () => {
    // Found by the simulated soak (seed 90210, payment 147): the simulator dropped the HTLC
    // from the channel's list 14 ms before the payer took its outcome in; Bob, just restarted,
    // judged his part lost in that window and failed the payer's HTLC back as Carol settled.
    await withSimNet(
      async (net) => {
        const a = await net.addNode('a');
        const b = await net.addNode('b');
        const channel = net.openChannel(a, b, 2_000_000n);
        const bc = await RpcClient.connect(b.socketPath);
        const inv = (await bc.call('invoice', { amount_msat: 50_000_000, label: 'x', description: 'x' })) as { bolt11: string; payment_hash: string };
        const seen: string[] = [];
        const pendingWithoutHtlc: string[] = [];
        const look = (when: string): void => {
          const parts = (a.payer.listsendpays({ payment_hash: inv.payment_hash }).payments as Array<{ status: string }>).map((p) => p.status);
          const listed = net.htlcsOn(channel).some((h) => h.incoming.paymentHash === inv.payment_hash);
          seen.push(`${when}: ${parts.join(',')} ${listed ? 'listed' : 'gone'}`);
          if (parts.includes('pending') && !listed) pendingWithoutHtlc.push(when);
        };
        const stop = net.ledger.onEntry((e) => {
          if (e.paymentHash !== inv.payment_hash || e.kind !== 'settle') return;
          look('settled by b');
          // Every macrotask until the HTLC has left the list, as an RPC call from rdv would fall.
          const tick = (): void => {
            look('later');
            if (net.htlcsOn(channel).length > 0) setImmediate(tick);
          };
          setImmediate(tick);
        });
        const ac = await RpcClient.connect(a.socketPath);
        await ac.call('xpay', { invstring: inv.bolt11 });
        await eventually(() => net.htlcsOn(channel).length === 0, 'the HTLC removed');
        look('after');
        stop();
        assert.deepEqual(pendingWithoutHtlc, [], `a part showed pending with no HTLC in the channel: ${seen.join('; ')}`);
        assert.equal(seen.at(-1), 'after: complete gone');
        for (const c of [bc, ac]) c.close();
      },
      { latency: REGTEST_LATENCY },
    );
  });

  test("Alice's lightningd is killed as her payment onward is registered: after the restart she fails the payer's HTLC back before it expires", async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      let crashed: Promise<void> | undefined;
      chain.alice.payer.onNextPartRegistered = () => {
        crashed = chain.alice.crash();
      };
      const paying = pay(chain, { retryFor: 1 });
      await eventually(() => crashed !== undefined, "Alice's part registered and her lightningd killed");
      await crashed;
      await chain.alice.start();
      // Blocks come until the payer's HTLC is settled, failed or expired.
      const [payerAlice] = chain.channels;
      assert.ok(payerAlice);
      for (let i = 0; i < 400 && net.htlcsOn(payerAlice).length > 0; i++) {
        await net.mine(1);
        await new Promise((r) => setTimeout(r, 20));
      }
      const result = await paying;
      assert.equal(result.ok, false, 'the payment fails (Alice can never pay Bob for this hash again)');
      const v = auditChain(net, chain);
      assert.deepEqual([v.outcome, v.lostMsat, v.relayExpiries], ['failed_back', 0n, 0], 'failed back before expiry: nothing lost, no force close');
      assert.equal((await recordIn(chain.alice, chain.hash, 'open')).state, 'open');
    });
  });
});
