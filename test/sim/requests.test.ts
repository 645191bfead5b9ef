/**
 * On-demand chains (invoice requests) on a simulated network, nobody typing
 * anything per payment. Alice (the first payee) asks with rdv-request through her
 * policy for Bob's pass-backs; Bob's policy (passing to Alice) asks Carol; Carol's
 * last-payee policy for Bob answers with a normal invoice; Bob joins it and
 * answers Alice; Alice joins Bob's and returns hers. The payer pays Alice's
 * invoice and all three are paid.
 *
 *   payer --- alice --- bob --- carol
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { decodePassback, encodePassback, type PassbackMessage } from '../../src/chain/passback.js';
import type { LastPolicyInput, PolicyInput } from '../../src/chain/policy/input.js';
import { KEY_ROOT, parseRecord, relayKey } from '../../src/chain/record.js';
import type { RequestStats } from '../../src/relay/requests.js';
import { LightningNode } from '../../src/rpc/node.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { fourNodes, xpayFrom, type FourNodes } from '../helpers/four-nodes.js';
import { recordIn, relayRecord } from '../helpers/chain.js';
import { setPolicies } from '../helpers/policies.js';
import { eventually, rpcError, withSimNet } from '../helpers/sim.js';
import { at, runRdv } from '../helpers/rdv.js';

type Net = FourNodes;

const network = (net: SimNetwork): Promise<Net> => fourNodes(net);

/** DESIGN.md's policies: Alice 2% + 0.5% from Bob; Bob 5,000 sat + 1,000 sat from Carol, passing to Alice; Carol answers Bob. */
function onDemand(n: Net, o: { bob?: Partial<PolicyInput>; carol?: Partial<LastPolicyInput> } = {}): void {
  setPolicies(n.alice, [{ id: 'a11ce001', from: n.bob.id, payout: '2%', feeBudget: '0.5%', delayBudget: '60' }]);
  setPolicies(n.bob, [{ id: 'b0b00001', from: n.carol.id, payout: '5000sat', feeBudget: '1000sat', delayBudget: '60', passTo: n.alice.id, ...o.bob }]);
  setPolicies(n.carol, [], [{ id: 'ca201001', for: n.bob.id, description: 'order from the shop', ...o.carol }]);
}

interface Requested {
  bolt11: string;
  payment_hash: string;
  amount_msat: number;
  expires_at: number;
  policy: string;
}

/** rdv-request on a node's plugin, as lightning-cli would call it; and how long it took. */
async function rdvRequest(node: SimNode, params: Record<string, unknown>): Promise<{ result: Requested; ms: number }> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    const t0 = performance.now();
    const result = (await client.rpc.call('rdv-request', params)) as Requested;
    return { result, ms: performance.now() - t0 };
  } finally {
    client.close();
  }
}

async function rdvRequestError(node: SimNode, params: Record<string, unknown>): Promise<{ code: number; message: string }> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    return await rpcError(client.rpc.call('rdv-request', params));
  } finally {
    client.close();
  }
}

const xpay = xpayFrom;

async function requestStats(node: SimNode): Promise<RequestStats & { inbox: { queued: number; working: number; received: number; dropped: number } }> {
  const s = (await node.plugin?.request('rdv-status', { brief: true })) as { requests: RequestStats; inbox: { queued: number; working: number; received: number; dropped: number } };
  return { ...s.requests, inbox: s.inbox };
}

/** `n` invoice requests from `from` to `to`, sent at once (ids padded with `pad`, amounts from `firstMsat` up), for the last payee to answer (hops 0). */
async function requestsAtOnce(from: SimNode, to: SimNode, n: number, pad: string, firstMsat: bigint): Promise<void> {
  const client = await LightningNode.connect(from.socketPath);
  const deadline = Math.floor(Date.now() / 1000) + 60;
  try {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.sendcustommsg(to.id, encodePassback({ kind: 'request', requestId: i.toString(16).padStart(32, pad), amountMsat: msat(firstMsat + BigInt(i)), deadline, hops: 0 })),
      ),
    );
  } finally {
    client.close();
  }
}

/** Every rdv record (relay or last) a node holds. */
function records(node: SimNode): ReturnType<typeof parseRecord>[] {
  const out: ReturnType<typeof parseRecord>[] = [];
  for (const e of (node.datastore.listdatastore({ key: [...KEY_ROOT, 'relay'] }) as { datastore: Array<{ string?: string }> }).datastore) {
    if (typeof e.string === 'string') out.push(parseRecord(e.string));
  }
  return out;
}

