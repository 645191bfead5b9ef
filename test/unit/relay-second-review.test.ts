/**
 * Findings of the second adversarial review in the pure relay machine. Bob relays
 * Carol's 100,000 sat invoice (test/helpers/builders.ts): 106,000 sat in.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { partKey } from '../../src/chain/parts.js';
import { HEIGHT, NOW, PREIMAGE, makePart, makeRecord, makeRelay, effectsOf, runSteps } from '../helpers/builders.js';

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
