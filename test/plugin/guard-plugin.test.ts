/**
 * rdv-guard: what happens to the HTLCs rdv holds when rdv dies. lightningd (here
 * a fake one with CLN's hook-chain rules) hands a dead plugin's pending
 * htlc_accepted calls to the next plugin in the chain, or fails them itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { temporaryNodeFailure } from '../../src/chain/failure.js';
import { guardClaimKey, parseGuardClaims, parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import { LightningNode } from '../../src/rpc/node.js';
import { HASH, PREIMAGE, SECRET, makeRecord as makeFixedRecord } from '../helpers/builders.js';
import { sat, seedRecord, sendHtlc, stillPending, withFakeLightningd, type Fake, type HookPart } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';

const makeRecord = (over: Partial<RelayRecord> = {}): RelayRecord => makeFixedRecord({ expiresAt: Math.floor(Date.now() / 1000) + 3_600, ...over });
const part = (f: Fake, over: Partial<HookPart> = {}): HookPart => ({ paymentHash: HASH, id: 11, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: f.net.height + 81, height: f.net.height, ...over });
const pendingPart = { payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 7 };
const completePart = { ...pendingPart, status: 'complete', payment_preimage: PREIMAGE };

/** Bob's rdv holds the HTLC and has started xpay, which is still running when rdv dies. */
async function holdingWhilePaying(f: Fake): Promise<{ reply: Promise<Record<string, unknown>> }> {
  seedRecord(f.node, makeRecord());
  f.node.overrides.set('xpay', (params) => {
    f.xpays.push(params);
    f.sendpays = [pendingPart];
    return new Promise(() => undefined);
  });
  const reply = sendHtlc(f.node, part(f));
  await eventually(() => f.xpays.length === 1, 'rdv pays Carol');
  return { reply };
}

describe('when rdv dies holding an HTLC', () => {
  test('without rdv-guard lightningd fails it at once (the payment onward may still complete: the relay would pay for nothing)', async () => {
    await withFakeLightningd(
      async (f) => {
        const { reply } = await holdingWhilePaying(f);
        await f.node.killPlugin('rdv');
        assert.deepEqual(await reply, { result: 'continue' }, "lightningd's own handling: no invoice for this hash, so it fails the HTLC");
      },
      { guard: false },
    );
  });

  test('with rdv-guard (important plugins): the guard holds it, lightningd stops, and after the restart rdv resolves the replay', async () => {
    await withFakeLightningd(async (f) => {
      const { reply } = await holdingWhilePaying(f);
      await f.node.killPlugin('rdv');
      assert.equal(f.node.up, false);
      assert.equal(await stillPending(reply, 200), true, 'nothing answered the HTLC');
      f.sendpays = [completePart];
      await f.node.start();
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 1);
    });
  });

  test('rdv as an ordinary plugin: lightningd keeps running and rdv-guard resolves the HTLC when the payment onward completes', async () => {
    await withFakeLightningd(
      async (f) => {
        const { reply } = await holdingWhilePaying(f);
        await f.node.killPlugin('rdv');
        assert.equal(f.node.up, true);
        assert.equal(await stillPending(reply, 300), true, 'held while the payment onward is pending');
        f.sendpays = [completePart];
        assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
        await eventually(() => f.node.datastore.get(guardClaimKey(HASH)) !== undefined, 'the claim is recorded');
        assert.deepEqual(parseGuardClaims(f.node.datastore.get(guardClaimKey(HASH)) ?? ''), ['110x1x0/11']);
        assert.ok(f.node.log.some((l) => /rdv did not answer for HTLC 110x1x0\/11/.test(l)));
      },
      { important: false },
    );
  });

  test('rdv restarted after the guard resolved its HTLC counts the part as received (no false loss)', async () => {
    await withFakeLightningd(
      async (f) => {
        const { reply } = await holdingWhilePaying(f);
        await f.node.killPlugin('rdv');
        f.sendpays = [completePart];
        await reply;
        await eventually(() => f.node.datastore.get(guardClaimKey(HASH)) !== undefined, 'the claim is recorded');
        const client = await LightningNode.connect(f.node.socketPath);
        try {
          await client.startPlugin(f.node.plugins[0]?.path ?? '');
        } finally {
          client.close();
        }
        await eventually(() => (parseRecord(f.node.datastore.get(relayKey(HASH)) ?? '{}') as RelayRecord).state === 'settled', 'rdv settles the record');
        const rec = parseRecord(f.node.datastore.get(relayKey(HASH)) ?? '{}') as RelayRecord;
        assert.deepEqual([rec.receivedMsat, rec.earnedMsat, rec.lastError], [106_000_000n, 5_999_989n, undefined]);
      },
      { important: false },
    );
  });

  test('`plugin stop rdv` while it holds an HTLC: rdv-guard takes it over', async () => {
    await withFakeLightningd(async (f) => {
      const { reply } = await holdingWhilePaying(f);
      const client = await LightningNode.connect(f.node.socketPath);
      try {
        await client.call('plugin', { subcommand: 'stop', plugin: 'rdv' });
      } finally {
        client.close();
      }
      assert.equal(f.node.up, true, '`plugin stop` does not stop lightningd');
      f.sendpays = [completePart];
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
    });
  });

  test('nothing was paid onward: rdv-guard fails the HTLC back after its quiet period', async () => {
    await withFakeLightningd(
      async (f) => {
        seedRecord(f.node, makeRecord());
        // Half of the set: rdv holds it, waiting for the rest, then dies.
        const reply = sendHtlc(f.node, part(f, { amountMsat: sat(53_000), totalMsat: sat(106_000) }));
        await eventually(() => f.node.plugin?.logs.some((l) => /holding 1 part/.test(l.message)) ?? false, 'rdv holds the part');
        await f.node.killPlugin('rdv');
        assert.deepEqual(await reply, { result: 'fail', failure_message: temporaryNodeFailure() });
        assert.equal(f.xpays.length, 0);
      },
      { important: false, guardOptions: { 'rdv-guard-quiet': 1 } },
    );
  });

  test('while rdv is alive, rdv-guard passes on everything rdv passes on', async () => {
    await withFakeLightningd(async (f) => {
      assert.deepEqual(await sendHtlc(f.node, part(f, { paymentHash: 'cd'.repeat(32) })), { result: 'continue' });
      assert.deepEqual(await sendHtlc(f.node, part(f, { forward: true })), { result: 'continue' });
      assert.equal(f.node.plugins.length, 2);
    });
  });
});
