/**
 * bin/rdv as lightningd's plugin: a fake lightningd starts it over stdio
 * (getmanifest, init), sends htlc_accepted calls shaped like CLN v26.06's and
 * serves the RPC on a unix socket, with xpay and listsendpays scripted.
 * Bob relays Carol's invoice: 106,000 sat in, min_final_cltv 78.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mppTimeout, temporaryNodeFailure, unknownPaymentDetails } from '../../src/chain/failure.js';
import { parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import { HASH, PREIMAGE, SECRET, makeRecord as makeFixedRecord } from '../helpers/builders.js';
import { heldByRdv, sat, seedRecord, sendHtlc, stillPending, withFakeLightningd, type Fake, type HookPart } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';
import { fixture } from '../helpers/paths.js';

/** Bob's record, expiring an hour from now (real time: the plugin uses the clock). */
const makeRecord = (over: Partial<RelayRecord> = {}): RelayRecord => makeFixedRecord({ expiresAt: Math.floor(Date.now() / 1000) + 3_600, ...over });

const storedRecord = (f: Fake): RelayRecord => parseRecord(f.node.datastore.get(relayKey(HASH)) ?? '{}') as RelayRecord;

function part(f: Fake, over: Partial<HookPart> = {}): HookPart {
  const height = f.net.height;
  return { paymentHash: HASH, id: 11, amountMsat: sat(106_000), paymentSecret: SECRET, cltvExpiry: height + 81, height, ...over };
}

const succeed = async (): Promise<unknown> => ({ payment_preimage: PREIMAGE, amount_msat: 100_000_000, amount_sent_msat: 100_000_011, failed_parts: 0, successful_parts: 1 });

describe('the plugin protocol', () => {
  test('getmanifest asks for htlc_accepted and custommsg, offers rdv-status, and is dynamic', async () => {
    await withFakeLightningd(async (f) => {
      const m = f.node.plugin?.manifest;
      assert.deepEqual(m?.hooks.map((h) => h.name), ['htlc_accepted', 'custommsg']);
      assert.deepEqual(m?.rpcmethods.map((r) => r.name), ['rdv-status', 'rdv-reload', 'rdv-request', 'rdv-wrap']);
      assert.deepEqual(m?.subscriptions, ['block_added', 'shutdown', 'sendpay_success', 'sendpay_failure']);
      assert.deepEqual(m?.custommessages, [0x8a01]);
      assert.equal(m?.dynamic, true);
    });
  });

  test('a forward, an unknown hash and a last payee\'s invoice get continue at once', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, { version: 1, role: 'last', paymentHash: 'ab'.repeat(32) as never, bolt11: 'x', label: 'l', amountMsat: sat(1), description: '', expiresAt: 2e9, createdAt: 1, updatedAt: 1 });
      assert.deepEqual(await sendHtlc(f.node, part(f, { forward: true })), { result: 'continue' });
      assert.deepEqual(await sendHtlc(f.node, part(f, { paymentHash: 'cd'.repeat(32) })), { result: 'continue' });
      assert.deepEqual(await sendHtlc(f.node, part(f, { paymentHash: 'ab'.repeat(32) })), { result: 'continue' });
      assert.equal(f.xpays.length, 0);
    });
  });

  test('custom messages that are not ours (peer_storage) get continue', async () => {
    await withFakeLightningd(async (f) => {
      const params = (fixture('hook-custommsg-peer_storage.json') as { params: Record<string, unknown> }).params;
      assert.deepEqual(await f.node.callHook('custommsg', () => params), { result: 'continue' });
    });
  });

  test('nothing but JSON-RPC is ever written to stdout', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      f.xpay = succeed;
      await sendHtlc(f.node, part(f));
      assert.deepEqual(f.node.plugin?.protocolViolations, []);
    });
  });
});

