/**
 * The simulated lightningd answers like CLN v26.06.6: each reply and hook
 * payload is compared, field by field, with the one captured from a real node
 * (test/fixtures/cln-v26.06). Every field the simulator sends must exist in the
 * real one with the same JSON type, and the real one's fields must be there too
 * (except those listed as optional for that call).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { fixture } from '../helpers/paths.js';
import { eventually, rpcError, simNetFor } from '../helpers/sim.js';

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';
const kind = (v: unknown): Kind => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'bigint' ? 'number' : (typeof v as Kind));

/**
 * Differences between a simulated value and the real one: fields the real one
 * lacks, fields of another type, and real fields the simulated one lacks (unless
 * `optional`). Arrays compare their first elements.
 */
function shapeDiff(sim: unknown, real: unknown, path: string, optional: ReadonlySet<string>): string[] {
  if (kind(sim) !== kind(real)) return [`${path}: ${kind(sim)} instead of ${kind(real)}`];
  if (Array.isArray(sim) && Array.isArray(real)) {
    if (sim.length === 0 || real.length === 0) return [];
    return shapeDiff(sim[0], real[0], `${path}[]`, optional);
  }
  if (kind(sim) !== 'object') return [];
  const s = sim as Record<string, unknown>;
  const r = real as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(s)) {
    if (!(k in r)) out.push(`${path}.${k}: not in CLN's reply`);
    else out.push(...shapeDiff(s[k], r[k], `${path}.${k}`, optional));
  }
  for (const k of Object.keys(r)) if (!(k in s) && !optional.has(`${path}.${k}`)) out.push(`${path}.${k}: missing`);
  return out;
}

const sameShape = (sim: unknown, fixtureName: string, optional: string[] = []): void => {
  assert.deepEqual(shapeDiff(sim, fixture(fixtureName), '$', new Set(optional)), []);
};

let net: SimNetwork;
let alice: SimNode;
let bob: SimNode;
let carol: SimNode;
let a: RpcClient;
let b: RpcClient;
let c: RpcClient;

simNetFor(
  async (n) => {
    net = n;
    alice = await net.addNode('alice');
    bob = await net.addNode('bob', { plugin: true });
    carol = await net.addNode('carol', { plugin: true });
    net.openChannel(alice, bob, 2_000_000n);
    net.openChannel(bob, carol, 2_000_000n);
    net.openChannel(alice, carol, 600_000n, { private: true });
    const connect = (path: string): Promise<RpcClient> => RpcClient.connect(path, { keepHex: true });
    [a, b, c] = await Promise.all([connect(alice.socketPath), connect(bob.socketPath), connect(carol.socketPath)]);
  },
  { tearDown: () => [a, b, c].forEach((client) => client?.close()) },
);

describe('simulated hook payloads and plugin requests have the shape of lightningd\'s', () => {
  test('htlc_accepted for a final hop and for a forward', async () => {
    // 700,000 sat: more than the private Alice-Carol channel holds, so it goes Alice -> Bob -> Carol.
    const inv = (await c.call('invoice', { amount_msat: 700_000_000, label: 'hook', description: 'hook' })) as { bolt11: string };
    const captured: Array<Record<string, unknown>> = [];
    const realParams = (name: string): Record<string, unknown> => (fixture(name) as { params: Record<string, unknown> }).params;
    // Capture what the nodes would send to a plugin by wrapping hookParams.
    for (const n of [bob, carol]) {
      const original = n.hookParams.bind(n);
      n.hookParams = (h) => {
        const p = original(h);
        captured.push(p);
        return p;
      };
    }
    await a.call('xpay', { invstring: inv.bolt11 });
    const forward = captured.find((p) => (p.onion as Record<string, unknown>).short_channel_id !== undefined);
    const final = captured.find((p) => (p.onion as Record<string, unknown>).short_channel_id === undefined);
    assert.deepEqual(shapeDiff(final, realParams('hook-htlc_accepted-final.json'), '$', new Set()), []);
    assert.deepEqual(shapeDiff(forward, realParams('hook-htlc_accepted-forward.json'), '$', new Set()), []);
  });

  test('custommsg', async () => {
    const before = carol.log.length;
    await b.call('connect', { id: carol.id, host: '127.0.0.1', port: carol.port });
    await b.call('sendcustommsg', { node_id: carol.id, msg: '8a01ff' });
    await eventually(() => carol.log.slice(before).some((l) => /pass-back/.test(l)), 'carol received it');
    const params = { payload: '8a01ff', peer_id: bob.id };
    assert.deepEqual(shapeDiff(params, (fixture('hook-custommsg.json') as { params: unknown }).params, '$', new Set()), []);
  });

});

