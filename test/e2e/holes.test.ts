/**
 * Real CLN (regtest): two holes a relay could fall into, tried on the real thing.
 *
 * Hole 1, "a part's identity changes under us": Bob holds an HTLC that came over a
 * zero-conf channel, so lightningd named it by the channel's local alias; Bob
 * stops, the channel confirms, and lightningd replays the HTLC under the real
 * scid. Bob must still know it is the part he gathered (and resolve it).
 * CLN v26.06.6 fact: the replay right after a start still uses the alias
 * (htlcs_resubmit runs before begin_topology processes the blocks missed while
 * down); the real scid is used from the next restart on, so Bob restarts twice.
 * (Before channel_id naming, rdv failed that second replay as "already
 * complete" while its payment to Carol was pending.)
 *
 *   payer ~~(zero-conf, unannounced)~~ bob --(1M)-- carol
 *   (Bob runs zeroconf-plugin.mjs and htlc-spy.mjs, before rdv in the hook chain;
 *    Carol runs hold-plugin.mjs after rdv)
 *
 * Hole 4, "a probe oracle": a node that knows Bob's relay hash H sends Bob
 * hand-made onions (createonion + sendonion) with bad final-hop payloads; the
 * failure it gets back must be exactly what it gets for a random hash H' that
 * Bob has never heard of, or probing tells a relay from a stranger. (A part that
 * is right in every way, with Bob's payment secret, is of course treated
 * differently: only who has Bob's invoice can send that.)
 *
 *   prober --(1M)-- bob        (carol has no channel: she only makes the invoice)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Reader } from '../../src/chain/read.js';
import { RpcError } from '../../src/rpc/client.js';
import type { ZeroConfChannel } from '../../src/regtest/harness.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { poll } from '../../src/regtest/process.js';
import { listPeerChannels } from '../../src/regtest/queries.js';
import { encodeHopPayload, type HopPayload } from '../../src/simnet/onion.js';
import { HOLD_PLUGIN, HTLC_SPY_PLUGIN, ZEROCONF_PLUGIN } from '../helpers/paths.js';
import { buildChain, type ChainPayee, e2eBinaries, noHtlcsLeft, regtestNetwork, sha256hex, statusRecord } from './lib.js';

const { skip } = e2eBinaries();

const BOB: ChainPayee = { name: 'bob', payoutSat: 5_000, feeBudgetSat: 1_000, delayBudget: 60 };
const SAT = 1000n;

/** Our balance over all channels, msat. */
async function balance(n: RegtestNode): Promise<bigint> {
  return (await listPeerChannels(n.rpc)).reduce((s, c) => s + (c.toUsMsat ?? 0n), 0n);
}

interface SpiedHtlc {
  paymentHash: string;
  scid: string;
  id: string;
}

/** What Bob's htlc-spy saw (since it started). */
async function spied(n: RegtestNode, hash: string): Promise<SpiedHtlc[]> {
  const r = Reader.of(await n.rpc.rpc.call('spy-htlcs', {}), 'spy-htlcs');
  return r
    .objects('htlcs')
    .map((h) => ({ paymentHash: h.str('payment_hash'), scid: h.str('short_channel_id'), id: h.bigint('id').toString() }))
    .filter((h) => h.paymentHash === hash);
}

/** Wait until Bob's rdv holds a part of the hash again (after a restart). */
async function heldByBob(bob: RegtestNode, hash: string): Promise<void> {
  await poll('Bob\'s plugin to hold the replayed HTLC', async () => {
    const r = await statusRecord(bob, hash);
    return (r.optObj('live')?.optInt('held_parts') ?? 0) >= 1 ? true : undefined;
  }, 30_000, 200);
}

