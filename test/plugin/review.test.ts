/**
 * Findings of an adversarial review, seen from lightningd's side (bin/rdv-guard
 * over the real plugin protocol). They fail until src/ is fixed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RelayRecord } from '../../src/chain/record.js';
import { HASH, SECRET, makeRecord as makeFixedRecord } from '../helpers/builders.js';
import { replyWithin, sat, seedRecord, sendHtlc, stillPending, withFakeLightningd, type Fake, type HookPart } from '../helpers/fake-lightningd.js';

process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS = '0';

const makeRecord = (over: Partial<RelayRecord> = {}): RelayRecord => makeFixedRecord({ expiresAt: Math.floor(Date.now() / 1000) + 3_600, ...over });
const part = (f: Fake, over: Partial<HookPart> = {}): HookPart => ({ paymentHash: HASH, id: 11, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: f.net.height + 81, height: f.net.height, ...over });
const recorded = (p: HookPart): RelayRecord['parts'][number] => ({ scid: p.scid ?? '110x1x0', id: String(p.id), amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry });
const pendingPart = { payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 7 };

describe('review 4: rdv-guard holds a stray to its expiry', () => {
  // rdv lets a stray (our hash and secret, not in the recorded set) go a safety
  // margin before its cltv_expiry (src/chain/relay/time.ts onBlock). When rdv is gone and
  // lightningd runs on (plugin stop rdv, or rdv loaded with plugin=), rdv-guard
  // gets the stray and, while the payment onward is pending (Carol went offline
  // holding it: pending until it times out on chain), answers `wait` on every
  // poll with no look at the blocks: a stray whose expiry is earlier than the
  // set's (the set came with a long CLTV, the stray with the minimum) is held to
  // its cltv_expiry while the payment onward is rightly pending, and the upstream
  // peer force-closes the channel.
  test('a stray held by rdv-guard while the payment onward is pending is let go before its expiry', async () => {
    await withFakeLightningd(
      async (f) => {
        // The set came with a long CLTV (200 blocks): the payment onward may rightly be pending for 160 blocks.
        const p = part(f, { cltvExpiry: f.net.height + 200 });
        seedRecord(f.node, makeRecord({ state: 'paying', round: 1, parts: [recorded(p)], earliestExpiry: p.cltvExpiry, attempts: [{ round: 1, startedAt: 1, maxdelay: 44, maxfeeMsat: sat(1_000) }] }));
        f.sendpays = [pendingPart];
        await f.node.killPlugin('rdv');
        const stray = part(f, { id: 12, amountMsat: sat(1_000), totalMsat: sat(106_000), cltvExpiry: f.net.height + 80 });
        const reply = sendHtlc(f.node, stray);
        assert.equal(await stillPending(reply, 300), true, 'held at first, like rdv holds it');
        await f.net.mine(80); // to its cltv_expiry (rdv would have let it go 34 blocks before)
        const answer = await replyWithin(reply, 'rdv-guard still holds the stray at its cltv_expiry');
        assert.notEqual(answer.result, 'resolve');
      },
      { important: false },
    );
  });
});
