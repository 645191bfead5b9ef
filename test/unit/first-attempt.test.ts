/**
 * Which askrene route the first attempt onward sends by sendpay, and when xpay
 * must pay instead (src/chain/first-attempt.ts): the route read as askrene
 * gives it (out = the HTLC on that channel), within the fee budget and the
 * attempt's maxdelay, whole and ending at the payee.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Msat } from '../../src/chain/amount.js';
import { firstRoute, type FoundHop, type FoundRoute } from '../../src/chain/first-attempt.js';
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
