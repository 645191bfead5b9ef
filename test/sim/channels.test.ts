/**
 * Channel identity like lightningd's (lightningd/channel.c): a fixed
 * channel_id, a real scid a zero-conf channel lacks until it confirms and a
 * splice replaces, a local alias per side; the htlc_accepted hook names the
 * channel as channel_scid_or_local_alias does at the moment of each call; and
 * a held HTLC on a channel gone on chain is failed at restart, not replayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { eventually, rpcError, withSimNet } from '../helpers/sim.js';
import { HOLD_PLUGIN } from '../helpers/paths.js';
import { failureOf, wire } from '../helpers/raw-htlc.js';
import { buildChain, pay, recordIn, relayRecord } from '../helpers/chain.js';
import { at, runRdv } from '../helpers/rdv.js';

interface Invoice {
  bolt11: string;
  payment_hash: string;
  payment_secret: string;
}
interface PeerChannel {
  peer_id: string;
  short_channel_id?: string;
  channel_id: string;
  alias: { local: string; remote: string };
  state: string;
  htlcs: Array<{ direction: string; id: bigint | number; state: string; status?: string; payment_hash: string }>;
}

const SCID_RE = /^\d+x\d+x\d+$/;

/** Payer and a payee ("bob") whose only plugin is the hold plugin; both with RPC clients. */
async function payerAndHolder(net: SimNetwork): Promise<{ payer: SimNode; bob: SimNode; p: RpcClient; b: RpcClient }> {
  const payer = await net.addNode('payer');
  const bob = await net.addNode('bob', { plugin: true, pluginPath: HOLD_PLUGIN, guard: false, important: false });
  return { payer, bob, p: await RpcClient.connect(payer.socketPath), b: await RpcClient.connect(bob.socketPath) };
}

/** Records the htlc.short_channel_id of every htlc_accepted call `node` makes. */
function hookScids(node: SimNode): string[] {
  const seen: string[] = [];
  const original = node.hookParams.bind(node);
  node.hookParams = (h) => {
    const params = original(h);
    seen.push(String((params.htlc as { short_channel_id: unknown }).short_channel_id));
    return params;
  };
  return seen;
}

