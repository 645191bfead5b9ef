/**
 * The runner's first attempt onward by sendpay, against a fake lightningd over
 * its real socket and a clock the test moves: xpay pays only when nothing of the
 * first attempt can still succeed (never after a lost answer, which could pay
 * Carol twice), and a plan lightningd is slow to give does not hold the HTLCs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/chain/read.js';
import { blockAllowance, DEFAULT_RELAY_CONFIG } from '../../src/chain/relay/types.js';
import { LightningNode } from '../../src/rpc/node.js';
import { loadRecord } from '../../src/rpc/records.js';
import { RelayRunner } from '../../src/relay/runner/runner.js';
import type { SimNode } from '../../src/simnet/node.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import { CAROL, HASH, makeRecord, PREIMAGE, SECRET } from '../helpers/builders.js';
import { htlcParams, sat, seedRecord } from '../helpers/fake-lightningd.js';
import { eventually, withSimNet } from '../helpers/sim.js';
import { TestClock } from '../helpers/test-clock.js';

type Answer = { result: unknown } | { error: { code: number; message: string } };

/** A call the fake answers when the test says: `answer` it, or drop the connection. */
class Pending {
  calls: Array<Record<string, unknown>> = [];
  private settle: ((a: Answer) => void) | undefined;
  handler = (params: Record<string, unknown>): Promise<unknown> => {
    this.calls.push(params);
    return new Promise((resolve, reject) => {
      this.settle = (a) => ('result' in a ? resolve(a.result) : reject(new SimRpcError(a.error.code, a.error.message)));
    });
  };
  answer(a: Answer): void {
    this.settle?.(a);
  }
}

interface World {
  bob: SimNode;
  runner: RelayRunner;
  height: number;
  clock: TestClock;
  getroutes: Pending;
  sendpay: Pending;
  waitsendpay: Pending;
  xpay: Pending;
  /** What listsendpays shows. */
  parts: Array<Record<string, unknown>>;
  calls: (method: string) => number;
  /** The htlc_accepted answer, once given. */
  reply: () => unknown;
}

const route = { probability_ppm: 999_000, amount_msat: 100_000_000, final_cltv: 18, path: [{ short_channel_id_dir: '103x2x0/1', node_id_in: '', node_id_out: CAROL, amount_in_msat: 100_000_000, amount_out_msat: 100_000_000, cltv_in: 18, cltv_out: 18 }] };

/** Bob's relay of HASH, fed the HTLC that completes its set; lightningd's answers are the test's. */
async function withRelay(fn: (w: World) => Promise<void>, options: { random?: () => number; listchannels?: (params: Record<string, unknown>) => Promise<unknown> } = {}): Promise<void> {
  await withSimNet(async (net) => {
    let node: LightningNode | undefined;
    try {
      const bob = await net.addNode('bob');
      const clock = new TestClock();
      node = await LightningNode.connect(bob.socketPath, 'rdv-test', { reconnect: true });
      let reply: unknown;
      const runner = new RelayRunner({ node, selfId: bob.id, log: () => undefined, clock, config: { ...DEFAULT_RELAY_CONFIG, mppTimeoutMs: 60_000 }, ...(options.random ? { random: options.random } : {}) });
      const w: World = { bob, runner, height: net.height, clock, getroutes: new Pending(), sendpay: new Pending(), waitsendpay: new Pending(), xpay: new Pending(), parts: [], calls: (m) => bob.server.calls.filter((c) => c.method === m).length, reply: () => reply };
      bob.overrides.set('decode', async () => ({ type: 'bolt11 invoice', valid: true, payment_secret: 'cd'.repeat(32) }));
      bob.overrides.set('getroutes', w.getroutes.handler);
      bob.overrides.set('sendpay', w.sendpay.handler);
      bob.overrides.set('waitsendpay', w.waitsendpay.handler);
      bob.overrides.set('xpay', w.xpay.handler);
      bob.overrides.set('listsendpays', async () => ({ payments: w.parts }));
      if (options.listchannels) bob.overrides.set('listchannels', options.listchannels);
      seedRecord(bob, makeRecord({ expiresAt: clock.now() + 3_600, createdAt: clock.now() - 60, updatedAt: clock.now() - 60 }));
      runner.setHeight(net.height);
      const stored = await loadRecord(node, HASH);
      assert.ok(stored);
      runner.adopt(stored);
      void runner.onHtlcAccepted(htlcParams({ paymentHash: HASH, id: 3, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: net.height + 300, height: net.height }) as JsonObject).then((r) => (reply = r));
      await eventually(() => w.getroutes.calls.length === 1, 'the runner asks askrene for a route while it writes "gathered"');
      await fn(w);
    } finally {
      node?.close();
    }
  });
}

