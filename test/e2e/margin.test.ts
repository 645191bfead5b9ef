/**
 * Real CLN (regtest): hole 5 of issue 7, "blocks found while xpay retries".
 *
 * xpay puts each attempt's outgoing HTLC expiry at blockheight + 1 + the route's
 * delay (<= maxdelay), with the blockheight of the moment it makes the attempt
 * (plugins/xpay/xpay.c do_inject). rdv gives xpay maxdelay = earliest incoming
 * expiry - height - safety margin - 3, and once 2 blocks are found since xpay
 * started it removes the askrene layer it passed to xpay, so xpay's next
 * getroutes fails ("unknown layer") and no attempt starts with a later height.
 *
 *   payer --(1M)-- bob --(1M)-- carol          solo (no channel, no rdv)
 *   (Carol runs fixtures/flaky-plugin.mjs after rdv: it fails chosen HTLCs with a
 *    temporary error after holding them a moment, so the payer of Carol retries)
 *
 * Carol fails with mpp_timeout (0x0017): v26.06.6 xpay retries that on the same
 * route ("reached destination, but timed out before the rest arrived"), while a
 * temporary_channel_failure from the destination makes it disable the channel
 * into the destination for the payment (strange_error), which with one channel
 * ends the payment at the next getroutes (measured in the first test).
 *
 * Found here: on v26.06.6 removing a layer while a getroutes that names it is
 * under way (askrene has checked the names and waits for listpeerchannels, or
 * for a free thread) makes askrene abort on an assertion in apply_layers, and
 * lightningd stop with it (askrene is an important plugin). rdv's close_route
 * did that whenever a block landed while xpay was between attempts (Bob's
 * lightningd stopped in 3 or 4 of about 30 runs); it now disables its own node
 * and channels in the layer instead, which stops xpay as well and does not
 * crash (CLN facts, tested below).
 *
 * Also found: after a restart rdv took the heights lightningd catches up through
 * (it starts 30 blocks back on regtest) as the chain height, so a payment it
 * started meanwhile got a maxdelay too large by that much plus every block found
 * while it was down. rdv now starts from getchaininfo's headercount, as xpay does.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Reader } from '../../src/chain/read.js';
import { RpcError } from '../../src/rpc/client.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { poll } from '../../src/regtest/process.js';
import { listHtlcs } from '../../src/regtest/queries.js';
import { FLAKY_PLUGIN } from '../helpers/paths.js';
import { buildChain, type ChainPayee, e2eBinaries, noHtlcsLeft, regtestNetwork, sha256hex, statusRecord } from './lib.js';

/** The smallest delay budget rdv join accepts (safety margin 34 + xpay's 3 blocks + 1): no slack for a late attempt. */
const BOB: ChainPayee = { name: 'bob', payoutSat: 5_000, feeBudgetSat: 1_000, delayBudget: 38 };

const { skip } = e2eBinaries();

/** Fails chosen HTLCs after holding them a moment (see the file's header). */
const MPP_TIMEOUT = '0017';
const SAT = 1000n;

interface FlakyCall {
  scid: string;
  id: string;
  cltvExpiry: number;
  /** Carol's height when her node called the hook. */
  height: number;
  arrivedMs: number;
  answeredMs: number | undefined;
  answer: string | undefined;
}

async function flakyFail(n: RegtestNode, hash: string, count: number, delayMs: number, failure = MPP_TIMEOUT): Promise<void> {
  await n.rpc.rpc.call('flaky-fail', { payment_hash: hash, count, failure_message: failure, delay_ms: delayMs });
}

async function flakyCalls(n: RegtestNode, hash: string): Promise<FlakyCall[]> {
  const r = Reader.of(await n.rpc.rpc.call('flaky-calls', { payment_hash: hash }), 'flaky-calls');
  return r.objects('calls').map((c) => ({
    scid: c.str('short_channel_id'),
    id: c.bigint('id').toString(),
    cltvExpiry: c.int('cltv_expiry'),
    height: c.int('cltv_expiry') - c.int('cltv_expiry_relative'),
    arrivedMs: c.int('arrived_ms'),
    answeredMs: c.optInt('answered_ms'),
    answer: c.optStr('answer'),
  }));
}