describe('holding, gathering and settling', () => {
  test('single part: held, "gathered" is written before xpay, then resolved with the preimage', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      let stateWhenPaying: string | undefined;
      f.xpay = async () => {
        stateWhenPaying = storedRecord(f).state;
        return succeed();
      };
      const reply = await sendHtlc(f.node, part(f));
      assert.deepEqual(reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(stateWhenPaying, 'gathered');
      assert.equal(f.xpays.length, 1);
      assert.equal(f.xpays[0]?.maxfee, 1_000_000);
      assert.equal(f.xpays[0]?.maxdelay, 81 - 34 - 3);
      assert.match(String((f.xpays[0]?.layers as string[] | undefined)?.[0]), /^rdv-/, 'xpay routes over a layer of our own');
      // "settled" is written just after the parts are resolved.
      await eventually(() => storedRecord(f).state === 'settled', 'settled record');
      assert.equal(storedRecord(f).earnedMsat, 5_999_989n); // 106,000,000 in - 100,000,011 out
    });
  });

  test('three parts from two channels are held until they add up, then all resolved', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      f.xpay = succeed;
      const a = sendHtlc(f.node, part(f, { id: 1, scid: '110x1x0', amountMsat: sat(40_000), totalMsat: sat(106_000) }));
      const b = sendHtlc(f.node, part(f, { id: 2, scid: '119x1x0', amountMsat: sat(40_000), totalMsat: sat(106_000) }));
      await eventually(async () => (await heldByRdv(f.node)) === 2, 'rdv holds the first two parts');
      assert.equal(await stillPending(Promise.race([a, b])), true);
      assert.equal(f.xpays.length, 0);
      const c = sendHtlc(f.node, part(f, { id: 3, scid: '110x1x0', amountMsat: sat(26_000), totalMsat: sat(106_000) }));
      const replies = await Promise.all([a, b, c]);
      assert.ok(replies.every((r) => r.result === 'resolve' && r.payment_key === PREIMAGE));
      assert.equal(f.xpays.length, 1);
      assert.equal(storedRecord(f).parts.length, 3);
    });
  });

  test('an incomplete set is failed with mpp_timeout', async () => {
    await withFakeLightningd(
      async (f) => {
        seedRecord(f.node, makeRecord());
        const reply = await sendHtlc(f.node, part(f, { amountMsat: sat(50_000), totalMsat: sat(106_000) }));
        assert.deepEqual(reply, { result: 'fail', failure_message: mppTimeout() });
        assert.equal(f.xpays.length, 0);
        assert.equal(storedRecord(f).state, 'open');
      },
      { mppTimeoutSeconds: 1 },
    );
  });
});

describe('bad parts look exactly like an unknown hash', () => {
  const cases: Array<{ description: string; over: (f: Fake) => Partial<HookPart> }> = [
    { description: 'wrong payment secret', over: () => ({ paymentSecret: 'ee'.repeat(32) }) },
    { description: 'amount below the invoice', over: () => ({ amountMsat: sat(105_999), totalMsat: sat(105_999) }) },
    { description: 'CLTV too close (77 blocks)', over: (f) => ({ cltvExpiry: f.net.height + 77 }) },
    { description: 'overpayment beyond twice the amount', over: () => ({ amountMsat: sat(212_001), totalMsat: sat(212_001) }) },
  ];
  for (const c of cases) {
    test(c.description, async () => {
      await withFakeLightningd(async (f) => {
        seedRecord(f.node, makeRecord());
        const p = part(f, c.over(f));
        const reply = await sendHtlc(f.node, p);
        assert.deepEqual(reply, { result: 'fail', failure_message: unknownPaymentDetails(p.amountMsat, f.net.height) });
        assert.equal(f.xpays.length, 0);
      });
    });
  }

  test('an expired invoice', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord({ expiresAt: Math.floor(Date.now() / 1000) - 1 }));
      const p = part(f);
      assert.deepEqual(await sendHtlc(f.node, p), { result: 'fail', failure_message: unknownPaymentDetails(p.amountMsat, f.net.height) });
    });
  });

  test('a part after the set is complete', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      f.xpay = () => new Promise(() => undefined);
      void sendHtlc(f.node, part(f, { id: 1 }));
      await eventually(() => f.xpays.length === 1, 'xpay');
      const late = part(f, { id: 2, amountMsat: sat(1) });
      assert.deepEqual(await sendHtlc(f.node, late), { result: 'fail', failure_message: unknownPaymentDetails(late.amountMsat, f.net.height) });
    });
  });
});

describe('the downstream outcome reaches every part', () => {
  test('downstream failure (xpay 203, listsendpays all failed) fails every part with temporary_node_failure', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      f.xpay = async () => {
        f.sendpays = [{ ...(fixture('rpc-listsendpays-failed.json') as { payments: Array<Record<string, unknown>> }).payments[0], payment_hash: HASH }];
        throw Object.assign(new Error("Destination said it doesn't know invoice"), { code: 203 });
      };
      f.node.overrides.set('xpay', async (params) => {
        f.xpays.push(params);
        await f.xpay(params).catch(() => undefined);
        const { SimRpcError } = await import('../../src/simnet/rpc-server.js');
        throw new SimRpcError(203, "Destination said it doesn't know invoice: incorrect_or_unknown_payment_details");
      });
      const replies = await Promise.all([
        sendHtlc(f.node, part(f, { id: 1, amountMsat: sat(53_000), totalMsat: sat(106_000) })),
        sendHtlc(f.node, part(f, { id: 2, amountMsat: sat(53_000), totalMsat: sat(106_000) })),
      ]);
      assert.deepEqual(replies, [
        { result: 'fail', failure_message: temporaryNodeFailure() },
        { result: 'fail', failure_message: temporaryNodeFailure() },
      ]);
      const rec = storedRecord(f);
      assert.equal(rec.state, 'open');
      assert.match(rec.lastError ?? '', /203/);
    });
  });

  test('xpay failing while a part is still pending is not a failure: the relay waits and resolves', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      const pendingPart = { payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 5_350_190_117_790_887_365n };
      f.node.overrides.set('xpay', async (params) => {
        f.xpays.push(params);
        f.sendpays = [pendingPart];
        const { SimRpcError } = await import('../../src/simnet/rpc-server.js');
        throw new SimRpcError(209, 'Failed after 3 attempts');
      });
      const reply = sendHtlc(f.node, part(f));
      await eventually(() => f.xpays.length === 1, 'xpay');
      assert.equal(await stillPending(reply, 300), true);
      f.sendpays = [{ ...pendingPart, status: 'complete', payment_preimage: PREIMAGE }];
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 1);
    });
  });
});

