/**
 * Budgets (src/chain/budget.ts): Bob relays Carol's 100,003 sat invoice
 * (min_final_cltv 19) with payout 5,003 sat, fee budget 1,007 sat, delay 61 blocks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import {
  DEFAULT_CLTV_WARN,
  DEFAULT_ROUTE_ALLOWANCE,
  DEFAULT_SAFETY_MARGIN,
  MAX_LOCKTIME_BLOCKS,
  outgoingMaxDelay,
  planBudget,
  suggestDelayBudget,
  suggestFeeBudget,
  type BudgetInput,
  type BudgetProblem,
} from '../../src/chain/budget.js';

function input(over: Partial<BudgetInput> = {}): BudgetInput {
  return {
    downstreamMsat: msat(100_003_000n),
    downstreamMinFinalCltv: 19,
    payoutMsat: msat(5_003_000n),
    feeBudgetMsat: msat(1_007_000n),
    delayBudgetBlocks: 61,
    safetyMarginBlocks: DEFAULT_SAFETY_MARGIN,
    cltvWarnBlocks: DEFAULT_CLTV_WARN,
    routeAllowanceBlocks: DEFAULT_ROUTE_ALLOWANCE,
    routeDelayBlocks: undefined,
    downstreamName: "Carol's invoice",
    ...over,
  };
}

const problemOf = (over: Partial<BudgetInput>): BudgetProblem => {
  const r = planBudget(input(over));
  if (!('problem' in r)) assert.fail(`planned a budget that must be refused: ${JSON.stringify(r.plan, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r.problem;
};
const planOf = (over: Partial<BudgetInput>) => {
  const r = planBudget(input(over));
  if (!('plan' in r)) assert.fail(`refused a valid budget: ${r.problem.message}`);
  return r.plan;
};

describe('planBudget: the amount and min_final_cltv of our invoice', () => {
  test('the defaults of the design: limit 2016 - 144, warn over 432, margin 34', () => {
    assert.deepEqual([MAX_LOCKTIME_BLOCKS, DEFAULT_ROUTE_ALLOWANCE, DEFAULT_CLTV_WARN, DEFAULT_SAFETY_MARGIN], [2016, 144, 432, 34]);
  });

  const cases: Array<{ description: string; given: Partial<BudgetInput>; expected: { amountMsat: bigint; minFinalCltv: number; cltvLimit: number } }> = [
    { description: "Bob's budget: 100,003 + 5,003 + 1,007 sat, 19 + 61 blocks", given: {}, expected: { amountMsat: 106_013_000n, minFinalCltv: 80, cltvLimit: 1_872 } },
    { description: 'msat amounts add exactly', given: { downstreamMsat: msat(100_003_001n), payoutMsat: msat(5_000_003n), feeBudgetMsat: msat(7n) }, expected: { amountMsat: 105_003_011n, minFinalCltv: 80, cltvLimit: 1_872 } },
    { description: 'a zero fee budget (a direct channel) is allowed', given: { feeBudgetMsat: msat(0n) }, expected: { amountMsat: 105_006_000n, minFinalCltv: 80, cltvLimit: 1_872 } },
    { description: 'a fee budget equal to the downstream amount is allowed', given: { feeBudgetMsat: msat(100_003_000n) }, expected: { amountMsat: 205_009_000n, minFinalCltv: 80, cltvLimit: 1_872 } },
    { description: "the smallest delay budget is one block over the margin and xpay's 3-block allowance", given: { delayBudgetBlocks: 38 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 57, cltvLimit: 1_872 } },
    { description: 'min_final_cltv exactly at the limit is allowed', given: { delayBudgetBlocks: 1_853 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 1_872, cltvLimit: 1_872 } },
    { description: 'a smaller route allowance raises the limit', given: { routeAllowanceBlocks: 17 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 80, cltvLimit: 1_999 } },
    { description: "a downstream without a c field counts BOLT 11's 18", given: { downstreamMinFinalCltv: 18 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 79, cltvLimit: 1_872 } },
    { description: 'the widest safety margin (1000) with a delay over it', given: { safetyMarginBlocks: 1_000, delayBudgetBlocks: 1_004, cltvWarnBlocks: 2_016 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 1_023, cltvLimit: 1_872 } },
    { description: 'the narrowest safety margin (6)', given: { safetyMarginBlocks: 6, delayBudgetBlocks: 10 }, expected: { amountMsat: 106_013_000n, minFinalCltv: 29, cltvLimit: 1_872 } },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const plan = planOf(c.given);
      assert.deepEqual({ amountMsat: plan.amountMsat, minFinalCltv: plan.minFinalCltv, cltvLimit: plan.cltvLimit }, c.expected);
    });
  }
});

describe('planBudget: refusals say which budget is wrong and what to do', () => {
  const cases: Array<{ description: string; given: Partial<BudgetInput>; error: { field: BudgetProblem['field']; message: RegExp } }> = [
    { description: 'a payout of 0 is refused', given: { payoutMsat: msat(0n) }, error: { field: 'payout', message: /payout must be positive/ } },
    { description: 'a negative payout is refused', given: { payoutMsat: msat(-1n) }, error: { field: 'payout', message: /payout must be positive/ } },
    { description: 'a negative fee budget is refused', given: { feeBudgetMsat: msat(-7n) }, error: { field: 'fee', message: /cannot be negative/ } },
    {
      description: 'a fee budget above the downstream amount is refused and says to lower it',
      given: { feeBudgetMsat: msat(100_003_001n) },
      error: { field: 'fee', message: /fee budget 100,003\.001 sat is more than the downstream amount 100,003 sat: lower it/ },
    },
    {
      description: "a delay budget equal to the safety margin plus xpay's allowance is refused and says the smallest that works",
      given: { delayBudgetBlocks: 37 },
      error: { field: 'delay', message: /delay budget 37 blocks does not exceed the safety margin \(34\) plus 3 blocks for xpay's retries.*raise it to at least 38/ },
    },
    { description: 'a delay budget below the safety margin is refused', given: { delayBudgetBlocks: 9 }, error: { field: 'delay', message: /raise it to at least 38/ } },
    { description: 'a zero delay budget is refused', given: { delayBudgetBlocks: 0 }, error: { field: 'delay', message: /does not exceed the safety margin/ } },
    { description: 'a fractional delay budget is refused', given: { delayBudgetBlocks: 60.5 }, error: { field: 'delay', message: /whole number of blocks/ } },
    { description: 'a negative delay budget is refused', given: { delayBudgetBlocks: -61 }, error: { field: 'delay', message: /whole number of blocks/ } },
    { description: 'a safety margin under 6 blocks is refused', given: { safetyMarginBlocks: 5 }, error: { field: 'safety', message: /from 6 to 1000/ } },
    { description: 'a safety margin over 1000 blocks is refused', given: { safetyMarginBlocks: 1_001, delayBudgetBlocks: 1_003 }, error: { field: 'safety', message: /from 6 to 1000/ } },
    { description: 'a fractional safety margin is refused', given: { safetyMarginBlocks: 33.5 }, error: { field: 'safety', message: /whole number of blocks/ } },
    {
      description: 'min_final_cltv over 2016 - 144 is refused and tells us to lower our delay budget to what fits',
      given: { delayBudgetBlocks: 1_854 },
      error: { field: 'delay', message: /min_final_cltv would be 1873 blocks, over the limit of 1872 \(2016 minus 144 for the payer's route\): lower your delay budget to at most 1853/ },
    },
    {
      description: 'when the downstream leaves no room for a valid delay budget, the message names that payee',
      given: { downstreamMinFinalCltv: 1_839, delayBudgetBlocks: 38 },
      error: { field: 'delay', message: /^Carol's invoice already asks for min_final_cltv 1839 blocks, leaving no room under the limit of 1872: ask them to lower their delay budget$/ },
    },
    {
      description: "one block more room than the margin and xpay's allowance is still ours to fix",
      given: { downstreamMinFinalCltv: 1_834, delayBudgetBlocks: 61 },
      error: { field: 'delay', message: /lower your delay budget to at most 38/ },
    },
    {
      description: 'the payee is named as given (a node id when the invoice came from elsewhere)',
      given: { downstreamMinFinalCltv: 2_001, downstreamName: '02b492bc…' },
      error: { field: 'delay', message: /^02b492bc… already asks for min_final_cltv 2001 blocks/ },
    },
    {
      description: 'a larger route allowance lowers the limit',
      given: { routeAllowanceBlocks: 1_937 },
      error: { field: 'delay', message: /over the limit of 79 \(2016 minus 1937 for the payer's route\)/ },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const problem = problemOf(c.given);
      assert.equal(problem.field, c.error.field);
      assert.match(problem.message, c.error.message);
    });
  }
});

describe('planBudget: warnings do not refuse, but say what may go wrong', () => {
  const cases: Array<{ description: string; given: Partial<BudgetInput>; expected: RegExp[] }> = [
    { description: "Bob's budget has no warning", given: {}, expected: [] },
    {
      description: 'min_final_cltv over the 432 warn cap warns that wallets may refuse',
      given: { delayBudgetBlocks: 415 },
      expected: [/^min_final_cltv 434 blocks is over 432: some wallets refuse to lock funds that long; consider a smaller delay budget$/],
    },
    { description: 'min_final_cltv exactly at the warn cap does not warn', given: { delayBudgetBlocks: 413 }, expected: [] },
    {
      description: 'when the downstream already asks for more than half the cap, the warning names it',
      given: { downstreamMinFinalCltv: 217, delayBudgetBlocks: 217 },
      expected: [/over 432: .* \(Carol's invoice already asks for 217\)$/],
    },
    {
      description: 'a lower configured warn cap warns sooner',
      given: { cltvWarnBlocks: 79 },
      expected: [/min_final_cltv 80 blocks is over 79/],
    },
    {
      description: 'a delay budget below margin + the route delay warns that payments may fail back',
      given: { routeDelayBlocks: 25 },
      expected: [/^delay budget 61 blocks is less than the safety margin \(34\), xpay's 3 blocks and the current route's CLTV deltas \(25\): the relay may have to fail payments back$/],
    },
    { description: "a delay budget exactly covering margin + xpay's allowance + route delay does not warn", given: { routeDelayBlocks: 24 }, expected: [] },
    { description: 'an unknown route delay does not warn', given: { routeDelayBlocks: undefined }, expected: [] },
    {
      description: 'a fee budget over 5% of the downstream amount warns',
      given: { feeBudgetMsat: msat(5_000_151n) },
      expected: [/^fee budget 5,000\.151 sat is more than 5% of the downstream amount$/],
    },
    { description: 'a fee budget of exactly 5% does not warn', given: { feeBudgetMsat: msat(5_000_150n) }, expected: [] },
    {
      description: 'several problems give several warnings, in order',
      given: { delayBudgetBlocks: 500, routeDelayBlocks: 467, feeBudgetMsat: msat(9_001_000n) },
      expected: [/over 432/, /CLTV deltas \(467\)/, /more than 5%/],
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const { warnings } = planOf(c.given);
      assert.equal(warnings.length, c.expected.length, `warnings: ${JSON.stringify(warnings)}`);
      c.expected.forEach((re, i) => assert.match(warnings[i] ?? '', re));
    });
  }
});

describe('suggestFeeBudget', () => {
  const cases: Array<{ description: string; given: { route: { feeMsat: bigint; delayBlocks: number } | undefined; downstreamMsat: bigint }; expected: bigint }> = [
    { description: 'without a route: 0.5% of the downstream amount plus 1 sat', given: { route: undefined, downstreamMsat: 100_003_000n }, expected: 501_015n },
    { description: 'without a route, for a tiny amount: at least 1 sat', given: { route: undefined, downstreamMsat: 199n }, expected: 1_000n },
    { description: 'with a route: twice its fee plus 1 sat', given: { route: { feeMsat: 3_001n, delayBlocks: 9 }, downstreamMsat: 100_003_000n }, expected: 7_002n },
    { description: 'a free route (a direct channel): 1 sat', given: { route: { feeMsat: 0n, delayBlocks: 0 }, downstreamMsat: 100_003_000n }, expected: 1_000n },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.expected} msat`, () => {
      const route = c.given.route && { feeMsat: msat(c.given.route.feeMsat), delayBlocks: c.given.route.delayBlocks };
      assert.equal(suggestFeeBudget(route, msat(c.given.downstreamMsat)), c.expected);
    });
  }
});

describe('suggestDelayBudget', () => {
  const cases: Array<{ description: string; given: { routeDelay: number | undefined; margin: number }; expected: number }> = [
    { description: "without a route: 40 blocks assumed + margin + xpay's 3 + 6", given: { routeDelay: undefined, margin: 34 }, expected: 83 },
    { description: "with a route: its CLTV deltas + margin + xpay's 3 + 6", given: { routeDelay: 47, margin: 34 }, expected: 90 },
    { description: "a direct channel: margin + xpay's 3 + 6", given: { routeDelay: 0, margin: 13 }, expected: 22 },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.expected} blocks`, () => {
      const route = c.given.routeDelay === undefined ? undefined : { feeMsat: msat(1n), delayBlocks: c.given.routeDelay };
      assert.equal(suggestDelayBudget(route, c.given.margin), c.expected);
    });
  }

  test('a suggested delay budget always plans without a route-delay warning', () => {
    const route = { feeMsat: msat(3_001n), delayBlocks: 53 };
    const plan = planOf({ delayBudgetBlocks: suggestDelayBudget(route, 34), routeDelayBlocks: 53, feeBudgetMsat: suggestFeeBudget(route, msat(100_003_000n)) });
    assert.deepEqual(plan.warnings, []);
  });
});

describe('outgoingMaxDelay: blocks left for the outgoing payment', () => {
  const cases: Array<{ description: string; given: [number, number, number]; expected: number }> = [
    { description: 'earliest incoming expiry - height - margin', given: [1_311, 1_231, 34], expected: 46 },
    { description: 'exactly the margin left gives 0', given: [1_265, 1_231, 34], expected: 0 },
    { description: 'less than the margin left is negative (do not pay)', given: [1_251, 1_231, 34], expected: -14 },
  ];
  for (const c of cases) test(`${c.description}: ${c.expected}`, () => assert.equal(outgoingMaxDelay(...c.given), c.expected));
});
