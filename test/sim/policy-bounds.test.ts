/**
 * A policy's --from node cannot make unlimited relays (issue 15): Bob has a policy
 * for Mallory's pass-backs, and Mallory, his channel peer, floods him with
 * invoices of her own. Past the policy's bounds each is refused with the reason
 * in the acknowledgement, and nothing is written for it. And an open policy relay
 * nobody paid ends: expired at the first block after its invoice, then pruned.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PaymentHash } from '../../src/chain/ids.js';
import { decodePassback, encodePassback } from '../../src/chain/passback.js';
import type { PolicyInput } from '../../src/chain/policy/input.js';
import { KEY_ROOT, parseRecord, relayKey } from '../../src/chain/record.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { recordIn } from '../helpers/chain.js';
import { makeRecord } from '../helpers/builders.js';
import { seedRecord } from '../helpers/fake-lightningd.js';
import { makeInvoice } from '../helpers/invoices.js';
import { setPolicies } from '../helpers/policies.js';
import { at, runRdv } from '../helpers/rdv.js';
import { eventually, withSimNet } from '../helpers/sim.js';

/** Bob, with a policy for Mallory's pass-backs; Mallory, a channel peer without rdv (Bob can pay her: a route exists). */
async function bobAndMallory(net: SimNetwork, bounds: Partial<PolicyInput>): Promise<{ bob: SimNode; mallory: SimNode }> {
  const bob = await net.addNode('bob', { plugin: true });
  const mallory = await net.addNode('mallory');
  net.openChannel(bob, mallory, 20_000_000n);
  setPolicies(bob, [{ id: 'bobpol01', from: mallory.id, payout: '1%', feeBudget: '1000sat', delayBudget: '60', ...bounds }]);
  return { bob, mallory };
}

const inboxStats = async (node: SimNode): Promise<Record<string, number>> => ((await node.plugin?.request('rdv-status', {})) as { inbox: Record<string, number> }).inbox;
const handled = async (node: SimNode): Promise<number> => {
  const st = await inboxStats(node);
  return (st.policy_joined ?? 0) + (st.policy_refused ?? 0);
};

/**
 * Mallory passes back each invoice, the next once Bob's rdv has answered the last
 * (so none is dropped at the queue); each one here is answered, a new invoice or
 * a retry of one joined. Answered is both states the tests then read: the count
 * (rdv-status, on the plugin's stdout, behind its log lines) and the acknowledgement
 * (sendcustommsg, on its RPC socket). The plugin sends the ack before it answers
 * rdv-status, but nothing orders two connections here: when its log line wakes us
 * and the rdv-status answer is read with it, the count is seen before the ack.
 */
async function flood(bob: SimNode, mallory: SimNode, invoices: readonly string[]): Promise<void> {
  for (const bolt11 of invoices) {
    const before = await handled(bob);
    const acked = acksTo(bob, mallory).length;
    await bob.callHook('custommsg', () => ({ payload: encodePassback({ kind: 'invoice', bolt11 }), peer_id: mallory.id }));
    await eventually(async () => (await handled(bob)) > before && acksTo(bob, mallory).length > acked, 'Bob answered the pass-back');
  }
}

/** Bob's acknowledgements to Mallory, in order. */
function acksTo(bob: SimNode, mallory: SimNode): Array<{ accepted: boolean; reason: string }> {
  return bob.server.calls
    .filter((c) => c.method === 'sendcustommsg' && c.params.node_id === mallory.id)
    .map((c) => decodePassback(String(c.params.msg)))
    .flatMap((m) => (m.ok && m.value.kind === 'ack' ? [{ accepted: m.value.accepted, reason: m.value.reason ?? '' }] : []));
}

/** The relay records in Bob's datastore joined by the policy. */
function policyRecords(bob: SimNode): number {
  const listed = bob.datastore.listdatastore({ key: [...KEY_ROOT, 'relay'] }) as { datastore: Array<{ string?: string }> };
  return listed.datastore.filter((e) => e.string !== undefined && parseRecord(e.string).role === 'relay' && (parseRecord(e.string) as { policy?: string }).policy === 'bobpol01').length;
}

const inboxEntries = (bob: SimNode): number => (bob.datastore.listdatastore({ key: [...KEY_ROOT, 'inbox'] }) as { datastore: unknown[] }).datastore.length;

