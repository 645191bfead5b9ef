/**
 * Issue 7's holes, seen from lightningd's side: bin/rdv and bin/rdv-guard driven
 * by a fake lightningd over the real plugin protocol. Bob relays Carol's invoice
 * (106,000 sat in, min_final_cltv 78), as in relay-plugin.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { finalIncorrectCltvExpiry, finalIncorrectHtlcAmount, invalidOnionPayload, unknownPaymentDetails } from '../../src/chain/failure.js';
import { msat } from '../../src/chain/amount.js';
import { parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import { HASH, PREIMAGE, SECRET, makeRecord as makeFixedRecord } from '../helpers/builders.js';
import { htlcParams, sat, seedRecord, sendHtlc, stillPending, withFakeLightningd, type Fake, type HookPart } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';
import { fixture } from '../helpers/paths.js';

// rdv-guard's quiet period has a 75 s floor; these tests shorten it.
process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS = '0';

const makeRecord = (over: Partial<RelayRecord> = {}): RelayRecord => makeFixedRecord({ expiresAt: Math.floor(Date.now() / 1000) + 3_600, ...over });
const storedRecord = (f: Fake): RelayRecord => parseRecord(f.node.datastore.get(relayKey(HASH)) ?? '{}') as RelayRecord;
const part = (f: Fake, over: Partial<HookPart> = {}): HookPart => ({ paymentHash: HASH, id: 11, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: f.net.height + 81, height: f.net.height, ...over });
const recorded = (p: HookPart): RelayRecord['parts'][number] => ({ scid: p.scid ?? '110x1x0', id: String(p.id), amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry });
const pendingPart = { payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 7 };
const completePart = { ...pendingPart, status: 'complete', payment_preimage: PREIMAGE };

/** An htlc_accepted call with the onion changed by `edit` (hand-made onions). */
function sendOnion(f: Fake, p: HookPart, edit: (onion: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  return f.node.callHook('htlc_accepted', () => {
    const params = htlcParams(p);
    edit(params.onion as Record<string, unknown>);
    return params;
  });
}

describe('hole 1: a held part replayed under a new scid', () => {
  test('Bob pays while holding a part from 110x1x0, lightningd restarts and replays it as 118x1x0: it is resolved, not failed', async () => {
    await withFakeLightningd(async (f) => {
      const p = part(f, { scid: '110x1x0' });
      seedRecord(f.node, makeRecord({ state: 'paying', round: 1, parts: [recorded(p)], earliestExpiry: p.cltvExpiry, attempts: [{ round: 1, startedAt: 1, maxdelay: 44, maxfeeMsat: sat(1_000) }] }));
      f.sendpays = [pendingPart];
      const reply = sendHtlc(f.node, { ...p, scid: '118x1x0' });
      assert.equal(await stillPending(reply, 2_500), true, 'held while the payment onward is pending, past the mpp wait');
      f.sendpays = [completePart];
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      await eventually(() => storedRecord(f).state === 'settled', 'settled');
      assert.equal(storedRecord(f).receivedMsat, sat(106_000));
    });
  });
});

describe('hole 1, continued: a part is never named by scid alone because listpeerchannels failed', () => {
  test('listpeerchannels fails for a while: rdv holds the HTLC, asks again, and records the part under its channel_id', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      const listpeerchannels = fixture('rpc-listpeerchannels.json') as { channels: Array<Record<string, unknown>> };
      const channel = { ...listpeerchannels.channels[0], short_channel_id: '110x1x0', channel_id: 'ab'.repeat(32) };
      let failures = 3;
      f.node.overrides.set('listpeerchannels', async () => {
        if (failures-- > 0) throw new Error('lightningd is busy');
        return { channels: [channel] };
      });
      f.xpay = async () => ({ payment_preimage: PREIMAGE, amount_msat: 100_000_000, amount_sent_msat: 100_000_011, failed_parts: 0, successful_parts: 1 });
      assert.deepEqual(await sendHtlc(f.node, part(f)), { result: 'resolve', payment_key: PREIMAGE });
      await eventually(() => storedRecord(f).state === 'settled', 'settled');
      assert.equal(storedRecord(f).parts[0]?.channelId, 'ab'.repeat(32));
      assert.ok(f.node.log.some((l) => /cannot name the channel of 110x1x0\/11 yet: holding it and asking again/.test(l)));
    });
  });
});

describe('hole 3: the preimage is not for sale', () => {
  test('a settled hash: a 1-msat HTLC with the right secret gets the unknown-hash answer, from rdv and from rdv-guard', async () => {
    await withFakeLightningd(
      async (f) => {
        const p = part(f);
        seedRecord(f.node, makeRecord({ state: 'settled', preimage: PREIMAGE, round: 1, parts: [recorded(p)], claimed: ['110x1x0/11'] }));
        const probe = part(f, { id: 99, amountMsat: msat(1n) });
        assert.deepEqual(await sendHtlc(f.node, probe), { result: 'fail', failure_message: unknownPaymentDetails(probe.amountMsat, f.net.height) });
        await f.node.killPlugin('rdv');
        assert.deepEqual(await sendHtlc(f.node, probe), { result: 'continue' }, 'rdv-guard passes it on: lightningd fails it as unknown');
        assert.deepEqual(await sendHtlc(f.node, p), { result: 'resolve', payment_key: PREIMAGE }, 'the recorded part is still resolved');
      },
      { important: false },
    );
  });
});

