/**
 * The holes an adversarial review found in the relay (issue 7), one describe
 * each, in the state machine. Bob relays Carol's 100,000 sat invoice (his is
 * 106,000 sat, min_final_cltv 78, safety margin 34), as in relay.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { finalIncorrectCltvExpiry, finalIncorrectHtlcAmount, invalidOnionPayload, temporaryNodeFailure, unknownPaymentDetails } from '../../src/chain/failure.js';
import type { NodeId } from '../../src/chain/ids.js';
import { partKey } from '../../src/chain/parts.js';
import type { RelayRecord } from '../../src/chain/record.js';
import { DEFAULT_RELAY_CONFIG, type IncomingPart, type OutgoingPart, type Relay, type RelayEvent } from '../../src/chain/relay/types.js';
import { step } from '../../src/chain/relay/step.js';
import { HEIGHT, NOW, PREIMAGE, makeCtx, makePart, makeRecord, makeRelay, effectsOf, runSteps } from '../helpers/builders.js';

const pending: OutgoingPart = { status: 'pending', preimage: undefined, amountSentMsat: msat(100_000_011n) };
const failed: OutgoingPart = { status: 'failed', preimage: undefined, amountSentMsat: msat(100_000_011n) };
const complete: OutgoingPart = { status: 'complete', preimage: PREIMAGE, amountSentMsat: msat(100_000_011n) };
const PEER = `03${'a1'.repeat(32)}` as NodeId;
const CHANNEL = 'c4'.repeat(32);

/** Bob's record after he gathered `parts` and started paying; a fresh relay, as after a restart. */
function afterRestart(parts: IncomingPart[], state: 'gathered' | 'paying' = 'paying', over: Partial<RelayRecord> = {}): Relay {
  const record = makeRecord({
    state,
    round: 1,
    parts: parts.map(({ scid, id, channelId, peerId, amountMsat, cltvExpiry }) => ({ scid, id, amountMsat, cltvExpiry, ...(channelId ? { channelId } : {}), ...(peerId ? { peerId } : {}) })),
    earliestExpiry: Math.min(...parts.map((p) => p.cltvExpiry)),
    attempts: state === 'paying' ? [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, maxdelay: 44, maxfeeMsat: msat(1_000_000n) }] : [],
    ...over,
  });
  return runSteps(makeRelay(record), [{ type: 'startup', guardClaims: [] }]).relay;
}

