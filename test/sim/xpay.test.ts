/**
 * The simulated xpay and askrene behave like CLN v26.06.6's
 * (plugins/xpay/xpay.c, plugins/askrene/askrene.c): layers that disable
 * nodes, re-read at every (re)route; askrene's parameter errors; CLTVs from
 * the height at each attempt plus one; an answer as soon as xpay gives up,
 * with parts still in flight; and a part that shows up after xpay's error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import type { Latency, SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { eventually, rpcError, withSimNet } from '../helpers/sim.js';

interface Invoice {
  bolt11: string;
  payment_hash: string;
}
interface Part {
  status: string;
  groupid: bigint | number;
  partid: number;
}

const SLOW: Latency = { hopAddMs: 150, hopSettleMs: 10, xpaySetupMs: 0, finalSettleMs: 0, messageMs: 0 };

/** payer -> bob -> carol (cheap) and payer -> dave -> carol (dearer); clients for payer and carol. */
async function diamond(net: SimNetwork, opts: { developer?: boolean } = {}): Promise<{ payer: SimNode; bob: SimNode; dave: SimNode; carol: SimNode; p: RpcClient; c: RpcClient }> {
  const payer = await net.addNode('payer', { developer: opts.developer ?? false });
  const bob = await net.addNode('bob');
  const dave = await net.addNode('dave');
  const carol = await net.addNode('carol');
  net.openChannel(payer, bob, 2_000_000n);
  net.openChannel(bob, carol, 2_000_000n);
  net.openChannel(payer, dave, 2_000_000n);
  net.openChannel(dave, carol, 2_000_000n, { policyA: { feeBaseMsat: 5000n } });
  return { payer, bob, dave, carol, p: await RpcClient.connect(payer.socketPath), c: await RpcClient.connect(carol.socketPath) };
}

const invoice = (c: RpcClient, label: string, amountMsat = 100_000_000): Promise<Invoice> => c.call('invoice', { amount_msat: amountMsat, label, description: label }) as Promise<Invoice>;
const parts = async (p: RpcClient, hash: string): Promise<Part[]> => ((await p.call('listsendpays', { payment_hash: hash })) as { payments: Part[] }).payments;
/** The middle node of each part's first HTLC from the payer, in order. */
function firstHops(net: SimNetwork, payer: SimNode): Array<{ to: string; height: number; cltvExpiry: number }> {
  const seen: Array<{ to: string; height: number; cltvExpiry: number }> = [];
  const send = net.sendHtlc.bind(net);
  net.sendHtlc = (from, channel, amountMsat, cltvExpiry, hash, onion, options) => {
    if (from === payer) seen.push({ to: channel.other(from).name, height: net.height, cltvExpiry });
    return send(from, channel, amountMsat, cltvExpiry, hash, onion, options);
  };
  return seen;
}