describe('e2e hole 1: a part gathered under a zero-conf alias is replayed under the real scid', () => {
  let zc: ZeroConfChannel | undefined;
  const { net, node, withLogs } = regtestNetwork({
    nodes: [
      { name: 'payer', rdv: 'none' },
      { name: 'bob', extraArgs: [`--plugin=${ZEROCONF_PLUGIN}`, `--plugin=${HTLC_SPY_PLUGIN}`] },
      { name: 'carol', extraArgs: [`--plugin=${HOLD_PLUGIN}`] },
    ],
    fund: { nodes: ['payer', 'bob'], btc: 0.05, utxos: 1 },
    channels: [{ from: 'bob', to: 'carol', amountSat: 1_000_000 }],
    then: async (rt) => {
      zc = await rt.openZeroConf({ from: 'payer', to: 'bob', amountSat: 500_000 });
    },
  });

  test('Bob stops holding a zero-conf HTLC; the channel confirms; the replay under the real scid is resolved and Bob earns', { skip }, async () => {
    await withLogs(async () => {
      assert.ok(zc);
      const [payer, bob, carol] = [node('payer'), node('bob'), node('carol')];
      assert.ok(zc.channelType.includes('zeroconf/even'), `the channel is not zero-conf: ${zc.channelType.join(',')}`);
      assert.equal(zc.scid, undefined, 'the zero-conf channel already has a real scid');

      const chain = await buildChain(net(), { name: 'carol', amountSat: 50_000 }, [BOB]);
      const amountMsat = 56_000n * SAT;
      await carol.rpc.rpc.call('hold-hash', { payment_hash: chain.hash });
      const bobIn = async () => (await listPeerChannels(bob.rpc, payer.id)).find((c) => c.channelId === zc?.channelId);
      const before = await bobIn();
      assert.ok(before);
      const bobBefore = await balance(bob);

      const paying = payer.rpc.rpc
        .call('xpay', { invstring: chain.first, retry_for: 120 })
        .then((reply) => ({ ok: true as const, reply: Reader.of(reply, 'xpay') }))
        .catch((e: unknown) => ({ ok: false as const, error: e as Error }));
      // Bob gathered the part and pays Carol, who holds it.
      await poll('Bob\'s payment held at Carol', async () => {
        const r = Reader.of(await carol.rpc.rpc.call('hold-list', {}), 'hold-list');
        return (r.objects('held').find((h) => h.str('payment_hash') === chain.hash)?.int('count') ?? 0) >= 1 ? true : undefined;
      }, 30_000);
      const paying1 = await statusRecord(bob, chain.hash);
      assert.equal(paying1.str('state'), 'paying');
      const [recorded] = paying1.objects('parts');
      assert.ok(recorded);
      const [firstCall] = await spied(bob, chain.hash);
      assert.ok(firstCall, 'the spy saw no htlc_accepted call');
      // lightningd named the channel by Bob's local alias (it has no real scid yet).
      assert.equal(firstCall.scid, zc.toAlias);
      assert.equal(recorded.str('scid'), zc.toAlias);
      assert.equal(recorded.optStr('channel_id'), zc.channelId);

      // Stop, confirm the channel, start: lightningd replays held HTLCs (htlcs_resubmit)
      // before it processes the blocks it missed (begin_topology), so this replay is
      // still under the alias; the real scid comes a moment later.
      await bob.stop();
      await net().mine(6);
      await bob.start();
      const [replay1] = await poll('the first replayed htlc_accepted call', async () => {
        const s = await spied(bob, chain.hash);
        return s.length > 0 ? s : undefined;
      }, 30_000);
      assert.ok(replay1);
      assert.equal(replay1.scid, zc.toAlias, 'a replay right after the start is named by the alias (the node has not seen the blocks yet)');
      const realScid = await poll('Bob to learn the real scid', async () => (await bobIn())?.scid, 30_000);
      assert.notEqual(realScid, zc.toAlias);
      await heldByBob(bob, chain.hash);

      // Restart again: now lightningd replays the same HTLC under the real scid.
      await bob.restart();
      const [replay2] = await poll('the second replayed htlc_accepted call', async () => {
        const s = await spied(bob, chain.hash);
        return s.length > 0 ? s : undefined;
      }, 30_000);
      assert.ok(replay2);
      process.stdout.write(`# hook scid: first call ${firstCall.scid}, replay after stop+mine+start ${replay1.scid}, replay after a second restart ${replay2.scid} (listpeerchannels short_channel_id ${realScid})\n`);
      assert.equal(replay2.scid, realScid, 'the replay after the second restart is named by the real scid');
      assert.notEqual(replay2.scid, recorded.str('scid'), 'the hook names the part differently from the record');
      assert.equal(replay2.id, recorded.str('id'));
      await heldByBob(bob, chain.hash);
      // The part was recognised as the recorded one, not held as a stray.
      assert.deepEqual(bob.rdvLog().filter((l) => l.includes('not in the recorded set')), []);

      await carol.rpc.rpc.call('hold-release', { payment_hash: chain.hash });
      const paid = await paying;
      assert.ok(paid.ok, `payer's xpay failed: ${paid.ok ? '' : paid.error.message}`);
      assert.equal(sha256hex(paid.reply.str('payment_preimage')), chain.hash);
      await noHtlcsLeft(net());
      const settled = await statusRecord(bob, chain.hash);
      assert.equal(settled.str('state'), 'settled');
      const earned = settled.optSignedMsat('earned_msat') as bigint;
      // Bob pays Carol over their direct channel: no routing fee, he keeps payout + fee budget.
      assert.equal(earned, BigInt(BOB.payoutSat + BOB.feeBudgetSat) * SAT);
      assert.equal(settled.objects('parts').length, 1);
      // rdv resolved the part it knows as channel_id/htlc_id (its name survived the rename).
      assert.ok(bob.rdvLog().some((l) => l.includes(`answered part ${zc?.channelId}/${recorded.str('id')} (resolve)`)), 'no resolve of the replayed part in Bob\'s log');
      // Bob's incoming HTLC was fulfilled, not failed: the zero-conf channel moved the whole amount to him...
      const afterIn = await bobIn();
      assert.ok(afterIn);
      assert.equal((afterIn.toUsMsat ?? 0n) - (before.toUsMsat ?? 0n), amountMsat, 'Bob\'s side of the zero-conf channel');
      assert.equal(afterIn.inPaymentsFulfilled, (before.inPaymentsFulfilled ?? 0) + 1, 'in_payments_fulfilled');
      assert.equal(afterIn.inFulfilledMsat, (before.inFulfilledMsat ?? 0n) + amountMsat, 'in_fulfilled_msat');
      // ...and over all his channels Bob is up by exactly what he earned.
      assert.equal((await balance(bob)) - bobBefore, earned, 'Bob\'s balance change');
    });
  });
});

