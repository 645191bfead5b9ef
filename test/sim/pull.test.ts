/**
 * The last payee runs no rdv (issue 19): Bob's policy pulls Carol's invoice for
 * exactly D from her BOLT 12 offer (fetchinvoice) or her Lightning Address
 * (LNURL-pay, served by a small server written from the LUD spec), joins it with
 * rdv join's code and answers Alice's request; the payer pays Alice's invoice and
 * Carol's offer or address is paid, Bob and Alice keep their cuts.
 *
 *   payer --- alice --- bob --- carol (lightningd only: no rdv)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import type { PolicyInput } from '../../src/chain/policy/input.js';
import { LightningNode } from '../../src/rpc/node.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { fourNodes, xpayFrom, type FourNodes } from '../helpers/four-nodes.js';
import { recordIn, relayRecord } from '../helpers/chain.js';
import { startLnurlServer } from '../helpers/lnurl-server.js';
import { setPolicies } from '../helpers/policies.js';
import { at, runRdv } from '../helpers/rdv.js';
import { rpcError, withSimNet } from '../helpers/sim.js';

type Net = FourNodes;

const network = (net: SimNetwork): Promise<Net> => fourNodes(net, { carolRdv: false });

/** Alice 2% + 0.5% from Bob; Bob 5,000 sat + 1,000 sat, pulling from `next`, passing to Alice. */
function policies(n: Net, next: Pick<PolicyInput, 'offer' | 'address'>): void {
  setPolicies(n.alice, [{ id: 'a11ce001', from: n.bob.id, payout: '2%', feeBudget: '0.5%', delayBudget: '60' }]);
  setPolicies(n.bob, [{ id: 'b0b00001', ...next, payout: '5000sat', feeBudget: '1000sat', delayBudget: '60', passTo: n.alice.id }]);
}

async function call(node: SimNode, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    return (await client.rpc.call(method, params)) as Record<string, unknown>;
  } finally {
    client.close();
  }
}

async function callError(node: SimNode, method: string, params: Record<string, unknown>): Promise<{ code: number; message: string }> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    return await rpcError(client.rpc.call(method, params));
  } finally {
    client.close();
  }
}

const xpay = xpayFrom;

/** Carol's paid invoices, as her lightningd lists them. */
async function carolPaid(n: Net, hash: string): Promise<Array<{ status: string; amount_received_msat?: number | bigint; bolt12?: string; bolt11?: string }>> {
  const listed = (await call(n.carol, 'listinvoices', { payment_hash: hash })) as { invoices: Array<{ status: string; amount_received_msat?: number; bolt12?: string; bolt11?: string }> };
  return listed.invoices;
}

