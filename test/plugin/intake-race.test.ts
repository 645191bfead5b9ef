/**
 * Every htlc_accepted call gets exactly one answer, whatever is removed while the
 * plugin takes it in. Bob's relay settled long ago; a stranger who knows the hash
 * sends an HTLC for it on a channel the plugin has not named yet, and `rdv forget`
 * (rdv-reload after the record is deleted) races each await on the way: reading the
 * record, naming the channel, waiting to ask again after lightningd did not answer.
 * An unanswered call is held by lightningd until the upstream peer force-closes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { relayKey } from '../../src/chain/record.js';
import { HASH, SECRET } from '../helpers/builders.js';
import { sat, seedRecord, sendHtlc, settledLongAgo, withFakeLightningd, type Fake } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';

/** An RPC method that, once armed, holds its next call (for which `matches`) until released. */
class Gate {
  entered = false;
  private open: (() => void) | undefined;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  constructor(
    f: Fake,
    method: string,
    answer: (params: Record<string, unknown>, call: number) => unknown,
    matches: (params: Record<string, unknown>) => boolean = () => true,
  ) {
    let calls = 0;
    f.node.overrides.set(method, async (params) => {
      const call = calls++;
      if (matches(params) && !this.entered) {
        this.entered = true;
        await this.opened;
      }
      return answer(params, call);
    });
  }
  release(): void {
    this.open?.();
  }
}

const reload = async (f: Fake): Promise<Record<string, unknown>> => (await f.node.plugin?.request('rdv-reload', { payment_hash: HASH })) as Record<string, unknown>;

/** An HTLC for Bob's old hash from a stranger: not a part of the settled set. */
function strangersHtlc(f: Fake, scid: string): Promise<Record<string, unknown>> {
  const height = f.net.height;
  return sendHtlc(f.node, { paymentHash: HASH, scid, id: 9, amountMsat: sat(106_000), totalMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: height + 90, height });
}

/** The reply, or a failed assertion if the plugin never answers (instead of a hung test). */
async function answered(reply: Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const never = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the hook call was never answered')), 15_000)));
  try {
    return await Promise.race([reply, never]);
  } finally {
    clearTimeout(timer);
  }
}

describe('rdv forget racing an HTLC being taken in', () => {
  test('while the plugin names the HTLC\'s channel: forget is refused, the record is written back, and the HTLC is answered as for an unknown hash', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, settledLongAgo());
      await reload(f);
      const gate = new Gate(f, 'listpeerchannels', () => ({ channels: [] }));
      const reply = strangersHtlc(f, '131x7x1');
      await eventually(() => gate.entered, 'the plugin asks lightningd to name the channel');
      f.node.datastore.deldatastore({ key: relayKey(HASH) });
      const forgot = await reload(f);
      assert.equal(forgot.forgotten, false);
      assert.match(String(forgot.kept_because), /holds 1 HTLC/);
      await eventually(() => f.node.datastore.get(relayKey(HASH)) !== undefined, 'the record is written back');
      gate.release();
      const r = await answered(reply);
      assert.equal(r.result, 'fail');
      assert.match(String(r.failure_message), /^400f/, 'incorrect_or_unknown_payment_details, as lightningd answers');
    });
  });

  test('while lightningd does not answer listpeerchannels and the plugin waits to ask again: same, one answer', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, settledLongAgo());
      await reload(f);
      let failed = false;
      const gate = new Gate(
        f,
        'listpeerchannels',
        () => {
          if (!failed) {
            failed = true;
            throw new Error('lightningd is busy');
          }
          return { channels: [] };
        },
        () => failed,
      );
      const reply = strangersHtlc(f, '131x7x2');
      await eventually(() => failed, 'listpeerchannels failed once');
      f.node.datastore.deldatastore({ key: relayKey(HASH) });
      const forgot = await reload(f);
      assert.equal(forgot.forgotten, false);
      assert.match(String(forgot.kept_because), /holds 1 HTLC/);
      await eventually(() => gate.entered, 'the plugin asks again');
      gate.release();
      const r = await answered(reply);
      assert.equal(r.result, 'fail');
      assert.match(String(r.failure_message), /^400f/);
    });
  });

  test('while the plugin reads the record: forget lets it go, and the HTLC is passed on to lightningd (the hash is no longer ours)', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, settledLongAgo());
      await reload(f);
      // Bob's plugin holds finished relays only as a count: the HTLC makes it read the record.
      const gate = new Gate(
        f,
        'listdatastore',
        (params) => f.node.datastore.listdatastore(params),
        (params) => JSON.stringify(params.key) === JSON.stringify(relayKey(HASH)),
      );
      const reply = strangersHtlc(f, '131x7x3');
      await eventually(() => gate.entered, 'the plugin reads the record');
      f.node.overrides.delete('listdatastore');
      f.node.datastore.deldatastore({ key: relayKey(HASH) });
      const forgot = await reload(f);
      assert.equal(forgot.forgotten, true);
      gate.release();
      assert.deepEqual(await answered(reply), { result: 'continue' });
      assert.equal(f.node.datastore.get(relayKey(HASH)), undefined, 'nothing written back');
    });
  });
});
