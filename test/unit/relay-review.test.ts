/**
 * Findings of an adversarial review of the relay (branch `review`), each a
 * deterministic history in the pure state machine (and rdv-guard's pure
 * decision). They fail until src/ is fixed. Bob relays Carol's 100,000 sat
 * invoice (test/helpers/builders.ts): 106,000 sat in, min_final_cltv 78,
 * safety margin 34.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { unknownPaymentDetails } from '../../src/chain/failure.js';
import { guardDecide } from '../../src/chain/guard.js';
import type { NodeId } from '../../src/chain/ids.js';
import { partKey } from '../../src/chain/parts.js';
import type { RelayRecord } from '../../src/chain/record.js';
import type { IncomingPart } from '../../src/chain/relay/types.js';
import { step } from '../../src/chain/relay/step.js';
import { HEIGHT, NOW, PREIMAGE, makeCtx, makePart, makeRecord, makeRelay, effectsOf, runSteps } from '../helpers/builders.js';

const PEER = `03${'a1'.repeat(32)}` as NodeId;
const CHANNEL = 'c4'.repeat(32);
const toRecorded = ({ scid, id, channelId, peerId, amountMsat, cltvExpiry }: IncomingPart): RelayRecord['parts'][number] => ({
  scid,
  id,
  amountMsat,
  cltvExpiry,
  ...(channelId ? { channelId } : {}),
  ...(peerId ? { peerId } : {}),
});

describe('review 1: after a restart of rdv alone, the mpp wait fails back on a stale look at listsendpays', () => {
  // `plugin stop rdv` / `plugin start rdv` (rdv is dynamic, so even an
  // important-plugin can be stopped: lightningd/plugin_control.c
  // plugin_dynamic_stop clears `important`), or a crash of rdv loaded with plugin=.
  // lightningd keeps running, so (1) rdv-guard holds the HTLCs rdv held and
  // nothing is ever replayed to the new rdv, and (2) the old xpay goes on inside
  // lightningd: between two attempts (getroutes, askrene-reserve) listsendpays
  // shows nothing pending. The new rdv looks twice (startup, second look), both
  // in such a gap, then sits 58 s on the mpp timer without looking again; xpay
  // injects its next attempt meanwhile. At the mpp timeout rdv fails back
  // without a fresh look: the record becomes `open` with no parts, so rdv-guard
  // no longer recognises the HTLCs it holds. When xpay's attempt completes,
  // rdv-guard answers `continue` and lightningd fails them as an unknown hash:
  // Carol is paid 100,000 sat, Bob's 106,000 sat incoming is failed.
  test('the mpp timeout does not fail back (nor forget the parts) without asking listsendpays again', () => {
    const p = makePart({ channelId: CHANNEL, peerId: PEER });
    const record = makeRecord({
      state: 'paying',
      round: 1,
      parts: [toRecorded(p)],
      earliestExpiry: p.cltvExpiry,
      attempts: [{ round: 1, startedAt: NOW - 5, startHeight: HEIGHT, maxdelay: 44, maxfeeMsat: msat(1_000_000n) }],
    });
    const looks = runSteps(makeRelay(record), [
      { type: 'startup', guardClaims: [] },
      { type: 'outgoing_status', parts: [] }, // old xpay between attempts
      { type: 'timer', timer: 'confirm' },
      { type: 'outgoing_status', parts: [] }, // still in getroutes
    ]);
    assert.deepEqual(effectsOf(looks.effects, 'fail'), []);
    // ... 58 s pass: the old xpay injects an attempt; rdv asks nothing meanwhile.
    const atMpp = step(looks.relay, { type: 'timer', timer: 'mpp' }, makeCtx());
    const reopened = effectsOf(atMpp.effects, 'persist').find((e) => e.record.state === 'open');
    // What rdv-guard (holding the real HTLC) does with the record rdv wrote, once the attempt completes:
    const guard = guardDecide(reopened?.record ?? atMpp.relay.record, p, { kind: 'complete', preimage: PREIMAGE, sentMsat: msat(100_000_011n) }, 0);
    assert.equal(guard.action, 'resolve', `rdv-guard would ${guard.action} the part of a payment that completed (${guard.why})`);
    assert.equal(reopened, undefined, 'the record is reopened (parts forgotten) on a look at listsendpays 58 s old');
    assert.ok(effectsOf(atMpp.effects, 'query_outgoing').length > 0, 'no fresh listsendpays before deciding');
  });
});

describe('review 2: a settled hash sells the preimage to a look-alike of a part already resolved', () => {
  // The set was gathered while listpeerchannels failed (ChannelIds.refresh logs
  // and the part is named by scid: the record has no channel_id), or the record
  // was written by rdv 0.1.0. The upstream peer has a second channel to Bob and
  // knows the invoice (it is the payer, or saw the invoice): on that channel it
  // offers an HTLC with the same htlc id (ids are per-channel counters it can
  // advance), amount and cltv_expiry. `renamed` matches it to the recorded part,
  // and onSettledPart / guardDecide match without excluding parts already
  // claimed: the preimage goes to an HTLC that is not a part of the set (rule 10),
  // for the price of one part instead of the invoice.
  test('an HTLC on another channel, looking like a claimed part, gets the unknown-hash answer from rdv and from rdv-guard', () => {
    // The runner now always names a part's channel (it waits for listpeerchannels), so
    // the record has the channel_id. (A record of rdv 0.1.0 has none: then a look-alike
    // cannot be told from the real part's replay under a renamed channel, and rdv
    // resolves it rather than risk failing the real one: see matchSettled.)
    const real = makePart({ scid: '103x1x0', id: '5', channelId: 'c4'.repeat(32), peerId: PEER, amountMsat: msat(10_600_000n) });
    const record = makeRecord({
      state: 'settled',
      round: 1,
      preimage: PREIMAGE,
      parts: [toRecorded(real)],
      claimed: [partKey(real)],
      receivedMsat: real.amountMsat,
    });
    const lookAlike: IncomingPart = { ...makePart({ amountMsat: real.amountMsat }), scid: '150x2x0', id: '5', channelId: 'e6'.repeat(32), peerId: PEER, cltvExpiry: real.cltvExpiry, outgoingCltv: real.cltvExpiry };
    const s = step(makeRelay(record), { type: 'htlc', part: lookAlike }, makeCtx());
    assert.deepEqual(effectsOf(s.effects, 'resolve'), [], 'rdv resolved an HTLC that is not a part of the set');
    assert.deepEqual(effectsOf(s.effects, 'fail').map((f) => f.failureMessage), [unknownPaymentDetails(lookAlike.amountMsat, HEIGHT)]);
    const guard = guardDecide(record, lookAlike, { kind: 'complete', preimage: PREIMAGE, sentMsat: msat(100_000_011n) }, 0);
    assert.equal(guard.action, 'continue', `rdv-guard: ${guard.action} (${guard.why})`);
  });
});

describe("review 3: check_claims counts one channel move for two parts", () => {
  // Two parts of equal amount on one channel; p1 is counted (replayed and resolved,
  // or claimed by rdv-guard), p2 was failed (rdv stopped without rdv-guard).
  // listchannelmoves has one "invoice" credit, p1's. onClaims skips p1 without
  // consuming its credit, then gives that credit to p2: received is overstated
  // and the "not received" error is cleared (bookkeeping only: earnings, status).
  test("a claimed part's own credit is not reused for another part", () => {
    const p1 = makePart({ id: '1', channelId: CHANNEL, amountMsat: msat(53_000_000n) });
    const p2 = makePart({ id: '2', channelId: CHANNEL, amountMsat: msat(53_000_000n) });
    const record = makeRecord({
      state: 'settled',
      round: 1,
      preimage: PREIMAGE,
      parts: [toRecorded(p1), toRecorded(p2)],
      claimed: [partKey(p1)],
      receivedMsat: msat(53_000_000n),
      sentMsat: msat(100_000_011n),
    });
    const s = step(makeRelay(record), { type: 'claims', credits: [{ channelId: CHANNEL, amountMsat: msat(53_000_000n) }] }, makeCtx());
    assert.equal(s.relay.record.receivedMsat, msat(53_000_000n), 'one credit counted for two parts');
    assert.ok(s.relay.record.lastError, 'the missing part is still reported');
  });
});
