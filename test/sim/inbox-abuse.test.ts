/**
 * Peers cannot abuse Bob's inbox (issue 8). Carol is the real next payee (a
 * channel peer); Mallory is a channel peer who learned the hash; strangers
 * have no channel. Messages reach Bob's custommsg hook as lightningd delivers
 * them from any connected peer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { PaymentHash } from '../../src/chain/ids.js';
import { encodePassback } from '../../src/chain/passback.js';
import { ackKey, KEY_ROOT, parseInbox } from '../../src/chain/record.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';
import { makeInvoice } from '../helpers/invoices.js';
import { at, runRdv } from '../helpers/rdv.js';
import { eventually, inboxReads, withSimNet } from '../helpers/sim.js';

interface Nodes {
  bob: SimNode;
  carol: SimNode;
  mallory: SimNode;
}

async function nodes(net: SimNetwork): Promise<Nodes> {
  const bob = await net.addNode('bob', { plugin: true });
  const carol = await net.addNode('carol', { plugin: true });
  const mallory = await net.addNode('mallory');
  net.openChannel(bob, carol, 2_000_000n);
  net.openChannel(mallory, bob, 2_000_000n);
  return { bob, carol, mallory };
}

const passBack = (to: SimNode, fromId: string, bolt11: string): Promise<Record<string, unknown>> =>
  to.callHook('custommsg', () => ({ payload: encodePassback({ kind: 'invoice', bolt11 }), peer_id: fromId }));

/** Inbox entries in the datastore, by sender. */
function inboxBySender(node: SimNode): Map<string, number> {
  const counts = new Map<string, number>();
  const listed = node.datastore.listdatastore({ key: [...KEY_ROOT, 'inbox'] }) as { datastore: Array<{ string?: string }> };
  for (const e of listed.datastore) {
    if (!e.string) continue;
    const from = parseInbox(e.string).from;
    counts.set(from, (counts.get(from) ?? 0) + 1);
  }
  return counts;
}

const inboxStats = async (node: SimNode): Promise<Record<string, number>> => ((await node.plugin?.request('rdv-status', {})) as { inbox: Record<string, number> }).inbox;
/** One pass-back, then wait until Bob's rdv has dealt with it (a peer that paces its messages is never dropped). */
async function passBackPaced(to: SimNode, fromId: string, bolt11: string): Promise<void> {
  const seen = async (): Promise<number> => {
    const st = await inboxStats(to);
    return (st.stored ?? 0) + (st.refused ?? 0) + (st.bad ?? 0);
  };
  const before = await seen();
  await passBack(to, fromId, bolt11);
  await eventually(async () => (await seen()) > before, 'the message is handled');
}
const hashOf = (): PaymentHash => randomBytes(32).toString('hex') as PaymentHash;

async function carolPassesBack(carol: SimNode, bob: SimNode, amount = '100000sat'): Promise<{ hash: string; stdout: string; stderr: string; code: number | null }> {
  const inv = JSON.parse((await runRdv([...at(carol), '--json', 'join', '--last', '--amount', amount])).stdout) as { payment_hash: string };
  const r = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id]);
  return { hash: inv.payment_hash, ...r };
}

describe('a flood from one peer', () => {
  test("Mallory (a channel peer) sends 10,000 pass-backs: every hook call is answered at once, at most 20 are stored, and Carol's invoice still lands", async () => {
    await withSimNet(async (net) => {
      const { bob, carol, mallory } = await nodes(net);
      const invoices = Array.from({ length: 25 }, () => makeInvoice('mallory'));
      // How fast is for bench/inbox-flood.bench.ts to measure (no timing assertion here:
      // a busy machine is slow); here, that every call is answered and the queue stays bounded.
      const replies = await Promise.all(Array.from({ length: 10_000 }, (_, i) => passBack(bob, mallory.id, invoices[i % invoices.length] ?? '')));
      assert.ok(replies.every((r) => r.result === 'continue'));
      await eventually(async () => ((await inboxStats(bob)).queued ?? 1) === 0, 'the queue drains', 30_000);
      const stats = await inboxStats(bob);
      assert.ok((inboxBySender(bob).get(mallory.id) ?? 0) <= 20, `Mallory holds ${inboxBySender(bob).get(mallory.id)} entries`);
      assert.ok((stats.dropped ?? 0) > 9_000, `dropped ${stats.dropped} of 10,000 at the queue`);
      const real = await carolPassesBack(carol, bob);
      assert.equal(real.code, 0, real.stderr);
      assert.match(real.stdout, /delivered invoice/);
      assert.equal(inboxBySender(bob).get(carol.id), 1);
    });
  });
});