describe('askrene layers', () => {
  test('create (again: an error unless persistent), list, disable-node, remove; only persistent layers survive a restart', async () => {
    await withSimNet(async (net) => {
      const node = await net.addNode('solo');
      const n = await RpcClient.connect(node.socketPath);
      const empty = { persistent: false, disabled_nodes: [], created_channels: [], channel_updates: [], constraints: [], biases: [], node_biases: [] };
      assert.deepEqual(await n.call('askrene-create-layer', { layer: 'avoid' }), { layers: [{ layer: 'avoid', ...empty }] });
      assert.deepEqual(await rpcError(n.call('askrene-create-layer', { layer: 'avoid' })), { code: -32602, message: 'Layer already exists' });
      assert.deepEqual(await rpcError(n.call('askrene-create-layer', { layer: 'auto.mine' })), { code: -32602, message: 'Cannot create auto layer' });
      assert.deepEqual(await n.call('askrene-create-layer', { layer: 'keep', persistent: true }), { layers: [{ layer: 'keep', ...empty, persistent: true }] });
      assert.deepEqual(await n.call('askrene-create-layer', { layer: 'keep', persistent: true }), { layers: [{ layer: 'keep', ...empty, persistent: true }] }, 'a no-op for a persistent one');
      const dave = '03'.padEnd(66, '7');
      assert.deepEqual(await n.call('askrene-disable-node', { layer: 'avoid', node: dave }), {});
      assert.deepEqual(await n.call('askrene-listlayers', { layer: 'avoid' }), { layers: [{ layer: 'avoid', ...empty, disabled_nodes: [dave] }] });
      assert.deepEqual(await rpcError(n.call('askrene-disable-node', { layer: 'nope', node: dave })), { code: -32602, message: 'layer: Unknown layer: invalid token (see logs for details)' });
      assert.deepEqual(await rpcError(n.call('askrene-disable-node', { layer: 'avoid', node: 'x' })), { code: -32602, message: 'node: should be a node id: invalid token (see logs for details)' });
      n.close();
      await node.restart();
      const again = await RpcClient.connect(node.socketPath);
      // xpay's own persistent layer is there from the start.
      assert.deepEqual(((await again.call('askrene-listlayers')) as { layers: Array<{ layer: string }> }).layers.map((l) => l.layer), ['xpay', 'keep']);
      assert.deepEqual(await again.call('askrene-remove-layer', { layer: 'keep' }), {});
      assert.deepEqual(await again.call('askrene-listlayers'), { layers: [{ layer: 'xpay', ...empty, persistent: true }] });
      again.close();
    });
  });

  test('an unknown layer fails getroutes and xpay as askrene does (param_layer_names); --developer quotes the token', async () => {
    await withSimNet(async (net) => {
      const { payer, carol, p, c } = await diamond(net);
      const inv = await invoice(c, 'unknown-layer');
      const route = { source: payer.id, destination: carol.id, amount_msat: 1000, maxfee_msat: 1000, final_cltv: 18 };
      assert.deepEqual(await rpcError(p.call('getroutes', { ...route, layers: ['nope'] })), { code: -32602, message: 'layers: unknown layer: invalid token (see logs for details)' });
      assert.deepEqual(await rpcError(p.call('xpay', { invstring: inv.bolt11, layers: ['nope'] })), { code: -32602, message: 'Failed: layers: unknown layer: invalid token (see logs for details)' });
      assert.deepEqual(await parts(p, inv.payment_hash), [], 'nothing was sent');
      p.close();
      c.close();
    });
    await withSimNet(async (net) => {
      const { payer, carol, p, c } = await diamond(net, { developer: true });
      const route = { source: payer.id, destination: carol.id, amount_msat: 1000, maxfee_msat: 1000, final_cltv: 18 };
      assert.deepEqual(await rpcError(p.call('getroutes', { ...route, layers: ['nope'] })), { code: -32602, message: `layers: unknown layer: invalid token '"nope"'` });
      p.close();
      c.close();
    });
  });

  test("CLN fact: getroutes' hops read as askrene's (child.c): amount_out and cltv_out are the HTLC's on that channel, amount_in and cltv_in add the channel's own fee and delay; auto.sourcefree makes ours free", async () => {
    await withSimNet(async (net) => {
      const { payer, bob, dave, carol, p, c } = await diamond(net);
      await p.call('askrene-create-layer', { layer: 'via-dave' });
      await p.call('askrene-disable-node', { layer: 'via-dave', node: bob.id });
      interface Hop {
        node_id_out: string;
        amount_in_msat: bigint | number;
        amount_out_msat: bigint | number;
        cltv_in: number;
        cltv_out: number;
      }
      const path = async (layers: string[]): Promise<Hop[]> =>
        ((await p.call('getroutes', { source: payer.id, destination: carol.id, amount_msat: 1_000_000, layers, maxfee_msat: 100_000, final_cltv: 18 })) as { routes: Array<{ path: Hop[] }> }).routes[0]?.path ?? [];
      const [toDave, toCarol] = await path(['via-dave', 'auto.sourcefree']);
      assert.ok(toDave && toCarol);
      assert.equal(toCarol.node_id_out, carol.id);
      assert.equal(BigInt(toCarol.amount_out_msat), 1_000_000n);
      assert.equal(toCarol.cltv_out, 18);
      assert.ok(BigInt(toCarol.amount_in_msat) - BigInt(toCarol.amount_out_msat) >= 5000n, "Dave's fee (base 5,000 msat) is charged on his channel to Carol");
      assert.ok(toCarol.cltv_in > toCarol.cltv_out, "and his cltv delta");
      assert.deepEqual([BigInt(toDave.amount_out_msat), toDave.cltv_out], [BigInt(toCarol.amount_in_msat), toCarol.cltv_in], 'what Dave receives is what he needs to forward');
      assert.deepEqual([BigInt(toDave.amount_in_msat), toDave.cltv_in], [BigInt(toDave.amount_out_msat), toDave.cltv_out], 'auto.sourcefree: our own channel costs nothing');
      const [ownCharged] = await path(['via-dave']);
      assert.ok(ownCharged && BigInt(ownCharged.amount_in_msat) > BigInt(ownCharged.amount_out_msat), 'without it, our own channel is priced like any (the capture: 1,000,011 in, 1,000,000 out)');
      void dave;
      p.close();
      c.close();
    });
  });

  test('xpay and getroutes avoid a node a given layer disables (its outgoing channels)', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, dave, carol, p, c } = await diamond(net);
      await p.call('askrene-create-layer', { layer: 'avoid' });
      await p.call('askrene-disable-node', { layer: 'avoid', node: bob.id });
      const via = async (layers: string[]): Promise<string> => {
        const r = (await p.call('getroutes', { source: payer.id, destination: carol.id, amount_msat: 1_000_000, layers, maxfee_msat: 100_000, final_cltv: 18 })) as { routes: Array<{ path: Array<{ node_id_out: string }> }> };
        return r.routes[0]?.path[0]?.node_id_out ?? '';
      };
      assert.equal(await via([]), bob.id);
      assert.equal(await via(['avoid']), dave.id);
      const hops = firstHops(net, payer);
      await p.call('xpay', { invstring: (await invoice(c, 'avoid')).bolt11, layers: ['avoid'] });
      assert.deepEqual(hops.map((h) => h.to), ['dave']);
      await p.call('askrene-disable-node', { layer: 'avoid', node: carol.id });
      assert.ok(await p.call('xpay', { invstring: (await invoice(c, 'dest')).bolt11, layers: ['avoid'] }), 'a disabled destination is still reachable: only its outgoing directions go');
      p.close();
      c.close();
    });
  });

  test("disabling our own node does not close a private channel (it is not in gossip, only in auto.localchans); disabling the channel's direction does", async () => {
    await withSimNet(async (net) => {
      const payer = await net.addNode('payer');
      const carol = await net.addNode('carol');
      const ch = net.openChannel(payer, carol, 2_000_000n, { private: true });
      const p = await RpcClient.connect(payer.socketPath);
      const c = await RpcClient.connect(carol.socketPath);
      await p.call('askrene-create-layer', { layer: 'closed' });
      await p.call('askrene-disable-node', { layer: 'closed', node: payer.id });
      assert.ok(await p.call('xpay', { invstring: (await invoice(c, 'private-1')).bolt11, layers: ['closed'] }), 'still paid over the private channel');
      const dir = payer.id < carol.id ? 0 : 1;
      await p.call('askrene-update-channel', { layer: 'closed', short_channel_id_dir: `${ch.scid}/${dir}`, enabled: false });
      const e = await rpcError(p.call('xpay', { invstring: (await invoice(c, 'private-2')).bolt11, layers: ['closed'], retry_for: 1 }));
      assert.match(e.message, /Failed|could not find/i);
      p.close();
      c.close();
    });
  });

  test('a node disabled in a layer mid-payment gets no new attempt', async () => {
    await withSimNet(
      async (net) => {
        const { payer, bob, dave, p, c } = await diamond(net);
        await p.call('askrene-create-layer', { layer: 'avoid' });
        const hops = firstHops(net, payer);
        const inv = await invoice(c, 'mid');
        const paying = rpcError(p.call('xpay', { invstring: inv.bolt11, layers: ['avoid'], retry_for: 5 }));
        // The first part is on its way to Bob (SLOW: 150 ms before it reaches him).
        await eventually(() => hops.length === 1, 'the first part is sent to Bob');
        // The first part (via Bob) will fail at Bob; the only other way is through Dave, now disabled.
        const bobCarol = net.channelsBetween(bob, net.node('carol'))[0];
        assert.ok(bobCarol);
        bobCarol.enabled = false;
        await p.call('askrene-disable-node', { layer: 'avoid', node: dave.id });
        const e = await paying;
        assert.equal(e.code, 209);
        assert.match(e.message, /^Failed after 1 attempts\. temporary_channel_failure from [0-9a-f]{8}\. Then routing failed: /);
        assert.deepEqual(hops.map((h) => h.to), ['bob']);
        p.close();
        c.close();
      },
      { latency: SLOW },
    );
  });

  test('a part already in flight through a node disabled mid-payment goes on and succeeds', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, carol, p, c } = await diamond(net);
      await p.call('askrene-create-layer', { layer: 'avoid' });
      carol.stallFinal = true;
      const inv = await invoice(c, 'inflight');
      const paying = p.call('xpay', { invstring: inv.bolt11, layers: ['avoid'] });
      await eventually(() => net.heldBy(carol).length === 1, 'Carol holds the part');
      await p.call('askrene-disable-node', { layer: 'avoid', node: bob.id });
      carol.releaseStalled();
      assert.ok(((await paying) as { payment_preimage?: string }).payment_preimage);
      assert.deepEqual((await parts(p, inv.payment_hash)).map((x) => x.status), ['complete']);
      assert.equal(net.channelsBetween(payer, bob)[0]?.balance.get(bob.id), 100_002_000n, 'paid through Bob (fee 1000 msat + 10 ppm)');
      p.close();
      c.close();
    });
  });
});

