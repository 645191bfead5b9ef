/**
 * A request's arithmetic (src/chain/policy/asked.ts): the downstream amount D for
 * an invoice of exactly the amount asked, under a policy's shares. Bob relays for
 * Carol; distinctive numbers throughout, DESIGN.md's example first.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { msat } from '../../src/chain/amount.js';
import { askedBounds, downstreamForAsked } from '../../src/chain/policy/asked.js';
import { PPM, shareOf, type Policy, type Share } from '../../src/chain/policy/policy.js';
import { CAROL, NOW } from '../helpers/builders.js';

const percent = (ppm: bigint): Share => ({ kind: 'percent', ppm });
const fixed = (m: bigint): Share => ({ kind: 'fixed', msat: msat(m) });

/** Bob's policy for Carol: 2%, fee budget 0.5% (DESIGN.md's Alice). */
function makePolicy(over: Partial<Policy> = {}): Policy {
  return { id: '5e1f0c2a', from: CAROL, payout: percent(20_000n), feeBudget: percent(5_000n), delayBudget: 80, createdAt: NOW - 77, ...over };
}

describe('downstreamForAsked: D + payout + fee budget is the asked amount, to the msat', () => {
  const cases: Array<{ description: string; policy: Policy; askedMsat: bigint; expected: { downstreamMsat: bigint; payoutMsat: bigint; feeBudgetMsat: bigint } | RegExp }> = [
    {
      description: "DESIGN.md: 108,690,000 msat at 2% + 0.5% -> D 106,039,024, payout 2,120,780 + the 1 msat remainder, fee 530,195",
      policy: makePolicy(),
      askedMsat: 108_690_000n,
      expected: { downstreamMsat: 106_039_024n, payoutMsat: 2_120_781n, feeBudgetMsat: 530_195n },
    },
    {
      description: "DESIGN.md's Bob: fixed 5,000 sat + 1,000 sat of 106,039,024 msat asked -> D 100,039,024, no remainder",
      policy: makePolicy({ payout: fixed(5_000_000n), feeBudget: fixed(1_000_000n) }),
      askedMsat: 106_039_024n,
      expected: { downstreamMsat: 100_039_024n, payoutMsat: 5_000_000n, feeBudgetMsat: 1_000_000n },
    },
    {
      description: 'a division with no remainder: 102,500,000 msat at 2.5% -> D 100,000,000',
      policy: makePolicy(),
      askedMsat: 102_500_000n,
      expected: { downstreamMsat: 100_000_000n, payoutMsat: 2_000_000n, feeBudgetMsat: 500_000n },
    },
    {
      description: 'both shares round down and the division too: 1,000,003 msat at 3.3333% + 0.0007% -> remainder 2 msat to the payout',
      policy: makePolicy({ payout: percent(33_333n), feeBudget: percent(7n) }),
      askedMsat: 1_000_003n,
      // D = 1,000,003 * 10^6 / 1,033,340 = 967,738.7 -> 967,738; 3.3333% = 32,257.5 -> 32,257; 0.0007% = 6.7 -> 6.
      expected: { downstreamMsat: 967_738n, payoutMsat: 32_259n, feeBudgetMsat: 6n },
    },
    {
      description: 'a fixed payout and a percentage fee: 5,000 sat + 1% of 51,000,017 msat asked',
      policy: makePolicy({ payout: fixed(5_000_000n), feeBudget: percent(10_000n) }),
      askedMsat: 51_000_017n,
      // (51,000,017 - 5,000,000) / 1.01 = 45,544,571.28 -> 45,544,571; 1% = 455,445; remainder 1.
      expected: { downstreamMsat: 45_544_571n, payoutMsat: 5_000_001n, feeBudgetMsat: 455_445n },
    },
    {
      description: 'a zero fee budget: the payout takes the rounding (1% of 1,010,105 msat asked: D 1,000,103, 10,001 + 1)',
      policy: makePolicy({ payout: percent(10_000n), feeBudget: fixed(0n) }),
      askedMsat: 1_010_105n,
      expected: { downstreamMsat: 1_000_103n, payoutMsat: 10_002n, feeBudgetMsat: 0n },
    },
    {
      description: 'the minimum itself is served',
      policy: makePolicy({ minAmountMsat: msat(100_000_000n) }),
      askedMsat: 102_500_000n,
      expected: { downstreamMsat: 100_000_000n, payoutMsat: 2_000_000n, feeBudgetMsat: 500_000n },
    },
    {
      description: 'a msat less than the minimum leaves D a msat short: refused',
      policy: makePolicy({ minAmountMsat: msat(100_000_000n) }),
      askedMsat: 102_499_999n,
      expected: /^102,499\.999 sat leaves 99,999\.999 sat for the next payee, under policy 5e1f0c2a's minimum of 100,000 sat$/,
    },
    {
      description: 'D over the maximum: refused',
      policy: makePolicy({ maxAmountMsat: msat(50_000_000n) }),
      askedMsat: 108_690_000n,
      expected: /^108,690 sat leaves 106,039\.024 sat for the next payee, over policy 5e1f0c2a's maximum of 50,000 sat$/,
    },
    {
      description: 'asked no more than the fixed shares: nothing left for the next payee',
      policy: makePolicy({ payout: fixed(5_000_000n), feeBudget: fixed(1_000_000n) }),
      askedMsat: 6_000_000n,
      expected: /^6,000 sat leaves nothing for the next payee after policy 5e1f0c2a's fixed shares of 6,000 sat: ask for more$/,
    },
    {
      description: 'a payout that rounds down to nothing (2% of 48 msat) is refused, as for a pass-back',
      policy: makePolicy(),
      askedMsat: 50n,
      expected: /^policy 5e1f0c2a's payout of 2% of 0\.048 sat rounds down to nothing: ask for more$/,
    },
    {
      description: 'a fixed fee budget over D is refused (rdv join refuses it too)',
      policy: makePolicy({ payout: percent(10_000n), feeBudget: fixed(7_000n) }),
      askedMsat: 13_000n,
      expected: /^13 sat leaves 5\.940 sat for the next payee, less than policy 5e1f0c2a's fee budget of 7 sat: ask for more$/,
    },
    {
      description: '1 msat asked of a percentage policy: D is 0, refused',
      policy: makePolicy({ payout: percent(1_000_000n), feeBudget: percent(1_000_000n) }),
      askedMsat: 1n,
      expected: /^0\.001 sat is too small to leave anything for the next payee under policy 5e1f0c2a: ask for more$/,
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = downstreamForAsked(c.policy, msat(c.askedMsat));
      if (c.expected instanceof RegExp) {
        assert.equal(r.ok, false, 'served an amount it should refuse');
        if (!r.ok) assert.match(r.error, c.expected);
        return;
      }
      assert.deepEqual(r, { ok: true, value: c.expected });
      if (r.ok) assert.equal(r.value.downstreamMsat + r.value.payoutMsat + r.value.feeBudgetMsat, c.askedMsat, 'the invoice is the asked amount');
    });
  }
});

const shareArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 5_000_000_000n }).map(fixed),
  fc.bigInt({ min: 0n, max: PPM }).map(percent),
);
const policyArb = fc.record({ payout: shareArb, feeBudget: shareArb, min: fc.option(fc.bigInt({ min: 1n, max: 10n ** 12n })), span: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n })) }).map(({ payout, feeBudget, min, span }) =>
  makePolicy({
    // rdv policy add refuses a zero payout (fixed or 0%).
    payout: payout.kind === 'fixed' ? (payout.msat === 0n ? fixed(1n) : payout) : payout.ppm === 0n ? percent(1n) : payout,
    feeBudget,
    ...(min !== null ? { minAmountMsat: msat(min) } : {}),
    ...(min !== null && span !== null ? { maxAmountMsat: msat(min + span) } : {}),
  }),
);

describe('downstreamForAsked over any policy and amount', () => {
  test('served: the parts add up to the asked amount, D is the division rounded down, the fee and the payout share are the policy\'s of D, within its bounds', () => {
    fc.assert(
      fc.property(policyArb, fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), (policy, asked) => {
        const r = downstreamForAsked(policy, msat(asked));
        if (!r.ok) return;
        const { downstreamMsat: d, payoutMsat, feeBudgetMsat } = r.value;
        assert.equal(d + payoutMsat + feeBudgetMsat, asked);
        assert.equal(feeBudgetMsat, shareOf(policy.feeBudget, d));
        const remainder = payoutMsat - shareOf(policy.payout, d);
        assert.ok(remainder >= 0n && remainder < 5n, `remainder ${remainder}`);
        assert.ok(shareOf(policy.payout, d) > 0n);
        assert.ok(policy.minAmountMsat === undefined || d >= policy.minAmountMsat);
        assert.ok(policy.maxAmountMsat === undefined || d <= policy.maxAmountMsat);
      }),
      { numRuns: 2_000 },
    );
  });

  test('askedBounds: its least amount is served and a msat less is not; its most is served and a msat more is not', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const { minAskedMsat, maxAskedMsat } = askedBounds(policy);
        if (maxAskedMsat !== undefined && maxAskedMsat < minAskedMsat) {
          // The bounds leave no amount (a fee budget over the maximum, say): nothing in between is served.
          for (const a of [minAskedMsat, maxAskedMsat]) assert.equal(downstreamForAsked(policy, a).ok, false);
          return;
        }
        assert.ok(downstreamForAsked(policy, minAskedMsat).ok, `min ${minAskedMsat} refused`);
        if (minAskedMsat > 1n) assert.equal(downstreamForAsked(policy, msat(minAskedMsat - 1n)).ok, false, `min - 1 served`);
        if (maxAskedMsat !== undefined) {
          assert.ok(downstreamForAsked(policy, maxAskedMsat).ok, `max ${maxAskedMsat} refused`);
          assert.equal(downstreamForAsked(policy, msat(maxAskedMsat + 1n)).ok, false, 'max + 1 served');
        }
      }),
      { numRuns: 2_000 },
    );
  });

  test("askedBounds of DESIGN.md's Alice with D from 10,000 sat to 1,000,000 sat: 10,250 sat to 1,025,000.001 sat", () => {
    const b = askedBounds(makePolicy({ minAmountMsat: msat(10_000_000n), maxAmountMsat: msat(1_000_000_000n) }));
    assert.deepEqual(b, { minAskedMsat: 10_250_000n, maxAskedMsat: 1_025_000_001n });
  });
});
