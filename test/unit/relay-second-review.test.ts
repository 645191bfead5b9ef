/**
 * Findings of the second adversarial review in the pure relay machine. Bob relays
 * Carol's 100,000 sat invoice (test/helpers/builders.ts): 106,000 sat in.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { partKey } from '../../src/chain/parts.js';
import { HEIGHT, NOW, PREIMAGE, makeCtx, makePart, makeRecord, makeRelay, effectsOf, runSteps } from '../helpers/builders.js';

const CHANNEL = 'c4'.repeat(32);

describe('finding 4: the start-up mpp timer fires before listsendpays reports complete', () => {
  // Bob's rdv resolved his one part, then was killed before "settled" was written: the
  // record says paying, and lightningd replays nothing (the HTLC is fulfilled). At the
  // restart the mpp timer (the wait for replays) fires before listsendpays answers.
  // settle() then took the part for never received, without asking the channel moves.
  const p = makePart({ id: '5', channelId: CHANNEL, amountMsat: msat(106_000_000n) });
  const record = makeRecord({
    state: 'paying',
    round: 1,
    parts: [{ scid: p.scid, id: p.id, channelId: CHANNEL, amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry }],
    earliestExpiry: p.cltvExpiry,
    attempts: [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, maxdelay: 44, maxfeeMsat: msat(1_000_000n) }],
  });
  const complete = { type: 'outgoing_status' as const, parts: [{ status: 'complete' as const, preimage: PREIMAGE, amountSentMsat: msat(100_000_011n) }] };

  test('settled after the wait for replays is over: lightningd\'s channel moves are asked before the part counts as not received', () => {
    const s = runSteps(makeRelay(record), [{ type: 'startup', guardClaims: [] }, { type: 'timer', timer: 'mpp' }, complete]);
    assert.equal(s.relay.record.state, 'settled');
    assert.deepEqual(effectsOf(s.effects, 'check_claims'), [{ type: 'check_claims', paymentHash: record.paymentHash }]);
  });

  test('and the channel moves show it received: earned is right and no error is left', () => {
    const s = runSteps(makeRelay(record), [
      { type: 'startup', guardClaims: [] },
      { type: 'timer', timer: 'mpp' },
      complete,
      { type: 'claims', credits: [{ channelId: CHANNEL, amountMsat: msat(106_000_000n) }] },
    ]);
    assert.deepEqual(s.relay.record.claimed, [partKey(p)]);
    assert.equal(s.relay.record.receivedMsat, msat(106_000_000n));
    assert.equal(s.relay.record.earnedMsat, msat(5_999_989n));
    assert.equal(s.relay.record.lastError, undefined);
  });

  test('the channel moves show nothing: the part is reported as not received', () => {
    const s = runSteps(makeRelay(record), [{ type: 'startup', guardClaims: [] }, { type: 'timer', timer: 'mpp' }, complete, { type: 'claims', credits: [] }]);
    assert.equal(s.relay.record.receivedMsat, msat(0n));
    assert.match(s.relay.record.lastError ?? '', /1 of 1 incoming part\(s\) were not held/);
  });
});

describe("finding 2's suspicion: an xpay whose answer was lost goes on routing inside lightningd", () => {
  // rdv's connection to lightningd drops while xpay runs (e.g. a reply over the size
  // limit closes it): rdv gets an indefinite answer, xpay goes on with its layer (never
  // removed after a lost call). Blocks come; each new attempt of that xpay expires at
  // height + 1 + maxdelay, so after retryBlocks blocks it would eat into the safety margin.
  test('once retryBlocks blocks are found since it started, rdv closes its route, as for its own running xpay', () => {
    const p = makePart({ id: '5', channelId: CHANNEL, amountMsat: msat(106_000_000n) });
    const layer = 'rdv-lost-a1';
    const record = makeRecord({
      state: 'paying',
      round: 1,
      parts: [{ scid: p.scid, id: p.id, channelId: CHANNEL, amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry }],
      earliestExpiry: p.cltvExpiry,
      attempts: [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, layer, maxdelay: 44, maxfeeMsat: msat(1_000_000n) }],
    });
    const relay = { ...makeRelay(record), held: [p], payInFlight: true };
    const ctx = makeCtx();
    const s = runSteps(relay, [
      { type: 'pay_result', result: { ok: false, definite: false, message: 'lost the connection to lightningd' } },
      ...Array.from({ length: ctx.config.retryBlocks }, (_, i) => ({ type: 'block' as const, height: HEIGHT + 1 + i })),
    ], ctx);
    assert.deepEqual(effectsOf(s.effects, 'close_route'), [{ type: 'close_route', layer }]);
  });
});