describe('xpay attempts', () => {
  test('each attempt\'s CLTVs count from the height when it is sent, plus one: a retry after a block carries a later expiry', async () => {
    await withSimNet(
      async (net) => {
        const { payer, bob, carol, p, c } = await diamond(net);
        const hops = firstHops(net, payer);
        const start = net.height;
        const paying = p.call('xpay', { invstring: (await invoice(c, 'cltv')).bolt11, retry_for: 5 });
        await eventually(() => hops.length === 1, 'the first part is sent to Bob');
        const bobCarol = net.channelsBetween(bob, carol)[0];
        assert.ok(bobCarol);
        bobCarol.enabled = false; // the first part fails at Bob and is retried through Dave
        await net.mine(1);
        await paying;
        // Both routes have one 34-block hop before Carol's min_final_cltv of 18.
        assert.deepEqual(hops, [
          { to: 'bob', height: start, cltvExpiry: start + 1 + 34 + 18 },
          { to: 'dave', height: start + 1, cltvExpiry: start + 2 + 34 + 18 },
        ]);
        p.close();
        c.close();
      },
      { latency: SLOW },
    );
  });

  test('xpay answers as soon as it gives up, while another part is still in flight (xpay-slow-mode=false); slow mode waits for it', async () => {
    for (const slowMode of [false, true]) {
      await withSimNet(
        async (net) => {
          const payer = await net.addNode('payer');
          const bob = await net.addNode('bob');
          const carol = await net.addNode('carol');
          net.openChannel(payer, carol, 300_000n);
          net.openChannel(payer, bob, 300_000n);
          net.openChannel(bob, carol, 300_000n);
          payer.payer.slowMode = slowMode;
          const [p, c] = [await RpcClient.connect(payer.socketPath), await RpcClient.connect(carol.socketPath)];
          // More than either path carries: two parts, the direct one answered first.
          const inv = await invoice(c, 'gone', 500_000_000);
          await c.call('delinvoice', { label: 'gone', status: 'unpaid' });
          const e = await rpcError(p.call('xpay', { invstring: inv.bolt11, retry_for: 2 }));
          assert.equal(e.code, 203);
          const atReply = (await parts(p, inv.payment_hash)).map((x) => x.status).sort();
          assert.deepEqual(atReply, slowMode ? ['failed', 'failed'] : ['failed', 'pending']);
          await eventually(async () => (await parts(p, inv.payment_hash)).every((x) => x.status === 'failed'), 'the other part fails too');
          p.close();
          c.close();
        },
        { latency: SLOW },
      );
    }
  });

  /**
   * The late-inject fault armed on the payer, whose xpay to Carol then fails definitely (Bob-Carol disabled
   * while its first part travels); the channel is enabled again, so a late part could go through.
   */
  async function xpayFailsWithALatePartArmed(net: SimNetwork, label: string): Promise<{ payer: SimNode; carol: SimNode; p: RpcClient; c: RpcClient; hash: string }> {
    const payer = await net.addNode('payer');
    const bob = await net.addNode('bob');
    const carol = await net.addNode('carol');
    net.openChannel(payer, bob, 2_000_000n);
    const bobCarol = net.openChannel(bob, carol, 2_000_000n);
    const [p, c] = [await RpcClient.connect(payer.socketPath), await RpcClient.connect(carol.socketPath)];
    const inv = await invoice(c, label);
    payer.payer.lateInject = { afterMs: 200 };
    const paying = rpcError(p.call('xpay', { invstring: inv.bolt11, retry_for: 2 }));
    // Its first part is on its way to Bob (SLOW: 150 ms per hop); it will fail there.
    await eventually(() => payer.payer.sendpays.some((s) => s.paymentHash === inv.payment_hash), 'the first part is sent');
    bobCarol.enabled = false;
    assert.equal((await paying).code, 209);
    bobCarol.enabled = true;
    return { payer, carol, p, c, hash: inv.payment_hash };
  }

  test('late inject: after a definite failure one more part of the same group shows up pending, then completes', async () => {
    await withSimNet(
      async (net) => {
        const { payer, carol, p, c, hash } = await xpayFailsWithALatePartArmed(net, 'late');
        const atReply = await parts(p, hash);
        assert.deepEqual(atReply.map((x) => x.status), ['failed']);
        await eventually(async () => (await parts(p, hash)).length === 2, 'a late part appears');
        const [first, late] = await parts(p, hash);
        assert.deepEqual([late?.status, String(late?.groupid), late?.partid], ['pending', String(first?.groupid), 2]);
        await eventually(async () => (await parts(p, hash))[1]?.status === 'complete', 'the late part completes');
        assert.equal(carol.invoices.byHash(hash)?.status, 'paid');
        assert.equal(payer.payer.lateInject, undefined, 'the fault fires once');
        p.close();
        c.close();
      },
      { latency: { ...SLOW, hopAddMs: 60 } },
    );
  });

  test('late inject: xpay lives inside lightningd, so a restart after the failure means no late part ever comes (found by the soak, seed 2718, payment 164: Bob restarted, paid again, and the old command\'s part paid Carol a second time)', async () => {
    await withSimNet(
      async (net) => {
        const { payer, carol, p, c, hash } = await xpayFailsWithALatePartArmed(net, 'late-restart');
        p.close();
        await payer.stopCleanly(2_000);
        await payer.start();
        await eventually(() => net.events.some((e) => e.type === 'late_resolution' && e.detail.includes('lightningd restarted')), 'the late part is dropped');
        const again = await RpcClient.connect(payer.socketPath);
        assert.deepEqual((await parts(again, hash)).map((x) => x.status), ['failed'], 'no part of the old command after the restart');
        assert.equal(carol.invoices.byHash(hash)?.status, 'unpaid');
        again.close();
        c.close();
      },
      { latency: { ...SLOW, hopAddMs: 60 } },
    );
  });
});

