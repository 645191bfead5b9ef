/** What `rdv policy add` and `rdv policy list` print for a policy (src/ui/policy-view.ts). Pure. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { NodeId } from '../../src/chain/ids.js';
import type { Policy } from '../../src/chain/policy.js';
import { expiresText, limitsText, policyRows, policySummary } from '../../src/ui/policy-view.js';
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

  test('summary: a share reads as a share of the downstream amount; no --pass-to says how to pass it on', () => {
    assert.deepEqual(policySummary(makePolicy({ note: 'shop' }), NOW), [
      ['from (next payee)', CAROL],
      ['payout', '2% of the downstream amount'],
      ['fee budget', '1.234 sat'],
      ['delay budget', '80 blocks'],
      ['pass to', 'nobody: pass each joined invoice on with rdv pass-back'],
      ['downstream amount', 'any'],
      ['expires', 'never'],
      ['note', 'shop'],
    ]);
  });

  test('rows: short ids, an IPv6 host in brackets, a note on one line', () => {
    const p = makePolicy({ passTo: { id: ALICE, host: '2001:db8::7', port: 19846 }, expiresAt: NOW - 1, note: 'two\nlines' });
    assert.deepEqual(policyRows([p, makePolicy({ id: '0d4e9b17', passTo: { id: ALICE } })], NOW), [
      ['5e1f0c2a', '02c3c3c3…', '2%', '1.234 sat', '80', '03a1a1a1…@[2001:db8::7]:19846', 'any', 'EXPIRED 1s ago', 'two lines'],
      ['0d4e9b17', '02c3c3c3…', '2%', '1.234 sat', '80', '03a1a1a1…', 'any', 'active', ''],
    ]);
  });
});