describe('hole 1: a part whose channel lightningd renamed (alias -> real scid, splice) is still the same part', () => {
  test('gathered under the zero-conf alias, replayed under the real scid while the payment onward is pending: held, not failed, then resolved', () => {
    const gatheredAs = makePart({ scid: '10503233x174532x55000', channelId: CHANNEL, peerId: PEER });
    const replayed: IncomingPart = { ...gatheredAs, scid: '118x1x0' };
    const { effects, relay } = runSteps(afterRestart([gatheredAs]), [
      { type: 'htlc', part: replayed },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'timer', timer: 'mpp' },
      { type: 'timer', timer: 'requery' },
      { type: 'outgoing_status', parts: [complete] },
    ]);
    assert.deepEqual(effectsOf(effects, 'fail'), []);
    assert.deepEqual(effectsOf(effects, 'resolve').map((r) => r.part), [partKey(replayed)]);
    assert.equal(relay.record.state, 'settled');
    assert.equal(relay.record.receivedMsat, msat(106_000_000n), 'the part counts as received');
  });

  test('after a splice (same channel_id, new scid) the replayed part is recognised and the payment is made, once', () => {
    const a = makePart({ scid: '110x1x0', channelId: CHANNEL, amountMsat: msat(53_000_000n) });
    const b = makePart({ scid: '111x2x1', channelId: 'd5'.repeat(32), amountMsat: msat(53_000_000n) });
    const { effects } = runSteps(afterRestart([a, b], 'gathered'), [
      { type: 'htlc', part: { ...a, scid: '150x3x0' } },
      { type: 'htlc', part: b },
      { type: 'outgoing_status', parts: [] },
    ]);
    assert.equal(effectsOf(effects, 'pay').length, 1);
    assert.deepEqual(effectsOf(effects, 'fail'), []);
  });

  test('a record written by rdv 0.1.0 (no channel_id) matches its replay under another scid by htlc id, amount and cltv_expiry', () => {
    const old = makePart({ scid: '10503233x174532x55000' });
    const replayed: IncomingPart = { ...old, scid: '118x1x0', channelId: CHANNEL, peerId: PEER };
    const { effects, relay } = runSteps(afterRestart([old]), [{ type: 'htlc', part: replayed }]);
    assert.deepEqual(effectsOf(effects, 'fail'), []);
    assert.equal(relay.held.length, 1);
    assert.equal(relay.record.parts[0]?.channelId, undefined, 'a loose match is not pinned: it might be a look-alike');
  });

  test('a record written by rdv 0.1.0 learns the channel_id from a replay under the very scid it recorded (migrate on read)', () => {
    const old = makePart({ scid: '118x1x0' });
    const replayed: IncomingPart = { ...old, channelId: CHANNEL, peerId: PEER };
    const { effects, relay } = runSteps(afterRestart([old]), [{ type: 'htlc', part: replayed }]);
    assert.equal(relay.record.parts[0]?.channelId, CHANNEL);
    assert.ok(effectsOf(effects, 'checkpoint').length > 0, 'and written back');
  });

  test('two parts from the same peer with the same htlc id and amount on two channels stay two parts', () => {
    const a = makePart({ scid: '110x1x0', id: '0', channelId: CHANNEL, amountMsat: msat(53_000_000n) });
    const b = makePart({ scid: '110x2x0', id: '0', channelId: 'd5'.repeat(32), amountMsat: msat(53_000_000n) });
    const { relay } = runSteps(afterRestart([a, b], 'gathered'), [{ type: 'htlc', part: a }, { type: 'htlc', part: { ...a } }]);
    assert.equal(relay.held.length, 1, 'a second call for the same HTLC is not a second part');
    const both = runSteps(relay, [{ type: 'htlc', part: b }]);
    assert.equal(both.relay.held.length, 2);
  });

  test('an HTLC with our hash and secret that matches no recorded part is never failed while the payment onward is pending', () => {
    const recorded = makePart({ channelId: CHANNEL });
    const unknown = makePart({ scid: '999x9x9', channelId: 'e6'.repeat(32) });
    const { effects, relay } = runSteps(afterRestart([recorded]), [
      { type: 'htlc', part: recorded },
      { type: 'htlc', part: unknown },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'block', height: HEIGHT + 1 },
      { type: 'timer', timer: 'requery' },
      { type: 'outgoing_status', parts: [pending] },
    ]);
    assert.deepEqual(effectsOf(effects, 'fail'), []);
    assert.equal(relay.strays.length, 1);
    // Once the payment onward is over it is not ours: the unknown-hash answer, never the preimage.
    const end = runSteps(relay, [{ type: 'timer', timer: 'requery' }, { type: 'outgoing_status', parts: [complete] }]);
    assert.deepEqual(effectsOf(end.effects, 'fail').map((f) => f.part), [partKey(unknown)]);
    assert.deepEqual(effectsOf(end.effects, 'resolve').map((r) => r.part), [partKey(recorded)]);
  });
});