describe('rdv policy add --offer / --address and rdv join --offer, as an operator types them', () => {
  test("an offer is checked by the node's decode and stored; list names it; bad input is exit 2 with nothing written; rdv join --offer pulls and joins", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      const offer = String((await call(n.carol, 'offer', { amount: 'any', description: 'a coffee grinder' })).bolt12);
      const added = await runRdv([...at(n.bob), '--json', 'policy', 'add', '--offer', offer, '--payout', '1%', '--fee-budget', '0.5%', '--delay-budget', '60', '--pass-to', n.alice.id]);
      assert.equal(added.code, 0, added.stderr);
      const policy = JSON.parse(added.stdout) as { id: string; pull: { kind: string; offer: string }; from?: string };
      assert.deepEqual([policy.pull, policy.from], [{ kind: 'offer', offer }, undefined]);
      const listed = await runRdv([...at(n.bob), 'policy', 'list']);
      assert.match(listed.stdout, new RegExp(`${policy.id} +offer ${offer.slice(0, 12)}… +1%`));
      const bad: Array<[string[], RegExp]> = [
        [['--offer', 'lni1qqqq'], /--offer must be a BOLT 12 offer \(lno1\.\.\.\), not an invoice/],
        [['--offer', 'lno1qqqqqq'], /--offer: lightningd cannot decode the offer/],
        [['--offer', offer, '--from', n.carol.id], /give one next payee: --from, --address or --offer/],
        [['--address', 'not an address'], /--address: "not an address" is not a Lightning Address/],
      ];
      for (const [args, says] of bad) {
        const r = await runRdv([...at(n.bob), 'policy', 'add', ...args, '--payout', '1%', '--fee-budget', '0.5%', '--delay-budget', '60']);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, says);
      }
      assert.equal((JSON.parse((await runRdv([...at(n.bob), '--json', 'policy', 'list'])).stdout) as { policies: unknown[] }).policies.length, 1, 'nothing written by the bad ones');

      const joined = await runRdv([...at(n.alice), '--json', 'join', '--offer', offer, '--amount', '50000sat', '--payout', '1000sat', '--fee-budget', '500sat', '--delay-budget', '60']);
      assert.equal(joined.code, 0, joined.stderr);
      const j = JSON.parse(joined.stdout) as { payment_hash: string; amount_msat: number | string };
      const r = relayRecord(n.alice, j.payment_hash);
      assert.deepEqual([r.downstreamAmountMsat, r.amountMsat, r.downstreamSource?.kind], [50_000_000n, 51_500_000n, 'offer']);
      const noAmount = await runRdv([...at(n.alice), 'join', '--offer', offer, '--payout', '1000sat', '--fee-budget', '500sat', '--delay-budget', '60']);
      assert.deepEqual([noAmount.code, noAmount.stderr.trim()], [2, "rdv: --offer and --address need --amount: the downstream amount to ask the next payee's invoice for (e.g. --amount 100000sat)"]);
    }));
});

