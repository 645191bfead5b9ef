/**
 * `rdv doctor` against the fake lightningd: Bob's healthy relay node (exit 0),
 * Bob without rdv-guard (exit 1), a node without rdv at all, no node (exit 3),
 * and the --json shape. Doctor only reads: it never writes to the node.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import { RpcClient } from '../../src/rpc/client.js';
import { makeRecord } from '../helpers/builders.js';
import { buildChain, type Chain } from '../helpers/chain.js';
import { seedRecord } from '../helpers/fake-lightningd.js';
import { at, runRdv } from '../helpers/rdv.js';
import { simNetFor, withSimNet } from '../helpers/sim.js';

/** RPC methods that change something on the node (or in a plugin). */
const WRITES = new Set(['datastore', 'deldatastore', 'invoice', 'delinvoice', 'signinvoice', 'xpay', 'connect', 'sendcustommsg', 'rdv-reload', 'askrene-create-layer', 'askrene-remove-layer', 'askrene-disable-node', 'askrene-update-channel']);

interface DoctorJson {
  checks: Array<{ name: string; status: string; message: string; fix?: string; payment_hash?: string }>;
  summary: { ok: number; warn: number; fail: number };
}

const lines = (stdout: string): string[] => stdout.split('\n').filter((l) => /^(ok|warn|fail) /.test(l));

