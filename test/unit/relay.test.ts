/**
 * The relay state machine, rule by rule (DESIGN.md "The relay state machine").
 * Bob relays Carol's 100,000 sat invoice: his invoice is 106,000 sat (payout
 * 5,000, fee budget 1,000), min_final_cltv 78, safety margin 34.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { finalIncorrectCltvExpiry, finalIncorrectHtlcAmount, invalidOnionPayload, mppTimeout, temporaryNodeFailure, unknownPaymentDetails } from '../../src/chain/failure.js';
import type { Preimage } from '../../src/chain/ids.js';
import { partKey, type AnyRecord, type RelayRecord } from '../../src/chain/record.js';
import type { Effect, OutgoingPart, Relay, RelayEvent } from '../../src/chain/relay/types.js';
import { markLostParts, summariseOutgoing } from '../../src/chain/relay/outgoing.js';
import { isOurs, step } from '../../src/chain/relay/step.js';
import { HASH, HEIGHT, NOW, PREIMAGE, makeCtx, makePart, makeRecord, makeRelay, effectsOf, runSteps } from '../helpers/builders.js';

const types = (effects: Effect[]): string[] => effects.filter((e) => e.type !== 'log').map((e) => e.type);
const run = (relay: Relay, ...events: RelayEvent[]): { relay: Relay; effects: Effect[] } => runSteps(relay, events);
const complete = (preimage: Preimage = PREIMAGE, sent = 100_000_011n): OutgoingPart => ({ status: 'complete', preimage, amountSentMsat: msat(sent) });
const pending: OutgoingPart = { status: 'pending', preimage: undefined, amountSentMsat: msat(100_000_011n) };
const failed: OutgoingPart = { status: 'failed', preimage: undefined, amountSentMsat: msat(100_000_011n) };
const toRecorded = ({ scid, id, amountMsat, cltvExpiry }: ReturnType<typeof makePart>): RelayRecord['parts'][number] => ({ scid, id, amountMsat, cltvExpiry });

/** Bob holds the whole 106,000 sat in one part and has persisted "gathered". */
function gatheredRelay(): { relay: Relay; part: ReturnType<typeof makePart> } {
  const part = makePart();
  const { relay } = run(makeRelay(), { type: 'htlc', part });
  return { relay, part };
}

describe('rule 1: only final-hop HTLCs for a relay record we are working on are ours', () => {
  const cases: Array<{ description: string; final: boolean; record: AnyRecord | undefined; ours: boolean }> = [
    { description: 'a forward (next hop in the onion) is not ours, even for our hash', final: false, record: makeRecord(), ours: false },
    { description: 'an unknown hash is not ours', final: true, record: undefined, ours: false },
    {
      description: "a last payee's invoice is not ours (lightningd settles it)",
      final: true,
      record: { version: 1, role: 'last', paymentHash: HASH, bolt11: 'x', label: 'l', amountMsat: msat(1n), description: '', expiresAt: NOW, createdAt: NOW, updatedAt: NOW },
      ours: false,
    },
    { description: 'an open relay is ours', final: true, record: makeRecord({ state: 'open' }), ours: true },
    { description: 'a gathered relay is ours', final: true, record: makeRecord({ state: 'gathered' }), ours: true },
    { description: 'a paying relay is ours', final: true, record: makeRecord({ state: 'paying' }), ours: true },
    { description: 'a settled relay is ours (replays are resolved again)', final: true, record: makeRecord({ state: 'settled', preimage: PREIMAGE }), ours: true },
    { description: 'an expired relay is not ours (lightningd fails it as unknown)', final: true, record: makeRecord({ state: 'expired' }), ours: false },
    { description: 'a failed relay is not ours', final: true, record: makeRecord({ state: 'failed' }), ours: false },
  ];
  for (const c of cases) test(c.description, () => assert.equal(isOurs(c.final, c.record), c.ours));
});

