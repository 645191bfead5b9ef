/**
 * Building a chain of three payees' invoices with the CLI: Carol (last), Bob
 * and Alice (relays). Each runs bin/rdv against their own simulated lightningd.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { inboxKey, parseRecord, relayKey, serializeInbox, type RelayRecord } from '../../src/chain/record.js';
import { makeInvoice } from '../helpers/invoices.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import type { SimNode } from '../../src/simnet/node.js';
import { LightningNode } from '../../src/rpc/node.js';
import { runInPty } from '../helpers/pty.js';
import { at, runRdv } from '../helpers/rdv.js';
import { simNetFor } from '../helpers/sim.js';

let net: SimNetwork;
let alice: SimNode;
let bob: SimNode;
let carol: SimNode;

simNetFor(async (n) => {
  net = n;
  alice = await net.addNode('alice');
  bob = await net.addNode('bob');
  carol = await net.addNode('carol');
  net.openChannel(alice, bob, 2_000_000n);
  net.openChannel(bob, carol, 2_000_000n);
});

const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
};
const record = (node: SimNode, hash: string): RelayRecord => parseRecord(node.datastore.get(relayKey(hash)) ?? '{}') as RelayRecord;

interface Joined {
  payment_hash: string;
  bolt11: string;
  amount_msat: number;
  min_final_cltv: number;
}

describe('a chain of three payees, built with rdv alone', () => {
  let carolInv: Joined;
  let bobInv: Joined;

  test('Carol, the last payee, makes a normal invoice and an rdv record', async () => {
    carolInv = json(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '100000sat', '--description', 'order 42']));
    const onNode = carol.invoices.byHash(carolInv.payment_hash);
    assert.equal(onNode?.bolt11, carolInv.bolt11);
    assert.equal(onNode?.amountMsat, 100_000_000n);
    assert.equal(record(carol, carolInv.payment_hash).role, 'last');
  });

  test("Bob joins over Carol's invoice: same hash, +payout +fee, +delay, his own secret, signed by his node", async () => {
    bobInv = json(await runRdv([...at(bob), '--json', 'join', '--invoice', carolInv.bolt11, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '60']));
    const client = await LightningNode.connect(bob.socketPath);
    const decoded = await client.decode(bobInv.bolt11).finally(() => client.close());
    const carolDecoded = decodeBolt11(carolInv.bolt11);
    assert.ok(carolDecoded.ok);
    assert.deepEqual(
      { payee: decoded.payee, hash: decoded.paymentHash, amount: decoded.amountMsat, cltv: decoded.minFinalCltv },
      { payee: bob.id, hash: carolInv.payment_hash, amount: 106_000_000n, cltv: 18 + 60 },
    );
    assert.notEqual(decoded.paymentSecret, carolDecoded.value.paymentSecret);
    const rec = record(bob, carolInv.payment_hash);
    assert.deepEqual([rec.state, rec.downstreamInvoice, rec.paymentSecret], ['open', carolInv.bolt11, decoded.paymentSecret]);
    const ours = decodeBolt11(bobInv.bolt11);
    assert.ok(ours.ok && !ours.value.hasPayeeField, 'no n field');
    assert.ok(ours.ok && ours.value.expiresAt <= carolDecoded.value.expiresAt - 600, 'expires 10 minutes before the downstream invoice');
  });

  test("Alice joins over Bob's: 109,000 sat and min_final_cltv 138", async () => {
    const aliceInv = json<Joined>(await runRdv([...at(alice), '--json', 'join', '--invoice', bobInv.bolt11, '--payout', '2000sat', '--fee-budget', '1000sat', '--delay-budget', '60']));
    assert.deepEqual([aliceInv.payment_hash, aliceInv.amount_msat, aliceInv.min_final_cltv], [carolInv.payment_hash, 109_000_000, 138]);
  });

  test('rdv status shows each record with what the node says', async () => {
    const r = await runRdv([...at(carol), 'status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${carolInv.payment_hash.slice(0, 8)}\\s+last\\s+unpaid\\s+100,000 sat\\s+waiting for payment`));
    const s = json<{ records: Array<{ payment_hash: string; state: string; node: Record<string, unknown> }> }>(await runRdv([...at(bob), '--json', 'status', carolInv.payment_hash.slice(0, 10)]));
    assert.deepEqual(s.records.map((x) => [x.payment_hash, x.state]), [[carolInv.payment_hash, 'open']]);
  });

  test('without the plugin loaded, joining warns that nothing will relay the payment', async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '7000sat']));
    const r = await runRdv([...at(bob), 'join', '--invoice', inv.bolt11, '--payout', '1sat', '--fee-budget', '1sat', '--delay-budget', '60', '--no-qr']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rdv plugin is not loaded .*important-plugin=/);
    assert.match(r.stdout, /rdv pass-back [0-9a-f]{8} --to/);
  });

  test('lightningd stops answering right after Bob\'s record is stored: the join stands, his invoice is shown, and a warning says to check rdv status', async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '8000sat']));
    let stored = false;
    bob.overrides.set('datastore', async (params) => {
      stored = true;
      bob.overrides.delete('datastore');
      return bob.datastore.datastore(params);
    });
    bob.overrides.set('listdatastore', async (params) => {
      if (stored) throw new SimRpcError(-1, 'lightningd is shutting down');
      return bob.datastore.listdatastore(params);
    });
    try {
      const r = await runRdv([...at(bob), '--json', 'join', '--invoice', inv.bolt11, '--payout', '1sat', '--fee-budget', '1sat', '--delay-budget', '60']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(json<Joined>(r).payment_hash, inv.payment_hash);
      assert.match(r.stderr, /joined and stored, but lightningd stopped answering .*check rdv status [0-9a-f]{8} once it is back/);
      assert.equal(record(bob, inv.payment_hash).state, 'open');
    } finally {
      bob.overrides.delete('listdatastore');
      bob.overrides.delete('datastore');
    }
  });
});

describe('several invoices passed back for one hash, on a terminal', () => {
  test("Bob is asked which sender is the next payee (alias, trust), picks Carol, and her invoice is the one he relays to", async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '40000sat']));
    const mallory = await net.addNode('mallory');
    net.openChannel(mallory, bob, 1_000_000n);
    const now = Math.floor(Date.now() / 1000);
    const seed = (from: SimNode, bolt11: string, receivedAt: number): void => {
      bob.datastore.datastore({ key: inboxKey(inv.payment_hash, from.id), string: serializeInbox({ version: 1, paymentHash: inv.payment_hash as PaymentHash, bolt11, from: from.id, receivedAt }), mode: 'must-create' });
    };
    // Mallory, who learned the hash, passed hers back first.
    seed(mallory, makeInvoice('mallory', { paymentHash: inv.payment_hash as PaymentHash, amountMsat: 40_000_000n as never }), now - 60);
    seed(carol, inv.bolt11, now);
    const { code, screen } = await runInPty(
      [...at(bob), 'join', '--from-inbox', inv.payment_hash.slice(0, 8), '--payout', '1000sat', '--fee-budget', '1sat', '--delay-budget', '60', '--no-qr'],
      [
        // The choices name each sender by alias with its trust, oldest first: Mallory, then Carol. Down, Enter: Carol.
        { expect: /2 nodes passed back an invoice for [0-9a-f]{8}\. Which is the next payee\?[\s\S]*mallory \([0-9a-f]{8}…\) \[channel peer\][\s\S]*carol \([0-9a-f]{8}…\) \[channel peer\]/, send: '\u001b[B\r' },
        { expect: /Create and store this invoice\?/, send: 'y\r' },
      ],
    );
    assert.equal(code, 0, screen);
    assert.equal(record(bob, inv.payment_hash).downstreamInvoice, inv.bolt11);
    assert.equal(record(bob, inv.payment_hash).receivedFrom, carol.id);
  });
});

describe('interactive join on a terminal', () => {
  test('Bob is asked for payout and budgets with suggestions, sees a summary, confirms', async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '50000sat']));
    const { code, screen } = await runInPty(
      [...at(bob), 'join', '--invoice', inv.bolt11, '--no-qr'],
      [
        { expect: /Your payout \(downstream is 50,000 sat\)/, send: '3000sat\r' },
        { expect: /Fee budget .*route fee now 0 sat.*\(1sat\)/, send: "\r" },
        { expect: /Delay budget in blocks \(route needs 0, plus the safety margin\).*\(43\)/, send: '60\r' },
        { expect: /Create and store this invoice\?/, send: 'y\r' },
      ],
    );
    assert.equal(code, 0, screen);
    assert.match(screen, /total \(payer pays\)\s+53,001 sat/);
    assert.match(screen, /min_final_cltv\s+78 blocks \(downstream 18 \+ 60\)/);
    const rec = record(bob, inv.payment_hash);
    assert.deepEqual([rec.payoutMsat, rec.feeBudgetMsat, rec.delayBudget], [3_000_000n, 1_000n, 60]);
  });

  test('an invalid answer is explained under the prompt and asked again', async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '60000sat']));
    const { code, screen } = await runInPty(
      [...at(bob), 'join', '--invoice', inv.bolt11, '--no-qr', '--fee-budget', '1sat'],
      [
        { expect: /Your payout/, send: '1.5\r' },
        { expect: /ambiguous: add a unit/, send: '\u0015' + '2000sat\r' },
        { expect: /Delay budget/, send: '20\r' },
        { expect: /does not exceed the safety margin/, send: '\u0015' + '70\r' },
        { expect: /Create and store this invoice\?/, send: 'y\r' },
      ],
    );
    assert.equal(code, 0, screen);
    assert.equal(record(bob, inv.payment_hash).delayBudget, 70);
  });

  test('Ctrl-C at a prompt cancels cleanly: exit 130, nothing written', async () => {
    const inv = json<Joined>(await runRdv([...at(carol), '--json', 'join', '--last', '--amount', '70000sat']));
    const before = bob.datastore.snapshot();
    const { code, screen } = await runInPty([...at(bob), 'join', '--invoice', inv.bolt11], [{ expect: /Your payout/, send: '\u0003' }]);
    assert.equal(code, 130);
    assert.match(screen, /rdv: cancelled: nothing was written/);
    assert.doesNotMatch(screen, /\n\s+at /);
    assert.equal(bob.datastore.snapshot(), before);
  });

  test('the last payee is asked for the amount and description', async () => {
    const { code, screen } = await runInPty(
      [...at(carol), 'join', '--last', '--no-qr'],
      [
        { expect: /Amount to receive/, send: '12345sat\r' },
        { expect: /Description/, send: 'coffee\r' },
      ],
    );
    assert.equal(code, 0, screen);
    assert.match(screen, /Your invoice for 12,345 sat/);
    assert.ok(carol.invoices.all().some((i) => i.amountMsat === 12_345_000n && i.description === 'coffee'));
  });
});
