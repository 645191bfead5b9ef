/**
 * Which askrene route the first attempt onward sends by sendpay, and when xpay
 * must pay instead (src/chain/first-attempt.ts): the route read as askrene
 * gives it (out = the HTLC on that channel), within the fee budget and the
 * attempt's maxdelay, whole and ending at the payee; and the shadow CLTV
 * (BOLT 7's random walk from the payee, as xpay adds it) on top, within maxdelay.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Msat } from '../../src/chain/amount.js';
import { firstRoute, shadowBlocks, type FoundHop, type FoundRoute } from '../../src/chain/first-attempt.js';
import type { NodeId } from '../../src/chain/ids.js';

const DAVE = `03${'d'.repeat(64)}` as NodeId;
const CAROL = `02${'c'.repeat(64)}` as NodeId;
const m = (n: number): Msat => BigInt(n) as Msat;

/** Bob -> Dave -> Carol for 1,000,000 msat: Bob's own channel free (auto.sourcefree), Dave charges 1,010 msat and 6 blocks. */
const viaDave: FoundHop[] = [
  { shortChannelIdDir: '103x1x0/1', nodeIdOut: DAVE, amountInMsat: m(1_001_010), amountOutMsat: m(1_001_010), cltvIn: 24, cltvOut: 24 },
  { shortChannelIdDir: '105x2x1/0', nodeIdOut: CAROL, amountInMsat: m(1_001_010), amountOutMsat: m(1_000_000), cltvIn: 24, cltvOut: 18 },
];
const route = (path: FoundHop[], amountMsat = m(1_000_000)): FoundRoute => ({ amountMsat, path });
const limits = { payee: CAROL, amountMsat: m(1_000_000), maxfeeMsat: m(1_010), maxdelay: 24 };

describe('the first attempt by sendpay: which route', () => {
  test("Bob -> Dave -> Carol goes to sendpay hop by hop: who receives, over which channel and direction, how much, at which delay", () => {
    const r = firstRoute([route(viaDave)], limits);
    assert.deepEqual(r, {
      ok: true,
      value: {
        hops: [
          { id: DAVE, channel: '103x1x0', direction: 1, amount_msat: 1_001_010n, delay: 24 },
          { id: CAROL, channel: '105x2x1', direction: 0, amount_msat: 1_000_000n, delay: 18 },
        ],
        feeMsat: 1_010n,
        delay: 24,
        shadow: 0,
      },
    });
  });

  test('a direct channel to Carol (the capture: 1,000,011 in, 1,000,000 out without auto.sourcefree): our own fee is not paid, the HTLC carries what Carol receives', () => {
    const direct: FoundHop = { shortChannelIdDir: '119x1x0/0', nodeIdOut: CAROL, amountInMsat: m(1_000_011), amountOutMsat: m(1_000_000), cltvIn: 24, cltvOut: 18 };
    const r = firstRoute([route([direct])], { ...limits, maxfeeMsat: m(0), maxdelay: 18 });
    assert.ok(r.ok);
    assert.deepEqual([r.value.hops[0]?.amount_msat, r.value.feeMsat, r.value.delay], [1_000_000n, 0n, 18]);
  });

  const refused: Array<[string, FoundRoute[], Partial<typeof limits>, RegExp]> = [
    ['one fee msat over the budget', [route(viaDave)], { maxfeeMsat: m(1_009) }, /over the fee budget/],
    ['one block over maxdelay', [route(viaDave)], { maxdelay: 23 }, /over the maxdelay/],
    ['askrene split the amount', [route(viaDave, m(500_000)), route(viaDave, m(500_000))], {}, /split the payment in 2 routes/],
    ['no route at all', [], {}, /in 0 routes/],
    ['an empty path', [route([])], {}, /empty route/],
    ['a route ending at Dave', [route(viaDave.slice(0, 1), m(1_001_010))], { amountMsat: m(1_001_010) }, /does not end at the payee/],
    ['a route short of the amount', [route(viaDave, m(999_999))], {}, /does not deliver the invoice amount/],
    ['hops whose amounts do not join', [route([viaDave[0] as FoundHop, { ...(viaDave[1] as FoundHop), amountInMsat: m(1_001_011) }])], {}, /hop 1 does not join/],
    ['hops whose CLTVs do not join', [route([viaDave[0] as FoundHop, { ...(viaDave[1] as FoundHop), cltvIn: 25 }])], {}, /hop 1 does not join/],
    ['a channel without a direction', [route([{ ...(viaDave[0] as FoundHop), shortChannelIdDir: '103x1x0' }, viaDave[1] as FoundHop])], {}, /not a short_channel_id_dir/],
  ];
  for (const [what, routes, change, why] of refused) {
    test(`xpay pays instead: ${what}`, () => {
      const r = firstRoute(routes, { ...limits, ...change });
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, why);
    });
  }
});

describe('the shadow CLTV on the first attempt (BOLT 7, xpay add_cltv_shadow)', () => {
  test("a walk of 40 then 34 blocks from Carol: every hop's delay grows by 74, so Dave cannot tell Carol is the payee; fee and amounts unchanged", () => {
    const r = firstRoute([route(viaDave)], { ...limits, maxdelay: 200, shadow: [40, 34] });
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.hops.map((h) => [h.amount_msat, h.delay]),
      [
        [1_001_010n, 98],
        [1_000_000n, 92],
      ],
    );
    assert.deepEqual([r.value.feeMsat, r.value.delay, r.value.shadow], [1_010n, 98, 74]);
  });

  test('the walk stops at the first step that would go past maxdelay (the route needs 24, maxdelay 100: 40 fits, 40 + 40 does not, so the 6 after it is not taken either)', () => {
    const r = firstRoute([route(viaDave)], { ...limits, maxdelay: 100, shadow: [40, 40, 6] });
    assert.ok(r.ok);
    assert.deepEqual([r.value.delay, r.value.shadow, r.value.hops.at(-1)?.delay], [64, 40, 58]);
  });

  test('a route exactly at maxdelay gets no shadow, and is still sent', () => {
    const r = firstRoute([route(viaDave)], { ...limits, shadow: [1] });
    assert.ok(r.ok);
    assert.deepEqual([r.value.delay, r.value.shadow], [24, 0]);
  });

  test('never past the blocks spare, whatever the walk says (negative, fractional or huge deltas end it)', () => {
    const walks = [[-5, 10], [1.5, 10], [Number.MAX_SAFE_INTEGER, 1], [2 ** 53, 1], [Number.NaN], [Infinity]];
    for (const walk of walks) assert.equal(shadowBlocks(walk, 100), 0, JSON.stringify(walk));
    for (let spare = 0; spare < 50; spare++) {
      const extra = shadowBlocks([7, 7, 7], spare);
      assert.ok(extra <= spare && extra % 7 === 0 && extra === Math.min(21, spare - (spare % 7)), `spare ${spare}: ${extra}`);
    }
  });
});
