/** `rdv doctor` against a fake lightningd: a healthy relay node, one without rdv-guard, none at all. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
void assert;
import { buildChain } from '../helpers/chain.js';
import { at, runRdv } from '../helpers/rdv.js';
import { withSimNet } from '../helpers/sim.js';

describe('rdv doctor', () => {
  test('scratch', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const r = await runRdv([...at(chain.bob), 'doctor']);
      console.log(r.code, r.stdout, r.stderr);
      const j = await runRdv([...at(chain.bob), '--json', 'doctor']);
      console.log(j.code, j.stdout, j.stderr);
    });
  });
});
