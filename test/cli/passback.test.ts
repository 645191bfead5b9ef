/**
 * Carol passes her invoice back to Bob over a peer message; Bob's rdv plugin
 * stores it in his inbox and acknowledges; Bob joins from the inbox. Plus
 * every way a pass-back message can be bad, which must change nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePassback, PASSBACK_MSG_TYPE } from '../../src/chain/passback.js';
import { ackKey, inboxKey, parseInbox, parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { makeInvoice } from '../helpers/invoices.js';
import { at, runRdv } from '../helpers/rdv.js';
import { eventually, inboxReads, simNetFor } from '../helpers/sim.js';

let net: SimNetwork;
let bob: SimNode;
let carol: SimNode;
let dave: SimNode;

simNetFor(async (n) => {
  net = n;
  bob = await net.addNode('bob', { plugin: true });
  carol = await net.addNode('carol', { plugin: true });
  dave = await net.addNode('dave');
  net.openChannel(bob, carol, 2_000_000n);
});

async function lastInvoice(node: SimNode, amount: string): Promise<{ payment_hash: string; bolt11: string }> {
  const r = await runRdv([...at(node), '--json', 'join', '--last', '--amount', amount]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { payment_hash: string; bolt11: string };
}

describe('pass-back over a peer message', () => {
  test('Carol connects to Bob, sends her invoice, and Bob\'s rdv confirms it is in his inbox', async () => {
    const inv = await lastInvoice(carol, '100000sat');
    const r = await runRdv([...at(carol), 'pass-back', inv.payment_hash.slice(0, 8), '--to', `${bob.id}@127.0.0.1:${bob.port}`, '--note', 'order 42']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`delivered invoice ${inv.payment_hash.slice(0, 8)} to ${bob.id}`));
    const entry = parseInbox(bob.datastore.get(inboxKey(inv.payment_hash, carol.id)) ?? '{}');
    assert.deepEqual([entry.from, entry.bolt11, entry.note], [carol.id, inv.bolt11, 'order 42']);
    assert.match(carol.datastore.get(ackKey(inv.payment_hash)) ?? '', /"accepted":true/);
  });

  test('Bob lists his inbox and joins from it; the inbox entry is then gone', async () => {
    const inv = await lastInvoice(carol, '80000sat');
    assert.equal((await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id])).code, 0);
    const list = await runRdv([...at(bob), '--json', 'inbox']);
    const invoices = (JSON.parse(list.stdout) as { invoices: Array<{ payment_hash: string; from: string; amount_msat: number }> }).invoices;
    assert.ok(invoices.some((i) => i.payment_hash === inv.payment_hash && i.from === carol.id && i.amount_msat === 80_000_000));
    const joined = await runRdv([...at(bob), '--json', 'join', '--from-inbox', inv.payment_hash.slice(0, 12), '--payout', '4000sat', '--fee-budget', '500sat', '--delay-budget', '50']);
    assert.equal(joined.code, 0, joined.stderr);
    const rec = parseRecord(bob.datastore.get(relayKey(inv.payment_hash)) ?? '{}') as RelayRecord;
    assert.deepEqual([rec.receivedFrom, rec.amountMsat], [carol.id, 84_500_000n]);
    assert.equal(bob.datastore.get(inboxKey(inv.payment_hash, carol.id)), undefined);
  });

  test('inbox --wait returns when an invoice arrives', async () => {
    const reads = inboxReads(bob);
    const waiting = runRdv([...at(bob), '--json', 'inbox', '--wait', '--timeout', '20']);
    // Passed back before inbox --wait has looked, it would be old news to it.
    await eventually(() => inboxReads(bob) > reads, 'inbox --wait has read the inbox');
    const inv = await lastInvoice(carol, '30000sat');
    assert.equal((await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id])).code, 0);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { invoices: Array<{ payment_hash: string }> }).invoices.map((i) => i.payment_hash), [inv.payment_hash]);
  });

  test('a node without rdv never confirms: the sender is told, and how to pass it by hand', async () => {
    const inv = await lastInvoice(carol, '1000sat');
    const r = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', `${dave.id}@127.0.0.1:${dave.port}`, '--timeout', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /did not confirm within 1 s: is rdv loaded on their node\? \(or use --print/);
  });

  test('a lost peer message is reported as unconfirmed, and sending again delivers it', async () => {
    const inv = await lastInvoice(carol, '3000sat');
    net.dropMessages = 1;
    const lost = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id, '--timeout', '1']);
    assert.equal(lost.code, 0, lost.stderr);
    assert.match(lost.stderr, /did not confirm within 1 s/);
    assert.equal(bob.datastore.get(inboxKey(inv.payment_hash, carol.id)), undefined);
    const again = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id]);
    assert.match(again.stdout, /delivered invoice/);
    assert.ok(bob.datastore.get(inboxKey(inv.payment_hash, carol.id)));
  });

  test('an unknown peer without an address cannot be reached: exit 1 and how to fix it', async () => {
    const inv = await lastInvoice(carol, '1000sat');
    const stranger = `03${'77'.repeat(32)}`;
    const r = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', stranger]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot connect to .*give its address: --to <id>@host:port/);
  });

  test('--print, --out and --qr pass it by hand', async () => {
    const inv = await lastInvoice(carol, '2000sat');
    const file = join(mkdtempSync(join(tmpdir(), 'rdv-pb-')), 'invoice.txt');
    const r = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--print', '--out', file, '--qr']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(inv.bolt11));
    assert.match(r.stdout, /[▄▀█]{10}/);
    assert.equal(readFileSync(file, 'utf8'), `${inv.bolt11}\n`);
    assert.ok(existsSync(file));
  });
});

describe('bad pass-back messages change nothing', () => {
  const send = (from: string, payloadHex: string): Promise<Record<string, unknown>> =>
    bob.callHook('custommsg', () => ({ payload: payloadHex, peer_id: from }));
  const type = PASSBACK_MSG_TYPE.toString(16);
  const inboxStats = async (): Promise<Record<string, number>> => ((await bob.plugin?.request('rdv-status', {})) as { inbox: Record<string, number> }).inbox;

  const cases: Array<{ description: string; from: () => string; payload: () => string; counts: string }> = [
    { description: 'an oversized message', from: () => carol.id, payload: () => `${type}00${'00'.repeat(5000)}`, counts: 'dropped' },
    { description: 'a truncated TLV', from: () => carol.id, payload: () => `${type}000101020101040a6c6e`, counts: 'bad' },
    { description: 'a message from a newer rdv (unknown even field)', from: () => carol.id, payload: () => `${type}000101020101080100`, counts: 'bad' },
    { description: "someone else's invoice", from: () => dave.id, payload: () => encodePassback({ kind: 'invoice', bolt11: makeInvoice('carol') }), counts: 'refused' },
    { description: 'a mainnet invoice on regtest', from: () => carol.id, payload: () => encodePassback({ kind: 'invoice', bolt11: makeInvoice('carol', { currency: 'bc' }) }), counts: 'refused' },
    { description: 'garbage instead of a bolt11', from: () => carol.id, payload: () => encodePassback({ kind: 'invoice', bolt11: 'lnbcrt1garbage' }), counts: 'refused' },
    { description: 'an acknowledgement for a flow we do not know', from: () => carol.id, payload: () => encodePassback({ kind: 'ack', paymentHash: 'ab'.repeat(32), accepted: true }), counts: 'acks_dropped' },
  ];
  for (const c of cases) {
    test(`${c.description}: counted as ${c.counts}, nothing written`, async () => {
      const before = bob.datastore.snapshot();
      const counted = (await inboxStats())[c.counts] ?? 0;
      assert.deepEqual(await send(c.from(), c.payload()), { result: 'continue' });
      await eventually(async () => ((await inboxStats())[c.counts] ?? 0) > counted, `bob counts it as ${c.counts}`);
      assert.equal(bob.datastore.snapshot(), before);
    });
  }

  test('each kind of problem is logged, but at most once a minute per peer', async () => {
    const mallory = `02${'5a'.repeat(32)}`;
    const logged = bob.log.length;
    for (let i = 0; i < 5; i++) await send(mallory, `${type}000101020101040a6c6e`);
    await eventually(async () => ((await inboxStats()).bad ?? 0) >= 5, 'all five are seen');
    assert.equal(bob.log.slice(logged).filter((l) => /bad pass-back message from 025a5a/.test(l) && /TLV 4 is truncated/.test(l)).length, 1);
  });
});