/** What the sender of a hand-made onion learns from its failure (waitsendpay's error). */
interface ProbeAnswer {
  code: number;
  failcode: number | undefined;
  failcodename: string | undefined;
  rawMessage: string | undefined;
  erringIndex: number | undefined;
  erringNode: string | undefined;
  /** From sendonion to waitsendpay's answer. */
  ms: number;
}

interface Probe {
  name: string;
  /** The HTLC's amount and CLTV delay over the prober-Bob channel. */
  htlcMsat: bigint;
  delay: number;
  /** The final-hop payload, given the HTLC's cltv_expiry. */
  payload: (cltvExpiry: number) => HopPayload | string;
  /** The failure code lightningd gives a hash it has no invoice for (checked for H' and H alike). */
  failcode: number;
}

test('the hand-made final-hop payload is BOLT 4 TLV: length-prefixed, tu64/tu32 truncated, types in order', () => {
  const secret = '11'.repeat(32);
  assert.equal(
    encodeHopPayload({ forwardMsat: 1000n, outgoingCltv: 108, paymentSecret: secret, totalMsat: 1000n }),
    `2b020203e804016c0822${secret}03e8`,
  );
  // amt_to_forward 0 is an empty tu64; payment_metadata is type 16 (0x10).
  assert.equal(encodeHopPayload({ forwardMsat: 0n, outgoingCltv: 0x01_00_00, paymentMetadata: 'dead' }), '0b0200040301000010' + '02dead');
  assert.equal(encodeHopPayload({ outgoingCltv: 5 }), '03040105');
});

