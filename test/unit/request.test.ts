/**
 * Invoice requests' time and hops (src/chain/request.ts): when a relay may still
 * ask on, with what deadline and hop budget; when a last payee may still answer;
 * how refusals name their path. And the bounds a last-payee policy keeps
 * (src/chain/policy/decide.ts). Distinctive numbers throughout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { NodeId, PaymentHash } from '../../src/chain/ids.js';
import { admitJoin, lastAmountProblem, unpaidMadeBy } from '../../src/chain/policy/decide.js';
import type { LastPolicy } from '../../src/chain/policy/policy.js';
import type { LastRecord } from '../../src/chain/record.js';
import { answerInTime, DEFAULT_REQUEST_HOPS, firstOnward, HOP_MARGIN_SECONDS, MAX_REQUEST_HOPS, MAX_REQUEST_WAIT_SECONDS, passedBack, relayOnward, type Onward } from '../../src/chain/request.js';
import { NOW } from '../helpers/builders.js';

const BOB = `03${'b0'.repeat(32)}` as NodeId;

describe('relayOnward: a relay asks on with one hop less and a deadline 2 s earlier, or refuses', () => {
  const cases: Array<{ description: string; given: { deadline: number; hops: number }; expected: Onward | RegExp }> = [
    { description: '27 s left and 8 hops: 25 s and 7 hops onward', given: { deadline: NOW + 27, hops: 8 }, expected: { deadline: NOW + 25, hops: 7 } },
    { description: 'exactly 4 s left: 2 s onward, the least', given: { deadline: NOW + 4, hops: 3 }, expected: { deadline: NOW + 2, hops: 2 } },
    { description: '3 s left: too little to ask and answer', given: { deadline: NOW + 3, hops: 3 }, expected: /^too little time is left \(3 s\) to ask the next payee and answer$/ },
    { description: '1 hop left: the next node may only answer from its own invoices (hops 0)', given: { deadline: NOW + 13, hops: 1 }, expected: { deadline: NOW + 11, hops: 0 } },
    { description: 'no hops left: refused, whatever the time (two relays pointing at each other end here)', given: { deadline: NOW + 59, hops: 0 }, expected: /^its hop budget is spent/ },
    { description: 'a deadline passed', given: { deadline: NOW, hops: 5 }, expected: /^its deadline has passed$/ },
    { description: 'a deadline long passed', given: { deadline: NOW - 3_600, hops: 5 }, expected: /^its deadline has passed$/ },
    { description: 'a deadline a day away: we wait at most 60 s (less the margin)', given: { deadline: NOW + 86_400, hops: 5 }, expected: { deadline: NOW + MAX_REQUEST_WAIT_SECONDS - HOP_MARGIN_SECONDS, hops: 4 } },
    { description: '255 hops (the most a u8 holds): at most 16 onward', given: { deadline: NOW + 31, hops: 255 }, expected: { deadline: NOW + 29, hops: MAX_REQUEST_HOPS } },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = relayOnward(c.given, NOW);
      if (c.expected instanceof RegExp) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.expected);
      } else assert.deepEqual(r, { ok: true, value: c.expected });
    });
  }

  test('a ring of relays asking each other stops within its hop budget: 8 hops, 30 s, 2 s a hop', () => {
    let onward: Onward = firstOnward(NOW, 30);
    assert.deepEqual(onward, { deadline: NOW + 28, hops: DEFAULT_REQUEST_HOPS });
    let asked = 0;
    for (;;) {
      const next = relayOnward(onward, NOW);
      if (!next.ok) {
        assert.match(next.error, /hop budget is spent/);
        break;
      }
      onward = next.value;
      asked++;
      assert.ok(asked <= DEFAULT_REQUEST_HOPS, 'asked past the hop budget');
    }
    assert.equal(asked, DEFAULT_REQUEST_HOPS);
  });

  test('with 6 s to answer (two relays, 1 s short of 8): the second relay has too little time left', () => {
    const first = relayOnward(firstOnward(NOW, 6), NOW);
    assert.deepEqual(first, { ok: true, value: { deadline: NOW + 2, hops: 7 } });
    const second = first.ok ? relayOnward(first.value, NOW) : first;
    assert.equal(second.ok, false);
  });
});

describe('answerInTime: a last payee answers until the deadline', () => {
  test('1 s left: answered; at the deadline: refused', () => {
    assert.deepEqual(answerInTime({ deadline: NOW + 1 }, NOW), { ok: true, value: undefined });
    assert.deepEqual(answerInTime({ deadline: NOW }, NOW), { ok: false, error: 'its deadline has passed' });
  });
});

describe('passedBack: a refusal names each node it passed', () => {
  test("Carol's reason, passed back by Bob, reads Bob then Carol", () => {
    const carol = `02${'c3'.repeat(32)}` as NodeId;
    assert.equal(passedBack(BOB, passedBack(carol, 'over the maximum')), '03b0b0b0: 02c3c3c3: over the maximum');
  });
});

describe('a last-payee policy\'s bounds', () => {
  const policy: LastPolicy = { kind: 'last', id: '7a57c0de', for: BOB, description: '', invoiceExpirySeconds: 3_600, maxUnpaid: 3, maxPerMinute: 7, minAmountMsat: msat(1_000_000n), maxAmountMsat: msat(99_000_000n), createdAt: NOW - 41 };

  test('lastAmountProblem: both bounds included', () => {
    const cases: Array<[bigint, string | undefined]> = [
      [1_000_000n, undefined],
      [99_000_000n, undefined],
      [999_999n, "999.999 sat is under policy 7a57c0de's minimum of 1,000 sat"],
      [99_000_001n, "99,000.001 sat is over policy 7a57c0de's maximum of 99,000 sat"],
    ];
    for (const [asked, expected] of cases) assert.equal(lastAmountProblem(policy, msat(asked)), expected, String(asked));
  });

  test('admitJoin: --max-unpaid and --max-per-minute, in their own words; no delivery is counted', () => {
    assert.deepEqual(admitJoin(policy, { open: 2, recentJoinsMs: [], deliveries: 99 }, NOW * 1000), { ok: true, value: undefined });
    assert.deepEqual(admitJoin(policy, { open: 3, recentJoinsMs: [], deliveries: 0 }, NOW * 1000), {
      ok: false,
      error: '3 invoices it made are unpaid, its limit (--max-unpaid 3): try again when one is paid or expires',
    });
    const recent = Array.from({ length: 7 }, (_, i) => NOW * 1000 - 50_000 + i);
    assert.deepEqual(admitJoin(policy, { open: 0, recentJoinsMs: recent, deliveries: 0 }, NOW * 1000), {
      ok: false,
      error: '7 requests began in the last minute, its limit (--max-per-minute 7): try again in 10 s',
    });
  });

  test('unpaidMadeBy: its own records, unexpired, not known paid', () => {
    const rec = (hash: string, over: Partial<LastRecord> = {}): LastRecord => ({
      version: 1, role: 'last', paymentHash: hash.repeat(64) as PaymentHash, bolt11: 'lnbcrt1x', label: `rdv-${hash}`, amountMsat: msat(1_000n), description: '', expiresAt: NOW + 60, createdAt: NOW - 1, updatedAt: NOW - 1, policy: '7a57c0de', ...over,
    });
    const records = [rec('1'), rec('2', { expiresAt: NOW }), rec('3', { policy: 'ffffffff' }), rec('4', { policy: undefined }), rec('5'), rec('6')];
    const paid = new Set(['6'.repeat(64)]);
    assert.deepEqual(unpaidMadeBy(records, '7a57c0de', NOW, paid).map((r) => r.label), ['rdv-1', 'rdv-5']);
  });
});
