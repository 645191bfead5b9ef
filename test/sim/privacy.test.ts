/**
 * What each party learns (README "What each party learns"): a whole rendez-vous
 * payer -> R -> Alice -> R -> Bob -> Carol on the simulated network, where R is a
 * routing node on both the payer's leg and Alice's. Every node's view is recorded
 * as lightningd would give it: the HTLCs it receives (and from which peer), the
 * peer messages it receives, the invoices it handles (xpay, decode, signinvoice
 * calls of its rdv and its operator) and the nodes it sends messages to. The
 * table's claims are asserted on those views.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { decodePassback } from '../../src/chain/passback.js';
import type { Msat } from '../../src/chain/amount.js';
import { LightningNode } from '../../src/rpc/node.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { at, runRdv } from '../helpers/rdv.js';
import { recordIn } from '../helpers/chain.js';
import { withSimNet } from '../helpers/sim.js';

interface View {
  /** Node ids found in anything the node received or handled. */
  ids: Set<string>;
  /** Payment hashes of HTLCs it received, with amount and expiry. */
  htlcs: Array<{ from: string; hash: string; amountMsat: bigint; cltvExpiry: number }>;
  /** Amounts of the invoices it handled. */
  invoiceAmounts: bigint[];
  minFinalCltvs: number[];
}

function idsOfInvoice(bolt11: string, into: View): void {
  const d = decodeBolt11(bolt11);
  if (!d.ok) return;
  into.ids.add(d.value.payee);
  for (const route of d.value.routeHints) for (const hop of route) into.ids.add(hop.pubkey);
  if (d.value.amountMsat !== undefined) into.invoiceAmounts.push(d.value.amountMsat);
  into.minFinalCltvs.push(d.value.minFinalCltv);
}

/** Start recording what `node` sees. */
function observe(node: SimNode): () => View {
  const view: View = { ids: new Set(), htlcs: [], invoiceAmounts: [], minFinalCltvs: [] };
  const accept = node.acceptHtlc.bind(node);
  node.acceptHtlc = (h) => {
    view.ids.add(h.from.id);
    view.htlcs.push({ from: h.from.id, hash: h.paymentHash, amountMsat: h.amountMsat, cltvExpiry: h.cltvExpiry });
    return accept(h);
  };
  const receive = node.receiveMessage.bind(node);
  node.receiveMessage = (from, msg) => {
    view.ids.add(from);
    const m = decodePassback(msg);
    if (m.ok && m.value.kind === 'invoice') idsOfInvoice(m.value.bolt11, view);
    return receive(from, msg);
  };
  return () => {
    for (const c of node.server.calls) {
      for (const field of ['invstring', 'string', 'bolt11']) {
        const v = c.params[field];
        if (typeof v === 'string' && /^ln/i.test(v)) idsOfInvoice(v, view);
      }
      if (c.method === 'sendcustommsg' && typeof c.params.node_id === 'string') view.ids.add(c.params.node_id);
    }
    view.ids.delete(node.id);
    return view;
  };
}