describe("hole 4: a relay hash answers hand-made onions like an unknown hash", () => {
  const cases: Array<{ description: string; edit: (o: Record<string, unknown>, p: HookPart) => void; expected: (p: HookPart) => Record<string, unknown> }> = [
    { description: 'amt_to_forward above the HTLC amount', edit: (o, p) => (o.forward_msat = p.amountMsat + 1n), expected: (p) => ({ result: 'fail', failure_message: finalIncorrectHtlcAmount(p.amountMsat) }) },
    { description: 'outgoing_cltv_value above cltv_expiry', edit: (o, p) => (o.outgoing_cltv_value = p.cltvExpiry + 1), expected: (p) => ({ result: 'fail', failure_message: finalIncorrectCltvExpiry(p.cltvExpiry) }) },
    { description: 'payment_metadata', edit: (o) => (o.payment_metadata = 'c0ffee'), expected: () => ({ result: 'fail', failure_message: invalidOnionPayload(16, 0) }) },
    {
      description: 'a payload lightningd could not decode (no onion.type): passed on, lightningd fails it itself',
      edit: (o) => {
        for (const k of ['type', 'forward_msat', 'outgoing_cltv_value', 'total_msat', 'payment_secret']) delete o[k];
      },
      expected: () => ({ result: 'continue' }),
    },
    { description: 'a blinded payload (encrypted_recipient_data): passed on', edit: (o) => (o.payload = '0c' + '0203000001' + '040164' + '0a02abcd'), expected: () => ({ result: 'continue' }) },
  ];
  for (const c of cases) {
    test(c.description, async () => {
      await withFakeLightningd(async (f) => {
        seedRecord(f.node, makeRecord());
        const p = part(f);
        assert.deepEqual(await sendOnion(f, p, (o) => c.edit(o, p)), c.expected(p));
        assert.equal(f.xpays.length, 0);
      });
    });
  }
});

describe('hole 7: edges that let go', () => {
  test("lightningd's RPC socket drops and comes back: rdv connects again and relays the next payment", async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      f.xpay = async () => ({ payment_preimage: PREIMAGE, amount_msat: 100_000_000, amount_sent_msat: 100_000_011, failed_parts: 0, successful_parts: 1 });
      await f.node.server.stop();
      await f.node.server.start();
      assert.deepEqual(await sendHtlc(f.node, part(f)), { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 1);
    });
  });

  test('rdv-guard keeps holding an HTLC rdv held while the datastore cannot be read (no `continue` after 10 s)', async () => {
    await withFakeLightningd(
      async (f) => {
        const p = part(f);
        seedRecord(f.node, makeRecord({ state: 'paying', round: 1, parts: [recorded(p)], earliestExpiry: p.cltvExpiry, attempts: [{ round: 1, startedAt: 1, maxdelay: 44, maxfeeMsat: sat(1_000) }] }));
        f.sendpays = [pendingPart];
        await f.node.killPlugin('rdv');
        let broken = true;
        const listdatastore = f.node.overrides.get('listdatastore');
        f.node.overrides.set('listdatastore', async (params) => {
          if (broken) throw new Error('database is locked');
          return listdatastore ? listdatastore(params) : f.node.datastore.listdatastore(params);
        });
        const reply = sendHtlc(f.node, p);
        assert.equal(await stillPending(reply, 11_500), true, 'still held after 11.5 s of errors');
        broken = false;
        f.sendpays = [completePart];
        assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      },
      { important: false },
    );
  });

  test('rdv-guard-quiet below what xpay may retry for is raised to 75 s, and says so', async () => {
    delete process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS;
    try {
      await withFakeLightningd(
        async (f) => {
          const guard = f.node.plugins[1]?.host;
          const status = (await guard?.request('rdv-guard-status', {})) as { quiet_s: number };
          assert.equal(status.quiet_s, 75);
          await eventually(() => guard?.logs.some((l) => l.level === 'error' && /rdv-guard-quiet=5 is shorter than xpay may keep retrying: using 75 s/.test(l.message)) ?? false, 'the complaint');
        },
        { guardOptions: { 'rdv-guard-quiet': 5 } },
      );
    } finally {
      process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS = '0';
    }
  });

  test('an rdv that does not relay (CLN too old) leaves a paying relay\'s HTLC to rdv-guard instead of failing it', async () => {
    await withFakeLightningd(
      async (f) => {
        const p = part(f);
        seedRecord(f.node, makeRecord({ state: 'paying', round: 1, parts: [recorded(p)], earliestExpiry: p.cltvExpiry, attempts: [{ round: 1, startedAt: 1, maxdelay: 44, maxfeeMsat: sat(1_000) }] }));
        f.sendpays = [pendingPart];
        const reply = sendHtlc(f.node, p);
        assert.equal(await stillPending(reply, 1_500), true, 'held by rdv-guard while the payment onward is pending');
        f.sendpays = [completePart];
        assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      },
      { version: 'v24.11.2' },
    );
  });
});