/** Messages one node sends another, decoded, as they pass the simulated wire. */
function tap(net: SimNetwork, from: SimNode, to: SimNode): PassbackMessage[] {
  const seen: PassbackMessage[] = [];
  const deliver = net.deliverMessage.bind(net);
  net.deliverMessage = (f, t, hex) => {
    if (f === from && t === to) {
      const d = decodePassback(hex);
      if (d.ok) seen.push(d.value);
    }
    deliver(f, t, hex);
  };
  return seen;
}

describe('rdv-request: an on-demand three-payee chain', () => {
  test("Alice asks for 108,690 sat: Bob asks Carol, Carol's policy answers, Bob and Alice join; Alice's invoice is exactly the amount asked, and one payment pays all three", (t) =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n);
      const { result, ms } = await rdvRequest(n.alice, { amount_msat: 108_690_000, via: 'a11ce001', description: 'a coffee grinder' });
      t.diagnostic(`simulated network: rdv-request -> invoice for a three-payee chain took ${ms.toFixed(1)} ms`);
      assert.equal(result.amount_msat, 108_690_000);
      assert.equal(result.policy, 'a11ce001');
      const inv = decodeBolt11(result.bolt11);
      assert.ok(inv.ok);
      assert.deepEqual([inv.value.amountMsat, inv.value.payee, inv.value.description, inv.value.paymentHash, inv.value.expiresAt], [108_690_000n, n.alice.id, 'a coffee grinder', result.payment_hash, result.expires_at]);

      const hash = result.payment_hash;
      const a = relayRecord(n.alice, hash);
      const b = relayRecord(n.bob, hash);
      // DESIGN.md's numbers: D = 106,039,024 msat, payout 2,120,780 + 1 msat remainder, fee 530,195.
      assert.deepEqual([a.downstreamAmountMsat, a.payoutMsat, a.feeBudgetMsat, a.amountMsat, a.policy, a.requestedBy, a.receivedFrom], [106_039_024n, 2_120_781n, 530_195n, 108_690_000n, 'a11ce001', 'rpc', n.bob.id]);
      assert.deepEqual([b.downstreamAmountMsat, b.payoutMsat, b.feeBudgetMsat, b.amountMsat, b.policy, b.requestedBy, b.receivedFrom], [100_039_024n, 5_000_000n, 1_000_000n, 106_039_024n, 'b0b00001', n.alice.id, n.carol.id]);
      const carolInvoice = n.carol.invoices.byHash(hash);
      assert.deepEqual([carolInvoice?.amountMsat, carolInvoice?.status], [100_039_024n, 'unpaid']);
      const carolRecord = records(n.carol).find((r) => r.paymentHash === hash);
      assert.deepEqual(carolRecord?.role === 'last' ? [carolRecord.policy, carolRecord.requestedBy, carolRecord.description] : [], ['ca201001', n.bob.id, 'order from the shop']);
      // Nothing was passed on to Bob's --pass-to: the answer was the delivery.
      assert.equal(n.alice.datastore.get(['rdv', 'v1', 'inbox', `${hash}-${n.bob.id}`]), undefined);
      // Until it is paid, rdv status says what each is: unpaid, made for a request, expiring.
      const said = async (node: SimNode): Promise<string> => (await runRdv([...at(node), 'status'])).stdout;
      assert.match(await said(n.bob), new RegExp(`${hash.slice(0, 8)} +relay +open +106,039\\.024 sat +unpaid, made for a request from ${n.alice.id.slice(0, 8)}…; expires in [\\dhms ]+; policy b0b00001`));
      assert.match(await said(n.alice), /unpaid, made for rdv-request here; expires in [\dhms ]+; policy a11ce001/);
      assert.match(await said(n.carol), new RegExp(`${hash.slice(0, 8)} +last +unpaid +100,039\\.024 sat +unpaid, made for a request from ${n.bob.id.slice(0, 8)}…; expires in [\\dhms ]+; policy ca201001`));

      await xpay(n.payer, result.bolt11);
      const [sa, sb] = [await recordIn(n.alice, hash, 'settled'), await recordIn(n.bob, hash, 'settled')];
      assert.deepEqual([sa.state, sb.state], ['settled', 'settled']);
      assert.equal(n.carol.invoices.byHash(hash)?.status, 'paid');
      const stats = await requestStats(n.bob);
      assert.deepEqual([stats.received, stats.answered, stats.asked, stats.under_way], [1, 1, 1, 0]);
    }));

  test('rdv-request via the --from node id, with a description hash: our invoice commits to the hash (LNURL), not a description', () =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n);
      const h = 'd3'.repeat(32);
      const { result } = await rdvRequest(n.alice, { amount_msat: '102500000', via: n.bob.id.toUpperCase(), description_hash: h.toUpperCase() });
      const inv = decodeBolt11(result.bolt11);
      assert.ok(inv.ok);
      assert.deepEqual([inv.value.amountMsat, inv.value.descriptionHash, inv.value.description], [102_500_000n, h, undefined]);
    }));

  test("a refusal halfway (over Carol's maximum) travels back to Alice with its reason and the path, and nobody writes anything", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n, { carol: { maxAmount: '50000sat' } });
      const e = await rdvRequestError(n.alice, { amount_msat: 108_690_000, via: 'a11ce001' });
      assert.equal(e.code, 1701);
      const [bob8, carol8] = [n.bob.id.slice(0, 8), n.carol.id.slice(0, 8)];
      assert.equal(e.message, `${bob8}: ${carol8}: policy ca201001: 100,039.024 sat is over policy ca201001's maximum of 50,000 sat`);
      for (const node of [n.alice, n.bob, n.carol]) assert.deepEqual(records(node), [], `${node.name} wrote a record`);
      assert.equal(n.carol.invoices.all().length, 0);
      assert.equal(n.bob.invoices.all().length, 0, 'no route-hint invoice left behind either');
    }));

  test("Alice's own policy refuses what it cannot serve before asking anyone; a via that names no relay policy is bad input", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n);
      setPolicies(n.alice, [{ id: 'a11ce001', from: n.bob.id, payout: '2%', feeBudget: '0.5%', delayBudget: '60', maxAmount: '50000sat' }]);
      const over = await rdvRequestError(n.alice, { amount_msat: 108_690_000, via: 'a11ce001' });
      assert.deepEqual(over, { code: 1701, message: "policy a11ce001: 108,690 sat leaves 106,039.024 sat for the next payee, over policy a11ce001's maximum of 50,000 sat" });
      assert.deepEqual(await rdvRequestError(n.alice, { amount_msat: 1_000_000, via: 'ffffffff' }), { code: -32602, message: 'no relay policy ffffffff: see rdv policy list' });
      assert.equal((await rdvRequestError(n.alice, { amount_msat: 0, via: 'a11ce001' })).code, -32602);
      assert.equal((await rdvRequestError(n.alice, { amount_msat: 1_000_000, via: 'a11ce001', description_hash: 'abc' })).code, -32602);
      assert.equal((await requestStats(n.bob)).received, 0, 'Bob was asked nothing');
    }));

  test('a loop between relay policies (Alice -> Bob -> Carol -> Alice -> ...) ends by the hop budget, with nothing written anywhere', () =>
    withSimNet(async (net) => {
      const alice = await net.addNode('alice', { plugin: true });
      const bob = await net.addNode('bob', { plugin: true });
      const carol = await net.addNode('carol', { plugin: true });
      net.openChannel(alice, bob, 2_000_000n);
      net.openChannel(bob, carol, 2_000_000n);
      net.openChannel(carol, alice, 2_000_000n);
      // Each asks the next round the ring, and each passes to the one before it.
      setPolicies(alice, [{ id: 'a11ce001', from: bob.id, payout: '1000sat', feeBudget: '1000sat', delayBudget: '60', passTo: carol.id }]);
      setPolicies(bob, [{ id: 'b0b00001', from: carol.id, payout: '1000sat', feeBudget: '1000sat', delayBudget: '60', passTo: alice.id }]);
      setPolicies(carol, [{ id: 'ca201001', from: alice.id, payout: '1000sat', feeBudget: '1000sat', delayBudget: '60', passTo: bob.id }]);
      const e = await rdvRequestError(alice, { amount_msat: 100_000_000, via: 'a11ce001' });
      assert.equal(e.code, 1701);
      // 8 hops past Bob: Bob, Carol, Alice, Bob, Carol, Alice, Bob, Carol ask on; Alice, the ninth, has none left.
      const path = [bob, carol, alice, bob, carol, alice, bob, carol, alice].map((x) => x.id.slice(0, 8)).join(': ');
      assert.equal(e.message, `${path}: its hop budget is spent: answering would take one more node`);
      for (const node of [alice, bob, carol]) {
        assert.deepEqual(records(node), [], `${node.name} wrote a record`);
        await eventually(async () => (await requestStats(node)).under_way === 0, `${node.name} has nothing under way`);
      }
      const asked = (await Promise.all([alice, bob, carol].map(requestStats))).map((s) => s.asked);
      assert.deepEqual(asked, [3, 3, 3], 'each asked the next three times: the first payee once, then two rounds');
    }));

  test("a request whose deadline passes leaves nothing that can move money: Bob stops waiting for a slow Carol, Alice hears why, and Carol's late answer is dropped", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n);
      // Carol's node makes invoices slowly: until Bob has given up on her.
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      const invoice = n.carol.overrides;
      let carolAsked = false;
      invoice.set('invoice', async (params) => {
        carolAsked = true;
        await released;
        invoice.delete('invoice');
        const c = await LightningNode.connect(n.carol.socketPath);
        try {
          return await c.rpc.call('invoice', params);
        } finally {
          c.close();
        }
      });
      const failed = rdvRequestError(n.alice, { amount_msat: 108_690_000, via: 'a11ce001', timeout: 8 });
      // While Bob waits, his inbox worker is free: the wait runs outside it (the answer must come through it).
      await eventually(async () => {
        const s = await requestStats(n.bob);
        return carolAsked && s.under_way === 1 && s.inbox.working === 0 && s.inbox.queued === 0;
      }, 'Bob waits for Carol with his inbox idle');
      const e = await failed;
      assert.equal(carolAsked, true, "Carol's policy began to answer");
      assert.equal(e.code, 1701);
      assert.match(e.message, new RegExp(`^${n.bob.id.slice(0, 8)}: no answer from the next payee \\(${n.carol.id.slice(0, 8)}…\\) within \\d s$`));
      release();
      await eventually(async () => (await requestStats(n.bob)).answers_dropped === 1, "Bob drops Carol's late answer");
      assert.deepEqual(records(n.alice), []);
      assert.deepEqual(records(n.bob), []);
      // Carol's invoice exists, unpaid: nobody holds an invoice over it, and it expires in an hour.
      const [late] = records(n.carol);
      assert.equal(late?.role, 'last');
      assert.equal(n.carol.invoices.byHash(late?.paymentHash ?? '')?.status, 'unpaid');
      assert.ok(late && late.expiresAt - late.createdAt === 3_600);
      const status = await runRdv([...at(n.carol), 'status', late.paymentHash.slice(0, 8)]);
      assert.match(status.stdout, new RegExp(`made for +a request from ${n.bob.id.slice(0, 8)}…`));
      assert.match(status.stdout, /detail +unpaid, made for a request from \w{8}…; expires in (59m|60m)/);
    }));
});

