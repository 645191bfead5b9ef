/**
 * Route cost from route hints (src/chain/route.ts): Bob pays Carol's 100,003 sat
 * invoice; a hint hop's fee is charged by the node that starts it, on the amount
 * it forwards, so fees compound from the payee backwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { RouteHintHop } from '../../src/chain/bolt11.js';
import type { NodeId } from '../../src/chain/ids.js';
import { addLegs, hintLegs, type HintLeg } from '../../src/chain/route.js';

const BOB = `02${'b5'.repeat(32)}` as NodeId;
const X = `03${'a1'.repeat(32)}` as NodeId;
const Y = `03${'a2'.repeat(32)}` as NodeId;
const AMOUNT = msat(100_003_000n);

const hop = (pubkey: NodeId, feeBaseMsat: number, feeProportionalMillionths: number, cltvExpiryDelta: number): RouteHintHop => ({
  pubkey,
  shortChannelId: '103x1x0',
  feeBaseMsat,
  feeProportionalMillionths,
  cltvExpiryDelta,
});
const leg = (entry: NodeId, feeMsat: bigint, delayBlocks: number, amount: bigint = AMOUNT): HintLeg => ({
  entry,
  entryAmountMsat: msat(amount + feeMsat),
  feeMsat: msat(feeMsat),
  delayBlocks,
});

describe('hintLegs: what each hinted route costs to deliver the amount', () => {
  const cases: Array<{ description: string; given: { hints: RouteHintHop[][]; amount?: bigint }; expected: HintLeg[] }> = [
    { description: 'no hints, no legs', given: { hints: [] }, expected: [] },
    { description: 'an empty hint is skipped', given: { hints: [[]] }, expected: [] },
    {
      description: 'one hop: base fee + proportional fee (rounded down) on the amount, and its cltv delta',
      given: { hints: [[hop(X, 1_001, 97, 41)]] },
      expected: [leg(X, 10_701n, 41)],
    },
    {
      description: 'a hint whose hop starts at us costs nothing for our hop: the leg starts at us',
      given: { hints: [[hop(BOB, 5_003, 5_003, 144)]] },
      expected: [leg(BOB, 0n, 0)],
    },
    {
      description: 'two hops: the last hop is charged first, and the first hop charges on what it forwards',
      given: { hints: [[hop(X, 1, 1, 9), hop(Y, 1_001, 1_009, 40)]] },
      expected: [leg(X, 102_005n, 49)],
    },
    {
      description: 'a hint through us in the middle is charged only for the hops after us',
      given: { hints: [[hop(X, 1, 1, 9), hop(BOB, 7, 7, 7), hop(Y, 1_001, 1_009, 40)]] },
      expected: [leg(BOB, 101_904n, 40)],
    },
    {
      description: 'fees compound backwards: a proportional hop before a base-fee hop charges on the base fee too',
      given: { hints: [[hop(X, 0, 500_000, 1), hop(Y, 1_000, 0, 1)]], amount: 1_000_000n },
      expected: [leg(X, 501_500n, 2, 1_000_000n)],
    },
    {
      description: 'the same hops the other way round cost less',
      given: { hints: [[hop(Y, 1_000, 0, 1), hop(X, 0, 500_000, 1)]], amount: 1_000_000n },
      expected: [leg(Y, 501_000n, 2, 1_000_000n)],
    },
    {
      description: 'several hints are sorted cheapest first',
      given: { hints: [[hop(X, 1_001, 97, 41)], [hop(BOB, 5_003, 5_003, 144)], [hop(X, 1, 1, 9), hop(Y, 1_001, 1_009, 40)]] },
      expected: [leg(BOB, 0n, 0), leg(X, 10_701n, 41), leg(X, 102_005n, 49)],
    },
    {
      description: 'equal fees are sorted by fewer blocks first',
      given: { hints: [[hop(X, 3_001, 0, 144)], [hop(Y, 3_001, 0, 13)]] },
      expected: [leg(Y, 3_001n, 13), leg(X, 3_001n, 144)],
    },
  ];
  for (const c of cases) {
    test(c.description, () => assert.deepEqual(hintLegs(c.given.hints, BOB, msat(c.given.amount ?? AMOUNT)), c.expected));
  }
});

describe('addLegs: our route to the hint entry plus the hinted leg', () => {
  test('fees and blocks add up', () => {
    assert.deepEqual(addLegs({ feeMsat: msat(1_003n), delayBlocks: 47 }, { feeMsat: msat(10_701n), delayBlocks: 41 }), { feeMsat: 11_704n, delayBlocks: 88 });
  });

  test('a leg starting at us adds nothing', () => {
    assert.deepEqual(addLegs({ feeMsat: msat(1_003n), delayBlocks: 47 }, { feeMsat: msat(0n), delayBlocks: 0 }), { feeMsat: 1_003n, delayBlocks: 47 });
  });
});