describe('hole 2: a held part always has something that will answer it', () => {
  test('some parts replayed, the mpp timer fires while the payment onward is pending, then it fails: the held parts are failed back', () => {
    const a = makePart({ amountMsat: msat(53_000_000n) });
    const b = makePart({ amountMsat: msat(53_000_000n) });
    const first = runSteps(afterRestart([a, b]), [
      { type: 'htlc', part: a },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'timer', timer: 'mpp' },
      { type: 'timer', timer: 'requery' },
      { type: 'outgoing_status', parts: [failed] },
    ]);
    assert.deepEqual(effectsOf(first.effects, 'fail'), [], 'not yet: the attempt whose end rdv did not see may still be running in lightningd');
    // Once its xpay must have given up (retry_for and a margin after it started), look again, then act.
    const { effects, relay } = runSteps(first.relay, [{ type: 'timer', timer: 'confirm' }, { type: 'outgoing_status', parts: [failed] }], makeCtx({ now: NOW + 80 }));
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => [f.part, f.failureMessage]), [[partKey(a), temporaryNodeFailure()]]);
    assert.equal(relay.record.state, 'open', 'and the payer may retry');
    assert.deepEqual(relay.record.parts.map(partKey), [partKey(b)], 'the part never replayed stays recorded: rdv-guard may hold it');
  });

  test('an attempt whose end rdv did not see, and blocks race to the deadline before its xpay must have given up: the relay closes its route, looks once more, and fails back instead of holding to expiry (soak seed 90210, payment 105)', () => {
    const a = makePart();
    const start = afterRestart([a], 'paying', { attempts: [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, layer: 'rdv-1', maxdelay: 44, maxfeeMsat: msat(1_000_000n) }] });
    const late = makeCtx({ height: a.cltvExpiry - 37 });
    const first = runSteps(start, [{ type: 'htlc', part: a }, { type: 'block', height: late.height }, { type: 'outgoing_status', parts: [failed] }], late);
    assert.deepEqual(effectsOf(first.effects, 'fail'), [], 'not at once: an attempt may be in flight');
    assert.deepEqual(effectsOf(first.effects, 'close_route').map((c) => c.layer), ['rdv-1'], 'its xpay can start no new attempt');
    const { effects, relay } = runSteps(first.relay, [{ type: 'timer', timer: 'confirm' }, { type: 'outgoing_status', parts: [failed] }], late);
    assert.deepEqual(effectsOf(effects, 'fail').map((f) => [f.part, f.failureMessage]), [[partKey(a), temporaryNodeFailure()]]);
    assert.equal(relay.record.state, 'open');
  });

  test('the same attempt with blocks to spare still waits for its xpay to give up (nothing closed, nothing failed)', () => {
    const a = makePart();
    const start = afterRestart([a], 'paying', { attempts: [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, layer: 'rdv-1', maxdelay: 44, maxfeeMsat: msat(1_000_000n) }] });
    const { effects } = runSteps(start, [{ type: 'htlc', part: a }, { type: 'outgoing_status', parts: [failed] }, { type: 'timer', timer: 'confirm' }, { type: 'outgoing_status', parts: [failed] }]);
    assert.deepEqual([effectsOf(effects, 'close_route').length, effectsOf(effects, 'fail').length], [0, 0]);
  });

  test('no part replayed at all: the record does not stay paying forever, and a retry is accepted', () => {
    const a = makePart();
    const first = runSteps(afterRestart([a]), [{ type: 'outgoing_status', parts: [failed] }, { type: 'timer', timer: 'mpp' }, { type: 'outgoing_status', parts: [failed] }]);
    const { relay } = runSteps(first.relay, [{ type: 'timer', timer: 'confirm' }, { type: 'outgoing_status', parts: [failed] }], makeCtx({ now: NOW + 80 }));
    assert.equal(relay.record.state, 'open');
    const retry = runSteps(relay, [{ type: 'htlc', part: makePart() }]);
    assert.equal(retry.relay.record.state, 'gathered');
  });

  test('whatever the event, a gathered or paying relay keeps a query, a payment or a timer going', () => {
    const a = makePart();
    const events: RelayEvent[] = [
      { type: 'htlc', part: a },
      { type: 'outgoing_status', parts: [pending] },
      { type: 'timer', timer: 'requery' },
      { type: 'outgoing_status', parts: [failed] },
      { type: 'timer', timer: 'mpp' },
      { type: 'block', height: HEIGHT + 1 },
    ];
    let relay = afterRestart([a, makePart()]);
    for (const e of events) {
      relay = step(relay, e, makeCtx()).relay;
      if (relay.record.state === 'gathered' || relay.record.state === 'paying') {
        assert.ok(relay.payInFlight || relay.queryInFlight || relay.timers.length > 0, `stalled after ${e.type}`);
      }
    }
  });

  test('replayed parts of an incomplete set are released once too few blocks are left to pay, however long the mpp wait', () => {
    const a = makePart({ amountMsat: msat(53_000_000n) });
    const b = makePart({ amountMsat: msat(53_000_000n) });
    const late = makeCtx({ height: HEIGHT + 27 });
    let relay = runSteps(afterRestart([a, b], 'gathered'), [{ type: 'htlc', part: a }]).relay;
    const s = step(relay, { type: 'outgoing_status', parts: [] }, late);
    relay = s.relay;
    assert.deepEqual(effectsOf(s.effects, 'fail').map((f) => f.part), [partKey(a)]);
    assert.equal(relay.record.state, 'open');
  });

  test('an incomplete set being gathered is released (mpp_timeout) when blocks leave too few to pay onward', () => {
    const a = makePart({ amountMsat: msat(53_000_000n) });
    const held = step(makeRelay(), { type: 'htlc', part: a }, makeCtx()).relay;
    const s = step(held, { type: 'block', height: HEIGHT + 27 }, makeCtx({ height: HEIGHT + 27 }));
    assert.deepEqual(effectsOf(s.effects, 'fail').map((f) => f.failureMessage), ['0017']);
  });
});