describe('rule 2: a bad part is failed exactly like an unknown hash', () => {
  const cases: Array<{ description: string; part: Partial<ReturnType<typeof makePart>>; ctx?: { now: number } }> = [
    { description: 'wrong payment_secret', part: { paymentSecret: 'ff'.repeat(32) as never } },
    { description: 'no payment_secret', part: { paymentSecret: undefined } },
    { description: 'no total_msat', part: { totalMsat: undefined } },
    { description: 'total_msat below the invoice amount (105,999.999 sat)', part: { totalMsat: msat(105_999_999n), amountMsat: msat(105_999_999n) } },
    { description: 'total_msat over twice the invoice amount', part: { totalMsat: msat(212_000_001n), amountMsat: msat(106_000_000n) } },
    { description: 'cltv_expiry only 77 blocks away (min_final_cltv 78)', part: { cltvExpiry: HEIGHT + 77, outgoingCltv: HEIGHT + 77 } },
    { description: 'the first part arrives after our invoice expired', part: {}, ctx: { now: NOW + 3_601 } },
  ];
  for (const c of cases) {
    test(`${c.description}: incorrect_or_unknown_payment_details with htlc_msat and height`, () => {
      const part = makePart(c.part);
      const { relay, effects } = step(makeRelay(), { type: 'htlc', part }, makeCtx(c.ctx));
      assert.deepEqual(types(effects), ['fail']);
      assert.equal(effectsOf(effects, 'fail')[0]?.failureMessage, unknownPaymentDetails(part.amountMsat, HEIGHT));
      assert.equal(relay.held.length, 0);
      assert.equal(relay.record.state, 'open');
    });
  }

  const early: Array<{ description: string; part: Partial<ReturnType<typeof makePart>>; expected: (p: ReturnType<typeof makePart>) => string }> = [
    { description: 'forward amount above the HTLC amount: final_incorrect_htlc_amount (0013)', part: { forwardMsat: msat(106_000_001n) }, expected: (p) => finalIncorrectHtlcAmount(p.amountMsat) },
    { description: 'outgoing_cltv_value above cltv_expiry: final_incorrect_cltv_expiry (0012)', part: { outgoingCltv: HEIGHT + 82 }, expected: (p) => finalIncorrectCltvExpiry(p.cltvExpiry) },
    { description: 'payment_metadata: invalid_onion_payload (4016, type 16, offset 0)', part: { paymentMetadata: '01' }, expected: () => invalidOnionPayload(16, 0) },
    {
      description: 'a wrong secret AND a forward amount above the HTLC: lightningd checks the amount first (0013)',
      part: { paymentSecret: 'ff'.repeat(32) as never, forwardMsat: msat(106_000_001n) },
      expected: (p) => finalIncorrectHtlcAmount(p.amountMsat),
    },
    {
      description: 'payment_metadata AND a cltv_expiry below our min_final_cltv but above cltv-final: metadata first (4016)',
      part: { paymentMetadata: 'ab', cltvExpiry: HEIGHT + 40, outgoingCltv: HEIGHT + 40 },
      expected: () => invalidOnionPayload(16, 0),
    },
    {
      description: 'payment_metadata AND a cltv_expiry within cltv-final (18): the cltv check comes first (400f)',
      part: { paymentMetadata: 'ab', cltvExpiry: HEIGHT + 17, outgoingCltv: HEIGHT + 17 },
      expected: (p) => unknownPaymentDetails(p.amountMsat, HEIGHT),
    },
  ];
  for (const c of early) {
    test(`lightningd's own checks come first, with its codes: ${c.description}`, () => {
      const part = makePart(c.part);
      const { effects } = step(makeRelay(), { type: 'htlc', part }, makeCtx());
      assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.failureMessage), [c.expected(part)]);
    });
  }

  test('cltv_expiry exactly min_final_cltv (78) blocks away is accepted', () => {
    const part = makePart({ cltvExpiry: HEIGHT + 78, outgoingCltv: HEIGHT + 78 });
    const { effects } = step(makeRelay(), { type: 'htlc', part }, makeCtx());
    assert.equal(types(effects)[0], 'hold');
  });

  test('a part whose total_msat differs from the first part of the set is refused', () => {
    const first = makePart({ amountMsat: msat(50_000_000n), totalMsat: msat(106_000_000n) });
    const odd = makePart({ amountMsat: msat(50_000_000n), totalMsat: msat(107_000_000n) });
    const { effects, relay } = run(makeRelay(), { type: 'htlc', part: first }, { type: 'htlc', part: odd });
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.part), [partKey(odd)]);
    assert.equal(relay.held.length, 1);
  });

  test('parts adding up to more than twice the amount are refused', () => {
    const small = makePart({ amountMsat: msat(1_000n) });
    const huge = makePart({ amountMsat: msat(211_999_001n) });
    const { effects } = run(makeRelay(), { type: 'htlc', part: small }, { type: 'htlc', part: huge });
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.part), [partKey(huge)]);
  });

  test('a later part of a set started before expiry is still accepted after expiry', () => {
    const a = makePart({ amountMsat: msat(53_000_000n) });
    const b = makePart({ amountMsat: msat(53_000_000n) });
    let s = step(makeRelay(), { type: 'htlc', part: a }, makeCtx({ now: NOW + 3_600 }));
    s = step(s.relay, { type: 'htlc', part: b }, makeCtx({ now: NOW + 3_602 }));
    assert.equal(s.relay.record.state, 'gathered');
  });
});