describe('simulated RPC replies have the shape of CLN v26.06.6 replies', () => {
  test('getinfo', async () => sameShape(await b.call('getinfo'), 'rpc-getinfo.json'));

  test('invoice, listinvoices (paid), decode, delinvoice', async () => {
    const inv = (await c.call('invoice', { amount_msat: 100_000, label: 'fix-final', description: 'fixture final hop' })) as { bolt11: string; payment_hash: string };
    sameShape(inv, 'rpc-invoice.json');
    sameShape(await a.call('decode', { string: inv.bolt11 }), 'rpc-decode-bolt11.json');
    const paid = await a.call('xpay', { invstring: inv.bolt11 });
    sameShape(paid, 'rpc-xpay-success.json');
    sameShape(await c.call('listinvoices', { label: 'fix-final' }), 'rpc-listinvoices.json');
    sameShape(await a.call('listsendpays', { payment_hash: inv.payment_hash }), 'rpc-listsendpays-complete.json');
    await c.call('invoice', { amount_msat: 210_000, label: 'fix-del', description: 'fixture deleted before pay' });
    sameShape(await c.call('delinvoice', { label: 'fix-del', status: 'unpaid' }), 'rpc-delinvoice.json');
  });

  test('a multi-part xpay and its listsendpays (two parts, one group, u64 groupid)', async () => {
    // As in the capture: more than any one path can carry, so xpay splits it.
    const inv = (await c.call('invoice', { amount_msat: 1_600_000_000, label: 'fix-mpp', description: 'mpp' })) as { bolt11: string; payment_hash: string };
    const paid = await a.call('xpay', { invstring: inv.bolt11 });
    sameShape(paid, 'rpc-xpay-success-mpp.json');
    assert.ok(((paid as { successful_parts: number }).successful_parts) >= 2);
    const parts = (await a.call('listsendpays', { payment_hash: inv.payment_hash })) as { payments: Array<{ groupid: bigint }> };
    sameShape(parts, 'rpc-listsendpays-complete-mpp.json');
    assert.equal(new Set(parts.payments.map((p) => String(p.groupid))).size, 1);
  });

  test('xpay of a deleted invoice fails like CLN: 203, no data; and its listsendpays part is failed', async () => {
    const inv = (await c.call('invoice', { amount_msat: 210_000, label: 'fix-del2', description: 'gone' })) as { bolt11: string; payment_hash: string };
    await c.call('delinvoice', { label: 'fix-del2', status: 'unpaid' });
    const e = await rpcError(a.call('xpay', { invstring: inv.bolt11, retry_for: 1 }));
    assert.deepEqual(e, fixture('rpc-xpay-error-invoice-deleted.json'));
    sameShape(await a.call('listsendpays', { payment_hash: inv.payment_hash }), 'rpc-listsendpays-failed.json');
  });

  test('xpay again after success: 219 "Already paid this invoice successfully"', async () => {
    const inv = (await c.call('invoice', { amount_msat: 5_000, label: 'again', description: 'again' })) as { bolt11: string };
    await a.call('xpay', { invstring: inv.bolt11 });
    assert.deepEqual(await rpcError(a.call('xpay', { invstring: inv.bolt11 })), { code: 219, message: 'Already paid this invoice successfully' });
  });

  test('signinvoice re-signs with the node key and keeps the fields', async () => {
    const inv = (await c.call('invoice', { amount_msat: 230_000, label: 'fix-resign', description: 'resign' })) as { bolt11: string };
    const signed = await b.call('signinvoice', { invstring: inv.bolt11 });
    sameShape(signed, 'rpc-signinvoice.json');
    const decoded = (await a.call('decode', { string: (signed as { bolt11: string }).bolt11 })) as { payee: string; amount_msat: number };
    assert.deepEqual([decoded.payee, decoded.amount_msat], [bob.id, 230_000]);
  });

  test('datastore: create, must-replace, wrong generation, exists; listdatastore levels; deldatastore twice', async () => {
    const key = ['rdv', 'v1', 'relay', 'b4f291d7add181a2363d28a7ba8b0e769f8ea96f9b40d46e236a1951fa1c52e3'];
    sameShape(await b.call('datastore', { key, string: '{"amount_msat":"230000","state":"new"}', mode: 'must-create' }), 'rpc-datastore-create.json');
    assert.deepEqual(await rpcError(b.call('datastore', { key, string: '{}', mode: 'must-replace', generation: 7 })), fixture('rpc-datastore-wrong-generation-error.json'));
    sameShape(await b.call('datastore', { key, string: '{"state":"paying"}', mode: 'must-replace', generation: 0 }), 'rpc-datastore-replace.json');
    assert.deepEqual(await rpcError(b.call('datastore', { key, string: '{}', mode: 'must-create' })), fixture('rpc-datastore-must-create-exists-error.json'));
    sameShape(await b.call('listdatastore', { key: ['rdv'] }), 'rpc-listdatastore.json');
    sameShape(await b.call('listdatastore', { key: ['rdv', 'v1', 'relay'] }), 'rpc-listdatastore-relay-level.json');
    sameShape(await b.call('listdatastore', { key }), 'rpc-listdatastore-full-key.json');
    sameShape(await b.call('deldatastore', { key }), 'rpc-deldatastore.json');
    assert.deepEqual(await rpcError(b.call('deldatastore', { key })), fixture('rpc-deldatastore-missing-error.json'));
    sameShape(await b.call('listdatastore', { key: ['rdv'] }), 'rpc-listdatastore-empty.json');
  });

  test('getroutes, and getroute refused as deprecated', async () => {
    sameShape(
      await a.call('getroutes', { source: alice.id, destination: carol.id, amount_msat: 1_000_000, layers: [], maxfee_msat: 10_000, final_cltv: 18 }),
      'rpc-getroutes.json',
    );
    assert.deepEqual(await rpcError(a.call('getroute', { id: carol.id, amount_msat: 1_000_000, riskfactor: 10 })), fixture('rpc-getroute-deprecated-error.json'));
  });

  test('listchannels by source (gossip: announced channels only, each leaving the source), and a source that is no node id', async () => {
    const reply = (await a.call('listchannels', { source: carol.id })) as { channels: Array<Record<string, unknown>> };
    sameShape(reply, 'rpc-listchannels-source.json');
    assert.deepEqual(
      reply.channels.map((ch) => [ch.source, ch.destination, ch.direction]),
      [[carol.id, bob.id, carol.id < bob.id ? 0 : 1]],
      'the private alice–carol channel is not listed',
    );
    assert.deepEqual(await rpcError(a.call('listchannels', { source: 'nope' })), { code: -32602, message: `source: should be a node id: invalid token '"nope"'` });
  });

  test('connect, sendcustommsg', async () => {
    sameShape(await a.call('connect', { id: carol.id, host: '127.0.0.1', port: carol.port }), 'rpc-connect.json');
    sameShape(await c.call('sendcustommsg', { node_id: bob.id, msg: '8a0168656c6c6f2d666978747572652d3031' }), 'rpc-sendcustommsg.json');
  });

  test('waitblockheight, and its timeout error', async () => {
    sameShape(await b.call('waitblockheight', { blockheight: net.height, timeout: 5 }), 'rpc-waitblockheight.json');
    assert.deepEqual(await rpcError(b.call('waitblockheight', { blockheight: net.height + 9, timeout: 1 })), fixture('rpc-waitblockheight-timeout-error.json'));
  });

  test('listpeerchannels (a public channel with a real scid, and its aliases)', async () => {
    const reply = (await b.call('listpeerchannels', { id: carol.id })) as { channels: Array<Record<string, unknown>> };
    // Fields that would need real transactions are not simulated.
    const optional = ['scratch_txid', 'last_tx_fee_msat', 'close_to_addr', 'close_to', 'ignore_fee_limits', 'funding.psbt', 'funding.withheld'].map((f) => `$.channels[].${f}`);
    sameShape(reply, 'rpc-listpeerchannels.json', optional);
    const real = (fixture('rpc-listpeerchannels.json') as { channels: Array<Record<string, unknown>> }).channels[0];
    const [sim] = reply.channels;
    assert.deepEqual([sim?.state, sim?.private, sim?.opener], [real?.state, real?.private, real?.opener]);
    assert.equal(sim?.direction, bob.id < carol.id ? 0 : 1, 'node_id_idx: 0 when our id sorts first');
    assert.match(String((sim?.alias as { local: string }).local), /^\d+x\d+x\d+$/);
  });

  test('plugin list, unknown commands', async () => {
    sameShape(await c.call('plugin', { subcommand: 'list' }), 'rpc-plugin-list.json');
    assert.deepEqual(await rpcError(b.call('notacommand')), fixture('rpc-unknown-method-error.json'));
    const stopErr = await rpcError(c.call('plugin', { subcommand: 'stop', plugin: '/home/node/plugins/nonexistent.js' }));
    assert.deepEqual(stopErr, fixture('rpc-plugin-stop-error.json'));
  });
});