describe('a last payee that runs no rdv: its invoice pulled from an offer or an address', () => {
  test("Bob's policy fetches from Carol's BOLT 12 offer: Alice's invoice is exactly the 108,690 sat asked, one payment pays Carol's offer, Bob and Alice keep their cuts", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      const offer = (await call(n.carol, 'offer', { amount: 'any', description: 'a coffee grinder' })).bolt12;
      assert.equal(typeof offer, 'string');
      policies(n, { offer: String(offer) });
      const asked = await call(n.alice, 'rdv-request', { amount_msat: 108_690_000, via: 'a11ce001' });
      const inv = decodeBolt11(String(asked.bolt11));
      assert.ok(inv.ok);
      assert.deepEqual([inv.value.amountMsat, inv.value.payee], [108_690_000n, n.alice.id]);
      const hash = String(asked.payment_hash);
      const b = relayRecord(n.bob, hash);
      assert.deepEqual([b.downstreamAmountMsat, b.payoutMsat, b.feeBudgetMsat, b.amountMsat, b.policy, b.receivedFrom], [100_039_024n, 5_000_000n, 1_000_000n, 106_039_024n, 'b0b00001', undefined]);
      assert.ok(b.downstreamInvoice.startsWith('lni1'), 'Bob pays a BOLT 12 invoice');
      assert.deepEqual(b.downstreamSource, { kind: 'offer', offer });
      // Bob's own invoice is BOLT 11, with the offer's description, and his min_final_cltv counts the blinded path's delta.
      const bobs = decodeBolt11(b.bolt11);
      assert.ok(bobs.ok);
      assert.equal(bobs.value.description, 'a coffee grinder');
      assert.ok(b.minFinalCltv >= b.downstreamMinFinalCltv + 60);

      await xpay(n.payer, String(asked.bolt11));
      const [sa, sb] = [await recordIn(n.alice, hash, 'settled'), await recordIn(n.bob, hash, 'settled')];
      assert.deepEqual([sa.state, sb.state], ['settled', 'settled']);
      const paid = await carolPaid(n, hash);
      assert.equal(paid.length, 1);
      assert.equal(paid[0]?.status, 'paid');
      assert.equal(BigInt(paid[0]?.amount_received_msat ?? 0), 100_039_024n);
      assert.ok(paid[0]?.bolt12?.startsWith('lni1'));
    }));

  test("Bob's policy pulls from Carol's Lightning Address (an LNURL-pay server written from the spec, her node making each invoice): the chain is paid, Carol's invoice commits to the server's metadata", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      let made = 0;
      const server = await startLnurlServer({
        name: 'carol',
        makeInvoice: async (amountMsat, metadata) => String((await call(n.carol, 'invoice', { amount_msat: amountMsat.toString(), label: `lnurl-${++made}`, description: metadata, deschashonly: true })).bolt11),
      });
      try {
        policies(n, { address: server.address });
        const asked = await call(n.alice, 'rdv-request', { amount_msat: 108_690_000, via: 'a11ce001', description: 'order 7' });
        const hash = String(asked.payment_hash);
        const b = relayRecord(n.bob, hash);
        assert.deepEqual([b.downstreamAmountMsat, b.amountMsat, b.receivedFrom], [100_039_024n, 106_039_024n, undefined]);
        assert.deepEqual(b.downstreamSource, { kind: 'address', address: server.address });
        const carols = decodeBolt11(b.downstreamInvoice);
        assert.ok(carols.ok);
        assert.equal(carols.value.payee, n.carol.id);
        await xpay(n.payer, String(asked.bolt11));
        await recordIn(n.bob, hash, 'settled');
        await recordIn(n.alice, hash, 'settled');
        const paid = await carolPaid(n, hash);
        assert.deepEqual(paid.map((i) => i.status), ['paid']);
        assert.equal(made, 1, 'one invoice asked of the address');
      } finally {
        await server.close();
      }
    }));

  test("refusals travel back to Alice with their reasons, and nobody writes a record: a disabled offer, an address whose server answers an LNURL error, one that answers an invoice for the wrong amount", () =>
    withSimNet(async (net) => {
      const n = await network(net);
      const bob8 = n.bob.id.slice(0, 8);
      const offer = await call(n.carol, 'offer', { amount: 'any', description: 'sold out' });
      await call(n.carol, 'disableoffer', { offer_id: offer.offer_id });
      policies(n, { offer: String(offer.bolt12) });
      const disabled = await callError(n.alice, 'rdv-request', { amount_msat: 108_690_000, via: 'a11ce001' });
      assert.equal(disabled.code, 1701);
      assert.match(disabled.message, new RegExp(`^${bob8}: the offer's issuer refused to make an invoice \\(`));

      for (const [fault, reason] of [
        ['lnurl-error', /Carol is asleep/],
        ['wrong-amount', /100,039\.025 sat|100039025|not the/],
      ] as const) {
        const server = await startLnurlServer({
          name: 'carol',
          errorReason: 'Carol is asleep',
          ...(fault === 'lnurl-error' ? { callbackFault: 'lnurl-error' as const } : { invoiceFault: 'wrong-amount' as const }),
          makeInvoice: async (amountMsat, metadata) => String((await call(n.carol, 'invoice', { amount_msat: amountMsat.toString(), label: `x-${fault}`, description: metadata, deschashonly: true })).bolt11),
        });
        try {
          policies(n, { address: server.address });
          const e = await callError(n.alice, 'rdv-request', { amount_msat: 108_690_000, via: 'a11ce001' });
          assert.equal(e.code, 1701);
          assert.ok(e.message.startsWith(`${bob8}: `), e.message);
          assert.match(e.message, reason);
        } finally {
          await server.close();
        }
      }
      for (const node of [n.alice, n.bob]) {
        const listed = (await call(node, 'listdatastore', { key: ['rdv', 'v1', 'relay'] })) as { datastore: unknown[] };
        assert.deepEqual(listed.datastore, [], `${node.name} wrote a record`);
      }
    }));
});
