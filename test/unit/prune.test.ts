/**
 * pruneDecision: which of Bob's records may be archived and removed, as a
 * labelled table. Every "never" of the design has its row: a record that is not
 * finished, one whose HTLCs or payment onward may still move, one the plugin
 * holds parts for or has a newer copy of, a failed relay the payer may retry.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { LastRecord, Part, RelayRecord } from '../../src/chain/record.js';
import { FAILED_MARGIN_SECONDS, PART_AFTERLIFE_BLOCKS, pruneAfterOption, pruneDecision, worthAsking, type KeepKind, type PruneFacts } from '../../src/chain/prune.js';
import { HASH, HEIGHT, NOW, makeRecord } from '../helpers/builders.js';

const DAY = 86_400;
const MONTH = 30 * DAY;
/** Bob's part, claimed (received) once the relay settled. */
const PART: Part = { scid: '103x1x0', id: '7', channelId: 'c7'.repeat(32), amountMsat: msat(106_000_000n), cltvExpiry: HEIGHT - 901 };
const CLAIMED = [`${PART.channelId}/7`];

/** A relay that settled 45 days ago, every part received. */
const settled = (over: Partial<RelayRecord> = {}): RelayRecord =>
  makeRecord({ state: 'settled', parts: [PART], claimed: CLAIMED, createdAt: NOW - 46 * DAY, expiresAt: NOW - 46 * DAY + 3_601, settledAt: NOW - 45 * DAY, updatedAt: NOW - 45 * DAY, ...over });
/** A relay that failed back after its invoice expired, 40 days ago. */
const failed = (over: Partial<RelayRecord> = {}): RelayRecord => makeRecord({ state: 'failed', createdAt: NOW - 41 * DAY, expiresAt: NOW - 40 * DAY - 7, updatedAt: NOW - 40 * DAY, ...over });
const expired = (over: Partial<RelayRecord> = {}): RelayRecord => makeRecord({ state: 'expired', createdAt: NOW - 50 * DAY, expiresAt: NOW - 49 * DAY, updatedAt: NOW - 49 * DAY + 11, ...over });
const last = (over: Partial<LastRecord> = {}): LastRecord => ({
  version: 1,
  role: 'last',
  paymentHash: HASH,
  bolt11: 'lnbcrt1m1carol',
  label: 'rdv-carol-42',
  amountMsat: msat(100_000_000n),
  description: 'order 42',
  createdAt: NOW - 60 * DAY,
  expiresAt: NOW - 53 * DAY,
  updatedAt: NOW - 60 * DAY,
  ...over,
});

const facts = (over: Partial<PruneFacts> = {}): PruneFacts => ({ blockheight: HEIGHT, outgoing: 'complete', ...over });
const lastFacts = (over: Partial<PruneFacts> = {}): PruneFacts => ({ blockheight: HEIGHT, invoice: { status: 'paid', paidAt: NOW - 59 * DAY }, ...over });

interface Row {
  description: string;
  record: RelayRecord | LastRecord;
  facts: PruneFacts;
  olderThan?: number;
  expected: { state: string; endedAt: number } | { kind: KeepKind; reason?: RegExp };
}

