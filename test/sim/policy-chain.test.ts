/**
 * Hands-free relays (rdv policy): Carol, the last payee, is the only one who types
 * anything. Bob's policy joins what Carol passes back and passes his invoice to
 * Alice; Alice's joins Bob's and passes hers to the payer's node, whose rdv keeps
 * it in its inbox. One payment of Alice's invoice pays all three.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import type { PolicyInput } from '../../src/chain/policy/input.js';
import { ackKey, inboxKey, parseInbox, type RelayRecord } from '../../src/chain/record.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import { fourNodes, xpayFrom, type FourNodes } from '../helpers/four-nodes.js';
import { recordIn, relayRecord } from '../helpers/chain.js';
import { setPolicies } from '../helpers/policies.js';
import { at, runRdv } from '../helpers/rdv.js';
import { eventually, withSimNet } from '../helpers/sim.js';

/** How long a relay's own invoice lives, as the invoice says. */
const expirySeconds = (r: RelayRecord): number => {
  const d = decodeBolt11(r.bolt11);
  if (!d.ok) throw new Error(d.error);
  return d.value.expirySeconds;
};

type Net = FourNodes;

const network = (net: SimNetwork): Promise<Net> => fourNodes(net, { payerRdv: true });

function handsFree(n: Net, bob: Partial<PolicyInput> = {}): void {
  setPolicies(n.bob, [{ id: 'bobpol01', from: n.carol.id, payout: '5%', feeBudget: '1000sat', delayBudget: '60', passTo: `${n.alice.id}@127.0.0.1:${n.alice.port}`, ...bob }]);
  setPolicies(n.alice, [{ id: 'alipol01', from: n.bob.id, payout: '2000sat', feeBudget: '1%', delayBudget: '60', passTo: n.payer.id }]);
}

async function carolSells(n: Net, amount = '100000sat', expiry?: string): Promise<{ hash: string; passBack: { code: number; stdout: string; stderr: string } }> {
  const joined = await runRdv([...at(n.carol), '--json', 'join', '--last', '--amount', amount, '--description', 'order 42', ...(expiry ? ['--expiry', expiry] : [])]);
  assert.equal(joined.code, 0, joined.stderr);
  const hash = (JSON.parse(joined.stdout) as { payment_hash: string }).payment_hash;
  const passBack = await runRdv([...at(n.carol), 'pass-back', hash.slice(0, 8), '--to', `${n.bob.id}@127.0.0.1:${n.bob.port}`]);
  return { hash, passBack };
}

/** The invoice the payer's rdv keeps in its inbox for this hash, from Alice. */
async function payerInbox(n: Net, hash: string): Promise<string> {
  let bolt11: string | undefined;
  await eventually(() => {
    const text = n.payer.datastore.get(inboxKey(hash, n.alice.id));
    bolt11 = text === undefined ? undefined : parseInbox(text).bolt11;
    return bolt11 !== undefined;
  }, `the payer's inbox holds Alice's invoice for ${hash.slice(0, 8)}`);
  return bolt11 ?? '';
}

const xpay = xpayFrom;