const pending = { payment_hash: HASH, status: 'pending', partid: 0, groupid: 1, amount_msat: 100_000_000, amount_sent_msat: 100_000_000, created_at: 1_795_620_001 };

/** askrene answers with `route`, and Bob sends the part. */
async function routeFound(w: World): Promise<void> {
  w.getroutes.answer({ result: { probability_ppm: 999_000, routes: [route] } });
  await eventually(() => w.sendpay.calls.length === 1, 'sendpay');
}

/** lightningd takes the part (pending), and Bob waits for its outcome. */
async function partSent(w: World): Promise<void> {
  w.sendpay.answer({ result: { ...pending, message: 'Monitor status with listpays or waitsendpay' } });
  await eventually(() => w.waitsendpay.calls.length === 1, 'waitsendpay');
}

describe('the first attempt by sendpay, in the runner', () => {
  test('Bob sends the route askrene found, for the invoice amount, with Carol\'s secret; Carol settles and xpay is never called', async () => {
    await withRelay(async (w) => {
      await routeFound(w);
      const sent = w.sendpay.calls[0] ?? {};
      assert.deepEqual([sent.payment_hash, sent.amount_msat, sent.payment_secret, sent.bolt11], [HASH, 100_000_000, 'cd'.repeat(32), 'lnbcrt1m1carol']);
      assert.deepEqual(sent.route, [{ id: CAROL, channel: '103x2x0', direction: 1, amount_msat: 100_000_000, delay: 18 }]);
      await partSent(w);
      w.waitsendpay.answer({ result: { ...pending, status: 'complete', payment_preimage: PREIMAGE } });
      await eventually(() => w.reply() !== undefined, "Bob answers Alice's HTLC");
      assert.deepEqual(w.reply(), { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(w.xpay.calls.length, 0);
    });
  });

  test("the first attempt's answer is lost (the connection drops in waitsendpay): Bob never starts xpay, he reads listsendpays and waits while the part is pending", async () => {
    await withRelay(async (w) => {
      await routeFound(w);
      w.parts.push(pending);
      await partSent(w);
      const looked = w.calls('listsendpays');
      w.bob.server.dropConnections();
      await eventually(() => w.calls('listsendpays') > looked, 'the runner looks at the outgoing parts after the lost answer');
      for (let minute = 1; minute <= 5; minute++) {
        const before = w.calls('listsendpays');
        w.clock.advance(60_000);
        await eventually(() => w.calls('listsendpays') > before, `the runner looks again (minute ${minute})`);
      }
      assert.equal(w.xpay.calls.length, 0, 'xpay was started while the first part may still succeed');
    });
  });

  test('sendpay refused because another group of the hash is in progress (200): no xpay, listsendpays decides', async () => {
    await withRelay(async (w) => {
      await routeFound(w);
      w.parts.push({ ...pending, groupid: 7 });
      const looked = w.calls('listsendpays');
      w.sendpay.answer({ error: { code: 200, message: 'Payment with groupid=7 still in progress, cannot retry before that completes.' } });
      await eventually(() => w.calls('listsendpays') > looked, 'the runner looks at the outgoing parts');
      w.clock.advance(60_000);
      assert.equal(w.xpay.calls.length, 0);
    });
  });

  test('the part fails on the way (waitsendpay 204): xpay pays at once, within the same budgets', async () => {
    await withRelay(async (w) => {
      await routeFound(w);
      await partSent(w);
      w.waitsendpay.answer({ error: { code: 204, message: 'failed: WIRE_TEMPORARY_CHANNEL_FAILURE (reply from remote)' } });
      await eventually(() => w.xpay.calls.length === 1, 'xpay pays');
      assert.deepEqual([w.xpay.calls[0]?.invstring, w.xpay.calls[0]?.maxfee], ['lnbcrt1m1carol', 1_000_000]);
    });
  });

  test('two blocks are found while the first attempt is out (its route closed): when it fails, no xpay pays in that attempt; a new attempt counts its maxdelay from the new height', async () => {
    await withRelay(async (w) => {
      await routeFound(w);
      await partSent(w);
      // The HTLC expires 300 blocks up; the margin (34) and xpay's allowance come off.
      const firstMaxdelay = 300 - 34 - blockAllowance(DEFAULT_RELAY_CONFIG);
      w.runner.setHeight(w.height + DEFAULT_RELAY_CONFIG.retryBlocks);
      await eventually(() => w.bob.server.calls.some((c) => c.method === 'askrene-disable-node'), 'the runner closes the route');
      const closed = String(w.bob.server.calls.find((c) => c.method === 'askrene-disable-node')?.params.layer);
      w.parts.push({ ...pending, status: 'failed' });
      w.waitsendpay.answer({ error: { code: 204, message: 'failed: WIRE_TEMPORARY_CHANNEL_FAILURE (reply from remote)' } });
      for (let i = 0; i < 10 && w.xpay.calls.length === 0 && w.reply() === undefined; i++) {
        w.clock.advance(2_000);
        await new Promise((resolve) => setImmediate(resolve));
        await w.runner.idle();
      }
      assert.ok(w.xpay.calls.length + (w.reply() === undefined ? 0 : 1) > 0, 'Bob paid again or failed back');
      for (const x of w.xpay.calls) {
        assert.notEqual((x.layers as string[] | undefined)?.[0], closed, 'xpay paid in the closed attempt');
        assert.equal(x.maxdelay, firstMaxdelay - DEFAULT_RELAY_CONFIG.retryBlocks, 'a new attempt, its maxdelay from the new height');
      }
      assert.ok(!w.bob.server.calls.some((c) => c.method === 'askrene-create-layer' && c.params.layer === closed), 'the closed layer was made after all');
    });
  });

  test('askrene does not answer: after 2 s Bob pays with xpay, and sends nothing by sendpay', async () => {
    await withRelay(async (w) => {
      await eventually(() => w.calls('datastore') >= 1, '"gathered" written');
      w.clock.advance(1_999);
      assert.equal(w.xpay.calls.length, 0);
      w.clock.advance(1);
      await eventually(() => w.xpay.calls.length === 1, 'xpay pays');
      assert.equal(w.sendpay.calls.length, 0);
    });
  });

  describe('the shadow CLTV (BOLT 7), as xpay adds it', () => {
    const DAVE = `03${'d'.repeat(64)}`;
    const [D1, D2, D3] = ['e1', 'e2', 'e3'].map((x) => `02${x.repeat(32)}`);
    /** Bob -> Dave -> Carol: Dave charges 1,000 msat and 14 blocks. */
    const viaDave = {
      probability_ppm: 990_000,
      amount_msat: 100_000_000,
      final_cltv: 18,
      path: [
        { short_channel_id_dir: '103x1x0/0', node_id_in: '', node_id_out: DAVE, amount_in_msat: 100_001_000, amount_out_msat: 100_001_000, cltv_in: 32, cltv_out: 32 },
        { short_channel_id_dir: '103x3x0/1', node_id_in: DAVE, node_id_out: CAROL, amount_in_msat: 100_001_000, amount_out_msat: 100_000_000, cltv_in: 32, cltv_out: 18 },
      ],
    };
    /** Gossip: Carol -> D1 (10 blocks), D1 -> D2 (12), D2 -> D3 (500, past any maxdelay here). */
    const gossip = new Map([
      [CAROL, { destination: D1, delay: 10 }],
      [D1, { destination: D2, delay: 12 }],
      [D2, { destination: D3, delay: 500 }],
    ]);
    const asked: unknown[] = [];
    const listchannels = async (params: Record<string, unknown>): Promise<unknown> => {
      asked.push(params.source);
      const c = gossip.get(String(params.source));
      return { channels: c ? [{ source: params.source, short_channel_id: '103x9x0', direction: 0, public: true, amount_msat: 1_000_000_000, active: true, base_fee_millisatoshi: 1, fee_per_millionth: 10, htlc_minimum_msat: 0, htlc_maximum_msat: 990_000_000, features: '', ...c }] : [] };
    };

    /** askrene answers with the route via Dave; the hops Bob then sends by sendpay. */
    const sentViaDave = async (w: World): Promise<Array<{ id: string; delay: number; amount_msat: number }>> => {
      w.getroutes.answer({ result: { probability_ppm: 990_000, routes: [viaDave] } });
      await eventually(() => w.sendpay.calls.length === 1, 'sendpay');
      return (w.sendpay.calls[0]?.route ?? []) as Array<{ id: string; delay: number; amount_msat: number }>;
    };

    test("Carol is two hops away and every coin says walk on: Bob's part carries 10 + 12 more blocks on every hop (the next step, 500, would pass the maxdelay and ends the walk)", async () => {
      asked.length = 0;
      await withRelay(
        async (w) => {
          const hops = await sentViaDave(w);
          assert.deepEqual(
            hops.map((h) => [h.id, h.amount_msat, h.delay]),
            [
              [DAVE, 100_001_000, 54],
              [CAROL, 100_000_000, 40],
            ],
          );
          assert.deepEqual(asked, [CAROL, D1, D2], 'the walk starts at Carol and goes where each channel leads');
        },
        { random: () => 0.99, listchannels },
      );
    });

    /** Gossip with one channel from Carol whose delay fills the first attempt's maxdelay exactly over the route via Dave (32 blocks). */
    const FIRST_MAXDELAY = 300 - 34 - blockAllowance(DEFAULT_RELAY_CONFIG);
    const filling = async (params: Record<string, unknown>): Promise<unknown> => ({
      channels: params.source === CAROL ? [{ source: CAROL, destination: D1, short_channel_id: '103x9x0', direction: 0, public: true, amount_msat: 1_000_000_000, active: true, base_fee_millisatoshi: 1, fee_per_millionth: 10, delay: FIRST_MAXDELAY - 32, htlc_minimum_msat: 0, htlc_maximum_msat: 990_000_000, features: '' }] : [],
    });

    test('a block is found while askrene still plans: the part is sent with maxdelay one less, so a shadow that filled the old maxdelay is not taken and the margin holds', async () => {
      await withRelay(
        async (w) => {
          await eventually(() => w.calls('datastore') >= 1, '"gathered" written');
          await w.runner.idle();
          w.runner.setHeight(w.height + 1);
          await w.runner.idle();
          const hops = await sentViaDave(w);
          assert.deepEqual(
            hops.map((h) => h.delay),
            [32, 18],
          );
          // lightningd sends at its height + 1 + delay; the incoming HTLC expires 300 blocks up from the first height.
          const expiry = w.height + 1 + 1 + (hops[0]?.delay ?? 0);
          assert.ok(w.height + 300 - expiry >= 34 + 1, `margin ${w.height + 300 - expiry}`);
        },
        { random: () => 0.99, listchannels: filling },
      );
    });

    test('blocks found while askrene still plans close the route: nothing goes by sendpay, and the next attempt counts its maxdelay from the new height', async () => {
      await withRelay(
        async (w) => {
          await eventually(() => w.calls('datastore') >= 1, '"gathered" written');
          await w.runner.idle();
          w.runner.setHeight(w.height + DEFAULT_RELAY_CONFIG.retryBlocks);
          await eventually(() => w.bob.server.calls.some((c) => c.method === 'askrene-disable-node'), 'the runner closes the route');
          w.getroutes.answer({ result: { probability_ppm: 990_000, routes: [viaDave] } });
          for (let i = 0; i < 10 && w.xpay.calls.length === 0 && w.reply() === undefined; i++) {
            w.clock.advance(2_000);
            await new Promise((resolve) => setImmediate(resolve));
            await w.runner.idle();
          }
          assert.ok(w.xpay.calls.length + (w.reply() === undefined ? 0 : 1) > 0, 'Bob paid again or failed back');
          assert.equal(w.sendpay.calls.length, 0, 'nothing was sent by sendpay');
          for (const x of w.xpay.calls) assert.equal(x.maxdelay, FIRST_MAXDELAY - DEFAULT_RELAY_CONFIG.retryBlocks);
        },
        { random: () => 0.99, listchannels: filling },
      );
    });

    test('the first coin says stop: no walk, no listchannels, the route as askrene gave it', async () => {
      asked.length = 0;
      await withRelay(
        async (w) => {
          const hops = await sentViaDave(w);
          assert.deepEqual(
            hops.map((h) => h.delay),
            [32, 18],
          );
          assert.deepEqual(asked, []);
        },
        { random: () => 0.1, listchannels },
      );
    });

    test('gossip cannot answer (listchannels refused): the walk ends there and the part still goes, without a shadow', async () => {
      await withRelay(
        async (w) => {
          assert.deepEqual(
            (await sentViaDave(w)).map((h) => h.delay),
            [32, 18],
          );
        },
        {
          random: () => 0.99,
          listchannels: async () => {
            throw new SimRpcError(-32602, 'source: should be a node id');
          },
        },
      );
    });
  });
});
