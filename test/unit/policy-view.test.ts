/** What `rdv policy add` and `rdv policy list` print for a policy (src/ui/policy-view.ts). Pure. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { NodeId } from '../../src/chain/ids.js';
import type { Policy } from '../../src/chain/policy/policy.js';
import { boundsText, expiresText, lifeText, limitsText, policyRows, policySummary } from '../../src/ui/policy-view.js';
import { CAROL, NOW } from '../helpers/builders.js';

const ALICE = `03${'a1'.repeat(32)}` as NodeId;
const makePolicy = (over: Partial<Policy> = {}): Policy => ({
  id: '5e1f0c2a', from: CAROL, payout: { kind: 'percent', ppm: 20_000n }, feeBudget: { kind: 'fixed', msat: msat(1_234n) }, delayBudget: 80, createdAt: NOW - 77, ...over,
});

describe('policy view', () => {
  const limits: Array<[Partial<Policy>, string]> = [
    [{}, 'any'],
    [{ minAmountMsat: msat(10_000_000n) }, 'at least 10,000 sat'],
    [{ maxAmountMsat: msat(1_000_000_001n) }, 'at most 1,000,000.001 sat'],
    [{ minAmountMsat: msat(10_000_000n), maxAmountMsat: msat(1_000_000_000n) }, '10,000 sat to 1,000,000 sat'],
  ];
  for (const [over, text] of limits) test(`limits: ${text}`, () => assert.equal(limitsText(makePolicy(over)), text));

  test('expires: never, in the future with its date, or EXPIRED and how long ago', () => {
    assert.equal(expiresText(makePolicy(), NOW), 'never');
    assert.equal(expiresText(makePolicy({ expiresAt: 1_798_761_600 }), 1_798_761_600 - 30 * 86_400), '2027-01-01T00:00:00Z (in 30d 0h)');
    assert.equal(expiresText(makePolicy({ expiresAt: NOW + 3_000 }), NOW, false), 'in 50m');
    assert.equal(expiresText(makePolicy({ expiresAt: NOW }), NOW), 'EXPIRED 0s ago');
    assert.equal(expiresText(makePolicy({ expiresAt: NOW - 7_200 }), NOW), 'EXPIRED 2h 0m ago');
  });

  const lives: Array<[number, string]> = [[3_600, '1h'], [900, '15m'], [2_592_000, '30d'], [61, '61s'], [5_400, '90m']];
  for (const [seconds, text] of lives) test(`invoice life: ${seconds} s reads ${text}, as --max-invoice-life takes it`, () => assert.equal(lifeText(seconds), text));

  test('bounds: the defaults for what the policy does not set (a book written before the bounds)', () => {
    assert.equal(boundsText(makePolicy()), '100 open, 30/min, 1h, 200 B');
    assert.equal(boundsText(makePolicy({ bounds: { maxPerMinute: 7, maxDescriptionBytes: 0 } })), '100 open, 7/min, 1h, 0 B');
  });

  test('summary: a share reads as a share of the downstream amount; no --pass-to says how to pass it on', () => {
    assert.deepEqual(policySummary(makePolicy({ note: 'shop' }), NOW), [
      ['from (next payee)', CAROL],
      ['payout', '2% of the downstream amount'],
      ['fee budget', '1.234 sat'],
      ['delay budget', '80 blocks'],
      ['pass to', 'nobody: pass each joined invoice on with rdv pass-back'],
      ['downstream amount', 'any'],
      ['expires', 'never'],
      ['open relays', 'at most 100 unpaid at once'],
      ['joins', 'at most 30 a minute'],
      ['invoice life', 'at most 1h'],
      ['description', 'at most 200 bytes'],
      ['note', 'shop'],
    ]);
  });

  test('rows: short ids, an IPv6 host in brackets, a note on one line', () => {
    const p = makePolicy({ passTo: { id: ALICE, host: '2001:db8::7', port: 19846 }, expiresAt: NOW - 1, note: 'two\nlines', bounds: { maxOpen: 7, maxInvoiceLifeSeconds: 900 } });
    assert.deepEqual(policyRows([p, makePolicy({ id: '0d4e9b17', passTo: { id: ALICE } })], NOW), [
      ['5e1f0c2a', '02c3c3c3…', '2%', '1.234 sat', '80', '03a1a1a1…@[2001:db8::7]:19846', 'any', 'EXPIRED 1s ago', '7 open, 30/min, 15m, 200 B', 'two lines'],
      ['0d4e9b17', '02c3c3c3…', '2%', '1.234 sat', '80', '03a1a1a1…', 'any', 'active', '100 open, 30/min, 1h, 200 B', ''],
    ]);
  });
});
