/** `rdv status` on a node with many records: newest first, --state/--since/--limit, totals that count pruned records. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { archiveKey, archiveOf, serializeArchived } from '../../src/chain/archive.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import type { RelayRecord } from '../../src/chain/record.js';
import { makeRecord } from '../helpers/builders.js';
import { seedRecord } from '../helpers/fake-lightningd.js';
import { at, runRdv } from '../helpers/rdv.js';
import { withSimNet } from '../helpers/sim.js';

const now = Math.floor(Date.now() / 1000);
const hash = (n: number): PaymentHash => `${n.toString(16).padStart(2, '0')}${'ab'.repeat(31)}` as PaymentHash;
const HOUR = 3_600;

/** Bob's history: 2 open, 1 paying, 3 settled (one made 40 days ago), 1 failed; and one pruned settled relay. */
function history(): RelayRecord[] {
  const r = (n: number, ageHours: number, over: Partial<RelayRecord>): RelayRecord =>
    makeRecord({ paymentHash: hash(n), createdAt: now - ageHours * HOUR, updatedAt: now - ageHours * HOUR, expiresAt: now + HOUR, ...over });
  return [
    r(1, 1, { state: 'open' }),
    r(2, 2, { state: 'open' }),
    r(3, 3, { state: 'paying', earliestExpiry: 2_000 }),
    r(4, 4, { state: 'settled', earnedMsat: msat(5_500_000n), settledAt: now - 4 * HOUR }),
    r(5, 5, { state: 'settled', earnedMsat: msat(5_900_000n), settledAt: now - 5 * HOUR }),
    r(6, 40 * 24, { state: 'settled', earnedMsat: msat(6_000_000n), settledAt: now - 40 * 24 * HOUR }),
    r(7, 6, { state: 'failed', lastError: 'no route to Carol' }),
  ];
}

interface StatusJson {
  records: Array<{ payment_hash: string; role: string; state: string; amount_msat: unknown; earned_msat?: unknown }>;
  archived?: Array<{ payment_hash: string; earned_msat: unknown }>;
  totals: { count: number; by_state: Record<string, number>; earned_msat: unknown; archived: number };
}

