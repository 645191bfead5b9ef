/**
 * Whole rendez-vous on the simulated network: payer -> Alice -> Bob -> Carol,
 * with the real bin/rdv relaying inside Alice's, Bob's and Carol's nodes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildChain, pay, recordIn, relayRecord } from '../helpers/chain.js';
import { eventually, mineSeen, withSimNet } from '../helpers/sim.js';
import { at, runRdv } from '../helpers/rdv.js';
import { stringifyJson } from '../../src/rpc/json.js';

const sha256 = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

describe('one payment pays three payees', () => {
  test('the payer pays Alice\'s invoice; Carol is paid; each relay keeps payout + unused fee budget', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const [payerAlice, aliceBob, bobCarol] = chain.channels;
      const result = await pay(chain);
      assert.ok(result.ok, stringifyJson(result));
      assert.equal(sha256(result.preimage), chain.hash);
      assert.equal(chain.carol.invoices.byHash(chain.hash)?.status, 'paid');
      const alice = await recordIn(chain.alice, chain.hash, 'settled');
      const bob = await recordIn(chain.bob, chain.hash, 'settled');
      // Direct channels: no routing fee is spent, so each keeps payout + the whole fee budget.
      assert.deepEqual([alice.state, alice.earnedMsat, bob.state, bob.earnedMsat], ['settled', 3_000_000n, 'settled', 6_000_000n]);
      assert.equal(payerAlice?.balance.get(chain.alice.id), 109_000_000n);
      assert.equal(aliceBob?.balance.get(chain.bob.id), 106_000_000n);
      assert.equal(bobCarol?.balance.get(chain.carol.id), 100_000_000n);
      for (const n of [chain.alice, chain.bob, chain.carol]) assert.deepEqual(net.heldBy(n), [], `${n.name} holds nothing`);
      assert.deepEqual(net.events, []);
    });
  });

  test('a multi-part payment (two small channels to Alice) is gathered and settles', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net, { payerChannelsSat: [60_000n, 60_000n] });
      const result = await pay(chain);
      assert.ok(result.ok, stringifyJson(result));
      const alice = await recordIn(chain.alice, chain.hash, 'settled');
      assert.ok(alice.parts.length >= 2, `${alice.parts.length} parts`);
      assert.equal(alice.state, 'settled');
      assert.equal((await recordIn(chain.bob, chain.hash, 'settled')).state, 'settled');
    });
  });
});

describe('failures travel back and nothing is stuck', () => {
  test('Carol deleted her invoice: Bob and Alice fail back, no HTLC is left, the payer keeps its money', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const label = chain.carol.invoices.byHash(chain.hash)?.label ?? '';
      chain.carol.invoices.delete(label, 'unpaid');
      const result = await pay(chain, { retryFor: 2 });
      assert.equal(result.ok, false);
      for (const n of [chain.alice, chain.bob, chain.carol]) assert.deepEqual(net.heldBy(n), []);
      const bob = relayRecord(chain.bob, chain.hash);
      assert.deepEqual([bob.state, bob.parts.length], ['open', 0]);
      assert.match(bob.lastError ?? '', /203|doesn't know invoice/);
      assert.equal(relayRecord(chain.alice, chain.hash).state, 'open');
      assert.equal(chain.channels[0]?.balance.get(chain.payer.id), 2_000_000_000n);
    });
  });

  test('after a failed attempt the relays are open again and the payer\'s retry settles', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const bobCarol = chain.channels[2];
      assert.ok(bobCarol);
      bobCarol.enabled = false;
      assert.equal((await pay(chain, { retryFor: 1 })).ok, false);
      assert.equal(relayRecord(chain.bob, chain.hash).state, 'open');
      bobCarol.enabled = true;
      const retry = await pay(chain);
      assert.ok(retry.ok, stringifyJson(retry));
      // The payer's xpay may have tried Alice more than once within its retry_for: each try is a round.
      const outcomes = (await recordIn(chain.bob, chain.hash, 'settled')).attempts.map((a) => a.outcome);
      assert.ok(outcomes.length >= 2, outcomes.join());
      assert.deepEqual(outcomes, [...outcomes.slice(0, -1).map(() => 'failed'), 'complete']);
    });
  });

  test("Carol never settles: Bob's outgoing HTLC expires first and both relays fail back before their incoming HTLCs expire", async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      chain.carol.stallFinal = true;
      const paying = pay(chain, { retryFor: 1 });
      // Carol's lightningd has accepted the HTLC and stalls it (not merely been offered it:
      // a block found before her hook answers would make her refuse it as too close to expiry).
      await eventually(() => chain.carol.stalledHashes().includes(chain.hash), 'Carol holds the HTLC and stalls');
      for (let i = 0; i < 200 && net.heldBy(chain.alice).length + net.heldBy(chain.bob).length > 0; i++) {
        await mineSeen(net, [chain.alice, chain.bob]);
      }
      const result = await paying;
      assert.equal(result.ok, false);
      const expired = net.events.filter((e) => e.type === 'htlc_expired');
      assert.deepEqual(expired.map((e) => e.node), ['carol'], 'only the stalling payee lets an HTLC expire');
      assert.equal(relayRecord(chain.bob, chain.hash).state, 'open');
      assert.equal(relayRecord(chain.alice, chain.hash).state, 'open');
      chain.carol.releaseStalled();
    });
  });
});

describe('restarts while holding', () => {
  test("Bob's lightningd restarts while he holds the payment: it completes and Carol is paid once", async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      chain.carol.stallFinal = true;
      const paying = pay(chain);
      await eventually(() => net.heldBy(chain.carol).length > 0, 'Carol holds the HTLC');
      assert.equal((await recordIn(chain.bob, chain.hash, 'paying')).state, 'paying');
      await chain.bob.restart();
      chain.carol.releaseStalled();
      const result = await paying;
      assert.ok(result.ok, stringifyJson(result));
      const bobPays = chain.bob.payer.sendpays.filter((s) => s.paymentHash === chain.hash);
      assert.equal(new Set(bobPays.map((s) => s.groupid)).size, 1, 'one payment group');
      assert.equal(bobPays.filter((s) => s.status === 'complete').length, bobPays.length);
      assert.equal((await recordIn(chain.bob, chain.hash, 'settled')).state, 'settled');
    });
  });

  test("Bob's plugin is SIGKILLed while holding (important-plugin): lightningd stops, restarts, replays, and pays once", async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      chain.carol.stallFinal = true;
      const paying = pay(chain);
      await eventually(() => net.heldBy(chain.carol).length > 0, 'Carol holds the HTLC');
      await chain.bob.killPlugin();
      assert.equal(chain.bob.up, false, 'an important plugin takes lightningd down with it');
      await chain.bob.start();
      chain.carol.releaseStalled();
      const result = await paying;
      assert.ok(result.ok, stringifyJson(result));
      assert.equal(new Set(chain.bob.payer.sendpays.filter((s) => s.paymentHash === chain.hash).map((s) => s.groupid)).size, 1);
    });
  });

  test("without rdv-guard, Bob's crash makes lightningd fail his HTLC: he pays Carol for nothing, and his record says so", async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net, { bobGuard: false });
      chain.carol.stallFinal = true;
      const paying = pay(chain, { retryFor: 1 });
      await eventually(() => net.heldBy(chain.carol).length > 0, 'Carol holds the HTLC');
      await chain.bob.killPlugin();
      await chain.bob.start();
      chain.carol.releaseStalled();
      assert.equal((await paying).ok, false, 'the payer is refunded');
      const bob = await recordIn(chain.bob, chain.hash, 'settled');
      assert.equal(bob.receivedMsat, 0n);
      assert.equal(bob.earnedMsat, -100_000_000n, 'Bob is out of pocket by what he paid Carol');
      // Said once lightningd had its chance to replay the part (rdv-mpp-timeout after the restart).
      await eventually(() => /1 of 1 incoming part\(s\) were not held/.test(relayRecord(chain.bob, chain.hash).lastError ?? ''), 'the record says why');
      const status = await runRdv([...at(chain.bob), 'status', chain.hash.slice(0, 8)]);
      assert.match(status.stdout, /earned\s+-100,000 sat/);
    }, { pluginOptions: { 'rdv-mpp-timeout': 2 } });
  });

  test('Alice restarts after gathering, before Bob settles: the replayed parts are resolved with the preimage', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net, { payerChannelsSat: [60_000n, 60_000n] });
      chain.carol.stallFinal = true;
      const paying = pay(chain);
      await eventually(() => relayRecord(chain.alice, chain.hash).state === 'paying', 'Alice pays Bob');
      await chain.alice.restart();
      chain.carol.releaseStalled();
      assert.ok((await paying).ok);
      assert.equal((await recordIn(chain.alice, chain.hash, 'settled')).state, 'settled');
      assert.deepEqual(net.heldBy(chain.alice), []);
    });
  });
});