describe('channel identity', () => {
  test('a zero-conf channel has no real scid until confirm(); each side has a local alias that is the other side\'s remote alias; channel_id never changes', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, p, b } = await payerAndHolder(net);
      const ch = net.openChannel(payer, bob, 1_000_000n, { zeroConf: true });
      const [mine] = ((await p.call('listpeerchannels')) as { channels: PeerChannel[] }).channels;
      const [theirs] = ((await b.call('listpeerchannels')) as { channels: PeerChannel[] }).channels;
      assert.ok(mine && theirs);
      assert.equal(ch.scid, undefined);
      assert.equal('short_channel_id' in mine, false, 'no short_channel_id before the funding confirms');
      assert.match(mine.alias.local, SCID_RE);
      assert.deepEqual([mine.alias.local, mine.alias.remote], [theirs.alias.remote, theirs.alias.local]);
      assert.notEqual(mine.alias.local, theirs.alias.local);
      assert.match(ch.channelId, /^[0-9a-f]{64}$/);
      const scid = ch.confirm();
      assert.equal(ch.confirm(), scid, 'confirming twice keeps the scid');
      const spliced = ch.splice();
      assert.notEqual(spliced, scid);
      const [after] = ((await p.call('listpeerchannels')) as { channels: PeerChannel[] }).channels;
      assert.deepEqual([after?.short_channel_id, after?.channel_id, after?.alias.local], [spliced, mine.channel_id, mine.alias.local]);
      p.close();
      b.close();
    });
  });

  test('a part held under the alias is replayed under the real scid after confirm + restart', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, p, b } = await payerAndHolder(net);
      const ch = net.openChannel(payer, bob, 1_000_000n, { zeroConf: true });
      const inv = (await b.call('invoice', { amount_msat: 50_000_000, label: 'zc', description: 'zero-conf' })) as Invoice;
      await b.call('hold-hash', { payment_hash: inv.payment_hash });
      const seen = hookScids(bob);
      const paying = p.call('xpay', { invstring: inv.bolt11, retry_for: 5 });
      await eventually(() => seen.length === 1, 'Bob holds the part');
      assert.deepEqual(seen, [ch.localAlias(bob)], 'held under Bob\'s local alias');
      const scid = ch.confirm();
      b.close();
      await bob.restart();
      // The restarted hold plugin holds nothing: the replay continues, and Bob's invoice settles.
      assert.ok(((await paying) as { payment_preimage?: string }).payment_preimage);
      assert.deepEqual(seen, [ch.localAlias(bob), scid], 'replayed under the real scid');
      p.close();
    });
  });

  test('a part held across a splice + restart is replayed under the new scid', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, p, b } = await payerAndHolder(net);
      const ch = net.openChannel(payer, bob, 1_000_000n);
      const before = ch.scid;
      const inv = (await b.call('invoice', { amount_msat: 40_000_000, label: 'splice', description: 'splice' })) as Invoice;
      await b.call('hold-hash', { payment_hash: inv.payment_hash });
      const seen = hookScids(bob);
      const paying = p.call('xpay', { invstring: inv.bolt11, retry_for: 5 });
      await eventually(() => seen.length === 1, 'Bob holds the part');
      const after = ch.splice();
      b.close();
      await bob.restart();
      assert.ok(((await paying) as { payment_preimage?: string }).payment_preimage);
      assert.deepEqual(seen, [before, after]);
      p.close();
    });
  });

  test('after a splice an announced channel still forwards over its old scid and an unannounced one does not; both forward over the alias', async () => {
    await withSimNet(async (net) => {
      const payer = await net.addNode('payer');
      const bob = await net.addNode('bob');
      const carol = await net.addNode('carol');
      const dave = await net.addNode('dave');
      net.openChannel(payer, bob, 1_000_000n);
      const toCarol = net.openChannel(bob, carol, 1_000_000n);
      const toDave = net.openChannel(bob, dave, 1_000_000n, { private: true });
      const [oldCarol, oldDave] = [toCarol.scid ?? '', toDave.scid ?? ''];
      toCarol.splice();
      toDave.splice();
      const forwardVia = async (to: SimNode, nextScid: string): Promise<string> => {
        const c = await RpcClient.connect(to.socketPath);
        const label = `${to.name}-${nextScid}`;
        const inv = (await c.call('invoice', { amount_msat: 10_000, label, description: label })) as Invoice;
        c.close();
        const first = net.channelsBetween(payer, bob)[0];
        assert.ok(first);
        const outcome = await net.sendHtlc(payer, first, 11_000n, net.height + 100, inv.payment_hash, [
          { nextScid, forwardMsat: 10_000n, outgoingCltv: net.height + 60 },
          { forwardMsat: 10_000n, outgoingCltv: net.height + 60, totalMsat: 10_000n, paymentSecret: inv.payment_secret },
        ]);
        return outcome.ok ? 'settled' : outcome.failureMessage;
      };
      assert.equal(net.channelFor(bob, oldCarol), toCarol);
      assert.equal(net.channelFor(bob, oldDave), undefined);
      assert.equal(await forwardVia(carol, oldCarol), 'settled');
      assert.equal(await forwardVia(dave, oldDave), '400a', 'unknown_next_peer');
      assert.equal(await forwardVia(dave, toDave.localAlias(bob)), 'settled');
      assert.equal(await forwardVia(dave, toDave.remoteAlias(bob)), '400a', 'Bob does not know Dave\'s alias as a name of his channel');
    });
  });

  test('a private channel\'s route hint is the peer\'s alias (routehint.c), and xpay pays over it', async () => {
    await withSimNet(async (net) => {
      const payer = await net.addNode('payer');
      const bob = await net.addNode('bob');
      const carol = await net.addNode('carol');
      net.openChannel(payer, bob, 1_000_000n);
      const hidden = net.openChannel(bob, carol, 1_000_000n, { private: true });
      const [p, c] = [await RpcClient.connect(payer.socketPath), await RpcClient.connect(carol.socketPath)];
      const inv = (await c.call('invoice', { amount_msat: 30_000_000, label: 'hint', description: 'hint' })) as Invoice;
      const decoded = (await p.call('decode', { string: inv.bolt11 })) as { routes: Array<Array<{ pubkey: string; short_channel_id: string }>> };
      assert.deepEqual(decoded.routes, [[{ ...decoded.routes[0]?.[0], pubkey: bob.id, short_channel_id: hidden.localAlias(bob) }]]);
      assert.notEqual(hidden.localAlias(bob), hidden.scid);
      assert.ok(((await p.call('xpay', { invstring: inv.bolt11 })) as { payment_preimage?: string }).payment_preimage);
      p.close();
      c.close();
    });
  });
});

