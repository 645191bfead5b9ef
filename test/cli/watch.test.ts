/** `rdv watch`: plugin checks, starting it, and the live view while a payment goes through. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildChain, pay } from '../helpers/chain.js';
import { RDV_BIN } from '../helpers/paths.js';
import { at, runRdv } from '../helpers/rdv.js';
import { withSimNet } from '../helpers/sim.js';

describe('rdv watch', () => {
  test('without the plugin and without a terminal it says how to load it, and exits 1', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const r = await runRdv([...at(bob), 'watch', '--once']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not loaded/);
      assert.match(r.stderr, /rdv: not started: load them with important-plugin=.*bin\/rdv and important-plugin=.*bin\/rdv-guard .*or run rdv watch --start/);
    });
  });

  test('--start starts rdv and rdv-guard, then warns that rdv is not an important plugin', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const r = await runRdv([...at(bob), 'watch', '--once', '--start']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /started .*bin\/rdv\n.*started .*bin\/rdv-guard/s);
      assert.match(r.stderr, /rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it; load it with important-plugin=/);
      assert.deepEqual(bob.plugins.map((p) => [p.path.split('/').at(-1), p.host?.alive]), [['rdv', true], ['rdv-guard', true]]);
    });
  });

  test('rdv without rdv-guard: a clear warning that a crash can cost money', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob', { plugin: true, guard: false });
      const r = await runRdv([...at(bob), 'status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them .* you lose that money; add important-plugin=.*rdv-guard/);
    });
  });

  test('as an important plugin: no warning, and the dashboard lists relays', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const r = await runRdv([...at(chain.bob), 'watch', '--once']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /loaded as an important plugin .*with rdv-guard/);
      assert.match(r.stdout, new RegExp(`${chain.hash.slice(0, 8)}\\s+open\\s+106,000 sat\\s+-\\s+-\\s+-\\s+waiting for the payer`));
    });
  });

  test('--json streams one event per line as the payment goes through, and Ctrl-C leaves the plugin running', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const child = spawn(RDV_BIN, [...at(chain.bob), '--json', 'watch', '--interval', '100'], { env: { ...process.env, LIGHTNINGD_PLUGIN: '' } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Pay once watch has shown the relay open (a fixed wait was too short on a busy machine).
      const shown = Date.now() + 10_000;
      while (!stdout.includes(chain.hash) && Date.now() < shown) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await pay(chain)).ok);
      const deadline = Date.now() + 10_000;
      while (!stdout.includes('"settled"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
      const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; state?: string; payment_hash?: string });
      assert.deepEqual(events[0], { event: 'plugin', loaded: true, important: true, path: RDV_BIN, guard: true });
      const states = events.filter((e) => e.payment_hash === chain.hash).map((e) => e.state);
      assert.equal(states[0], 'open');
      assert.equal(states.at(-1), 'settled');
      assert.equal(chain.bob.plugin?.alive, true);
    });
  });
});