/** Paths of `*_msat` fields that are not integers: CLN's convention is an integer, whatever the command. */
function nonIntegerMsat(v: unknown, path = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => nonIntegerMsat(x, `${path}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k.endsWith('_msat') && !Number.isInteger(x) ? [`${path}.${k}`] : []), ...nonIntegerMsat(x, `${path}.${k}`)]);
}

describe('rdv status with a history', () => {
  const withHistory = (fn: (dir: string[]) => Promise<void>): Promise<void> =>
    withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      for (const r of history()) seedRecord(bob, r);
      const pruned = archiveOf(makeRecord({ paymentHash: hash(9), state: 'settled', earnedMsat: msat(4_000_000n), createdAt: now - 90 * 24 * HOUR }), 'settled', now - 89 * 24 * HOUR, now);
      bob.datastore.datastore({ key: archiveKey(pruned.paymentHash), string: serializeArchived(pruned), mode: 'must-create' });
      await fn(at(bob));
    });

  test('lists newest first with a totals line that counts the pruned relay', () =>
    withHistory(async (node) => {
      const r = await runRdv([...node, 'status']);
      assert.equal(r.code, 0, r.stderr);
      const order = [...r.stdout.matchAll(/^([0-9a-f]{8})/gm)].map((m) => m[1]);
      assert.deepEqual(order, [1, 2, 3, 4, 5, 7, 6].map((n) => hash(n).slice(0, 8)));
      assert.match(r.stdout, /^8 records \(2 open, 1 paying, 4 settled, 1 failed\); 1 of them archived; earned 21,400 sat relaying — 7 listed \(--archived lists pruned ones too\)$/m);
    }));

  test('--state open --state paying lists only relays in progress, and totals just those', () =>
    withHistory(async (node) => {
      const s = JSON.parse((await runRdv([...node, '--json', 'status', '--state', 'open', '--state', 'paying'])).stdout) as StatusJson;
      assert.deepEqual(s.records.map((x) => [x.payment_hash, x.state]), [[hash(1), 'open'], [hash(2), 'open'], [hash(3), 'paying']]);
      assert.deepEqual(s.totals.by_state, { open: 2, gathered: 0, paying: 1, settled: 0, failed: 0, expired: 0 });
    }));

  test('--state settled --since 30d leaves out the old one and the pruned one; --json amounts are integer msat', () =>
    withHistory(async (node) => {
      const s = JSON.parse((await runRdv([...node, '--json', 'status', '--state', 'settled', '--since', '30d'])).stdout) as StatusJson;
      assert.deepEqual(s.records.map((x) => x.payment_hash), [hash(4), hash(5)]);
      assert.equal(s.records[0]?.amount_msat, 106_000_000);
      assert.equal(s.records[0]?.earned_msat, 5_500_000);
      assert.equal(s.totals.earned_msat, 11_400_000);
      assert.equal(s.totals.archived, 0);
    }));

  test('every *_msat field of status --json and of the plugin\'s rdv-status is an integer', () =>
    withSimNet(async (net) => {
      const bob = await net.addNode('bob', { plugin: true });
      for (const r of history()) seedRecord(bob, r);
      await bob.plugin?.request('rdv-reload', {});
      const s = JSON.parse((await runRdv([...at(bob), '--json', 'status', '--archived'])).stdout) as StatusJson;
      assert.equal(s.records.length, 7);
      assert.deepEqual(nonIntegerMsat(s), []);
      const reply = await bob.plugin?.request('rdv-status', {});
      assert.equal((reply as { relays: unknown[] }).relays.length, 3, 'rdv-status lists what is in progress');
      assert.equal((reply as { totals: { relays: number } }).totals.relays, 7, 'and counts every relay');
      assert.deepEqual(nonIntegerMsat(reply), []);
    }));

  test('--limit 2 lists two and says how many more there are; --archived lists the pruned one', () =>
    withHistory(async (node) => {
      const r = await runRdv([...node, 'status', '--limit', '2']);
      assert.equal([...r.stdout.matchAll(/^[0-9a-f]{8}/gm)].length, 2);
      assert.match(r.stdout, /^8 records .* — 2 listed/m);
      const s = JSON.parse((await runRdv([...node, '--json', 'status', '--archived', '--state', 'settled'])).stdout) as StatusJson;
      assert.deepEqual(s.archived?.map((a) => [a.payment_hash, a.earned_msat]), [[hash(9), 4_000_000]]);
      assert.equal(s.totals.count, 4);
    }));

  test('a filter that matches nothing says so and still prints the totals', () =>
    withHistory(async (node) => {
      const r = await runRdv([...node, 'status', '--state', 'gathered']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^No record matches\.\n0 records; earned 0 sat relaying$/m);
    }));

  test('a damaged record is named in the warnings and in --json unreadable, and the rest is listed', () =>
    withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      for (const r of history()) seedRecord(bob, r);
      bob.datastore.datastore({ key: ['rdv', 'v1', 'relay', hash(8)], string: '{"version":1,"role":"relay",', mode: 'must-create' });
      const r = await runRdv([...at(bob), 'status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`unreadable record: record ${hash(8)}: not JSON`));
      const s = JSON.parse((await runRdv([...at(bob), '--json', 'status'])).stdout) as StatusJson & { unreadable: unknown[] };
      assert.deepEqual(s.unreadable, [`record ${hash(8)}: not JSON`]);
      assert.equal(s.records.length, 7);
    }));
});

describe('rdv status --state open with the plugin running: the plugin answers, and agrees with the datastore', () => {
  const withPlugin = (fn: (node: string[]) => Promise<void>): Promise<void> =>
    withSimNet(async (net) => {
      const bob = await net.addNode('bob', { plugin: true });
      for (const r of history()) seedRecord(bob, r);
      bob.datastore.datastore({ key: ['rdv', 'v1', 'relay', hash(8)], string: 'not json', mode: 'must-create' });
      await bob.plugin?.request('rdv-reload', {});
      // And Bob is the last payee of another chain: an open invoice of his own.
      const joined = await runRdv([...at(bob), '--json', 'join', '--last', '--amount', '5000sat', '--description', 'a sale']);
      assert.equal(joined.code, 0, joined.stderr);
      await fn(at(bob));
    });

  test('the unfinished states give the same records, totals and unreadable list as the whole listing filtered', () =>
    withPlugin(async (node) => {
      type Listed = StatusJson & { unreadable: string[] };
      const all = JSON.parse((await runRdv([...node, '--json', 'status'])).stdout) as Listed;
      for (const states of [['open'], ['paying'], ['open', 'gathered', 'paying'], ['gathered']]) {
        const r = await runRdv([...node, '--json', 'status', ...states.flatMap((s) => ['--state', s])]);
        assert.equal(r.code, 0, r.stderr);
        const some = JSON.parse(r.stdout) as Listed;
        const expected = all.records.filter((x) => states.includes(x.state));
        assert.deepEqual(some.records, expected, `--state ${states.join(',')}`);
        assert.equal(some.totals.count, expected.length);
        assert.deepEqual(some.unreadable, [`record ${hash(8)}: not JSON`]);
      }
      assert.deepEqual(all.records.filter((x) => x.state === 'open').map((x) => x.role), ['last', 'relay', 'relay'], "the last payee's invoice and two relays are open");
    }));
});
