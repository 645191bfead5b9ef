/**
 * The first attempt onward by sendpay (src/relay/runner/first-attempt.ts): a
 * route found while "gathered" is written, sent as one part; xpay pays when
 * that attempt fails or cannot be made. Each relay pays the next payee once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChain, pay, recordIn } from '../helpers/chain.js';
import { withSimNet } from '../helpers/sim.js';
import { stringifyJson } from '../../src/rpc/json.js';
import type { SimNode } from '../../src/simnet/node.js';

/** The node's outgoing parts for the hash, as listsendpays shows them: partid and status. */
const parts = (node: SimNode, hash: string): Array<[number, string]> => node.payer.sendpays.filter((s) => s.paymentHash === hash).map((s) => [s.partid, s.status]);

describe('the first attempt onward by sendpay', () => {
  test('Alice and Bob each pay the next payee in one part sent by sendpay (partid 0; xpay numbers its parts from 1), and keep payout + fee budget', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const getroutes = (): number => chain.alice.server.calls.filter((c) => c.method === 'getroutes').length + chain.bob.server.calls.filter((c) => c.method === 'getroutes').length;
      const asked = getroutes();
      const result = await pay(chain);
      assert.ok(result.ok, stringifyJson(result));
      const [alice, bob] = [await recordIn(chain.alice, chain.hash, 'settled'), await recordIn(chain.bob, chain.hash, 'settled')];
      assert.deepEqual([alice.earnedMsat, bob.earnedMsat], [3_000_000n, 6_000_000n]);
      assert.deepEqual(parts(chain.alice, chain.hash), [[0, 'complete']]);
      assert.deepEqual(parts(chain.bob, chain.hash), [[0, 'complete']]);
      assert.equal(chain.carol.invoices.byHash(chain.hash)?.status, 'paid');
      assert.equal(getroutes(), asked, 'each next payee is a channel peer: one hop, no getroutes');
    });
  });

  test("Bob's channel to Carol fails his first attempt: xpay pays through Dave, Carol is paid once, and nothing is held", async () => {
    await withSimNet(async (net) => {
      // Room in the delay budget for a route through Dave (his cltv delta on top of Carol's 18).
      const chain = await buildChain(net, { delayBudget: '120' });
      const dave = await net.addNode('dave');
      net.openChannel(chain.bob, dave, 2_000_000n);
      net.openChannel(dave, chain.carol, 2_000_000n);
      const bobCarol = chain.channels[2];
      assert.ok(bobCarol);
      // The route was found over the direct channel; it stops taking HTLCs as the part is sent.
      chain.bob.payer.onNextPartRegistered = () => {
        bobCarol.enabled = false;
      };
      const result = await pay(chain);
      assert.ok(result.ok, stringifyJson(result));
      const bob = await recordIn(chain.bob, chain.hash, 'settled');
      assert.equal(bob.state, 'settled');
      assert.deepEqual(parts(chain.bob, chain.hash)[0], [0, 'failed'], 'the first attempt failed');
      assert.deepEqual(
        parts(chain.bob, chain.hash)
          .slice(1)
          .map(([, s]) => s),
        ['complete'],
        "then xpay's part",
      );
      assert.equal(bob.attempts.length, 1, 'one attempt in the record: sendpay, then xpay');
      assert.equal(bobCarol.balance.get(chain.carol.id), 0n, 'nothing went over the direct channel');
      for (const n of [chain.alice, chain.bob, chain.carol, dave]) assert.deepEqual(net.heldBy(n), [], `${n.name} holds nothing`);
    });
  });
});