describe('listpeerchannels', () => {
  test('filters by peer id or short_channel_id (real or our local alias) like CLN, and lists held HTLCs in and out', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, p, b } = await payerAndHolder(net);
      const carol = await net.addNode('carol');
      const ch = net.openChannel(payer, bob, 1_000_000n, { zeroConf: true });
      const other = net.openChannel(payer, carol, 1_000_000n);
      const list = async (c: RpcClient, params: Record<string, unknown> = {}): Promise<PeerChannel[]> => ((await c.call('listpeerchannels', params)) as { channels: PeerChannel[] }).channels;
      assert.equal((await list(p)).length, 2);
      assert.deepEqual((await list(p, { id: carol.id })).map((x) => x.short_channel_id), [other.scid]);
      assert.deepEqual((await list(p, { short_channel_id: other.scid })).map((x) => x.peer_id), [carol.id]);
      assert.deepEqual((await list(b, { short_channel_id: ch.localAlias(bob) })).map((x) => x.channel_id), [ch.channelId]);
      assert.deepEqual(await list(b, { short_channel_id: ch.localAlias(payer) }), [], 'the remote alias is not one of Bob\'s names for it');
      assert.deepEqual(await list(p, { id: '02'.padEnd(66, '1') }), []);
      assert.deepEqual(await rpcError(p.call('listpeerchannels', { id: bob.id, short_channel_id: other.scid })), {
        code: -32602,
        message: 'Must not specify more than one of short_channel_id, channel_id or id',
      });

      const inv = (await b.call('invoice', { amount_msat: 20_000_000, label: 'held', description: 'held' })) as Invoice;
      await b.call('hold-hash', { payment_hash: inv.payment_hash });
      const paying = p.call('xpay', { invstring: inv.bolt11, retry_for: 5 });
      await eventually(async () => (await list(b, { id: payer.id }))[0]?.htlcs.length === 1, 'Bob holds the part');
      const [held] = (await list(b, { id: payer.id }))[0]?.htlcs ?? [];
      const [sent] = (await list(p, { id: bob.id }))[0]?.htlcs ?? [];
      assert.deepEqual([held?.direction, held?.state, held?.status, held?.payment_hash], ['in', 'RCVD_ADD_ACK_REVOCATION', 'Waiting for the htlc_accepted hook of plugin hold-plugin.mjs', inv.payment_hash]);
      assert.deepEqual([sent?.direction, sent?.state, String(sent?.id)], ['out', 'SENT_ADD_ACK_REVOCATION', String(held?.id)]);
      await b.call('hold-release', { payment_hash: inv.payment_hash });
      await paying;
      assert.deepEqual((await list(b, { id: payer.id }))[0]?.htlcs, []);
      p.close();
      b.close();
    });
  });
});

describe('a held HTLC whose channel is closing', () => {
  // lightningd/peer_htlcs.c: at restart htlcs_resubmit calls peer_accepted_htlc
  // for each HTLC still held (RCVD_ADD_ACK_REVOCATION); that checks
  // channel_state_can_add_htlc first and, for any state but CHANNELD_NORMAL /
  // CHANNELD_AWAITING_SPLICE, fails the HTLC with permanent_channel_failure
  // (local_fail_in_htlc) without calling htlc_accepted. The HTLC is then in
  // SENT_REMOVE_HTLC, so a preimage learned later can no longer claim it.
  for (const state of ['AWAITING_UNILATERAL', 'ONCHAIN', 'CHANNELD_SHUTTING_DOWN'] as const) {
    test(`${state} at restart: failed with permanent_channel_failure, htlc_accepted is not replayed`, async () => {
      await withSimNet(async (net) => {
        const { payer, bob, p, b } = await payerAndHolder(net);
        const ch = net.openChannel(payer, bob, 1_000_000n);
        const inv = (await b.call('invoice', { amount_msat: 25_000_000, label: 'closing', description: 'closing' })) as Invoice;
        await b.call('hold-hash', { payment_hash: inv.payment_hash });
        const seen = hookScids(bob);
        const outcomes: string[] = [];
        const send = net.sendHtlc.bind(net);
        net.sendHtlc = async (...args: Parameters<SimNetwork['sendHtlc']>) => {
          const o = await send(...args);
          outcomes.push(failureOf(o));
          return o;
        };
        const paying = rpcError(p.call('xpay', { invstring: inv.bolt11, retry_for: 2 }));
        await eventually(() => seen.length === 1, 'Bob holds the part');
        ch.state = state;
        b.close();
        await bob.restart();
        const e = await paying;
        assert.equal(e.code, 209);
        assert.match(e.message, /permanent_channel_failure from destination/);
        assert.deepEqual(outcomes, [wire.permanentChannelFailure()]);
        assert.equal(seen.length, 1, 'no replay');
        assert.equal(bob.invoices.byHash(inv.payment_hash)?.status, 'unpaid');
        p.close();
      });
    });
  }

  test('without a restart, the plugin\'s answer for a part whose channel went on chain still counts (onchaind claims it)', async () => {
    await withSimNet(async (net) => {
      const { payer, bob, p, b } = await payerAndHolder(net);
      const ch = net.openChannel(payer, bob, 1_000_000n);
      const inv = (await b.call('invoice', { amount_msat: 25_000_000, label: 'onchain', description: 'onchain' })) as Invoice;
      await b.call('hold-hash', { payment_hash: inv.payment_hash });
      const paying = p.call('xpay', { invstring: inv.bolt11, retry_for: 2 });
      await eventually(() => net.heldBy(bob).length === 1, 'Bob holds the part');
      ch.state = 'ONCHAIN';
      await b.call('hold-release', { payment_hash: inv.payment_hash });
      assert.ok(((await paying) as { payment_preimage?: string }).payment_preimage);
      assert.equal(bob.invoices.byHash(inv.payment_hash)?.status, 'paid');
      p.close();
      b.close();
    });
  });
});