const rows: Row[] = [
  // --- removed
  { description: '1. a relay settled 45 days ago, every part received', record: settled(), facts: facts(), expected: { state: 'settled', endedAt: NOW - 45 * DAY } },
  { description: '3. settled without settled_at (older rdv): ended at updated_at', record: settled({ settledAt: undefined, updatedAt: NOW - 44 * DAY }), facts: facts(), expected: { state: 'settled', endedAt: NOW - 44 * DAY } },
  {
    description: '5. settled with a part not known as received, whose HTLC expired long ago',
    record: settled({ claimed: [] }),
    facts: facts(),
    expected: { state: 'settled', endedAt: NOW - 45 * DAY },
  },
  { description: '7. failed 40 days ago, invoice long expired: ended at the later of the two', record: failed(), facts: facts({ outgoing: 'failed' }), expected: { state: 'failed', endedAt: NOW - 40 * DAY } },
  { description: '9. expired unpaid: ended at its expiry', record: expired(), facts: facts({ outgoing: 'none' }), expected: { state: 'expired', endedAt: NOW - 49 * DAY } },
  { description: '11. a last payee\'s paid invoice: settled when paid', record: last(), facts: lastFacts(), expected: { state: 'settled', endedAt: NOW - 59 * DAY } },
  { description: '13. a last payee\'s expired invoice', record: last(), facts: lastFacts({ invoice: { status: 'expired' } }), expected: { state: 'expired', endedAt: NOW - 53 * DAY } },
  { description: '15. rdv forget (no age): settled a minute ago', record: settled({ settledAt: NOW - 61, updatedAt: NOW - 61 }), facts: facts(), olderThan: 0, expected: { state: 'settled', endedAt: NOW - 61 } },
  {
    description: '17. the plugin runs, holds nothing and has the same copy',
    record: settled(),
    facts: facts({ plugin: { heldParts: 0, state: 'settled', updatedAt: NOW - 45 * DAY } }),
    expected: { state: 'settled', endedAt: NOW - 45 * DAY },
  },
  // --- kept: too recent
  { description: '19. settled 29 days ago, --older-than 30d', record: settled({ settledAt: NOW - 29 * DAY }), facts: facts(), expected: { kind: 'recent', reason: /^settled 29d 0h ago/ } },
  { description: '21. a last payee paid 3 days ago', record: last(), facts: lastFacts({ invoice: { status: 'paid', paidAt: NOW - 3 * DAY } }), expected: { kind: 'recent' } },
  {
    description: '23. settled yesterday, nothing asked of lightningd: recent, not unknown',
    record: settled({ settledAt: NOW - DAY }),
    facts: { blockheight: HEIGHT },
    expected: { kind: 'recent' },
  },
  { description: '25. a last payee made 10 days ago, nothing asked: recent', record: last({ createdAt: NOW - 10 * DAY }), facts: { blockheight: HEIGHT }, expected: { kind: 'recent', reason: /^made 10d 0h ago/ } },
  // --- never: not finished
  {
    description: '27. NEVER an open relay whose invoice is unexpired (the payer may pay)',
    record: makeRecord({ state: 'open', expiresAt: NOW + 7_200 }),
    facts: facts({ outgoing: 'none' }),
    olderThan: 0,
    expected: { kind: 'active', reason: /^still open: its invoice expires in 2h 0m; wait/ },
  },
  {
    description: '29. NEVER an open relay, even long expired (the plugin has not marked it)',
    record: makeRecord({ state: 'open', expiresAt: NOW - 90 * DAY, updatedAt: NOW - 91 * DAY }),
    facts: facts({ outgoing: 'none' }),
    expected: { kind: 'active', reason: /is rdv running/ },
  },
  { description: '31. NEVER a gathered relay', record: makeRecord({ state: 'gathered', parts: [PART], updatedAt: NOW - 90 * DAY }), facts: facts({ outgoing: 'none' }), olderThan: 0, expected: { kind: 'active' } },
  { description: '33. NEVER a paying relay', record: makeRecord({ state: 'paying', parts: [PART], updatedAt: NOW - 90 * DAY }), facts: facts({ outgoing: 'failed' }), olderThan: 0, expected: { kind: 'active' } },
  {
    description: '35. NEVER a failed relay whose invoice is unexpired (it returns to open; the payer may retry)',
    record: failed({ expiresAt: NOW + 600, updatedAt: NOW - 60 * DAY }),
    facts: facts({ outgoing: 'failed' }),
    olderThan: 0,
    expected: { kind: 'active', reason: /payer may still retry: its invoice expires in 10m/ },
  },
  {
    description: '37. NEVER a failed relay within the margin after its invoice expired',
    record: failed({ expiresAt: NOW - FAILED_MARGIN_SECONDS + 5, updatedAt: NOW - 60 * DAY }),
    facts: facts({ outgoing: 'failed' }),
    olderThan: 0,
    expected: { kind: 'active' },
  },
  {
    description: '39. NEVER a last payee whose invoice is unpaid',
    record: last({ expiresAt: NOW + 3 * DAY }),
    facts: lastFacts({ invoice: { status: 'unpaid' } }),
    olderThan: 0,
    expected: { kind: 'active', reason: /unpaid and expires in 3d 0h/ },
  },
  // --- never: an HTLC or a payment may still move
  { description: '41. NEVER one whose payment onward has a pending part (settled)', record: settled(), facts: facts({ outgoing: 'pending' }), expected: { kind: 'busy', reason: /pending/ } },
  { description: '43. NEVER one whose payment onward has a pending part (failed)', record: failed(), facts: facts({ outgoing: 'pending' }), expected: { kind: 'busy' } },
  { description: '45. NEVER one the plugin holds parts for', record: settled(), facts: facts({ plugin: { heldParts: 2 } }), expected: { kind: 'busy', reason: /holds 2 HTLC part/ } },
  {
    description: '47. NEVER one the plugin has moved on and not written yet',
    record: failed(),
    facts: facts({ outgoing: 'failed', plugin: { heldParts: 0, state: 'open' } }),
    expected: { kind: 'busy', reason: /as open/ },
  },
  {
    description: '49. NEVER one the plugin changed since it was written',
    record: settled(),
    facts: facts({ plugin: { heldParts: 0, state: 'settled', updatedAt: NOW - 10 } }),
    expected: { kind: 'busy', reason: /not written yet/ },
  },
  {
    description: '51. NEVER a settled one with a part not known as received whose HTLC may still be replayed',
    record: settled({ claimed: [], parts: [{ ...PART, cltvExpiry: HEIGHT - PART_AFTERLIFE_BLOCKS }] }),
    facts: facts(),
    expected: { kind: 'busy', reason: /may still replay them \(until block 1231\)/ },
  },
  {
    description: '53. NEVER a failed one that still records parts rdv-guard may hold',
    record: failed({ parts: [{ ...PART, cltvExpiry: HEIGHT + 40 }] }),
    facts: facts({ outgoing: 'failed' }),
    expected: { kind: 'busy', reason: /rdv-guard may still resolve/ },
  },
  // --- kept: facts missing or odd
  { description: '55. a relay when listsendpays did not answer', record: settled(), facts: facts({ outgoing: undefined }), expected: { kind: 'unknown' } },
  { description: '57. a last payee when listinvoices did not answer', record: last(), facts: lastFacts({ invoice: undefined }), expected: { kind: 'unknown' } },
  { description: '59. a last payee whose invoice was deleted: paid or not, nobody can tell', record: last(), facts: lastFacts({ invoice: 'missing' }), expected: { kind: 'attention', reason: /rdv-carol-42/ } },
  { description: '61. a failed relay whose payment onward completed after all', record: failed(), facts: facts({ outgoing: 'complete' }), expected: { kind: 'attention' } },
];