describe("a policy's bounds: Mallory floods Bob with pass-backs", () => {
  test('--max-open 3: 40 invoices, 3 joined, 37 refused naming the bound, and nothing written for them', () =>
    withSimNet(async (net) => {
      const { bob, mallory } = await bobAndMallory(net, { maxOpen: '3' });
      const invoices = Array.from({ length: 40 }, () => makeInvoice('mallory'));
      await flood(bob, mallory, invoices);
      const acks = acksTo(bob, mallory);
      assert.equal(acks.length, 40);
      assert.deepEqual(acks.slice(0, 3), Array.from({ length: 3 }, () => ({ accepted: true, reason: 'joined by policy bobpol01' })));
      for (const a of acks.slice(3)) {
        assert.equal(a.accepted, false);
        assert.match(a.reason, /^policy bobpol01: 3 relays it joined are open and unpaid, its limit \(--max-open 3\): try again when one is paid or expires$/);
      }
      assert.equal(policyRecords(bob), 3, 'a record for each join, none for a refusal');
      assert.equal(inboxEntries(bob), 0, 'nothing in the inbox either');
      assert.equal(bob.invoices.all().length, 0, 'no invoice left behind');
      assert.equal(bob.log.filter((l) => /refused invoice .*further refusals by its bounds are not logged for a minute/.test(l)).length, 1, 'one log line for the flood');
      // A retry of an invoice it joined is answered "joined" again, at the bound: it is no new relay.
      await flood(bob, mallory, [invoices[1] ?? '']);
      assert.deepEqual(acksTo(bob, mallory).at(-1), { accepted: true, reason: 'joined by policy bobpol01' });
      assert.equal(policyRecords(bob), 3);
    }));

  test('--max-per-minute 5: 12 invoices at once, 5 joined, 7 refused with when to try again', () =>
    withSimNet(async (net) => {
      const { bob, mallory } = await bobAndMallory(net, { maxPerMinute: '5' });
      await flood(bob, mallory, Array.from({ length: 12 }, () => makeInvoice('mallory')));
      const acks = acksTo(bob, mallory);
      assert.deepEqual(acks.map((a) => a.accepted), [...Array.from({ length: 5 }, () => true), ...Array.from({ length: 7 }, () => false)]);
      for (const a of acks.slice(5)) assert.match(a.reason, /^policy bobpol01: 5 joins began in the last minute, its limit \(--max-per-minute 5\): try again in \d+ s$/);
      assert.equal(policyRecords(bob), 5);
      assert.equal(inboxEntries(bob), 0);
    }));

  test('a description longer than --max-description is refused: Bob\'s node signs no text Mallory chose past the bound', () =>
    withSimNet(async (net) => {
      const { bob, mallory } = await bobAndMallory(net, { maxDescription: '31' });
      await flood(bob, mallory, [makeInvoice('mallory', { description: 'I, Bob, owe the bearer 1 BTC!!!' }), makeInvoice('mallory', { description: 'I, Bob, owe the bearer 10 BTC!!!' })]);
      const acks = acksTo(bob, mallory);
      assert.deepEqual(acks[0], { accepted: true, reason: 'joined by policy bobpol01' });
      assert.equal(acks[1]?.accepted, false);
      assert.match(acks[1]?.reason ?? '', /^policy bobpol01: the invoice's description is 32 bytes, over the policy's limit of 31 \(--max-description\)/);
      assert.equal(policyRecords(bob), 1);
    }));
});

describe('an open policy relay nobody pays ends', () => {
  test('its invoice expired: the plugin marks it expired at the next block, and rdv prune then removes it', () =>
    withSimNet(async (net) => {
      const { bob } = await bobAndMallory(net, {});
      const now = Math.floor(Date.now() / 1000);
      // Joined by the policy two hours ago, with its invoice's life of an hour.
      const hash = 'e5'.repeat(32) as PaymentHash;
      seedRecord(bob, makeRecord({ paymentHash: hash, policy: 'bobpol01', state: 'open', createdAt: now - 7_200, updatedAt: now - 7_200, expiresAt: now - 3_600 }));
      await bob.plugin?.request('rdv-reload', { payment_hash: hash });
      const kept = JSON.parse((await runRdv([...at(bob), '--json', 'prune', '--older-than', '30m'])).stdout) as { kept: Array<{ payment_hash: string; reason: string }> };
      assert.match(kept.kept.find((k) => k.payment_hash === hash)?.reason ?? '', /still open, though its invoice expired 60m ago: the plugin marks it expired at the next block/);
      await net.mine(1);
      assert.equal((await recordIn(bob, hash, 'expired')).state, 'expired');
      const pruned = await runRdv([...at(bob), '--json', 'prune', '--older-than', '30m']);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.deepEqual((JSON.parse(pruned.stdout) as { pruned: Array<{ payment_hash: string; state: string }> }).pruned.map((p) => [p.payment_hash, p.state]), [[hash, 'expired']]);
      assert.equal(bob.datastore.get(relayKey(hash)), undefined);
    }));
});
