/**
 * A plugin with a year of finished relays keeps only a count of them in memory,
 * yet answers for each exactly as before: a replayed part of a settled set is
 * resolved with its preimage, anything else for the hash is failed as unknown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import { unknownPaymentDetails } from '../../src/chain/failure.js';
import type { PaymentHash, Preimage } from '../../src/chain/ids.js';
import { partKey } from '../../src/chain/parts.js';
import { makeRecord, SECRET } from '../helpers/builders.js';
import { sat, seedRecord, sendHtlc, withFakeLightningd, type Fake, type HookPart } from '../helpers/fake-lightningd.js';

const preimageOf = (i: number): Preimage => createHash('sha256').update(`preimage ${i}`).digest('hex') as Preimage;
const hashOf = (i: number): PaymentHash => createHash('sha256').update(Buffer.from(preimageOf(i), 'hex')).digest('hex') as PaymentHash;
const part = (f: Fake, i: number, over: Partial<HookPart> = {}): HookPart => ({ paymentHash: hashOf(i), scid: '110x1x0', id: 11, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: f.net.height + 81, height: f.net.height, ...over });

interface Status {
  relays: Array<{ payment_hash: string; state: string }>;
  totals: { relays: number; by_state: Record<string, number>; earned_msat: number; recent: { settled: number; earned_msat: number } };
}

describe('finished relays after a restart', () => {
  test('Bob restarts with 300 settled and 100 failed relays and 2 open: rdv-status lists the open ones, counts them all, and a replayed part of a settled one is still resolved', async () => {
    await withFakeLightningd(async (f) => {
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 400; i++) {
        const settled = i < 300;
        const recorded = { scid: '110x1x0', id: '11', amountMsat: sat(106_000), cltvExpiry: f.net.height + 81 };
        seedRecord(f.node, makeRecord({
          paymentHash: hashOf(i), state: settled ? 'settled' : 'failed', parts: settled ? [recorded] : [], claimed: settled ? [partKey(recorded)] : undefined,
          preimage: settled ? preimageOf(i) : undefined, earnedMsat: settled ? msat(6_000_000n) : undefined, settledAt: settled ? now - 3_600 : undefined, createdAt: now - 7_200, updatedAt: now - 3_600,
        }));
      }
      for (const i of [400, 401]) seedRecord(f.node, makeRecord({ paymentHash: hashOf(i), expiresAt: now + 3_600 }));
      await f.node.restart();

      const status = (await f.node.plugin?.request('rdv-status', {})) as Status;
      assert.deepEqual(status.relays.map((r) => r.payment_hash).sort(), [hashOf(400), hashOf(401)].sort());
      assert.equal(status.totals.relays, 402);
      assert.deepEqual([status.totals.by_state.settled, status.totals.by_state.failed, status.totals.by_state.open], [300, 100, 2]);
      assert.equal(status.totals.earned_msat, 300 * 6_000_000);
      assert.equal(status.totals.recent.settled, 300);

      const one = (await f.node.plugin?.request('rdv-status', { payment_hash: hashOf(7).slice(0, 12) })) as Status;
      assert.deepEqual(one.relays.map((r) => [r.payment_hash, r.state]), [[hashOf(7), 'settled']], 'a finished relay is shown by its hash');

      assert.deepEqual(await sendHtlc(f.node, part(f, 7)), { result: 'resolve', payment_key: preimageOf(7) }, 'the replayed part of a settled set');
      const stranger = part(f, 8, { id: 99, amountMsat: sat(1) });
      assert.deepEqual(await sendHtlc(f.node, stranger), { result: 'fail', failure_message: unknownPaymentDetails(stranger.amountMsat, f.net.height) });
      assert.deepEqual(await sendHtlc(f.node, part(f, 350)), { result: 'continue' }, 'a failed relay is not ours any more: lightningd answers as for any unknown hash');
      assert.equal(f.xpays.length, 0);
    });
  });

  test('a settled relay with a part not counted as claimed is kept running at start (it waits for the replay to count it)', async () => {
    await withFakeLightningd(async (f) => {
      const recorded = { scid: '110x1x0', id: '11', amountMsat: sat(106_000), cltvExpiry: f.net.height + 81 };
      seedRecord(f.node, makeRecord({ paymentHash: hashOf(1), state: 'settled', parts: [recorded], claimed: [], preimage: preimageOf(1) }));
      await f.node.restart();
      const status = (await f.node.plugin?.request('rdv-status', {})) as Status;
      assert.deepEqual(status.relays.map((r) => r.payment_hash), [hashOf(1)]);
    });
  });
});