describe('rule 3: parts are held until they add up; an incomplete set times out', () => {
  test('two of three parts are held, one mpp timer is started, nothing is written', () => {
    const [a, b] = [makePart({ amountMsat: msat(35_000_000n) }), makePart({ amountMsat: msat(35_000_000n) })];
    const { relay, effects } = run(makeRelay(), { type: 'htlc', part: a }, { type: 'htlc', part: b });
    assert.deepEqual(types(effects), ['hold', 'start_timer', 'hold']);
    assert.equal(relay.held.length, 2);
    assert.equal(relay.record.state, 'open');
  });

  test('the mpp timeout fails every held part with mpp_timeout (0x0017)', () => {
    const [a, b] = [makePart({ amountMsat: msat(35_000_000n) }), makePart({ amountMsat: msat(35_000_000n) })];
    const { relay, effects } = run(makeRelay(), { type: 'htlc', part: a }, { type: 'htlc', part: b }, { type: 'timer', timer: 'mpp' });
    const fails = effectsOf(effects, 'fail');
    assert.deepEqual(fails.map((f) => f.part), [partKey(a), partKey(b)]);
    assert.ok(fails.every((f) => f.failureMessage === mppTimeout()));
    assert.equal(relay.held.length, 0);
    assert.equal(relay.record.state, 'open');
  });

  test('a timeout with nothing held does nothing', () => {
    assert.deepEqual(types(step(makeRelay(), { type: 'timer', timer: 'mpp' }, makeCtx()).effects), []);
  });
});

describe('rule 4: "gathered" is persisted before any outgoing payment', () => {
  test('completing the set asks listsendpays and writes the parts and earliest expiry; no pay yet', () => {
    const a = makePart({ amountMsat: msat(60_000_000n), cltvExpiry: HEIGHT + 85, outgoingCltv: HEIGHT + 85 });
    const b = makePart({ amountMsat: msat(46_000_000n), cltvExpiry: HEIGHT + 79, outgoingCltv: HEIGHT + 79 });
    const { relay, effects } = run(makeRelay(), { type: 'htlc', part: a }, { type: 'htlc', part: b });
    assert.deepEqual(types(effects), ['hold', 'start_timer', 'hold', 'cancel_timer', 'query_outgoing', 'prepare_layer', 'persist']);
    const persisted = effectsOf(effects, 'persist')[0]?.record as RelayRecord;
    assert.equal(persisted.state, 'gathered');
    assert.deepEqual(persisted.parts.map((p) => p.amountMsat), [msat(60_000_000n), msat(46_000_000n)]);
    assert.equal(persisted.earliestExpiry, HEIGHT + 79);
    assert.equal(relay.queryInFlight, true);
  });
});

describe('rule 5: decide from the outgoing parts (listsendpays), one payment at a time', () => {
  test('no outgoing parts: pay, then checkpoint the attempt ("gathered" is already durable)', () => {
    const { relay } = gatheredRelay();
    const { relay: after, effects } = run(relay, { type: 'outgoing_status', parts: [] });
    assert.deepEqual(types(effects), ['pay', 'checkpoint']);
    assert.equal(after.record.state, 'paying');
    assert.equal(after.record.attempts.length, 1);
    assert.equal(after.payInFlight, true);
  });

  test('a second "none" answer while our xpay runs does not start a second payment', () => {
    const { relay } = gatheredRelay();
    const { effects } = run(relay, { type: 'outgoing_status', parts: [] }, { type: 'outgoing_status', parts: [] });
    assert.equal(effectsOf(effects, 'pay').length, 1);
  });

  test('any complete part resolves every held part with its preimage', () => {
    const { relay, part } = gatheredRelay();
    const { effects } = run(relay, { type: 'outgoing_status', parts: [failed, complete()] });
    assert.deepEqual(effectsOf(effects, 'resolve').map((r) => [r.part, r.preimage]), [[partKey(part), PREIMAGE]]);
  });

  test('a pending part means wait: no failure, ask again later', () => {
    const { relay } = gatheredRelay();
    const { effects } = run(relay, { type: 'outgoing_status', parts: [failed, pending] });
    assert.deepEqual(types(effects), ['start_timer']);
    assert.equal(effectsOf(effects, 'start_timer')[0]?.timer, 'requery');
  });

  test('a "complete" part whose preimage does not match the hash is not taken as paid', () => {
    const summary = summariseOutgoing([complete('ee'.repeat(32) as Preimage)], HASH);
    assert.equal(summary.kind, 'pending');
  });
});