describe('a flood from many peers', () => {
  test("300 strangers send 10 pass-backs each at once: nothing of theirs is stored, every hook call is answered, and Carol's invoice lands", async () => {
    await withSimNet(async (net) => {
      const { bob, carol } = await nodes(net);
      const senders = Array.from({ length: 300 }, (_, i) => nodeKeyFromSeed(`stranger-${i}`).id);
      const invoices = Array.from({ length: 5 }, () => makeInvoice('eve'));
      const replies = await Promise.all(senders.flatMap((id) => Array.from({ length: 10 }, (_, j) => passBack(bob, id, invoices[j % invoices.length] ?? ''))));
      assert.ok(replies.every((r) => r.result === 'continue'));
      await eventually(async () => { const st = await inboxStats(bob); return st.queued === 0 && st.working === 0; }, 'the queue drains', 30_000);
      const st = await inboxStats(bob);
      assert.equal((st.refused ?? 0) + (st.dropped ?? 0), 3_000, `refused ${st.refused}, dropped ${st.dropped}`);
      assert.equal(inboxBySender(bob).size, 0);
      const real = await carolPassesBack(carol, bob);
      assert.match(real.stdout, /delivered invoice/);
    });
  });
});

describe('who may store an invoice', () => {
  test('strangers (no channel, not trusted) store nothing, and each gets one refusal a minute, not one per message', async () => {
    await withSimNet(async (net) => {
      const { bob } = await nodes(net);
      const strangers = ['eve', 'trent'].map((s) => ({ seed: s, id: nodeKeyFromSeed(s).id }));
      const acksBefore = bob.server.calls.filter((c) => c.method === 'sendcustommsg').length;
      for (const s of strangers) for (let i = 0; i < 30; i++) await passBack(bob, s.id, makeInvoice(s.seed));
      await eventually(async () => { const st = await inboxStats(bob); return (st.refused ?? 0) + (st.dropped ?? 0) >= 60 && st.queued === 0; }, 'all 60 refused or dropped', 20_000);
      assert.equal(inboxBySender(bob).size, 0);
      const acks = bob.server.calls.filter((c) => c.method === 'sendcustommsg').length - acksBefore;
      assert.equal(acks, 2, 'one refusal acknowledgement per stranger');
      assert.equal(bob.log.filter((l) => /refused an invoice passed back by/.test(l)).length, 2, 'one log line per stranger');
    });
  });

  test('rdv trust add lets a node without a channel pass back; rdv trust remove stops it', async () => {
    await withSimNet(async (net) => {
      const { bob } = await nodes(net);
      const eve = nodeKeyFromSeed('eve').id;
      const add = await runRdv([...at(bob), 'trust', 'add', eve, '--note', 'Eve, courier']);
      assert.equal(add.code, 0, add.stderr);
      assert.match((await runRdv([...at(bob), 'trust', 'list'])).stdout, new RegExp(`${eve}.*Eve, courier`));
      await passBack(bob, eve, makeInvoice('eve'));
      await eventually(() => inboxBySender(bob).get(eve) === 1, "Eve's invoice is stored");
      const listed = JSON.parse((await runRdv([...at(bob), '--json', 'inbox'])).stdout) as { invoices: Array<{ from: string; from_trust: string }> };
      assert.deepEqual(listed.invoices.map((i) => [i.from, i.from_trust]), [[eve, 'trusted']]);
      assert.equal((await runRdv([...at(bob), 'trust', 'remove', eve])).code, 0);
      await new Promise((r) => setTimeout(r, 5_200)); // the plugin's trust list is at most 5 s old
      const refused = (await inboxStats(bob)).refused ?? 0;
      await passBack(bob, eve, makeInvoice('eve'));
      await eventually(async () => ((await inboxStats(bob)).refused ?? 0) > refused, "Eve's next one is refused");
      assert.equal(inboxBySender(bob).get(eve), 1);
    });
  });

  test('with rdv-inbox-from=anyone a stranger may store one, flagged in rdv inbox, and inbox --wait does not suggest it', async () => {
    await withSimNet(
      async (net) => {
        const { bob, carol } = await nodes(net);
        const eve = nodeKeyFromSeed('eve').id;
        const reads = inboxReads(bob);
        const waiting = runRdv([...at(bob), 'inbox', '--wait', '--timeout', '30']);
        // Passed back before inbox --wait has looked, it would be old news to it.
        await eventually(() => inboxReads(bob) > reads, 'inbox --wait has read the inbox');
        await passBack(bob, eve, makeInvoice('eve'));
        await eventually(() => inboxBySender(bob).get(eve) === 1, "Eve's invoice is stored");
        const list = await runRdv([...at(bob), 'inbox']);
        assert.match(list.stdout, /STRANGER/);
        assert.match(list.stderr, /neither a channel peer nor a node you trust/);
        const real = await carolPassesBack(carol, bob);
        const waited = await waiting;
        assert.equal(waited.code, 0, waited.stderr);
        assert.match(waited.stderr, /a STRANGER .*not suggested; still waiting/);
        assert.match(waited.stdout, new RegExp(`Join it with: rdv join --from-inbox ${real.hash.slice(0, 8)}`));
      },
      { pluginOptions: { 'rdv-inbox-from': 'anyone' } },
    );
  });

  test('a bad rdv-inbox-from does not disable rdv (lightningd would drop it quietly): the safe default is used, and logged and shown by rdv status', async () => {
    await withSimNet(
      async (net) => {
        const { bob } = await nodes(net);
        await eventually(() => bob.log.some((l) => /rdv-inbox-from=everyone: say peers \(channel peers and trusted nodes\) or anyone; using rdv-inbox-from=peers/.test(l)), 'the error is logged');
        const status = await runRdv([...at(bob), 'status']);
        assert.match(status.stderr, /plugin option: rdv-inbox-from=everyone/);
        assert.equal((await inboxStats(bob)).from, 'peers' as never);
      },
      { pluginOptions: { 'rdv-inbox-from': 'everyone' } },
    );
  });
});