describe('hole 3: the preimage is never sold for an HTLC that is not a part of the set', () => {
  const part = makePart({ channelId: CHANNEL });
  const settled = (): Relay =>
    makeRelay({ state: 'settled', preimage: PREIMAGE, round: 1, parts: [{ scid: part.scid, id: part.id, channelId: CHANNEL, amountMsat: part.amountMsat, cltvExpiry: part.cltvExpiry }], claimed: [partKey(part)] });
  const cases: Array<{ description: string; htlc: IncomingPart }> = [
    { description: '1 msat with the right secret', htlc: makePart({ amountMsat: msat(1n), totalMsat: msat(106_000_000n) }) },
    { description: 'a whole second payment of the invoice', htlc: makePart() },
    { description: 'no payment secret at all', htlc: makePart({ paymentSecret: undefined, amountMsat: msat(1n) }) },
    { description: 'the right htlc id on another channel', htlc: { ...part, channelId: 'e6'.repeat(32), scid: '140x1x0' } },
  ];
  for (const c of cases) {
    test(`an HTLC for the settled hash with ${c.description} gets the unknown-hash answer`, () => {
      const { effects } = step(settled(), { type: 'htlc', part: c.htlc }, makeCtx());
      assert.deepEqual(effectsOf(effects, 'resolve'), []);
      assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.failureMessage), [unknownPaymentDetails(c.htlc.amountMsat, HEIGHT)]);
    });
  }
  test('the replay of the recorded part is resolved', () => {
    const { effects } = step(settled(), { type: 'htlc', part: { ...part, scid: '10503233x174532x55000' } }, makeCtx());
    assert.deepEqual(effectsOf(effects, 'resolve').map((r) => r.preimage), [PREIMAGE]);
  });
});

describe("hole 4: a relay hash's bad parts get lightningd's answers for an unknown hash, in its order", () => {
  const cases: Array<{ description: string; part: Partial<IncomingPart>; expected: (p: IncomingPart) => string }> = [
    { description: 'amt_to_forward above the HTLC amount', part: { forwardMsat: msat(106_000_001n) }, expected: (p) => finalIncorrectHtlcAmount(p.amountMsat) },
    { description: 'outgoing_cltv_value above cltv_expiry', part: { outgoingCltv: HEIGHT + 82 }, expected: (p) => finalIncorrectCltvExpiry(p.cltvExpiry) },
    { description: 'payment_metadata', part: { paymentMetadata: 'c0ffee' }, expected: () => invalidOnionPayload(16, 0) },
    { description: 'a wrong secret', part: { paymentSecret: 'ee'.repeat(32) as never }, expected: (p) => unknownPaymentDetails(p.amountMsat, HEIGHT) },
  ];
  for (const state of ['open', 'gathered', 'settled'] as const) {
    for (const c of cases) {
      test(`${c.description}, relay ${state}`, () => {
        const part = makePart(c.part);
        const relay = state === 'open' ? makeRelay() : state === 'settled' ? makeRelay({ state, preimage: PREIMAGE }) : afterRestart([makePart()], 'gathered');
        const { effects } = step(relay, { type: 'htlc', part }, makeCtx());
        assert.deepEqual(effectsOf(effects, 'fail').map((f) => f.failureMessage), [c.expected(part)]);
      });
    }
  }
});