describe('rule 6: xpay with maxfee = fee budget and maxdelay keeping the safety margin', () => {
  test("maxdelay is the earliest incoming expiry minus the height, the margin (34) and xpay's allowance (3)", () => {
    const { relay } = gatheredRelay();
    const pay = effectsOf(run(relay, { type: 'outgoing_status', parts: [] }).effects, 'pay')[0];
    assert.deepEqual(pay && { maxfee: pay.maxfeeMsat, maxdelay: pay.maxdelay, invstring: pay.invstring }, { maxfee: msat(1_000_000n), maxdelay: 81 - 34 - 3, invstring: 'lnbcrt1m1carol' });
    assert.ok(pay && pay.retryForSeconds >= 10 && pay.retryForSeconds <= 60);
  });

  test('when maxdelay cannot cover the downstream min_final_cltv, fail back at once instead of paying', () => {
    const { relay } = gatheredRelay();
    // 27 blocks later: 81 - 27 - 34 - 3 = 17 < 18.
    const s = step(relay, { type: 'outgoing_status', parts: [] }, makeCtx({ height: HEIGHT + 27 }));
    assert.equal(effectsOf(s.effects, 'pay').length, 0);
    assert.equal(effectsOf(s.effects, 'fail')[0]?.failureMessage, temporaryNodeFailure());
    assert.equal(s.relay.record.state, 'open');
  });
});

describe('rule 7: never fail an incoming part while an outgoing part may still succeed', () => {
  test('xpay failing is checked against listsendpays before anything is failed', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const { relay: after, effects } = run(paying, { type: 'pay_result', result: { ok: false, definite: true, message: 'Destination said it does not know invoice' } });
    assert.deepEqual(types(effects), ['query_outgoing']);
    assert.equal(after.record.attempts.at(-1)?.outcome, 'failed');
  });

  test('"still in progress" from a re-run xpay is not a failure (the v26.06 restart bug)', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const { effects } = run(
      paying,
      { type: 'pay_result', result: { ok: false, definite: false, message: 'still in progress, cannot retry before that completes (code -3)' } },
      { type: 'outgoing_status', parts: [pending] },
    );
    assert.equal(effectsOf(effects, 'fail').length, 0);
    assert.equal(effectsOf(effects, 'pay').length, 0);
  });

  test('xpay failed but a part is still pending: wait, then resolve when it completes', () => {
    const { relay, part } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const { effects } = run(
      paying,
      { type: 'pay_result', result: { ok: false, definite: true, message: 'gave up' } },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'requery' },
      { type: 'outgoing_status', parts: [complete()] },
    );
    assert.equal(effectsOf(effects, 'fail').length, 0);
    assert.deepEqual(effectsOf(effects, 'resolve').map((r) => r.part), [partKey(part)]);
  });

  test('blocks running out while the outgoing payment is pending fail nothing: xpay may start no new attempt, and a warning', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const s = step(paying, { type: 'block', height: HEIGHT + 60 }, makeCtx({ height: HEIGHT + 60 }));
    assert.deepEqual(types(s.effects), ['close_route']);
    assert.ok(effectsOf(s.effects, 'log').some((l) => /expire in 21 blocks/.test(l.message)));
  });

  test('random event orders never fail a gathered part while the outgoing payment may succeed', () => {
    let seed = 1_337;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      let { relay } = gatheredRelay();
      const gatheredKeys = new Set(relay.record.parts.map(partKey));
      for (let i = 0; i < 12; i++) {
        const mayStillSucceed = relay.payInFlight || relay.lastOutgoing?.kind === 'pending';
        const events: RelayEvent[] = [
          { type: 'outgoing_status', parts: [] },
          { type: 'outgoing_status', parts: [pending] },
          { type: 'outgoing_status', parts: [failed] },
          { type: 'pay_result', result: { ok: false, definite: rand(2) === 0, message: 'x' } },
          { type: 'requery' },
          { type: 'timer', timer: 'mpp' },
          { type: 'timer', timer: 'confirm' },
          { type: 'block', height: HEIGHT + rand(40) },
        ];
        const event = events[rand(events.length)] as RelayEvent;
        const s = step(relay, event, makeCtx());
        const failedGathered = effectsOf(s.effects, 'fail').filter((f) => gatheredKeys.has(f.part));
        if (mayStillSucceed && event.type !== 'outgoing_status') {
          assert.deepEqual(failedGathered, [], `round ${round}: ${event.type} failed a part while the payment could succeed`);
        }
        if (event.type === 'outgoing_status' && event.parts.some((p) => p.status === 'pending')) {
          assert.deepEqual(failedGathered, [], `round ${round}: failed a part with an outgoing part pending`);
        }
        relay = s.relay;
      }
    }
  });
});