interface SendPay {
  status: string;
  groupid: bigint;
  partid: bigint;
  createdAt: number;
  sentMsat: bigint;
}

async function sendpays(n: RegtestNode, hash: string): Promise<SendPay[]> {
  const r = Reader.of(await n.rpc.call('listsendpays', { payment_hash: hash }), 'listsendpays');
  return r.objects('payments').map((p) => ({
    status: p.str('status'),
    groupid: p.bigint('groupid'),
    partid: p.has('partid') ? p.bigint('partid') : 0n,
    createdAt: p.int('created_at'),
    sentMsat: p.optMsat('amount_sent_msat') ?? 0n,
  }));
}

const height = async (n: RegtestNode): Promise<number> => (await n.rpc.getinfo()).blockheight;

/** askrene's assertion when a getroutes finds one of its layers gone (plugins/askrene/askrene.c apply_layers). */
const ASKRENE_ABORT = /apply_layers: Assertion/;

/** Resolves 'down' as soon as the node's lightningd has exited, or 'over' once `over()` says to stop watching. */
async function whenDown(n: RegtestNode, over: () => boolean): Promise<'down' | 'over'> {
  while (!over()) {
    if (!n.isRunning()) return 'down';
    await sleep(100);
  }
  return 'over';
}

function whyDown(n: RegtestNode): string {
  const printed = n.printed(/Assertion|FATAL|important/);
  const crash = n.printed(ASKRENE_ABORT).length > 0 ? ' (askrene aborted: a layer was removed while a getroutes naming it was under way)' : '';
  return `${n.name}'s lightningd stopped mid-payment${crash}: ${printed.slice(0, 3).join(' | ') || n.logTail(3).join(' | ')}`;
}