describe('restarts: lightningd replays held HTLCs', () => {
  test('the plugin is SIGKILLed after "gathered": lightningd restarts, replays, and Carol is paid exactly once', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      let release: (v: unknown) => void = () => undefined;
      f.node.overrides.set('xpay', (params) => {
        f.xpays.push(params);
        if (f.xpays.length === 1) {
          f.sendpays = [{ payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 1 }];
          return new Promise(() => undefined); // dies with the plugin
        }
        return new Promise((resolve) => (release = resolve));
      });
      const reply = sendHtlc(f.node, part(f));
      await eventually(() => f.xpays.length === 1 && storedRecord(f).state === 'paying', 'first xpay, attempt written');
      await f.node.killPlugin(); // important-plugin: lightningd stops too
      f.sendpays = [{ payment_hash: HASH, status: 'complete', payment_preimage: PREIMAGE, amount_sent_msat: 100_000_011, partid: 1, groupid: 1 }];
      await f.node.start();
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 1, 'no second payment');
      release(undefined);
    });
  });

  test('killed after gathering, before any payment: the replay pays once', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, { ...makeRecord(), state: 'gathered', round: 1, parts: [{ scid: '110x1x0', id: '11', amountMsat: sat(106_000), cltvExpiry: f.net.height + 81 }], earliestExpiry: f.net.height + 81 });
      f.xpay = succeed;
      const reply = await sendHtlc(f.node, part(f));
      assert.deepEqual(reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 1);
    });
  });

  test('outgoing still pending at restart: wait, then resolve when it completes', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, { ...makeRecord(), state: 'paying', round: 1, parts: [{ scid: '110x1x0', id: '11', amountMsat: sat(106_000), cltvExpiry: f.net.height + 81 }], earliestExpiry: f.net.height + 81, attempts: [{ round: 1, startedAt: 1, maxdelay: 47, maxfeeMsat: sat(1000) }] });
      f.sendpays = [{ payment_hash: HASH, status: 'pending', amount_sent_msat: 100_000_011, partid: 1, groupid: 1 }];
      const reply = sendHtlc(f.node, part(f));
      assert.equal(await stillPending(reply, 400), true);
      f.sendpays = [{ payment_hash: HASH, status: 'complete', payment_preimage: PREIMAGE, amount_sent_msat: 100_000_011, partid: 1, groupid: 1 }];
      assert.deepEqual(await reply, { result: 'resolve', payment_key: PREIMAGE });
      assert.equal(f.xpays.length, 0);
    });
  });

  test('a replayed part of a settled set is resolved again with the stored preimage; another HTLC for the hash is not', async () => {
    await withFakeLightningd(async (f) => {
      const p = part(f);
      const recorded = { scid: '110x1x0', id: String(p.id), amountMsat: p.amountMsat, cltvExpiry: p.cltvExpiry };
      seedRecord(f.node, { ...makeRecord(), state: 'settled', preimage: PREIMAGE, parts: [recorded] });
      assert.deepEqual(await sendHtlc(f.node, p), { result: 'resolve', payment_key: PREIMAGE });
      const stranger = part(f, { id: p.id + 1, amountMsat: sat(1) });
      assert.deepEqual(await sendHtlc(f.node, stranger), { result: 'fail', failure_message: unknownPaymentDetails(stranger.amountMsat, f.net.height) });
      assert.equal(f.xpays.length, 0);
    });
  });
});