describe('hole 5: the safety margin holds however many blocks xpay sees while it retries', () => {
  test('maxdelay leaves room for xpay counting from blockheight + 1 and two blocks found while retrying', () => {
    const relay = runSteps(makeRelay(), [{ type: 'htlc', part: makePart() }, { type: 'outgoing_status', parts: [] }]).relay;
    const attempt = relay.record.attempts.at(-1);
    const earliest = relay.record.earliestExpiry ?? 0;
    assert.ok(attempt);
    // xpay's last possible attempt: at startHeight + retryBlocks (then rdv closes the route), expiry = that + 1 + maxdelay.
    const latestExpiry = (attempt.startHeight ?? 0) + DEFAULT_RELAY_CONFIG.retryBlocks + 1 + attempt.maxdelay;
    assert.equal(earliest - latestExpiry, relay.record.safetyMargin);
  });

  test('the second block found while xpay runs closes its route: no new attempt', () => {
    const paying = runSteps(makeRelay(), [{ type: 'htlc', part: makePart() }, { type: 'outgoing_status', parts: [] }]).relay;
    const layer = paying.record.attempts.at(-1)?.layer;
    const first = step(paying, { type: 'block', height: HEIGHT + 1 }, makeCtx({ height: HEIGHT + 1 }));
    assert.deepEqual(effectsOf(first.effects, 'close_route'), []);
    const second = step(first.relay, { type: 'block', height: HEIGHT + 2 }, makeCtx({ height: HEIGHT + 2 }));
    assert.deepEqual(effectsOf(second.effects, 'close_route'), [{ type: 'close_route', layer }]);
    const third = step(second.relay, { type: 'block', height: HEIGHT + 3 }, makeCtx({ height: HEIGHT + 3 }));
    assert.deepEqual(effectsOf(third.effects, 'close_route'), [], 'once');
  });
});

describe('hole 5, continued: a route closed for the margin is tried again while there is room', () => {
  test('xpay stopped by our close_route fails; the second look pays again with a maxdelay from the new height', () => {
    const paying = runSteps(makeRelay(), [{ type: 'htlc', part: makePart() }, { type: 'outgoing_status', parts: [] }]).relay;
    const h2 = makeCtx({ height: HEIGHT + 2 });
    const closed = runSteps(paying, [{ type: 'block', height: HEIGHT + 2 }], h2).relay;
    assert.equal(closed.routeClosed, true);
    const { effects, relay } = runSteps(
      closed,
      [
        { type: 'pay_result', result: { ok: false, definite: true, message: 'Failed after 2 attempts. Then routing failed: All 2 channels to the source are disabled' } },
        { type: 'outgoing_status', parts: [failed] },
        { type: 'timer', timer: 'confirm' },
        { type: 'outgoing_status', parts: [failed] },
      ],
      h2,
    );
    assert.deepEqual(effectsOf(effects, 'fail'), []);
    assert.deepEqual(effectsOf(effects, 'pay').map((p) => p.maxdelay), [81 - 2 - 34 - 3]);
    assert.equal(relay.record.attempts.length, 2);
  });
});

describe('hole 6: one look does not decide a fail-back', () => {
  const paying = (): Relay => runSteps(makeRelay(), [{ type: 'htlc', part: makePart() }, { type: 'outgoing_status', parts: [] }]).relay;
  test('xpay fails, listsendpays shows nothing pending: wait and look again; a part injected meanwhile keeps the HTLC held', () => {
    const { effects } = runSteps(paying(), [
      { type: 'pay_result', result: { ok: false, definite: true, message: 'Failed after 3 attempts' } },
      { type: 'outgoing_status', parts: [failed] },
      { type: 'timer', timer: 'confirm' },
      { type: 'outgoing_status', parts: [failed, pending] },
      { type: 'timer', timer: 'requery' },
      { type: 'outgoing_status', parts: [failed, complete] },
    ]);
    assert.deepEqual(effectsOf(effects, 'fail'), []);
    assert.equal(effectsOf(effects, 'resolve').length, 1);
  });

  test('the first look alone fails nothing; the second, a failBackMs later, does', () => {
    const first = runSteps(paying(), [{ type: 'pay_result', result: { ok: false, definite: true, message: 'x' } }, { type: 'outgoing_status', parts: [failed] }]);
    assert.deepEqual(effectsOf(first.effects, 'fail'), []);
    assert.deepEqual(effectsOf(first.effects, 'start_timer').map((t) => [t.timer, t.ms]), [['confirm', DEFAULT_RELAY_CONFIG.failConfirmMs]]);
    const second = runSteps(first.relay, [{ type: 'timer', timer: 'confirm' }, { type: 'outgoing_status', parts: [failed] }]);
    assert.equal(effectsOf(second.effects, 'fail').length, 1);
  });

  test('a sendpay notification in between does not bring the second look forward', () => {
    const first = runSteps(paying(), [{ type: 'pay_result', result: { ok: false, definite: true, message: 'x' } }, { type: 'outgoing_status', parts: [failed] }]);
    const early = runSteps(first.relay, [{ type: 'requery' }, { type: 'outgoing_status', parts: [failed] }]);
    assert.deepEqual(effectsOf(early.effects, 'fail'), []);
  });
});