describe('rule 8: the outcome reaches every held part', () => {
  test('on success every part is resolved, then the settled record (preimage, earnings) is checkpointed', () => {
    const a = makePart({ amountMsat: msat(70_000_000n) });
    const b = makePart({ amountMsat: msat(36_000_000n) });
    const gathered = run(makeRelay(), { type: 'htlc', part: a }, { type: 'htlc', part: b }).relay;
    const paying = run(gathered, { type: 'outgoing_status', parts: [] }).relay;
    const { relay, effects } = run(paying, { type: 'pay_result', result: { ok: true, preimage: PREIMAGE, amountSentMsat: msat(100_000_013n) } });
    assert.deepEqual(types(effects), ['resolve', 'resolve', 'checkpoint']);
    const rec = relay.record;
    assert.deepEqual([rec.state, rec.preimage, rec.receivedMsat, rec.sentMsat, rec.earnedMsat], ['settled', PREIMAGE, msat(106_000_000n), msat(100_000_013n), msat(5_999_987n)]);
    assert.equal(rec.attempts.at(-1)?.outcome, 'complete');
    assert.equal(relay.held.length, 0);
  });

  test('a preimage that does not match the hash is never used to resolve', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const { effects } = run(paying, { type: 'pay_result', result: { ok: true, preimage: 'dd'.repeat(32) as Preimage, amountSentMsat: msat(1n) } });
    assert.equal(effectsOf(effects, 'resolve').length, 0);
    assert.equal(effectsOf(effects, 'query_outgoing').length, 1);
  });

  test('a confirmed failure fails every held part with temporary_node_failure and reopens the relay', () => {
    const a = makePart({ amountMsat: msat(53_000_000n) });
    const b = makePart({ amountMsat: msat(53_000_000n) });
    const gathered = run(makeRelay(), { type: 'htlc', part: a }, { type: 'htlc', part: b }).relay;
    const paying = run(gathered, { type: 'outgoing_status', parts: [] }).relay;
    const { relay, effects } = run(
      paying,
      { type: 'pay_result', result: { ok: false, definite: true, message: 'no route' } },
      { type: 'outgoing_status', parts: [failed] },
      { type: 'timer', timer: 'confirm' },
      { type: 'outgoing_status', parts: [failed] },
    );
    const fails = effectsOf(effects, 'fail');
    assert.deepEqual(fails.map((f) => f.part), [partKey(a), partKey(b)]);
    assert.ok(fails.every((f) => f.failureMessage === temporaryNodeFailure()));
    assert.deepEqual([relay.record.state, relay.record.parts.length], ['open', 0]);
    assert.match(relay.record.lastError ?? '', /no route/);
    const persistIndex = effects.findIndex((e) => e.type === 'persist' && e.record.state === 'open');
    assert.ok(persistIndex >= 0 && persistIndex < effects.findIndex((e) => e.type === 'fail'));
  });

  test('after the invoice expired, a confirmed failure leaves the relay failed', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    let s = step(paying, { type: 'pay_result', result: { ok: false, definite: true, message: 'x' } }, makeCtx({ now: NOW + 4_000 }));
    s = step(s.relay, { type: 'outgoing_status', parts: [failed] }, makeCtx({ now: NOW + 4_000 }));
    s = step(s.relay, { type: 'timer', timer: 'confirm' }, makeCtx({ now: NOW + 4_002 }));
    s = step(s.relay, { type: 'outgoing_status', parts: [failed] }, makeCtx({ now: NOW + 4_002 }));
    assert.equal(s.relay.record.state, 'failed');
  });
});

describe('a failed relay returns to open, and the payer may retry', () => {
  test("the retry is a new round: the first round's failed attempt does not fail it back at once", async () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const reopened = run(
      paying,
      { type: 'pay_result', result: { ok: false, definite: true, message: 'channel down' } },
      { type: 'outgoing_status', parts: [failed] },
      { type: 'timer', timer: 'confirm' },
      { type: 'outgoing_status', parts: [failed] },
    ).relay;
    assert.deepEqual([reopened.record.state, reopened.record.round], ['open', 1]);
    const retry = makePart();
    const { relay: after, effects } = run(reopened, { type: 'htlc', part: retry }, { type: 'outgoing_status', parts: [failed] });
    assert.equal(effectsOf(effects, 'fail').length, 0);
    assert.equal(effectsOf(effects, 'pay').length, 1);
    assert.deepEqual([after.record.round, after.record.attempts.map((a) => a.round)], [2, [1, 2]]);
  });
});