describe('pre-emption: several candidates for one hash', () => {
  test("Mallory passes back her own invoice for Carol's hash first: both are kept, join without --from refuses naming both, --from picks Carol's", async () => {
    await withSimNet(async (net) => {
      const { bob, carol, mallory } = await nodes(net);
      const inv = JSON.parse((await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '100000sat'])).stdout) as { payment_hash: string };
      await passBack(bob, mallory.id, makeInvoice('mallory', { paymentHash: inv.payment_hash as PaymentHash }));
      await eventually(() => inboxBySender(bob).get(mallory.id) === 1, "Mallory's invoice is stored");
      const delivered = await runRdv([...at(carol), 'pass-back', inv.payment_hash, '--to', bob.id]);
      assert.match(delivered.stdout, /delivered invoice/, 'first-come does not win: Carol is stored too');
      const list = await runRdv([...at(bob), 'inbox']);
      assert.match(list.stderr, /2 nodes passed back an invoice for [0-9a-f]{8}: only one is the next payee; join with --from <node id>/);
      assert.match(list.stdout, new RegExp(`carol \\(${carol.id.slice(0, 8)}…\\)\\s+channel peer`), 'the sender by its alias from gossip, and a channel peer');
      assert.match(list.stdout, new RegExp(`mallory \\(${mallory.id.slice(0, 8)}…\\)\\s+channel peer`));
      const budgets = ['--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '60'];
      const refused = await runRdv([...at(bob), 'join', '--from-inbox', inv.payment_hash.slice(0, 8), ...budgets]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, new RegExp(`2 nodes passed back an invoice for .*${carol.id.slice(0, 8)}.*${mallory.id.slice(0, 8)}|2 nodes passed back an invoice for .*${mallory.id.slice(0, 8)}.*${carol.id.slice(0, 8)}`));
      assert.match(refused.stderr, /choose it with --from <node id>/);
      const joined = await runRdv([...at(bob), '--json', 'join', '--from-inbox', inv.payment_hash.slice(0, 8), '--from', carol.id, ...budgets]);
      assert.equal(joined.code, 0, joined.stderr);
      assert.equal(inboxBySender(bob).size, 0, 'every candidate for the joined hash leaves the inbox');
    });
  });
});

