/**
 * rdv restarted alone (lightningd kept running): askrene still has the layer of an
 * xpay the old rdv started, and that xpay may still be routing attempts. The new rdv
 * closes its route at start; when askrene refuses the first time, it tries again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LightningNode } from '../../src/rpc/node.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import { withFakeLightningd } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';

const LAYER = `rdv-${'ab'.repeat(8)}-a1-1765000000`;

test("a stale xpay layer whose first close askrene refuses is closed on a later try", async () => {
  await withFakeLightningd(
    async (f) => {
      f.node.askrene.createLayer({ layer: LAYER });
      let refused = 0;
      f.node.overrides.set('askrene-disable-node', async (params) => {
        if (refused++ === 0) throw new SimRpcError(-1, 'askrene is busy');
        return f.node.askrene.disableNode(params);
      });
      const client = await LightningNode.connect(f.node.socketPath);
      try {
        await client.call('plugin', { subcommand: 'stop', plugin: 'rdv' });
        await client.startPlugin(f.node.plugins[0]?.path ?? '');
      } finally {
        client.close();
      }
      const disabled = (): unknown[] => (f.node.askrene.listLayers({ layer: LAYER }).layers as Array<{ disabled_nodes: unknown[] }>)[0]?.disabled_nodes ?? [];
      await eventually(() => disabled().includes(f.node.id), 'the stale layer is closed');
      assert.ok(refused >= 2, 'askrene was asked again after refusing');
    },
    { important: false },
  );
});
