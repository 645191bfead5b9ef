/**
 * The plugin and pruning: Bob's plugin lets go of a record rdv prune removed,
 * never of one it holds HTLCs for (it writes that one back), and with
 * rdv-prune-after it prunes by itself at start; a bad value never stops it relaying.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { archiveKey, parseArchived } from '../../src/chain/archive.js';
import { msat } from '../../src/chain/amount.js';
import { parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import { HASH, PREIMAGE, SECRET, makeRecord } from '../helpers/builders.js';
import { heldByRdv, sat, seedRecord, sendHtlc, settledLongAgo, stillPending, withFakeLightningd, type Fake } from '../helpers/fake-lightningd.js';
import { at, runRdv } from '../helpers/rdv.js';
import { eventually } from '../helpers/sim.js';

const DAY = 86_400;
const now = (): number => Math.floor(Date.now() / 1000);

/** What Bob's relay that settled long ago earned. */
const EARNED = { earnedMsat: msat(5_999_989n) };

interface StatusReply {
  relaying: boolean;
  relays: Array<{ payment_hash: string; live: { held_parts: number } }>;
  prune: { after_seconds: number | null; option_problem?: string };
}
const status = async (f: Fake): Promise<StatusReply> => (await f.node.plugin?.request('rdv-status', {})) as StatusReply;
/** What rdv-status shows for a hash (a finished relay is listed only when asked for by hash), and how many relays it counts. */
const listed = async (f: Fake, hash: string): Promise<string[]> =>
  ((await f.node.plugin?.request('rdv-status', { payment_hash: hash })) as StatusReply).relays.map((r) => r.payment_hash);
const counted = async (f: Fake): Promise<number> => ((await status(f)) as unknown as { totals: { relays: number } }).totals.relays;
const reload = async (f: Fake, hash: string): Promise<Record<string, unknown>> => (await f.node.plugin?.request('rdv-reload', { payment_hash: hash })) as Record<string, unknown>;

describe('the plugin lets go of removed records', () => {
  test('after rdv prune removed Bob\'s old settled record, rdv-status no longer lists it', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, settledLongAgo(EARNED));
      await reload(f, HASH);
      assert.deepEqual([await listed(f, HASH), await counted(f)], [[HASH], 1]);
      const r = await runRdv([...at(f.node), 'prune', '--older-than', '30d']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^pruned 1 record \(1 settled\)/);
      assert.equal(r.stderr, '');
      assert.deepEqual([await listed(f, HASH), await counted(f)], [[], 0]);
      assert.equal(f.node.datastore.get(relayKey(HASH)), undefined);
      assert.equal(parseArchived(f.node.datastore.get(archiveKey(HASH)) ?? '').earnedMsat, 5_999_989n);
    });
  });

  test('a record it holds an HTLC for is never dropped: it is written back, and the payment still completes', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord({ expiresAt: now() + 3_600 }));
      const height = f.net.height;
      const first = sendHtlc(f.node, { paymentHash: HASH, id: 1, amountMsat: sat(53_000), totalMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: height + 81, height });
      await eventually(async () => (await heldByRdv(f.node)) === 1, 'rdv holds the first half');
      assert.ok(await stillPending(first), 'the first half is held');
      // Someone deletes the record by hand while the plugin holds half the payment.
      f.node.datastore.deldatastore({ key: relayKey(HASH) });
      const reply = await reload(f, HASH);
      assert.equal(reply.forgotten, false);
      assert.match(String(reply.kept_because), /holds 1 HTLC/);
      await eventually(() => f.node.datastore.get(relayKey(HASH)) !== undefined, 'the record is written back');
      assert.deepEqual(await listed(f, HASH), [HASH]);
      f.xpay = async () => ({ payment_preimage: PREIMAGE, amount_msat: 100_000_000, amount_sent_msat: 100_000_011, failed_parts: 0, successful_parts: 1 });
      const second = await sendHtlc(f.node, { paymentHash: HASH, id: 2, amountMsat: sat(53_000), totalMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: height + 81, height });
      assert.deepEqual([second, await first], [{ result: 'resolve', payment_key: PREIMAGE }, { result: 'resolve', payment_key: PREIMAGE }]);
      await eventually(() => (parseRecord(f.node.datastore.get(relayKey(HASH)) ?? '{}') as RelayRecord).state === 'settled', 'settled is written');
    }, { mppTimeoutSeconds: 60 });
  });

  test('rdv forget of an open relay holding half a payment: exit 2, nothing changes, the HTLC stays held', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord({ expiresAt: now() + 3_600 }));
      const height = f.net.height;
      const held = sendHtlc(f.node, { paymentHash: HASH, id: 1, amountMsat: sat(53_000), totalMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: height + 81, height });
      await eventually(async () => (await heldByRdv(f.node)) === 1, 'rdv holds the first half');
      assert.ok(await stillPending(held));
      const before = f.node.datastore.snapshot();
      const r = await runRdv([...at(f.node), '--yes', 'forget', HASH.slice(0, 8)]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /not forgetting [0-9a-f]{8}: still open/);
      assert.equal(f.node.datastore.snapshot(), before);
      assert.ok(await stillPending(held));
    }, { mppTimeoutSeconds: 60 });
  });
});

