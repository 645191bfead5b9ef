/**
 * The runner against a fake lightningd over its real socket, with a clock the
 * test moves: what becomes of xpay's askrene layer when xpay's answer is lost.
 * Removing a layer while a getroutes uses it makes askrene abort and lightningd
 * stop, and xpay runs on inside lightningd when rdv's connection drops.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RELAY_CONFIG } from '../../src/chain/relay/types.js';
import type { JsonObject } from '../../src/chain/read.js';
import { LightningNode } from '../../src/rpc/node.js';
import { loadRecord } from '../../src/rpc/records.js';
import { RelayRunner } from '../../src/relay/runner/runner.js';
import { LAYER_LINGER_MS } from '../../src/relay/runner/xpay.js';
import type { SimNode } from '../../src/simnet/node.js';
import { HASH, makeRecord, SECRET } from '../helpers/builders.js';
import { htlcParams, sat, seedRecord } from '../helpers/fake-lightningd.js';
import { eventually, withSimNet } from '../helpers/sim.js';
import { TestClock } from '../helpers/test-clock.js';

const pendingPart = { payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 5_350_190_117_790_887_365n, created_at: 1_795_620_001 };

interface World {
  bob: SimNode;
  runner: RelayRunner;
  clock: TestClock;
  logs: string[];
  xpays: Array<Record<string, unknown>>;
  /** How xpay's call ends, when the test says (never, by default). */
  answerXpay: (outcome: { result: unknown } | { error: { code: number; message: string } }) => void;
  calls: (method: string) => Array<Record<string, unknown>>;
}

/** Bob with a relay record of HASH, its runner fed one HTLC that completes the set: the runner pays, and xpay runs. */
async function withPayingRelay(fn: (w: World) => Promise<void>): Promise<void> {
  await withSimNet(async (net) => {
    let node: LightningNode | undefined;
    try {
      const bob = await net.addNode('bob');
      const clock = new TestClock();
      const logs: string[] = [];
      const xpays: Array<Record<string, unknown>> = [];
      let settle: World['answerXpay'] = () => undefined;
      bob.overrides.set('xpay', (params) => {
        xpays.push(params);
        return new Promise((resolve, reject) => {
          settle = (o) => ('result' in o ? resolve(o.result) : reject(Object.assign(new Error(o.error.message), o.error)));
        });
      });
      bob.overrides.set('listsendpays', async () => ({ payments: xpays.length > 0 ? [pendingPart] : [] }));
      seedRecord(bob, makeRecord({ expiresAt: clock.now() + 3_600, createdAt: clock.now() - 60, updatedAt: clock.now() - 60 }));
      node = await LightningNode.connect(bob.socketPath, 'rdv-test', { reconnect: true });
      const runner = new RelayRunner({ node, selfId: bob.id, log: (level, m) => logs.push(`${level}: ${m}`), clock, config: { ...DEFAULT_RELAY_CONFIG, mppTimeoutMs: 60_000 } });
      runner.setHeight(net.height);
      const stored = await loadRecord(node, HASH);
      assert.ok(stored, 'the record is in the datastore');
      runner.adopt(stored);
      void runner.onHtlcAccepted(htlcParams({ paymentHash: HASH, id: 3, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: net.height + 300, height: net.height }) as JsonObject);
      await eventually(() => xpays.length === 1, 'the runner pays with xpay');
      await fn({ bob, runner, clock, logs, xpays, answerXpay: (o) => settle(o), calls: (m) => bob.server.calls.filter((c) => c.method === m).map((c) => c.params) });
    } finally {
      node?.close();
    }
  });
}

describe("xpay's askrene layer", () => {
  test('a lost xpay call (the connection dropped): its layer is not removed while listsendpays shows a pending part', async () => {
    await withPayingRelay(async (w) => {
      const layer = w.xpays[0]?.layers;
      assert.ok(Array.isArray(layer) && typeof layer[0] === 'string', 'xpay was given a layer of its own');
      const name = layer[0];
      const asked = w.calls('listsendpays').length;
      w.bob.server.dropConnections();
      // The runner sees a lost call (not a failure), asks listsendpays (pending) and waits.
      await eventually(() => w.calls('listsendpays').length > asked, 'the runner looks at the outgoing parts after the lost call');
      for (let minute = 1; minute <= 5; minute++) {
        const before = w.calls('listsendpays').length;
        w.clock.advance(60_000);
        // A look at listsendpays made after the clock moved: a removal sent before it on the same connection would be seen first.
        await eventually(() => w.calls('listsendpays').length > before, `the runner looks again (minute ${minute})`);
      }
      assert.deepEqual(w.calls('askrene-remove-layer'), [], 'the layer of an xpay that may still be running was removed');
      assert.deepEqual(
        (w.bob.askrene.listLayers({}).layers as Array<{ layer: string }>).map((l) => l.layer).filter((l) => l.startsWith('rdv-')),
        [name],
        'askrene still has the layer',
      );
      assert.ok(w.logs.some((l) => l.includes(`its askrene layer ${name} stays`)), w.logs.join('\n'));
    });
  });

  test('xpay itself answers (an error reply): its layer is removed a while later', async () => {
    await withPayingRelay(async (w) => {
      const name = (w.xpays[0]?.layers as string[])[0];
      w.answerXpay({ error: { code: 205, message: 'Failed: no route' } });
      await eventually(() => w.logs.some((l) => l.includes('xpay failed')), 'the runner hears that xpay failed');
      assert.deepEqual(w.calls('askrene-remove-layer'), [], 'not at once: a getroutes may still be running');
      w.clock.advance(LAYER_LINGER_MS);
      await eventually(() => w.calls('askrene-remove-layer').some((p) => p.layer === name), 'the layer is removed once it has lingered');
    });
  });
});