describe('acknowledgements come only from the node the invoice was passed to', () => {
  test("Mallory's forged \"refused: spoof\" for Carol's hash, before and after Bob's real one, changes nothing", async () => {
    await withSimNet(async (net) => {
      const { bob, carol, mallory } = await nodes(net);
      net.openChannel(mallory, carol, 1_000_000n);
      const forge = (hash: string): Promise<Record<string, unknown>> =>
        carol.callHook('custommsg', () => ({ payload: encodePassback({ kind: 'ack', paymentHash: hash, accepted: false, reason: 'spoof' }), peer_id: mallory.id }));
      const r = await carolPassesBack(carol, bob);
      assert.match(r.stdout, /delivered invoice/);
      await forge(r.hash);
      await eventually(async () => ((await inboxStats(carol)).acks_dropped ?? 0) >= 1, 'the forgery is dropped');
      assert.match(carol.datastore.get(ackKey(r.hash)) ?? '', /"accepted":true/);
      assert.ok(carol.log.some((l) => new RegExp(`dropped an acknowledgement from ${mallory.id}: we passed ${r.hash.slice(0, 8)} to ${bob.id}, not to it`).test(l)));
      // An ack for a hash Carol never passed anywhere is dropped too.
      await forge(hashOf());
      await eventually(async () => ((await inboxStats(carol)).acks_dropped ?? 0) >= 2, 'dropped');
    });
  });
});

describe('bounds over time', () => {
  test('expired entries are pruned to make room; the bound holds across a restart with a full inbox', async () => {
    await withSimNet(async (net) => {
      const { bob, carol, mallory } = await nodes(net);
      // Twenty short-lived invoices must be in the inbox at once, then all expire. Expiry is
      // wall-clock time and storing twenty takes what it takes on this machine (more than 3 s
      // when it is busy: the first had expired, and were pruned, before the last were stored),
      // so their common life starts at 5 s and doubles until all twenty were in at once.
      let expiresAt = 0;
      for (let life = 5; inboxBySender(bob).get(mallory.id) !== 20; life *= 2) {
        assert.ok(life <= 80, 'twenty invoices living 80 s could not all be stored before they expired');
        // A round that fell short: let what is left of it expire first (the next admissions prune it).
        await eventually(() => Date.now() / 1000 > expiresAt, 'the last round has expired', 90_000);
        const createdAt = Math.floor(Date.now() / 1000);
        expiresAt = createdAt + life;
        for (let i = 0; i < 20; i++) await passBackPaced(bob, mallory.id, makeInvoice('mallory', { createdAt, expirySeconds: life }));
      }
      // The state the rest needs: all twenty have expired by the clock the plugin reads.
      await eventually(() => Date.now() / 1000 > expiresAt, 'the 20 short-lived invoices have expired', 90_000);
      const fresh = Array.from({ length: 21 }, () => makeInvoice('mallory'));
      for (const inv of fresh.slice(0, 20)) await passBackPaced(bob, mallory.id, inv);
      assert.equal(inboxBySender(bob).get(mallory.id), 20, 'the expired ones were pruned');
      await bob.restart();
      const refused = (await inboxStats(bob)).refused ?? 0;
      await passBack(bob, mallory.id, fresh[20] ?? '');
      await eventually(async () => ((await inboxStats(bob)).refused ?? 0) > refused, 'the 21st is refused after the restart');
      assert.equal(inboxBySender(bob).get(mallory.id), 20);
      const real = await carolPassesBack(carol, bob);
      assert.match(real.stdout, /delivered invoice/);
    });
  });
});