describe('rdv policy: a three-payee chain where only the last payee types anything', () => {
  test("Carol's pass-back is joined by Bob's policy, Bob's by Alice's, the payer's inbox gets Alice's invoice, and one payment pays all three", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      const { hash, passBack } = await carolSells(n);
      assert.equal(passBack.code, 0, passBack.stderr);
      assert.match(passBack.stdout, /joined by policy bobpol01/);
      const bolt11 = await payerInbox(n, hash);
      const bobRec = relayRecord(n.bob, hash);
      const aliceRec = relayRecord(n.alice, hash);
      assert.deepEqual([bobRec.policy, bobRec.payoutMsat, bobRec.feeBudgetMsat, bobRec.receivedFrom], ['bobpol01', 5_000_000n, 1_000_000n, n.carol.id]);
      // Alice's fee budget is 1% of Bob's 106,000 sat.
      assert.deepEqual([aliceRec.policy, aliceRec.payoutMsat, aliceRec.feeBudgetMsat, aliceRec.amountMsat], ['alipol01', 2_000_000n, 1_060_000n, 109_060_000n]);
      assert.equal(bolt11, aliceRec.bolt11);
      await xpay(n.payer, bolt11);
      const [a, b] = [await recordIn(n.alice, hash, 'settled'), await recordIn(n.bob, hash, 'settled')];
      assert.deepEqual([a.state, b.state], ['settled', 'settled']);
      assert.equal(n.carol.invoices.byHash(hash)?.status, 'paid');
      // rdv status names the policy.
      const s = JSON.parse((await runRdv([...at(n.bob), '--json', 'status', hash.slice(0, 8)])).stdout) as { records: Array<{ policy?: string }> };
      assert.equal(s.records[0]?.policy, 'bobpol01');
      const text = await runRdv([...at(n.bob), 'status']);
      assert.match(text.stdout, /policy bobpol01/);
    }));

  test('Carol passes the same invoice back again (she missed the answer): Bob says joined again and joins nothing twice', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      const { hash, passBack } = await carolSells(n);
      assert.equal(passBack.code, 0, passBack.stderr);
      const again = await runRdv([...at(n.carol), 'pass-back', hash.slice(0, 8), '--to', n.bob.id]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /joined by policy bobpol01/);
      assert.equal(n.bob.invoices.all().filter((i) => i.label.startsWith('rdv-hints')).length, 0, 'no invoice left behind');
      assert.equal(relayRecord(n.bob, hash).policy, 'bobpol01');
    }));

  test('a pass-back over the policy\'s maximum is refused with an ack that says why, and nothing is written', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n, { maxAmount: '50000sat' });
      const { hash, passBack } = await carolSells(n);
      assert.equal(passBack.code, 1);
      assert.match(passBack.stderr, /refused the invoice: policy bobpol01: 100,000 sat is over policy bobpol01's maximum of 50,000 sat/);
      assert.equal(n.bob.datastore.get(['rdv', 'v1', 'relay', hash]), undefined, 'no record');
      assert.equal(n.bob.datastore.get(inboxKey(hash, n.carol.id)), undefined, 'nothing in the inbox either');
      assert.equal(n.bob.invoices.all().length, 0, 'no invoice made');
    }));

  test('a fee budget the route cannot meet is refused: a policy joins only what it can pay on', () =>
    withSimNet(async (net) => {
      // Bob reaches Carol only through Dave, who charges 1 sat + 10 ppm.
      const bob = await net.addNode('bob', { plugin: true, guard: true, important: true });
      const dave = await net.addNode('dave');
      const carol = await net.addNode('carol', { plugin: true });
      const alice = await net.addNode('alice', { plugin: true });
      net.openChannel(bob, dave, 2_000_000n);
      net.openChannel(dave, carol, 2_000_000n);
      setPolicies(bob, [{ id: 'bobpol01', from: carol.id, payout: '5%', feeBudget: '0sat', delayBudget: '100', passTo: alice.id }]);
      const { hash, passBack } = await carolSells({ payer: alice, alice, bob, carol });
      assert.equal(passBack.code, 1, passBack.stdout);
      assert.match(passBack.stderr, /policy bobpol01: the route to the next payee costs \d[\d.,]* sat in fees, over the fee budget of 0 sat/);
      assert.equal(bob.datastore.get(['rdv', 'v1', 'relay', hash]), undefined);
    }));

  test('a policy removed before the pass-back joins nothing: the invoice waits in the inbox as usual', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      setPolicies(n.bob, []);
      const { hash, passBack } = await carolSells(n);
      assert.equal(passBack.code, 0, passBack.stderr);
      assert.match(passBack.stdout, /They join with: rdv join --from-inbox/);
      assert.ok(n.bob.datastore.get(inboxKey(hash, n.carol.id)));
      assert.equal(n.bob.datastore.get(['rdv', 'v1', 'relay', hash]), undefined);
    }));

  test('a policy removed after the join leaves the relay it made working: the payment still pays all three', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      const { hash } = await carolSells(n);
      const bolt11 = await payerInbox(n, hash);
      setPolicies(n.bob, []);
      setPolicies(n.alice, []);
      await xpay(n.payer, bolt11);
      assert.equal((await recordIn(n.bob, hash, 'settled')).state, 'settled');
      assert.equal(n.carol.invoices.byHash(hash)?.status, 'paid');
    }));

  test('two chains at once through the same relays: each joined once, each paid', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      const [one, two] = await Promise.all([carolSells(n, '100000sat'), carolSells(n, '40000sat')]);
      for (const c of [one, two]) assert.equal(c.passBack.code, 0, c.passBack.stderr);
      const bolt11s = await Promise.all([payerInbox(n, one.hash), payerInbox(n, two.hash)]);
      await Promise.all(bolt11s.map((b) => xpay(n.payer, b)));
      for (const c of [one, two]) {
        const rec: RelayRecord = await recordIn(n.bob, c.hash, 'settled');
        assert.equal(rec.state, 'settled');
        assert.equal(n.carol.invoices.byHash(c.hash)?.status, 'paid');
      }
      assert.equal(relayRecord(n.bob, two.hash).payoutMsat, 2_000_000n, '5% of 40,000 sat');
    }));

  test("a policy relay's invoice lives at most the policy's --max-invoice-life (1h by default), whatever the downstream one says", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      setPolicies(n.alice, [{ id: 'alipol01', from: n.bob.id, payout: '2000sat', feeBudget: '1%', delayBudget: '60', passTo: n.payer.id, maxInvoiceLife: '40m' }]);
      // Carol's invoice lives 30 days: before the bound, Bob's (and so his open relay) lived as long, less 10 minutes.
      const { hash, passBack } = await carolSells(n, '100000sat', '30d');
      assert.equal(passBack.code, 0, passBack.stderr);
      await payerInbox(n, hash);
      const bobRec = relayRecord(n.bob, hash);
      const aliceRec = relayRecord(n.alice, hash);
      // The invoice's own expiry field (the record's createdAt may be a second after the invoice's timestamp).
      assert.equal(expirySeconds(bobRec), 3_600, "Bob's: the default bound");
      assert.equal(expirySeconds(aliceRec), 2_400, "Alice's: her --max-invoice-life 40m");
      // The bound is on our invoice only: a shorter downstream life still wins, less the 10 minutes' margin (Bob's 1h leaves Alice 50m).
      setPolicies(n.alice, [{ id: 'alipol02', from: n.bob.id, payout: '2000sat', feeBudget: '1%', delayBudget: '60', passTo: n.payer.id, maxInvoiceLife: '2h' }]);
      const two = await carolSells(n, '40000sat', '30d');
      await payerInbox(n, two.hash);
      const alice2 = relayRecord(n.alice, two.hash);
      const bob2 = relayRecord(n.bob, two.hash);
      assert.ok(Math.abs(alice2.expiresAt - (bob2.expiresAt - 600)) <= 1, `Alice's expires 10 minutes before Bob's (${alice2.expiresAt} vs ${bob2.expiresAt})`);
    }));

  test("Bob's plugin hears Alice's answer from its inbox, without reading the datastore over and over while it waits", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      handsFree(n);
      const { hash } = await carolSells(n);
      await payerInbox(n, hash);
      await eventually(() => n.bob.log.some((l) => new RegExp(`policy bobpol01: our invoice ${hash.slice(0, 8)}.* to ${n.alice.id}: joined by policy alipol01`).test(l)), "Bob logs Alice's answer");
      const ackReads = n.bob.server.calls.filter((c) => c.method === 'listdatastore' && JSON.stringify(c.params.key) === JSON.stringify(ackKey(hash)));
      assert.equal(ackReads.length, 0, `${ackReads.length} reads of the ack key`);
    }));
});