describe('rule 9: after a restart, replayed parts skip gathering and go to rule 5', () => {
  const a = makePart({ amountMsat: msat(35_000_000n) });
  const b = makePart({ amountMsat: msat(35_000_000n) });
  const c = makePart({ amountMsat: msat(36_000_000n) });
  const recordAfterCrash = (state: 'gathered' | 'paying', attempts: RelayRecord['attempts'] = []): RelayRecord => ({
    ...makeRecord(),
    state,
    round: 1,
    parts: [a, b, c].map(toRecorded),
    earliestExpiry: HEIGHT + 81,
    attempts,
  });

  test('Bob held 3 parts, restarts, and pays Carol once: only after all three are back', () => {
    const fresh = makeRelay(recordAfterCrash('gathered'));
    const { effects } = run(
      fresh,
      { type: 'startup', guardClaims: [] },
      { type: 'htlc', part: a },
      { type: 'outgoing_status', parts: [] },
      { type: 'htlc', part: b },
      { type: 'htlc', part: c },
      { type: 'outgoing_status', parts: [] },
    );
    assert.equal(effectsOf(effects, 'pay').length, 1);
    assert.equal(effects.findIndex((e) => e.type === 'pay') > effects.findIndex((e) => e.type === 'hold' && e.part === partKey(c)), true);
    assert.equal(effectsOf(effects, 'persist').filter((p) => p.record.state === 'gathered').length, 0, 'gathering is not redone');
  });

  test('an outgoing payment that completed before the crash is resolved without paying', () => {
    const fresh = makeRelay(recordAfterCrash('paying', [{ round: 1, startedAt: NOW - 5, maxdelay: 47, maxfeeMsat: msat(1_000_000n) }]));
    const { effects } = run(fresh, { type: 'htlc', part: a }, { type: 'htlc', part: b }, { type: 'htlc', part: c }, { type: 'outgoing_status', parts: [complete()] });
    assert.equal(effectsOf(effects, 'pay').length, 0);
    assert.deepEqual(effectsOf(effects, 'resolve').map((r) => r.part), [a, b, c].map(partKey));
  });

  test('an outgoing payment still pending at restart is waited for, then resolved', () => {
    const fresh = makeRelay(recordAfterCrash('paying', [{ round: 1, startedAt: NOW - 5, maxdelay: 47, maxfeeMsat: msat(1_000_000n) }]));
    const { effects } = run(
      fresh,
      { type: 'htlc', part: a },
      { type: 'htlc', part: b },
      { type: 'htlc', part: c },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'requery' },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'requery' },
      { type: 'outgoing_status', parts: [complete()] },
    );
    assert.equal(effectsOf(effects, 'pay').length, 0);
    assert.equal(effectsOf(effects, 'fail').length, 0);
    assert.equal(effectsOf(effects, 'resolve').length, 3);
  });

  test('an attempt cut short by the restart (all its parts failed) is paid again, once', () => {
    // Started 100 s ago: its xpay has given up by now (retry_for 60 s and a margin), so a second look 2 s later is enough.
    const fresh = makeRelay(recordAfterCrash('paying', [{ round: 1, startedAt: NOW - 100, maxdelay: 47, maxfeeMsat: msat(1_000_000n) }]));
    const { effects, relay } = run(
      fresh,
      { type: 'htlc', part: a },
      { type: 'htlc', part: b },
      { type: 'htlc', part: c },
      { type: 'outgoing_status', parts: [failed] },
      // Its xpay may still inject a routed attempt: a second look first.
      { type: 'timer', timer: 'confirm' },
      { type: 'outgoing_status', parts: [failed] },
    );
    assert.equal(effectsOf(effects, 'pay').length, 1);
    assert.equal(relay.record.attempts.length, 2);
  });

  describe('a part lightningd lost in a crash (registered, pending, its HTLC never committed)', () => {
    const lost: OutgoingPart = { ...pending, status: 'failed', lost: true, createdIndex: 41 };
    const paying = (): Relay => makeRelay(recordAfterCrash('paying', [{ round: 1, startedAt: NOW - 5, maxdelay: 47, maxfeeMsat: msat(1_000_000n) }]));

    test('recv outgoing_status -- every part back: fail back at once, pay nothing (xpay would be refused for ever)', () => {
      const { effects, relay } = run(paying(), { type: 'htlc', part: a }, { type: 'htlc', part: b }, { type: 'htlc', part: c }, { type: 'outgoing_status', parts: [failed, lost] });
      assert.equal(effectsOf(effects, 'pay').length, 0);
      assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.part), [a, b, c].map(partKey));
      assert.equal(relay.record.state, 'open');
      assert.match(relay.record.lastError ?? '', /lightningd lost our payment onward/);
    });

    test('recv outgoing_status -- one part back: wait for the replays, then fail the set back whole', () => {
      const first = run(paying(), { type: 'htlc', part: a }, { type: 'outgoing_status', parts: [lost] });
      assert.deepEqual([effectsOf(first.effects, 'fail').length, effectsOf(first.effects, 'pay').length], [0, 0]);
      const rest = run(first.relay, { type: 'htlc', part: b }, { type: 'htlc', part: c }, { type: 'outgoing_status', parts: [lost] });
      assert.deepEqual(effectsOf(rest.effects, 'fail').map((f) => f.part), [a, b, c].map(partKey));
    });

    test('a pending part not judged lost is still waited for (rule 7)', () => {
      const { effects } = run(paying(), { type: 'htlc', part: a }, { type: 'htlc', part: b }, { type: 'htlc', part: c }, { type: 'outgoing_status', parts: [{ ...pending, createdIndex: 41 }] });
      assert.deepEqual([effectsOf(effects, 'fail').length, effectsOf(effects, 'pay').length], [0, 0]);
    });
  });

  test('parts that never come back after a restart are released once nothing was paid', () => {
    const fresh = makeRelay(recordAfterCrash('gathered'));
    const { effects, relay } = run(
      fresh,
      { type: 'startup', guardClaims: [] },
      { type: 'htlc', part: a },
      { type: 'outgoing_status', parts: [] },
      { type: 'timer', timer: 'mpp' },
      // The wait for replays is over: one more look at the outgoing payment, then release.
      { type: 'outgoing_status', parts: [] },
    );
    assert.equal(effectsOf(effects, 'pay').length, 0);
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.part), [partKey(a)]);
    assert.equal(relay.record.state, 'open');
  });
});