describe('node version', () => {
  test('on a CLN older than v25.02 the plugin does not relay, says why, and fails its HTLCs like an unknown invoice (rdv-guard is not left holding them)', async () => {
    await withFakeLightningd(
      async (f) => {
        seedRecord(f.node, makeRecord());
        const p = part(f);
        assert.deepEqual(await sendHtlc(f.node, p), { result: 'fail', failure_message: unknownPaymentDetails(p.amountMsat, f.net.height) });
        assert.deepEqual(await sendHtlc(f.node, part(f, { paymentHash: 'cd'.repeat(32) })), { result: 'continue' });
        assert.ok(f.node.plugin?.logs.some((l) => l.level === 'error' && /v24\.11\.2 is too old: rdv needs v25\.02 or newer; not relaying/.test(l.message)));
        const status = (await f.node.plugin?.request('rdv-status', {})) as { relaying: boolean; not_relaying_because: string };
        assert.deepEqual([status.relaying, /too old/.test(status.not_relaying_because)], [false, true]);
        assert.equal(f.xpays.length, 0);
      },
      { version: 'v24.11.2' },
    );
  });
});

describe('rdv-status', () => {
  test('shows held parts and amounts live', async () => {
    await withFakeLightningd(async (f) => {
      seedRecord(f.node, makeRecord());
      void sendHtlc(f.node, part(f, { id: 1, amountMsat: sat(40_000), totalMsat: sat(106_000) }));
      const { LightningNode } = await import('../../src/rpc/node.js');
      const client = await LightningNode.connect(f.node.socketPath);
      try {
        let status: Record<string, unknown> = {};
        await eventually(async () => {
          status = (await client.rpc.call('rdv-status', {})) as Record<string, unknown>;
          const relays = status.relays as Array<{ live: { held_parts: number } }>;
          return relays[0]?.live.held_parts === 1;
        }, 'one held part');
        const relay = (status.relays as Array<Record<string, unknown>>)[0] as { live: Record<string, unknown>; state: string; amount_msat: unknown };
        assert.equal(status.relaying, true);
        assert.equal(relay.state, 'open');
        // CLN's convention: integer msat, as lightningd's own replies give them.
        assert.equal(relay.live.held_msat, 40_000_000);
        assert.equal(relay.amount_msat, 106_000_000);
      } finally {
        client.close();
      }
    });
  });

  test('blocks_to_expiry only while HTLCs are held (a settled set\'s expiry is history); brief leaves out invoices, parts and attempts', async () => {
    await withFakeLightningd(async (f) => {
      const h = f.net.height;
      const held = (id: string, cltvExpiry: number) => ({ parts: [{ scid: '110x1x0', id, amountMsat: sat(106_000), cltvExpiry }], earliestExpiry: cltvExpiry });
      const SETTLED = '5e'.repeat(32) as typeof HASH;
      const PAYING = '9a'.repeat(32) as typeof HASH;
      seedRecord(f.node, makeRecord());
      seedRecord(f.node, makeRecord({ paymentHash: SETTLED, state: 'settled', ...held('3', h + 85), settledAt: 1_795_620_807, earnedMsat: sat(5_999) }));
      seedRecord(f.node, makeRecord({ paymentHash: PAYING, state: 'paying', ...held('4', h + 61) }));
      await f.node.plugin?.request('rdv-reload', {});
      void sendHtlc(f.node, part(f, { id: 1, amountMsat: sat(40_000), totalMsat: sat(106_000), cltvExpiry: h + 97 }));
      type Relay = Record<string, unknown> & { payment_hash: string; live: { held_parts: number; blocks_to_expiry?: number } };
      const status = async (params: Record<string, unknown>): Promise<Relay[]> => ((await f.node.plugin?.request('rdv-status', params)) as { relays: Relay[] }).relays;
      await eventually(async () => (await status({})).some((r) => r.live.held_parts === 1), 'one held part');
      const blocks = (relays: Relay[]): Record<string, number | undefined> => Object.fromEntries(relays.map((r) => [r.payment_hash.slice(0, 2), r.live.blocks_to_expiry]));
      const full = await status({});
      const brief = await status({ brief: true });
      // The open relay's partial set: from the part it holds (97); the paying one: its gathered set (61).
      assert.deepEqual(blocks(full), { [HASH.slice(0, 2)]: 97, '5e': undefined, '9a': 61 });
      assert.deepEqual(blocks(brief), blocks(full));
      assert.ok(full.every((r) => typeof r.bolt11 === 'string' && Array.isArray(r.parts)));
      assert.deepEqual(
        brief.find((r) => r.payment_hash === SETTLED),
        { payment_hash: SETTLED, role: 'relay', amount_msat: 106_000_000, state: 'settled', settled_at: 1_795_620_807, earned_msat: 5_999_000, live: { held_parts: 0, held_msat: 0, pay_in_flight: false } },
      );
      await assert.rejects(status({ brief: 'yes' }), (e: Error & { code?: number }) => e.code === -32602 && /brief must be true or false/.test(e.message));
    });
  });
});