describe('what xpay learns from a failure (seen on CLN v26.06.6 in the regtest soak)', () => {
  test("a part whose peer goes away before its HTLC is committed fails at once (temporary_channel_failure); xpay's own layer then keeps the channel below that amount for an hour, for every payment, until askrene-age", async () => {
    await withSimNet(async (net) => {
      const a = await net.addNode('a');
      const b = await net.addNode('b');
      net.openChannel(a, b, 2_000_000n);
      const ac = await RpcClient.connect(a.socketPath);
      let bc = await RpcClient.connect(b.socketPath);
      let crashed: Promise<void> | undefined;
      a.payer.onNextPartRegistered = () => {
        crashed = b.crash();
      };
      const first = await invoice(bc, 'first', 50_000_000);
      assert.equal((await rpcError(ac.call('xpay', { invstring: first.bolt11, retry_for: 1 }))).code, 209, 'the one channel failed and b is down');
      assert.deepEqual((await parts(ac, first.payment_hash)).map((p) => p.status), ['failed'], 'failed, not lost: a is alive');
      await crashed;
      await b.start();
      bc = await RpcClient.connect(b.socketPath);
      // b is back, the channel is fine, but xpay remembers: nothing of 50,000,000 msat or more goes over it.
      const same = await invoice(bc, 'same', 50_000_000);
      assert.deepEqual(await rpcError(ac.call('xpay', { invstring: same.bolt11, retry_for: 1 })), { code: 205, message: 'Failed: We could not find a usable set of paths' });
      assert.deepEqual(await parts(ac, same.payment_hash), [], 'not even tried');
      const smaller = await invoice(bc, 'smaller', 49_999_999);
      await ac.call('xpay', { invstring: smaller.bolt11, retry_for: 1 });
      // xpay ages its layer every minute (cutoff an hour ago); askrene-age with a cutoff of now forgets at once.
      assert.deepEqual(await ac.call('askrene-age', { layer: 'xpay', cutoff: Math.floor(Date.now() / 1000) + 1 }), { layer: 'xpay', num_removed: 1 });
      await ac.call('xpay', { invstring: same.bolt11, retry_for: 1 });
      ac.close();
      bc.close();
    });
  });
});