describe('rule 10: late parts and settled hashes', () => {
  test('a part with our secret that arrives for an already complete set is held while the payment onward may succeed, then failed as unknown', () => {
    const { relay } = gatheredRelay();
    const late = makePart({ amountMsat: msat(1_000n) });
    const held = run(relay, { type: 'htlc', part: late });
    assert.deepEqual(types(held.effects), ['hold']);
    const { effects } = run(held.relay, { type: 'outgoing_status', parts: [complete()] });
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => [f.part, f.failureMessage]), [[partKey(late), unknownPaymentDetails(late.amountMsat, HEIGHT)]]);
    assert.ok(!effectsOf(effects, 'resolve').some((r) => r.part === partKey(late)), 'the late part never gets the preimage');
  });

  test('a part without our secret that arrives for an already complete set is failed as unknown at once', () => {
    const { relay } = gatheredRelay();
    const late = makePart({ paymentSecret: 'ee'.repeat(32) as never });
    const { effects } = step(relay, { type: 'htlc', part: late }, makeCtx());
    assert.equal(effectsOf(effects, 'fail')[0]?.failureMessage, unknownPaymentDetails(late.amountMsat, HEIGHT));
  });

  test('a replayed part of a settled set is resolved again with the stored preimage, without writing', () => {
    const part = makePart();
    const settled = makeRelay({ state: 'settled', preimage: PREIMAGE, parts: [toRecorded(part)], claimed: [partKey(part)] });
    const { effects } = step(settled, { type: 'htlc', part }, makeCtx());
    assert.deepEqual(effects, [{ type: 'resolve', part: partKey(part), preimage: PREIMAGE }]);
  });

  test('a replayed part not yet counted is resolved and then counted as received', () => {
    const part = makePart({ amountMsat: msat(53_000_000n) });
    const other = makePart({ amountMsat: msat(53_000_000n) });
    const parts = [part, other].map(toRecorded);
    const settled = makeRelay({ state: 'settled', preimage: PREIMAGE, parts, claimed: [partKey(other)], receivedMsat: msat(53_000_000n), sentMsat: msat(100_000_000n), earnedMsat: msat(-47_000_000n) });
    const { relay, effects } = step(settled, { type: 'htlc', part }, makeCtx());
    assert.deepEqual(types(effects), ['resolve', 'checkpoint']);
    assert.deepEqual([relay.record.receivedMsat, relay.record.earnedMsat], [msat(106_000_000n), msat(6_000_000n)]);
  });
});