describe('e2e hole 5: blocks found while xpay retries', () => {
  let payerBobScid = '';
  const { net, node, withLogs } = regtestNetwork({
    nodes: [
      { name: 'payer', rdv: 'none' },
      { name: 'bob' },
      { name: 'carol', extraArgs: [`--plugin=${FLAKY_PLUGIN}`] },
      // No channel, no rdv: only for the askrene crash (it takes this lightningd down).
      { name: 'solo', rdv: 'none' },
    ],
    fund: { nodes: ['payer', 'bob'], btc: 0.05, utxos: 1 },
    channels: [
      { from: 'payer', to: 'bob', amountSat: 1_000_000 },
      { from: 'bob', to: 'carol', amountSat: 1_000_000 },
    ],
    then: (_rt, channels) => {
      payerBobScid = channels[0]?.scid ?? '';
    },
  });

  test("removing xpay's layer mid-payment stops its retries", { skip, timeout: 90_000 }, async (t: TestContext) => {
    await withLogs(async () => {
      const [bob, carol] = [node('bob'), node('carol')];
      // Why Carol answers mpp_timeout: temporary_channel_failure from the destination is not retried over one channel.
      const tcf = Reader.of(await carol.rpc.call('invoice', { amount_msat: 10_000n * SAT, label: 'margin-tcf', description: 'e2e margin' }), 'invoice');
      await flakyFail(carol, tcf.str('payment_hash'), -1, 0, '1007');
      const tcfError = await bob.rpc.rpc.call('xpay', { invstring: tcf.str('bolt11'), retry_for: 10 }).then(() => undefined, (e: unknown) => e);
      const tcfCalls = (await flakyCalls(carol, tcf.str('payment_hash'))).length;
      t.diagnostic(`destination answering temporary_channel_failure: xpay made ${tcfCalls} attempt(s): ${tcfError instanceof RpcError ? tcfError.rpcMessage.slice(0, 160) : String(tcfError)}`);
      assert.equal(tcfCalls, 1, 'xpay retried a temporary_channel_failure from the destination');

      // A plain invoice of Carol's, paid by a plain xpay of Bob's (rdv has no record for it).
      const inv = Reader.of(await carol.rpc.call('invoice', { amount_msat: 10_000n * SAT, label: 'margin-layer', description: 'e2e margin' }), 'invoice');
      const hash = inv.str('payment_hash');
      const holdMs = 700;
      await flakyFail(carol, hash, -1, holdMs);
      const layer = 'margin-e2e-layer';
      await bob.rpc.call('askrene-create-layer', { layer });

      const retryFor = 30;
      const started = Date.now();
      const paying = bob.rpc.rpc.call('xpay', { invstring: inv.str('bolt11'), layers: [layer], retry_for: retryFor }).then(
        (reply) => ({ ok: true as const, reply }),
        (e: unknown) => ({ ok: false as const, error: e, at: Date.now() }),
      );
      // Let xpay retry a few times, then remove the layer while an attempt is held at Carol.
      const before = await poll('three attempts at Carol, the third held', async () => {
        const calls = await flakyCalls(carol, hash);
        return calls.length >= 3 && calls.at(-1)?.answeredMs === undefined ? calls : undefined;
      }, 30_000, 20);
      const partsAtRemoval = await sendpays(bob, hash);
      const removedAt = Date.now();
      await bob.rpc.call('askrene-remove-layer', { layer });
      const result = await paying;
      const endedAt = Date.now();
      assert.ok(!result.ok, 'xpay succeeded although Carol fails every HTLC');
      assert.ok(result.error instanceof RpcError, `xpay failed without an RPC error: ${String(result.error)}`);
      // Anything xpay would still start would show up within a few attempt times.
      await sleep(3 * holdMs);
      const partsAfter = await sendpays(bob, hash);
      const callsAfter = await flakyCalls(carol, hash);
      const stopMs = endedAt - removedAt;
      t.diagnostic(`attempts before the removal: ${before.length} (xpay ran ${removedAt - started} ms); listsendpays parts at the removal ${partsAtRemoval.length}, ${3 * holdMs} ms after xpay returned ${partsAfter.length}; HTLCs seen by Carol after: ${callsAfter.length}`);
      t.diagnostic(`xpay returned ${stopMs} ms after askrene-remove-layer (retry_for ${retryFor} s; the attempt in flight was held ${holdMs} ms): code ${result.error.code}: ${result.error.rpcMessage}`);

      assert.equal(partsAfter.length, partsAtRemoval.length, 'xpay started a new part after its layer was removed');
      assert.equal(callsAfter.length, before.length, 'Carol saw a new HTLC after the layer was removed');
      assert.ok(partsAfter.every((p) => p.status === 'failed'), `parts: ${partsAfter.map((p) => p.status).join(',')}`);
      // Well before retry_for: the held attempt's failure, then one getroutes.
      assert.ok(stopMs < holdMs + 5_000, `xpay took ${stopMs} ms to stop after the removal`);
      assert.ok(endedAt - started < (retryFor * 1000) / 2, `xpay ran ${endedAt - started} ms`);
      assert.match(result.error.rpcMessage, /layer/i, 'the error does not say the layer is gone');
      await noHtlcsLeft(net());
    });
  });

  test("CLN v26.06.6 fact: askrene-disable-node of the payer in xpay's layer also stops its retries, and keeps the layer", { skip, timeout: 90_000 }, async (t: TestContext) => {
    await withLogs(async () => {
      const [bob, carol] = [node('bob'), node('carol')];
      const inv = Reader.of(await carol.rpc.call('invoice', { amount_msat: 10_000n * SAT, label: 'margin-disable', description: 'e2e margin' }), 'invoice');
      const hash = inv.str('payment_hash');
      const holdMs = 700;
      await flakyFail(carol, hash, -1, holdMs);
      const layer = 'margin-e2e-disable';
      await bob.rpc.call('askrene-create-layer', { layer });
      const paying = bob.rpc.rpc.call('xpay', { invstring: inv.str('bolt11'), layers: [layer], retry_for: 30 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const before = await poll('two attempts at Carol, the second held', async () => {
        const calls = await flakyCalls(carol, hash);
        return calls.length >= 2 && calls.at(-1)?.answeredMs === undefined ? calls : undefined;
      }, 30_000, 20);
      const at = Date.now();
      await bob.rpc.call('askrene-disable-node', { layer, node: bob.id });
      const error = await paying;
      const stopMs = Date.now() - at;
      await sleep(2 * holdMs);
      const after = await flakyCalls(carol, hash);
      assert.ok(error instanceof RpcError, `xpay did not fail: ${String(error)}`);
      t.diagnostic(`xpay returned ${stopMs} ms after askrene-disable-node (attempts ${before.length} -> ${after.length}): code ${error.code}: ${error.rpcMessage.replace(/^.*Then routing failed/, 'routing failed').slice(0, 200)}`);
      assert.equal(after.length, before.length, 'xpay started an attempt after its payer was disabled in the layer');
      assert.ok(stopMs < holdMs + 5_000, `xpay took ${stopMs} ms to stop`);
      assert.ok((await bob.rpc.call('askrene-listlayers', { layer })) !== undefined);
      await bob.rpc.call('askrene-remove-layer', { layer });
      await noHtlcsLeft(net());
    });
  });

  /** Mine a block every `gapMs` (without waiting for the nodes) until `done()` or `max` blocks; the heights mined. */
  async function mineWhile(done: () => boolean, gapMs: number, max: number): Promise<number[]> {
    const heights: number[] = [];
    while (!done() && heights.length < max) {
      heights.push(await net().mine(1, { sync: false }));
      await sleep(gapMs);
    }
    return heights;
  }

  /** Bob's HTLCs for a hash (listhtlcs: every HTLC of his channels, with its cltv expiry). */
  async function bobHtlcs(hash: string): Promise<{ incoming: number[]; outgoing: number[] }> {
    const htlcs = (await listHtlcs(node('bob').rpc)).filter((h) => h.paymentHash === hash);
    return { incoming: htlcs.filter((h) => h.direction === 'in').map((h) => h.expiry), outgoing: htlcs.filter((h) => h.direction === 'out').map((h) => h.expiry) };
  }

  async function minFinalCltv(bolt11: string): Promise<number> {
    return Reader.of(await node('payer').rpc.call('decode', { string: bolt11 }), 'decode').int('min_final_cltv_expiry');
  }

  /**
   * Control, no rdv: Bob's plain xpay to Carol with the maxdelay rdv would give it
   * for the tightest incoming HTLC it accepts, blocks racing, nothing removed.
   * Shows the race is real on this CLN: later attempts' expiries move up with
   * the blocks, past where the safety margin would hold.
   */
  async function control(t: TestContext): Promise<void> {
    const [bob, carol] = [node('bob'), node('carol')];
    const inv = Reader.of(await carol.rpc.call('invoice', { amount_msat: 50_000n * SAT, label: 'margin-control', description: 'e2e margin control' }), 'invoice');
    const hash = inv.str('payment_hash');
    const cmf = await minFinalCltv(inv.str('bolt11'));
    await flakyFail(carol, hash, -1, 300);
    await net().sync();
    const h0 = await height(bob);
    // What rdv gives xpay for an incoming HTLC expiring at h0 + cmf + delay budget (38): E - h0 - 34 - 3.
    const incoming = h0 + cmf + BOB.delayBudget;
    const maxdelay = incoming - h0 - 34 - 3;
    let done = false;
    const paying = bob.rpc.rpc.call('xpay', { invstring: inv.str('bolt11'), maxdelay, retry_for: 6 }).then(
      () => 'paid',
      (e: unknown) => (e instanceof RpcError ? e.rpcMessage : String(e)),
    ).finally(() => {
      done = true;
    });
    await poll("Carol sees Bob's first attempt", async () => ((await flakyCalls(carol, hash)).length >= 1 ? true : undefined), 30_000, 20);
    const mined = await mineWhile(() => done, 400, 12);
    const answer = await paying;
    await noHtlcsLeft(net());
    const { outgoing } = await bobHtlcs(hash);
    const margins = outgoing.map((e) => incoming - e);
    t.diagnostic(
      `control (plain xpay, no layer removed): start height ${h0}, maxdelay ${maxdelay}, ${mined.length} blocks mined, ${outgoing.length} attempts; ` +
        `xpay heights at the attempts ${outgoing.map((e) => e - 1 - cmf).join(',')}; margins against an incoming expiry of ${incoming}: ${margins.join(',')} (min ${Math.min(...margins)}); xpay: ${answer.slice(0, 80)}`,
    );
    assert.ok(outgoing.length >= 3, `only ${outgoing.length} attempts`);
    assert.ok(Math.max(...outgoing) > Math.min(...outgoing), 'xpay gave every attempt the same expiry: it does not re-read the height at each attempt');
    // Without rdv's backstop the margin breaks: this is what the rdv rounds must not show.
    assert.ok(Math.min(...margins) < 34, `the blocks did not race enough to matter (min margin ${Math.min(...margins)})`);
  }

  interface Round {
    label: string;
    /** Carol fails this many of Bob's HTLCs (each after holdMs), then accepts. */
    fails: number;
    holdMs: number;
    /** Blocks mined one at a time, gapMs apart, from Bob's first attempt until the payer has an answer. */
    gapMs: number;
    maxBlocks: number;
  }

  /**
   * payer -> Bob (rdv) -> Carol (last payee, flaky). The payer sends, by hand, the
   * tightest HTLC Bob accepts (cltv_expiry = height + Bob's min_final_cltv), so
   * rdv's maxdelay leaves the route 1 block of slack and nothing else.
   */
  async function relayRound(t: TestContext, round: Round): Promise<{ outcome: 'settled' | 'failed back'; xpayError: string | undefined; closed: boolean; crashed: string | undefined }> {
    const [payer, bob, carol] = [node('payer'), node('bob'), node('carol')];
    const chain = await buildChain(net(), { name: 'carol', amountSat: 50_000 }, [BOB]);
    const hash = chain.hash;
    const cmf = await minFinalCltv(chain.lastBolt11);
    const bobInv = Reader.of(await payer.rpc.call('decode', { string: chain.first }), 'decode');
    const amount = bobInv.msat('amount_msat');
    const bobMinFinal = bobInv.int('min_final_cltv_expiry');
    assert.equal(bobMinFinal, cmf + BOB.delayBudget);
    await flakyFail(carol, hash, round.fails, round.holdMs);
    await net().sync();
    const h0 = await height(payer);
    // sendpay puts cltv_expiry at height + 1 + delay (lightningd/pay.c).
    const route = [{ id: bob.id, channel: payerBobScid, amount_msat: amount, delay: bobMinFinal - 1 }];
    await payer.rpc.call('sendpay', { route, payment_hash: hash, payment_secret: bobInv.str('payment_secret'), amount_msat: amount, groupid: 1, partid: 0 });
    let done = false;
    const outcome = payer.rpc.rpc
      .call('waitsendpay', { payment_hash: hash, groupid: 1, partid: 0, timeout: 30 }, { timeoutMs: 40_000 })
      .then(
        (r) => ({ ok: true as const, reply: Reader.of(r, 'waitsendpay') }),
        (e: unknown) => ({ ok: false as const, error: e }),
      )
      .finally(() => {
        done = true;
      });
    await poll("Carol sees Bob's first attempt", async () => ((await flakyCalls(carol, hash)).length >= 1 ? true : undefined), 30_000, 20);
    const mined = await mineWhile(() => done || !bob.isRunning(), round.gapMs, round.maxBlocks);
    let crashed: string | undefined;
    if ((await Promise.race([outcome.then(() => 'answered' as const), whenDown(bob, () => done)])) === 'down') {
      // Not what rdv may do; but go on (after a restart) to see whether the margin and the money held anyway.
      crashed = `${round.label}: ${whyDown(bob)}`;
      t.diagnostic(`${crashed}; starting it again`);
      await bob.start();
    }
    const result = await outcome;
    await noHtlcsLeft(net());

    const record = await statusRecord(bob, hash);
    const safety = record.int('safety_margin');
    const attempts = record.objects('attempts');
    const { incoming, outgoing } = await bobHtlcs(hash);
    const parts = await sendpays(bob, hash);
    const calls = await flakyCalls(carol, hash);
    const [inExpiry] = incoming;
    assert.equal(incoming.length, 1, `Bob's incoming HTLCs for the hash: ${incoming.join(',')}`);
    assert.ok(inExpiry !== undefined);
    assert.equal(inExpiry, h0 + bobMinFinal, "the payer's HTLC is not the tightest Bob accepts");
    // Every outgoing HTLC: one listsendpays part each, and Carol saw each with the same expiry (one hop).
    assert.equal(outgoing.length, parts.length, 'listhtlcs and listsendpays disagree on the number of outgoing HTLCs');
    assert.deepEqual([...outgoing].sort(), calls.map((c) => c.cltvExpiry).sort(), "Carol's HTLCs are not Bob's outgoing ones");
    const margins = outgoing.map((e) => inExpiry - e);
    const closed = bob.rdvLog().filter((l) => l.includes(hash.slice(0, 8)) && (l.includes('blocks found since xpay started') || l.includes('may start no new attempt')));
    const outcomeText = result.ok ? 'settled' : `failed back (${result.error instanceof RpcError ? result.error.rpcMessage.slice(0, 60) : String(result.error)})`;
    t.diagnostic(
      `${round.label}: payer at ${h0}, Bob's incoming expiry ${inExpiry} (min_final_cltv ${bobMinFinal}, Carol's ${cmf}), safety margin ${safety}; ` +
        `xpay call(s) ${attempts.map((a) => `start_height ${a.optInt('start_height') ?? '?'} maxdelay ${a.int('maxdelay')} ${a.optStr('outcome') ?? 'open'}${a.optStr('error') ? `: ...${a.str('error').replace(/^.*Then routing failed/, 'routing failed').slice(0, 100)}` : ''}`).join('; ')}`,
    );
    t.diagnostic(
      `${round.label}: blocks mined ${mined.length} (${mined.join(',')}), ${gapMsText(round.gapMs)}; ${outgoing.length} outgoing HTLCs, expiries ${outgoing.join(',')} ` +
        `(xpay heights ${outgoing.map((e) => e - 1 - cmf).join(',')}, Carol's heights ${calls.map((c) => c.height).join(',')}); margins ${margins.join(',')} (min ${Math.min(...margins)}); ` +
        `route closed: ${closed.length > 0 ? 'yes' : 'no'}; ${outcomeText}`,
    );

    for (const [i, m] of margins.entries()) assert.ok(m >= safety, `outgoing HTLC ${i + 1} expires at ${outgoing[i]}, only ${m} blocks before the incoming one (${inExpiry}): below the safety margin ${safety}`);
    const invoice = (await carol.rpc.listinvoices({ label: chain.lastLabel }))[0];
    if (result.ok) {
      assert.equal(sha256hex(result.reply.str('payment_preimage')), hash);
      assert.equal(record.str('state'), 'settled');
      assert.equal(invoice?.status, 'paid');
      const earned = record.optSignedMsat('earned_msat') as bigint;
      // An integer, like every *_msat field of rdv's --json output (CLN's convention).
      const payout = record.msat('payout_msat');
      assert.ok(earned >= payout, `Bob earned ${earned} msat, less than his payout`);
      t.diagnostic(`${round.label}: Bob earned ${earned} msat (payout ${payout})`);
      return { outcome: 'settled', xpayError: undefined, closed: closed.length > 0, crashed };
    }
    // Failed back: nothing of Bob's reached Carol for good, and Bob let the payer's HTLC go.
    assert.deepEqual(parts.filter((p) => p.status !== 'failed'), [], 'an outgoing part did not fail, yet the payer was failed');
    assert.notEqual(invoice?.status, 'paid');
    assert.ok(['open', 'failed'].includes(record.str('state')), `Bob's record is ${record.str('state')}`);
    return { outcome: 'failed back', xpayError: attempts.at(-1)?.optStr('error'), closed: closed.length > 0, crashed };
  }

  const gapMsText = (ms: number): string => `${ms} ms apart (lightningd polls bitcoind every 1 s, so it sees them in bursts)`;

  test('the safety margin holds when blocks race while xpay retries', { skip, timeout: 90_000 }, async (t: TestContext) => {
    await withLogs(async () => {
      await control(t);
      const crashes: string[] = [];
      // Carol fails Bob's HTLCs for longer than two blocks take: rdv closes xpay's route (disables
      // its own channels in xpay's layer), xpay stops, Bob pays again while there is room, then fails back. Blocks in bursts (several per bitcoind poll), then one per poll.
      for (const gapMs of [400, 1_100]) {
        const r = await relayRound(t, { label: `Carol fails 10, blocks ${gapMs} ms apart`, fails: 10, holdMs: 300, gapMs, maxBlocks: 6 });
        if (r.crashed) crashes.push(r.crashed);
        else if (r.outcome === 'failed back') {
          // It was rdv's backstop that stopped xpay (not retry_for, not a routing problem).
          assert.ok(r.closed, "Bob's rdv did not close xpay's route");
        }
      }
      // Carol fails two, then takes the third: settles unless two blocks beat it.
      const r = await relayRound(t, { label: 'Carol fails 2', fails: 2, holdMs: 400, gapMs: 400, maxBlocks: 6 });
      if (r.crashed) crashes.push(r.crashed);
      // The margins and the money held, and rdv's backstop (no longer a layer removal) did not take the node down.
      assert.deepEqual(crashes, [], "closing a running xpay's route crashed askrene, and lightningd with it");
    });
  });

  test(
    'after a restart, rdv pays onward with the chain height, not the height lightningd is catching up from',
    {
      skip,
      timeout: 90_000,
      // Seen on real CLN v26.06.6: at startup lightningd goes back some blocks (to 30 below its
      // last height on regtest) and catches up one block_added at a time; rdv took getinfo's and
      // those heights, so a payment it started meanwhile got a maxdelay far too large (xpay itself
      // starts from getchaininfo's headercount, the real tip). rdv now starts from the headercount too.
    },
    async (t: TestContext) => {
      await withLogs(async () => {
        const [payer, bob, carol] = [node('payer'), node('bob'), node('carol')];
        if (!bob.isRunning()) await bob.start();
        const chain = await buildChain(net(), { name: 'carol', amountSat: 50_000 }, [BOB]);
        const hash = chain.hash;
        const bobInv = Reader.of(await payer.rpc.call('decode', { string: chain.first }), 'decode');
        const amount = bobInv.msat('amount_msat');
        const bobMinFinal = bobInv.int('min_final_cltv_expiry');
        // Carol holds Bob's first HTLC 1.5 s and fails it (Bob gets the failure when he is back); she takes the next.
        await flakyFail(carol, hash, 1, 1_500);
        await net().sync();
        const h0 = await height(payer);
        const route = [{ id: bob.id, channel: payerBobScid, amount_msat: amount, delay: bobMinFinal - 1 }];
        await payer.rpc.call('sendpay', { route, payment_hash: hash, payment_secret: bobInv.str('payment_secret'), amount_msat: amount, groupid: 1, partid: 0 });
        const outcome = payer.rpc.rpc.call('waitsendpay', { payment_hash: hash, groupid: 1, partid: 0, timeout: 60 }, { timeoutMs: 70_000 }).then(
          () => 'settled',
          (e: unknown) => `failed back (${e instanceof RpcError ? e.rpcMessage.slice(0, 60) : String(e)})`,
        );
        await poll("Carol holds Bob's first attempt", async () => ((await flakyCalls(carol, hash)).length >= 1 ? true : undefined), 30_000, 20);
        // Bob stops with his attempt held at Carol; 10 blocks are found while he is down. Left for
        // his incoming HTLC: bobMinFinal - 10 = 38 blocks, too few to pay onward with the margin
        // (maxdelay would be 1, under Carol's min_final_cltv): rdv must fail back, not pay again.
        await bob.stop();
        const tip = await net().mine(10, { sync: false });
        await bob.start();
        const answer = await outcome;
        await noHtlcsLeft(net());
        const record = await statusRecord(bob, hash);
        const safety = record.int('safety_margin');
        const { incoming, outgoing } = await bobHtlcs(hash);
        const [inExpiry] = incoming;
        assert.ok(inExpiry !== undefined);
        const margins = outgoing.map((e) => inExpiry - e);
        // The first block lightningd processed after this start (the log goes on across restarts).
        const lines = bob.logLines();
        let from = lines.length - 1;
        while (from > 0 && !(lines[from] ?? '').includes('Server started')) from--;
        while (from > 0 && !/Killing plugin/.test(lines[from - 1] ?? '')) from--;
        const resumedAt = lines.slice(from).find((l) => /Adding block \d+/.test(l))?.replace(/^.*Adding block (\d+).*$/, '$1') ?? '?';
        t.diagnostic(
          `payer at ${h0}, incoming expiry ${inExpiry}; Bob stopped, 10 blocks mined (tip ${tip}); after the start lightningd went on from block ${resumedAt}; ` +
            `xpay calls: ${record.objects('attempts').map((a) => `start_height ${a.optInt('start_height') ?? '?'} maxdelay ${a.int('maxdelay')}`).join('; ')}; ` +
            `outgoing expiries ${outgoing.join(',')}, margins ${margins.join(',')}; ${answer}`,
        );
        for (const [i, m] of margins.entries()) assert.ok(m >= safety, `outgoing HTLC ${i + 1} expires at ${outgoing[i]}, only ${m} blocks before the incoming one (${inExpiry}): below the safety margin ${safety}`);
      });
    },
  );

  test('CLN v26.06.6 fact: removing a layer while a getroutes naming it waits for listpeerchannels makes askrene abort, and lightningd stop', { skip, timeout: 90_000 }, async (t: TestContext) => {
    await withLogs(async () => {
      const solo = node('solo');
      // Eight getroutes at once: askrene runs 4 (askrene-max-threads), the rest wait, their
      // layer names already checked. A layer changed meanwhile is looked up again, and found.
      const request = { source: solo.id, destination: node('carol').id, amount_msat: 1_000_000, maxfee_msat: 1_000, final_cltv: 18 };
      const show = (a: PromiseSettledResult<unknown>): string => (a.status === 'fulfilled' ? 'answered' : a.reason instanceof RpcError ? a.reason.rpcMessage : String(a.reason)).slice(0, 100);
      const burst = (layer: string, then: () => Promise<unknown>): Promise<Array<PromiseSettledResult<unknown>>> =>
        Promise.allSettled([...Array.from({ length: 8 }, () => solo.rpc.rpc.call('getroutes', { ...request, layers: ['auto.localchans', layer] })), then()]);
      await solo.rpc.call('askrene-create-layer', { layer: 'kept' });
      const kept = await burst('kept', () => solo.rpc.rpc.call('askrene-disable-node', { layer: 'kept', node: solo.id }));
      assert.ok(solo.isRunning(), 'lightningd stopped after a layer was changed during getroutes');
      t.diagnostic(`8 getroutes while askrene-disable-node changed their layer: ${[...new Set(kept.slice(0, 8).map(show))].join('; ')}; lightningd still running`);

      // A layer removed meanwhile is not found: apply_layers asserts it must be auto.sourcefree.
      await solo.rpc.call('askrene-create-layer', { layer: 'doomed' });
      const answers = await burst('doomed', () => solo.rpc.rpc.call('askrene-remove-layer', { layer: 'doomed' }));
      const down = await solo.waitDown(20_000);
      t.diagnostic(`8 getroutes while askrene-remove-layer removed their layer: ${[...new Set(answers.slice(0, 8).map(show))].join('; ')}; askrene-remove-layer: ${show(answers[8] ?? { status: 'fulfilled', value: undefined })}; lightningd ${down ? 'stopped' : 'still running'}: ${solo.printed(ASKRENE_ABORT).slice(0, 1).join('')} ${solo.logLines(/important/).slice(0, 1).join('')}`);
      assert.ok(down, 'lightningd survived a layer removed during a getroutes: askrene may have been fixed (rdv could keep removing layers)');
      assert.ok(solo.printed(ASKRENE_ABORT).length > 0, 'lightningd stopped, but not on askrene\'s apply_layers assertion');
    });
  });
});