describe('pruneDecision', () => {
  for (const row of rows) {
    test(row.description, () => {
      const d = pruneDecision(row.record, row.facts, NOW, row.olderThan ?? MONTH);
      if ('state' in row.expected) {
        assert.deepEqual(d, { prune: true, ...row.expected });
      } else {
        assert.equal(d.prune, false, `expected to keep, got ${JSON.stringify(d)}`);
        if (d.prune) return;
        assert.equal(d.kind, row.expected.kind, d.reason);
        if (row.expected.reason) assert.match(d.reason, row.expected.reason);
      }
    });
  }
});

describe('worthAsking (skip RPC calls for records the record alone keeps)', () => {
  test('1. an old settled relay: ask', () => assert.equal(worthAsking(settled(), NOW, MONTH), true));
  test('3. a relay settled yesterday: do not', () => assert.equal(worthAsking(settled({ settledAt: NOW - DAY }), NOW, MONTH), false));
  test('5. an open relay: do not', () => assert.equal(worthAsking(makeRecord({ state: 'open', createdAt: NOW - 90 * DAY }), NOW, MONTH), false));
  test('7. a last payee made 10 days ago: do not (it cannot have ended earlier)', () => assert.equal(worthAsking(last({ createdAt: NOW - 10 * DAY }), NOW, MONTH), false));
  test('9. a last payee made 60 days ago: ask', () => assert.equal(worthAsking(last(), NOW, MONTH), true));
});

describe('pruneAfterOption (rdv-prune-after)', () => {
  const cases: Array<[unknown, number | undefined | 'error']> = [
    ['off', undefined],
    [undefined, undefined],
    ['', undefined],
    ['30d', 2_592_000],
    ['12h', 43_200],
    ['3600', 3_600],
    ['soon', 'error'],
    ['-5d', 'error'],
    [true, 'error'],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} -> ${String(expected)}`, () => {
      const r = pruneAfterOption(value);
      if (expected === 'error') {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, /rdv-prune-after/);
      } else assert.deepEqual(r, { ok: true, value: expected });
    });
  }
});