describe('persistence failures and expiry', () => {
  test('if "gathered" cannot be written, nothing is paid and the parts are released', () => {
    const part = makePart();
    const gathered = step(makeRelay(), { type: 'htlc', part }, makeCtx());
    const skipped = gathered.effects.slice(gathered.effects.findIndex((e) => e.type === 'persist') + 1);
    const s = step(gathered.relay, { type: 'persist_failed', error: 'datastore refused', skipped }, makeCtx());
    assert.deepEqual(types(s.effects), ['fail']);
    assert.equal(effectsOf(s.effects, 'fail')[0]?.failureMessage, temporaryNodeFailure());
    assert.equal(s.relay.record.state, 'open');
    assert.equal(s.relay.queryInFlight, false);
  });

  test('the parts are resolved before "settled" is written, so a failed write cannot hold them back', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] }).relay;
    const settled = step(paying, { type: 'pay_result', result: { ok: true, preimage: PREIMAGE, amountSentMsat: msat(100_000_000n) } }, makeCtx());
    assert.ok(settled.effects.findIndex((e) => e.type === 'resolve') < settled.effects.findIndex((e) => e.type === 'checkpoint'));
    assert.equal(effectsOf(settled.effects, 'persist').length, 0, 'nothing is written before the parts are resolved');
  });

  test('if the attempt cannot be written after xpay started, nothing is failed (the payment may succeed)', () => {
    const { relay } = gatheredRelay();
    const paying = run(relay, { type: 'outgoing_status', parts: [] });
    assert.equal(paying.relay.payInFlight, true);
    const s = step(paying.relay, { type: 'persist_failed', error: 'datastore busy', skipped: [] }, makeCtx());
    assert.equal(effectsOf(s.effects, 'fail').length, 0);
    assert.equal(s.relay.payInFlight, true);
  });

  test('an open relay with nothing held expires with the first block after its invoice expiry', () => {
    const s = step(makeRelay(), { type: 'block', height: HEIGHT + 1 }, makeCtx({ now: NOW + 3_601 }));
    assert.equal(s.relay.record.state, 'expired');
    assert.deepEqual(types(s.effects), ['persist']);
  });

  test('an open relay before expiry does not change on a block', () => {
    assert.deepEqual(step(makeRelay(), { type: 'block', height: HEIGHT + 1 }, makeCtx()).effects, []);
  });
});



describe('markLostParts: which pending parts lightningd lost in a crash', () => {
  const part = (status: OutgoingPart['status'], createdIndex: number | undefined): OutgoingPart => ({ ...pending, status, ...(createdIndex !== undefined ? { createdIndex } : {}) });
  const cases: Array<{ description: string; given: { parts: OutgoingPart[]; startIndex: number; outgoingHtlc: boolean }; expected: Array<[string, boolean]> }> = [
    { description: 'pending, registered before rdv started (index 41 <= 43), no outgoing HTLC of the hash: lost', given: { parts: [part('pending', 41)], startIndex: 43, outgoingHtlc: false }, expected: [['failed', true]] },
    { description: 'the same with an outgoing HTLC of the hash in a channel: not judged', given: { parts: [part('pending', 41)], startIndex: 43, outgoingHtlc: true }, expected: [['pending', false]] },
    { description: 'registered after rdv started (index 47 > 43): its HTLC exists or it is being made, not lost', given: { parts: [part('pending', 47)], startIndex: 43, outgoingHtlc: false }, expected: [['pending', false]] },
    { description: 'the part registered last before rdv started (index 43) counts as before', given: { parts: [part('pending', 43)], startIndex: 43, outgoingHtlc: false }, expected: [['failed', true]] },
    { description: 'no created_index (an older CLN): not judged', given: { parts: [part('pending', undefined)], startIndex: 43, outgoingHtlc: false }, expected: [['pending', false]] },
    { description: 'complete and failed parts are left as they are', given: { parts: [part('complete', 5), part('failed', 7), part('pending', 9)], startIndex: 43, outgoingHtlc: false }, expected: [['complete', false], ['failed', false], ['failed', true]] },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const out = markLostParts(c.given.parts, c.given);
      assert.deepEqual(out.map((p) => [p.status, p.lost === true]), c.expected);
    });
  }

  test('summariseOutgoing: a lost part makes the summary failed and lost; with a live pending part it stays pending', () => {
    const lost: OutgoingPart = { ...failed, lost: true };
    assert.deepEqual(summariseOutgoing([failed, lost], HASH), { kind: 'failed', lost: true });
    assert.deepEqual(summariseOutgoing([lost, pending], HASH), { kind: 'pending' });
    assert.deepEqual(summariseOutgoing([failed], HASH), { kind: 'failed' });
  });
});