describe('rdv-prune-after', () => {
  test('=30d: at start the plugin archives and removes a record settled 45 days ago, keeps a young one, and says so in its log', async () => {
    await withFakeLightningd(
      async (f) => {
        seedRecord(f.node, settledLongAgo(EARNED));
        const young = { ...settledLongAgo(EARNED), paymentHash: 'b7'.repeat(32) as RelayRecord['paymentHash'], settledAt: now() - DAY, updatedAt: now() - DAY };
        seedRecord(f.node, young);
        // Restart lightningd: the plugin starts with the records in place.
        await f.node.crash();
        await f.node.start();
        await eventually(() => f.node.datastore.get(relayKey(HASH)) === undefined, 'the old record is pruned');
        assert.equal(parseArchived(f.node.datastore.get(archiveKey(HASH)) ?? '').state, 'settled');
        assert.ok(f.node.datastore.get(relayKey(young.paymentHash)));
        await eventually(() => f.node.log.some((l) => /prune: removed 1 record\(s\) that ended more than 30d 0h ago \(1 settled\)/.test(l)), 'the log says what it pruned');
        assert.deepEqual([await listed(f, HASH), await listed(f, young.paymentHash), await counted(f)], [[], [young.paymentHash], 1]);
        assert.equal((await status(f)).prune.after_seconds, 30 * DAY);
      },
      { pluginOptions: { 'rdv-mpp-timeout': 2, 'rdv-prune-after': '30d' } },
    );
  });

  test('a bad value does not stop rdv: it relays, prunes nothing, logs an error and rdv-status shows it', async () => {
    await withFakeLightningd(
      async (f) => {
        seedRecord(f.node, settledLongAgo(EARNED));
        await f.node.crash();
        await f.node.start();
        const s = await status(f);
        assert.equal(s.relaying, true);
        assert.match(s.prune.option_problem ?? '', /rdv-prune-after "soon" is not a duration.*not pruning/);
        assert.ok(f.node.log.some((l) => /rdv-prune-after "soon" is not a duration/.test(l)), f.node.log.join('\n'));
        assert.ok(f.node.datastore.get(relayKey(HASH)), 'nothing was pruned');
        const r = await runRdv([...at(f.node), 'status']);
        assert.match(r.stderr, /warning: plugin option: rdv-prune-after "soon" is not a duration/, 'rdv status says so too');
      },
      { pluginOptions: { 'rdv-mpp-timeout': 2, 'rdv-prune-after': 'soon' } },
    );
  });
});