describe('rdv doctor on a healthy relay node', () => {
  let chain: Chain;
  simNetFor(async (net) => {
    chain = await buildChain(net);
  });

  test('every check ok, exit 0, and nothing written to the node', async () => {
    const datastore = chain.bob.datastore.snapshot();
    const from = chain.bob.server.calls.length;
    const r = await runRdv([...at(chain.bob), 'doctor']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const checks = lines(r.stdout);
    assert.equal(checks.length, 12, r.stdout);
    assert.deepEqual(checks.filter((l) => !l.startsWith('ok    ')), []);
    assert.equal(checks[0], 'ok    CLN v26.06.6 (>= v25.02)');
    assert.match(r.stdout, new RegExp(`ok {4}relay ${chain.hash.slice(0, 8)}: can receive .* \\(needs 106,000 sat\\), send .* \\(needs 100,000 sat\\); route fee 0 sat \\(budget 1,000 sat\\)`));
    assert.match(r.stdout, /\n12 ok, 0 warning\(s\), 0 failed\n$/);
    const called = chain.bob.server.calls.slice(from).map((c) => (c.method === 'plugin' ? `plugin ${String(c.params.subcommand)}` : c.method));
    assert.deepEqual(called.filter((m) => WRITES.has(m) || /^plugin (start|stop)/.test(m)), []);
    for (const m of ['getinfo', 'plugin list', 'listconfigs', 'help', 'listpeerchannels', 'listdatastore', 'getroutes', 'rdv-status', 'rdv-guard-status']) assert.ok(called.includes(m), `doctor asked ${m}`);
    assert.equal(chain.bob.datastore.snapshot(), datastore);
  });

  test('--json: {checks: [{name, status, message, fix?, payment_hash?}], summary}', async () => {
    const r = await runRdv([...at(chain.bob), '--json', 'doctor']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as DoctorJson;
    assert.deepEqual(Object.keys(j), ['checks', 'summary']);
    assert.deepEqual(j.summary, { ok: 12, warn: 0, fail: 0 });
    assert.deepEqual(
      j.checks.map((c) => c.name),
      ['cln-version', 'rdv-plugin', 'guard-plugin', 'hook-order', 'commands', 'reachable', 'records', 'liquidity', 'cltv', 'stuck', 'inbox', 'pull'],
    );
    for (const c of j.checks) {
      assert.deepEqual(Object.keys(c).filter((k) => !['name', 'status', 'message', 'fix', 'payment_hash'].includes(k)), []);
      assert.equal(typeof c.message, 'string');
    }
    assert.equal(j.checks.find((c) => c.name === 'liquidity')?.payment_hash, chain.hash);
  });

  test('--quiet prints only what needs doing: nothing here', async () => {
    const r = await runRdv([...at(chain.bob), '-q', 'doctor']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  test('a bad --cltv-warn is bad input (exit 2)', async () => {
    const r = await runRdv([...at(chain.bob), 'doctor', '--cltv-warn', 'soon']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--cltv-warn "soon" is not a whole number of blocks/);
  });

  test('--cltv-warn 77: Bob\'s min_final_cltv 78 is a warning, not a failure (exit 0)', async () => {
    const r = await runRdv([...at(chain.bob), 'doctor', '--cltv-warn', '77']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`warn  min_final_cltv over 77 blocks: ${chain.hash.slice(0, 8)} \\(78\\): some wallets refuse`));
  });
});

describe('rdv doctor on a node that is not fit', () => {
  test('rdv without rdv-guard: the guard line fails and says what to add, exit 1', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net, { bobGuard: false });
      const r = await runRdv([...at(chain.bob), 'doctor']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^fail  rdv-guard is not loaded: .*you lose that money: add important-plugin=.*\/bin\/rdv-guard to lightningd's config and restart it$/m);
      assert.match(r.stdout, /^warn  hook order not checked/m);
      assert.match(r.stdout, /^ok    rdv 0\.\d+\.\d+ loaded as an important plugin and relaying/m);
      assert.match(r.stderr, /^rdv: 1 of 12 checks failed/);
      const j = JSON.parse((await runRdv([...at(chain.bob), '--json', 'doctor'])).stdout) as DoctorJson;
      assert.deepEqual(j.summary, { ok: 10, warn: 1, fail: 1 });
      assert.match(j.checks.find((c) => c.name === 'guard-plugin')?.fix ?? '', /important-plugin=/);
    });
  });

  test('no rdv plugin at all: the checks that need it say so, nothing crashes, exit 1', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const r = await runRdv([...at(bob), '--json', 'doctor']);
      assert.equal(r.code, 1, r.stderr);
      const j = JSON.parse(r.stdout) as DoctorJson;
      const status = Object.fromEntries(j.checks.map((c) => [c.name, c.status]));
      assert.deepEqual(status, { 'cln-version': 'ok', 'rdv-plugin': 'fail', 'guard-plugin': 'fail', 'hook-order': 'warn', commands: 'ok', reachable: 'ok', records: 'ok', liquidity: 'ok', cltv: 'ok', stuck: 'ok', inbox: 'warn', pull: 'ok' });
      assert.match(j.checks[1]?.fix ?? '', /important-plugin=.*\/bin\/rdv and important-plugin=.*\/bin\/rdv-guard/);
      assert.doesNotMatch(r.stderr, /unexpected/);
    });
  });

  test('a relay left paying with nothing in flight and no rdv: stuck, with what to do', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const record = makeRecord({ state: 'paying', updatedAt: Math.floor(Date.now() / 1000) - 600 });
      seedRecord(bob, record);
      const r = await runRdv([...at(bob), 'doctor']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, new RegExp(`^fail  relay ${record.paymentHash.slice(0, 8)} has been paying for 10m with no payment onward pending, and rdv is not running to finish it: load rdv`, 'm'));
      assert.match(r.stdout, /^ok    1 rdv record\(s\): 0 open relay invoice\(s\), 1 relay\(s\) holding a payment$/m);
    });
  });

  test("a relay over a BOLT 12 invoice: doctor reads it with the node's decode and checks the route to its blinded path", async () => {
    await withSimNet(async (net) => {
      const alice = await net.addNode('alice');
      const bob = await net.addNode('bob', { plugin: true });
      const dave = await net.addNode('dave');
      net.openChannel(alice, bob, 2_000_000n);
      net.openChannel(bob, dave, 1_000_000n, { private: true, policyA: { feeBaseMsat: 1234n, feePpm: 567n, cltvDelta: 41 } });
      const [b, d] = await Promise.all([RpcClient.connect(bob.socketPath), RpcClient.connect(dave.socketPath)]);
      try {
        const offer = (await d.call('offer', { amount: 'any', description: 'doctor' })) as { bolt12: string };
        const { invoice } = (await b.call('fetchinvoice', { offer: offer.bolt12, amount_msat: 54_321_987 })) as { invoice: string };
        const { invoice_payment_hash: hash } = (await b.call('decode', { string: invoice })) as { invoice_payment_hash: string };
        const record = makeRecord({
          paymentHash: hash as PaymentHash,
          downstreamInvoice: invoice,
          downstreamSource: { kind: 'offer', offer: offer.bolt12 },
          downstreamPayee: dave.id,
          downstreamAmountMsat: msat(54_321_987n),
          amountMsat: msat(60_000_000n),
          expiresAt: Math.floor(Date.now() / 1000) + 3_000,
        });
        seedRecord(bob, record);
        const from = bob.server.calls.length;
        const r = await runRdv([...at(bob), 'doctor']);
        // Bob is the path's introduction node: no route before it, the path's fee 1234 + floor(54,321,987 x 567 / 1e6) = 32,034 msat.
        assert.match(r.stdout, new RegExp(`^ok {4}relay ${hash.slice(0, 8)}: can receive .*; route fee 32\\.034 sat \\(budget 1,000 sat\\), 0 blocks of CLTV$`, 'm'), r.stdout);
        assert.ok(bob.server.calls.slice(from).some((c) => c.method === 'decode' && c.params.string === invoice), 'doctor asked the node to decode the invoice');
      } finally {
        b.close();
        d.close();
      }
    });
  });

  test('a lightningd without xpay: the commands line fails', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob', { plugin: true });
      bob.missingCommands.add('xpay');
      const r = await runRdv([...at(bob), 'doctor']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^fail  lightningd has no xpay command: .*: enable CLN's xpay plugin/m);
    });
  });
});

describe('rdv doctor without a node', () => {
  test('no lightningd answering: exit 3, one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdv-doctor-'));
    const r = await runRdv(['--lightning-dir', dir, '--network', 'regtest', 'doctor']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^rdv: /);
  });
});