describe('invoice requests: an asker flooding a node is bounded', () => {
  test("Mallory sends 40 requests at once to Carol's last-payee policy for her (--max-unpaid 3): the inbox queues bound what is held, the gate what is made; every one she hears of is refused with a reason", () =>
    withSimNet(async (net) => {
      const carol = await net.addNode('carol', { plugin: true });
      const mallory = await net.addNode('mallory');
      net.openChannel(mallory, carol, 2_000_000n);
      setPolicies(carol, [], [{ id: 'ca201001', for: mallory.id, maxUnpaid: '3', maxPerMinute: '10' }]);
      const heard = tap(net, carol, mallory);
      await requestsAtOnce(mallory, carol, 40, '0', 1_000_000n);
      await eventually(async () => {
        const s = await requestStats(carol);
        return s.inbox.received === 40 && s.inbox.queued === 0 && s.inbox.working === 0 && s.under_way === 0;
      }, "Carol's inbox has taken all 40 and nothing is under way");
      const s = await requestStats(carol);
      assert.equal(s.inbox.dropped + s.received, 40, 'each either dropped by the queues or handled');
      assert.ok(s.inbox.dropped > 0, 'the queues (32 per peer) dropped some of 40 sent at once');
      assert.equal(s.answered, 3, 'exactly --max-unpaid invoices made');
      assert.equal(records(carol).length, 3);
      assert.equal(carol.invoices.all().length, 3);
      await eventually(() => heard.length === s.received, 'Mallory hears an answer to every request Carol handled');
      const refusals = heard.filter((m) => m.kind === 'request-ack');
      assert.equal(refusals.length, s.received - 3);
      for (const r of refusals) assert.match(r.kind === 'request-ack' ? (r.reason ?? '') : '', /: policy ca201001: (3 invoices it made are unpaid, its limit \(--max-unpaid 3\)|\d+ requests began in the last minute, its limit \(--max-per-minute 10\))/);
    }));

  test('a burst within what the desks allow (Bob asks Carol 24 times at once; a payee may have 32 requests under way) is not dropped at the queue: Carol answers each with an invoice', () =>
    withSimNet(async (net) => {
      const carol = await net.addNode('carol', { plugin: true });
      const bob = await net.addNode('bob');
      net.openChannel(bob, carol, 2_000_000n);
      setPolicies(carol, [], [{ id: 'ca201001', for: bob.id, maxUnpaid: '100', maxPerMinute: '100' }]);
      const heard = tap(net, carol, bob);
      await requestsAtOnce(bob, carol, 24, 'b', 2_000_000n);
      await eventually(async () => {
        const s = await requestStats(carol);
        return s.inbox.received === 24 && s.inbox.queued === 0 && s.inbox.working === 0 && s.under_way === 0;
      }, "Carol's inbox has taken all 24 and nothing is under way");
      const s = await requestStats(carol);
      assert.equal(s.inbox.dropped, 0, 'none dropped at the queue');
      assert.equal(s.answered, 24);
      await eventually(() => heard.length === 24, 'Bob hears 24 answers');
      assert.deepEqual(heard.map((m) => m.kind), Array.from({ length: 24 }, () => 'invoice'));
    }));

  test('Eve, for whom no policy answers, floods 30 requests: nothing is made, and she hears one refusal a minute', () =>
    withSimNet(async (net) => {
      const carol = await net.addNode('carol', { plugin: true });
      const eve = await net.addNode('eve');
      net.openChannel(eve, carol, 2_000_000n);
      const heard = tap(net, carol, eve);
      const client = await LightningNode.connect(eve.socketPath);
      const deadline = Math.floor(Date.now() / 1000) + 60;
      try {
        for (let i = 0; i < 30; i++) await client.sendcustommsg(carol.id, encodePassback({ kind: 'request', requestId: i.toString(16).padStart(32, 'e'), amountMsat: msat(1_000n), deadline, hops: 3 }));
      } finally {
        client.close();
      }
      await eventually(async () => {
        const s = await requestStats(carol);
        return s.inbox.received === 30 && s.inbox.queued === 0 && s.inbox.working === 0;
      }, "Carol's inbox has taken all 30");
      assert.deepEqual(records(carol), []);
      assert.equal(heard.length, 1);
      assert.match(heard[0]?.kind === 'request-ack' ? (heard[0].reason ?? '') : '', /no policy here answers your invoice requests$/);
    }));

  test("an answer to Bob's request from a node he did not ask is dropped; only Carol's counts", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      onDemand(n);
      const mallory = await net.addNode('mallory');
      net.openChannel(mallory, n.bob, 2_000_000n);
      // Mallory copies the request id Bob sends Carol and answers first, with an invoice of her own.
      const toCarol = tap(net, n.bob, n.carol);
      let raced = false;
      const deliver = net.deliverMessage.bind(net);
      net.deliverMessage = (f, to, hex) => {
        const asked = toCarol.find((m) => m.kind === 'request');
        if (!raced && asked?.kind === 'request') {
          raced = true;
          const fake = mallory.invoices.create({ amountMsat: asked.amountMsat, label: 'fake', description: '', expiry: 3_600, cltv: 18, now: Math.floor(Date.now() / 1000), routeHints: [] });
          deliver(mallory, n.bob, encodePassback({ kind: 'invoice', bolt11: fake.bolt11, requestId: asked.requestId }));
        }
        deliver(f, to, hex);
      };
      const { result } = await rdvRequest(n.alice, { amount_msat: 108_690_000, via: 'a11ce001' });
      assert.equal(raced, true);
      assert.equal(relayRecord(n.bob, result.payment_hash).downstreamPayee, n.carol.id);
      await eventually(async () => (await requestStats(n.bob)).answers_dropped === 1, "Bob drops Mallory's answer");
      assert.equal(n.bob.datastore.get(relayKey(mallory.invoices.all()[0]?.paymentHash ?? '')), undefined);
    }));
});