async function rdvJson<T>(node: SimNode, args: string[]): Promise<T> {
  const r = await runRdv([...at(node), '--json', ...args]);
  assert.equal(r.code, 0, `rdv ${args.join(' ')} on ${node.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function rendezVous(net: SimNetwork): Promise<{ nodes: Record<string, SimNode>; views: Record<string, View>; hash: string }> {
  const payer = await net.addNode('payer');
  const r = await net.addNode('r');
  const alice = await net.addNode('alice', { plugin: true });
  const bob = await net.addNode('bob', { plugin: true });
  const carol = await net.addNode('carol', { plugin: true });
  net.openChannel(payer, r, 2_000_000n);
  net.openChannel(r, alice, 2_000_000n, { pushMsat: 1_000_000_000n });
  net.openChannel(r, bob, 2_000_000n);
  net.openChannel(bob, carol, 2_000_000n);
  const seen = Object.fromEntries([payer, r, alice, bob, carol].map((n) => [n.name, observe(n)]));

  const inv = await rdvJson<{ payment_hash: string }>(carol, ['join', '--last', '--amount', '100000sat']);
  const budgets = ['--fee-budget', '1000sat', '--delay-budget', '60'];
  await rdvJson(carol, ['pass-back', inv.payment_hash, '--to', bob.id]);
  await rdvJson(bob, ['join', '--from-inbox', inv.payment_hash, '--payout', '5000sat', ...budgets]);
  // Alice and Bob share no channel (Alice pays Bob through R): Alice trusts Bob's node to pass back.
  await rdvJson(alice, ['trust', 'add', bob.id]);
  await rdvJson(bob, ['pass-back', inv.payment_hash, '--to', `${alice.id}@127.0.0.1:${alice.port}`]);
  // Alice pays through R: her delay budget covers R's CLTV delta (34) as well as her margin.
  const a = await rdvJson<{ bolt11: string }>(alice, ['join', '--from-inbox', inv.payment_hash, '--payout', '2000sat', '--fee-budget', '1000sat', '--delay-budget', '90']);
  // The payer gets Alice's invoice by hand and pays it like any invoice.
  const client = await LightningNode.connect(payer.socketPath);
  const paid = await client.xpay({ invstring: a.bolt11, maxfeeMsat: 10_000_000n as Msat, maxdelay: 2016, retryForSeconds: 10 });
  client.close();
  assert.ok(paid.ok, JSON.stringify(paid, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  await recordIn(alice, inv.payment_hash, 'settled');
  await recordIn(bob, inv.payment_hash, 'settled');
  // Only real nodes count (rdv signs its unsigned invoice with a throwaway key before signinvoice).
  const real = new Set([payer, r, alice, bob, carol].map((n) => n.id as string));
  const views = Object.fromEntries(
    Object.entries(seen).map(([k, f]) => {
      const v = f();
      return [k, { ...v, ids: new Set([...v.ids].filter((x) => real.has(x))) }];
    }),
  );
  return { nodes: { payer, r, alice, bob, carol }, views, hash: inv.payment_hash };
}

describe('what each party learns, on a whole rendez-vous through a router on two legs', () => {
  test('payer: only the first payee; each payee: its neighbours in the chain; R: the hash on both legs', async () => {
    await withSimNet(async (net) => {
      const { nodes, views, hash } = await rendezVous(net);
      const ids = (name: string): string[] => [...(views[name]?.ids ?? [])].sort();
      const id = (name: string): string => nodes[name]?.id ?? '';
      const set = (...names: string[]): string[] => names.map(id).sort();

      // The payer sees only Alice (the invoice it pays names her and nobody else).
      assert.deepEqual(ids('payer'), set('alice'));
      // Alice sees R (her HTLCs come from it), Bob (his invoice, his pass-back), and not Carol or the payer.
      assert.deepEqual(ids('alice'), set('r', 'bob'));
      // Bob sees R (upstream of his HTLCs), Carol (her invoice) and Alice (whom he passed back to); not the payer.
      assert.deepEqual(ids('bob'), set('r', 'carol', 'alice'));
      // Carol sees Bob only.
      assert.deepEqual(ids('carol'), set('bob'));

      // The known leak: one payment hash along the chain. R forwards on the payer's leg
      // and on Alice's, sees the same hash on both, and so can link them.
      const atR = views.r?.htlcs.filter((h) => h.hash === hash) ?? [];
      assert.deepEqual(atR.map((h) => h.from).sort(), set('payer', 'alice'));
      // Amounts and CLTV grow along the chain: each invoice carries the next one's plus a payout and budgets.
      const first = (name: string): bigint => views[name]?.invoiceAmounts[0] ?? 0n;
      assert.ok(first('payer') > first('alice') && first('alice') > first('bob'), 'amounts grow toward the payer');
      const [payerLeg, aliceLeg] = [...atR].sort((x, y) => Number(y.amountMsat - x.amountMsat));
      assert.ok(payerLeg && aliceLeg && payerLeg.amountMsat - aliceLeg.amountMsat >= 2_000_000n, 'R sees the difference: at least Alice payout');
      assert.ok(payerLeg.cltvExpiry > aliceLeg.cltvExpiry, 'and the expiry shrink');
      // Nobody but Carol could make the preimage; the payer gets it as its proof (xpay succeeded above).
    });
  });
});
