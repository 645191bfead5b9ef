/** What `rdv status` lists and counts: states, --since, --limit, newest first, archive entries in the totals. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { archiveOf } from '../../src/chain/archive.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import type { LastRecord, RelayRecord } from '../../src/chain/record.js';
import { parseLimit, parseSince, parseStates, select, stateOf, type Listed } from '../../src/chain/selection.js';
import { makeRecord, NOW } from '../helpers/builders.js';

const hash = (n: number): PaymentHash => n.toString(16).padStart(64, '0') as PaymentHash;
const relay = (n: number, over: Partial<RelayRecord> = {}): Listed => {
  const record = makeRecord({ paymentHash: hash(n), createdAt: NOW - n * 3_600, ...over });
  return { record, state: record.state };
};
const last = (n: number, over: Partial<LastRecord> = {}): LastRecord => ({
  version: 1, role: 'last', paymentHash: hash(n), bolt11: 'lnbcrt1m1carol', label: `rdv-${n}`, amountMsat: msat(100_000_000n),
  description: 'order', expiresAt: NOW + 3_600, createdAt: NOW - n * 3_600, updatedAt: NOW - n * 3_600, ...over,
});

describe('stateOf: a last payee\'s record takes its invoice\'s state', () => {
  const cases = [
    { description: 'a paid invoice is settled', invoice: 'paid', record: last(1), want: 'settled' },
    { description: 'an expired invoice is expired', invoice: 'expired', record: last(1), want: 'expired' },
    { description: 'a deleted invoice can no longer be paid: failed', invoice: 'deleted', record: last(1), want: 'failed' },
    { description: 'unpaid and unexpired is open', invoice: 'unpaid', record: last(1), want: 'open' },
    { description: 'unpaid past its expiry (the node has not noticed yet) is expired', invoice: 'unpaid', record: last(1, { expiresAt: NOW - 1 }), want: 'expired' },
    { description: 'a relay keeps its own state, whatever', invoice: undefined, record: makeRecord({ state: 'paying' }), want: 'paying' },
  ] as const;
  for (const c of cases) test(c.description, () => assert.equal(stateOf(c.record, c.invoice, NOW), c.want));
});

describe('select', () => {
  const records = [
    relay(3, { state: 'settled', earnedMsat: msat(5_700_000n) }),
    relay(1, { state: 'open' }),
    relay(2, { state: 'paying' }),
    relay(5, { state: 'failed', earnedMsat: msat(-1_000n) }),
    { record: last(4), state: 'settled' as const },
  ];

  test('newest first, and every state when none is asked for', () => {
    const s = select(records, [], { states: [] });
    assert.deepEqual(s.rows.map((r) => r.record.paymentHash), [hash(1), hash(2), hash(3), hash(4), hash(5)]);
    assert.equal(s.totals.count, 5);
  });

  test('--state open --state paying keeps just those, and the totals count the selection only', () => {
    const s = select(records, [], { states: ['open', 'paying'] });
    assert.deepEqual(s.rows.map((r) => r.state), ['open', 'paying']);
    assert.deepEqual(s.totals.byState, { open: 1, gathered: 0, paying: 1, settled: 0, failed: 0, expired: 0 });
    assert.equal(s.totals.earnedMsat, 0n);
  });

  test('earned sums what relays kept (a loss counts against it); a last payee\'s paid invoice is received, not earned', () => {
    const s = select(records, [], { states: [] });
    assert.equal(s.totals.earnedMsat, 5_699_000n);
    assert.equal(s.totals.receivedMsat, 100_000_000n);
  });

  test('--since drops what was made before it', () => {
    const s = select(records, [], { states: [], since: NOW - 2 * 3_600 });
    assert.deepEqual(s.rows.map((r) => r.record.paymentHash), [hash(1), hash(2)]);
  });

  test('--limit cuts the rows but the totals still count everything chosen', () => {
    const s = select(records, [], { states: [], limit: 2 });
    assert.equal(s.rows.length, 2);
    assert.equal(s.totals.count, 5);
  });

  test('pruned records count in the totals through their archive entries', () => {
    const pruned = archiveOf(makeRecord({ paymentHash: hash(9), state: 'settled', earnedMsat: msat(6_000_000n), createdAt: NOW - 90 * 86_400 }), 'settled', NOW - 89 * 86_400, NOW);
    const s = select(records, [pruned], { states: ['settled'] });
    assert.equal(s.totals.count, 3);
    assert.equal(s.totals.archived, 1);
    assert.equal(s.totals.earnedMsat, 11_700_000n);
    assert.deepEqual(s.archivedRows.map((a) => a.paymentHash), [hash(9)]);
  });

  test('a prune cut short (record and archive entry both there) counts the hash once, as the record', () => {
    const both = archiveOf(records[0]!.record, 'settled', NOW, NOW);
    const s = select(records, [both], { states: [] });
    assert.equal(s.totals.count, 5);
    assert.equal(s.totals.archived, 0);
    assert.equal(s.totals.earnedMsat, 5_699_000n);
  });

  test('equal creation times list in hash order, so two runs agree', () => {
    const same = [relay(7, { createdAt: NOW }), relay(6, { createdAt: NOW })];
    assert.deepEqual(select(same, [], { states: [] }).rows.map((r) => r.record.paymentHash), [hash(6), hash(7)]);
  });
});

describe('status options', () => {
  test('--state takes repeats and commas, any case, and refuses an unknown state naming the good ones', () => {
    assert.deepEqual(parseStates(['open', 'PAYING,settled', 'open']), { ok: true, value: ['open', 'paying', 'settled'] });
    assert.deepEqual(parseStates(['pending']), { ok: false, error: '--state "pending" is not a state: use open, gathered, paying, settled, failed, expired' });
  });

  const since = [
    { given: '7d', want: NOW - 7 * 86_400 },
    { given: '90m', want: NOW - 5_400 },
    { given: '3600', want: NOW - 3_600 },
    { given: '2026-11-01', want: Date.UTC(2026, 10, 1) / 1000 },
    { given: '2026-11-01T12:30:00Z', want: Date.UTC(2026, 10, 1, 12, 30) / 1000 },
  ];
  for (const c of since) test(`--since ${c.given}`, () => assert.deepEqual(parseSince(c.given, NOW), { ok: true, value: c.want }));
  for (const bad of ['yesterday', '2026-02-30', '2026-13-01', '-1d', '']) {
    test(`--since "${bad}" is refused`, () => assert.equal(parseSince(bad, NOW).ok, false));
  }
  test('--since a date after now is refused', () => assert.deepEqual(parseSince('2099-01-01', NOW), { ok: false, error: '--since 2099-01-01 is in the future' }));

  for (const bad of ['0', '-3', 'ten', '1.5']) test(`--limit ${bad} is refused`, () => assert.equal(parseLimit(bad).ok, false));
  test('--limit 20', () => assert.deepEqual(parseLimit('20'), { ok: true, value: 20 }));
});