describe('e2e hole 4: hand-made onions get the same failure for a relay hash as for an unknown hash', () => {
  const { net, node, withLogs } = regtestNetwork({
    nodes: [{ name: 'prober', rdv: 'none' }, { name: 'bob' }, { name: 'carol' }],
    fund: { nodes: ['prober'], btc: 0.05, utxos: 1 },
    channels: [{ from: 'prober', to: 'bob', amountSat: 1_000_000 }],
  });

  /** createonion for Bob alone, sendonion over the prober-Bob channel, waitsendpay: the failure. */
  async function probe(hash: string, htlcMsat: bigint, delay: number, payload: string, groupid: number): Promise<ProbeAnswer> {
    const [prober, bob] = [node('prober'), node('bob')];
    const onion = Reader.of(await prober.rpc.call('createonion', { hops: [{ pubkey: bob.id, payload }], assocdata: hash }), 'createonion');
    const started = Date.now();
    await prober.rpc.call('sendonion', {
      onion: onion.str('onion'),
      first_hop: { id: bob.id, amount_msat: htlcMsat, delay },
      payment_hash: hash,
      shared_secrets: onion.strings('shared_secrets'),
      groupid,
      partid: 0,
    });
    try {
      await prober.rpc.rpc.call('waitsendpay', { payment_hash: hash, groupid, partid: 0, timeout: 30 });
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      const d = e.data === undefined || e.data === null ? undefined : Reader.of(e.data, 'waitsendpay error');
      return {
        code: e.code,
        failcode: d?.optInt('failcode'),
        failcodename: d?.optStr('failcodename'),
        rawMessage: d?.optStr('raw_message'),
        erringIndex: d?.optInt('erring_index'),
        erringNode: d?.optStr('erring_node'),
        ms: Date.now() - started,
      };
    }
    assert.fail(`the probe for ${hash.slice(0, 8)} was paid`);
  }

  test('nine bad payloads: failcode, failcodename and raw_message are the same for Bob\'s relay hash H and a random H\'', { skip }, async () => {
    await withLogs(async () => {
      const [prober, bob] = [node('prober'), node('bob')];
      const chain = await buildChain(net(), { name: 'carol', amountSat: 50_000 }, [BOB]);
      const H = chain.hash;
      const unknown = randomBytes(32).toString('hex');
      // The prober decodes Bob's invoice: it knows H, Bob's payment secret, amount and min_final_cltv.
      const inv = Reader.of(await prober.rpc.call('decode', { string: chain.first }), 'decode');
      const amount = inv.msat('amount_msat');
      const secret = inv.str('payment_secret');
      const minFinal = inv.int('min_final_cltv_expiry');
      // Bob's own cltv-final (10 on regtest, 18 on mainnet): lightningd's floor for any final HTLC.
      const cltvFinal = (await bob.rpc.configInt('cltv-final')) ?? 18;
      assert.ok(minFinal > cltvFinal + 10);
      const good = (cltvExpiry: number): HopPayload => ({ forwardMsat: amount, outgoingCltv: cltvExpiry, paymentSecret: secret, totalMsat: amount });
      const enough = minFinal + 10;

      // Each payload is right for Bob's invoice but for one thing, so only that one thing can make rdv refuse it.
      const probes: Probe[] = [
        { name: 'amt_to_forward above the HTLC amount', htlcMsat: amount, delay: enough, payload: (e) => ({ ...good(e), forwardMsat: amount + 1n }), failcode: 0x0013 },
        { name: 'outgoing_cltv_value above cltv_expiry', htlcMsat: amount, delay: enough, payload: (e) => ({ ...good(e), outgoingCltv: e + 1 }), failcode: 0x0012 },
        { name: `cltv_expiry below cltv-final (${cltvFinal})`, htlcMsat: amount, delay: cltvFinal - 3, payload: good, failcode: 0x400f },
        { name: 'cltv_expiry above cltv-final, below the invoice\'s min_final_cltv', htlcMsat: amount, delay: minFinal - 10, payload: good, failcode: 0x400f },
        { name: 'wrong payment_secret', htlcMsat: amount, delay: enough, payload: (e) => ({ ...good(e), paymentSecret: randomBytes(32).toString('hex') }), failcode: 0x400f },
        { name: 'full amount, no payment_data (no secret)', htlcMsat: amount, delay: enough, payload: (e) => ({ forwardMsat: amount, outgoingCltv: e }), failcode: 0x400f },
        { name: 'total_msat below the invoice amount', htlcMsat: amount - 1000n, delay: enough, payload: (e) => ({ ...good(e), forwardMsat: amount - 1000n, totalMsat: amount - 1000n }), failcode: 0x400f },
        { name: 'payment_metadata present', htlcMsat: amount, delay: enough, payload: (e) => ({ ...good(e), paymentMetadata: 'deadbeef' }), failcode: 0x4016 },
        { name: 'undecodable: no amt_to_forward', htlcMsat: amount, delay: enough, payload: (e) => ({ outgoingCltv: e, paymentSecret: secret, totalMsat: amount }), failcode: 0x4016 },
      ];

      const seen: Array<{ p: Probe; forH: ProbeAnswer; forUnknown: ProbeAnswer }> = [];
      let groupid = 1;
      for (const p of probes) {
        // sendonion sets cltv_expiry = blockheight + 1 + delay (lightningd/pay.c base_expiry).
        const height = (await prober.rpc.getinfo()).blockheight;
        const fields = p.payload(height + 1 + p.delay);
        const payload = typeof fields === 'string' ? fields : encodeHopPayload(fields);
        const forH = await probe(H, p.htlcMsat, p.delay, payload, groupid++);
        const forUnknown = await probe(unknown, p.htlcMsat, p.delay, payload, groupid++);
        seen.push({ p, forH, forUnknown });
      }
      const show = (a: ProbeAnswer): string => `${a.code} ${a.failcodename ?? '-'} ${a.rawMessage ?? '-'} (${a.ms} ms)`;
      process.stdout.write(`${seen.map(({ p, forH, forUnknown }) => `# ${p.name}: H ${show(forH)} | H' ${show(forUnknown)}`).join('\n')}\n`);
      for (const { p, forH, forUnknown } of seen) {
        const { ms: _h, ...answerH } = forH;
        const { ms: _u, ...answerUnknown } = forUnknown;
        assert.deepEqual(answerH, answerUnknown, `${p.name}: Bob's relay hash and an unknown hash get different failures`);
        assert.equal(forUnknown.failcode, p.failcode, `${p.name}: lightningd's own answer for an unknown hash`);
        // The final node (Bob, hop 1) sent the failure.
        assert.equal(forUnknown.erringIndex, 1, `${p.name}: erring_index`);
      }

      // rdv answered every probe for H itself (lightningd's answers are mimicked, not deferred to),
      // except the payload lightningd could not decode, which it fails itself after rdv's `continue`.
      const refused = bob.rdvLog().filter((l) => l.includes(`${H.slice(0, 8)}: failed part`));
      assert.equal(refused.length, probes.length - 1, `rdv's refusals:\n${refused.join('\n')}`);

      // Nothing was gathered, paid or held for H.
      await noHtlcsLeft(net());
      const r = await statusRecord(bob, H);
      assert.equal(r.str('state'), 'open');
      assert.equal(r.objects('parts').length, 0);
      assert.equal(r.objects('attempts').length, 0);
    });
  });
});