describe('rdv across a change of channel name (DESIGN rule 9)', () => {
  // rdv 0.1.0 keyed a held part by "scid/id"; after the restart lightningd replays it under the channel's
  // new name, and 0.1.0 took it for an unknown part, failed it with 0x400f, and its payment onward still
  // completed: Alice paid Bob 106,000 sat and received nothing. Parts are now named by channel_id.
  for (const change of ['confirm', 'splice'] as const) {
    test(
      `Alice restarts while paying; the payer's channels got ${change === 'confirm' ? 'their real scids (zero-conf)' : 'new scids (splice)'} meanwhile: the replayed parts are resolved, nothing is lost`,
      async () => {
        await withSimNet(async (net) => {
          const chain = await buildChain(net, { payerChannelsSat: [60_000n, 60_000n], payerZeroConf: change === 'confirm' });
          const seen = hookScids(chain.alice);
          chain.carol.stallFinal = true;
          const paying = pay(chain);
          await eventually(() => relayRecord(chain.alice, chain.hash).state === 'paying', 'Alice pays Bob');
          const before = [...seen];
          for (const ch of chain.channels.slice(0, 2)) {
            if (change === 'confirm') ch.confirm();
            else ch.splice();
          }
          await chain.alice.restart();
          chain.carol.releaseStalled();
          const result = await paying;
          const alice = await recordIn(chain.alice, chain.hash, 'settled');
          assert.equal(seen.length, 4);
          assert.deepEqual(
            seen.slice(2).sort(),
            chain.channels
              .slice(0, 2)
              .map((c) => c.scid)
              .sort(),
            'replayed under the new scids',
          );
          assert.notDeepEqual(seen.slice(2).sort(), before.sort());
          assert.deepEqual([result.ok, alice.state, alice.receivedMsat], [true, 'settled', alice.amountMsat], `earned ${alice.earnedMsat}: ${alice.lastError ?? ''}`);
        });
      },
    );
  }
});

describe('what rdv cannot protect: a held part whose channel is closing', () => {
  test('Alice pays Bob while her incoming channel goes on chain: rdv status warns not to restart lightningd; without a restart the payment still settles', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      chain.carol.stallFinal = true;
      const paying = pay(chain);
      await eventually(() => relayRecord(chain.alice, chain.hash).state === 'paying', 'Alice pays Bob');
      const upstream = chain.channels[0];
      assert.ok(upstream);
      upstream.state = 'AWAITING_UNILATERAL';
      const status = await runRdv([...at(chain.alice), 'status']);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stderr, /relay [0-9a-f]{8}: the channel of incoming part \S+ is AWAITING_UNILATERAL: do not restart lightningd until the payment onward is resolved/);
      const json = JSON.parse((await runRdv([...at(chain.alice), '--json', 'status'])).stdout) as { warnings: string[] };
      assert.ok(json.warnings.some((w) => /AWAITING_UNILATERAL/.test(w)));
      chain.carol.releaseStalled();
      assert.equal((await paying).ok, true);
      assert.equal((await recordIn(chain.alice, chain.hash, 'settled')).receivedMsat, relayRecord(chain.alice, chain.hash).amountMsat);
    });
  });
});
