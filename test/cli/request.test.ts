/**
 * `rdv request` as a user runs it, against a simulated network: Alice (the first
 * payee) asks through her policy, Bob's policy asks Carol, Carol's last-payee
 * policy answers. The invoice printed, --json, and every exit code: bad input is
 * 2 and asks nothing, a refusal 1, no plugin 1, no node 3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { RDV_BIN } from '../helpers/paths.js';
import { setPolicies } from '../helpers/policies.js';
import { at, runRdv } from '../helpers/rdv.js';

let net: SimNetwork;
let alice: SimNode;
let bob: SimNode;
let carol: SimNode;
let bare: SimNode;

before(async () => {
  net = new SimNetwork({ pluginPath: RDV_BIN });
  alice = await net.addNode('alice', { plugin: true });
  bob = await net.addNode('bob', { plugin: true });
  carol = await net.addNode('carol', { plugin: true });
  bare = await net.addNode('bare');
  net.openChannel(alice, bob, 2_000_000n);
  net.openChannel(bob, carol, 2_000_000n);
  setPolicies(alice, [{ id: 'a11ce001', from: bob.id, payout: '2%', feeBudget: '0.5%', delayBudget: '60' }]);
  setPolicies(bob, [{ id: 'b0b00001', from: carol.id, payout: '5000sat', feeBudget: '1000sat', delayBudget: '60', passTo: alice.id }]);
  setPolicies(carol, [], [{ id: 'ca201001', for: bob.id, maxAmount: '500000sat' }]);
});

after(async () => {
  await net.stop();
});

/** Bob's pass-back count: `rdv request` with bad input asks the chain nothing. */
const bobAsked = (): number => bob.server.calls.filter((c) => c.method === 'sendcustommsg').length;

describe('rdv request', () => {
  test('prints the invoice, exactly the amount asked, and how to follow it; no QR code off a terminal', async () => {
    const r = await runRdv([...at(alice), 'request', '--amount', '108690sat', '--via', 'a11ce001', '--description', 'a coffee grinder']);
    assert.equal(r.code, 0, r.stderr);
    const [title, bolt11] = r.stdout.split('\n');
    assert.match(title ?? '', /^Invoice for 108,690 sat \(payment hash [0-9a-f]{8}…\), joined by policy a11ce001:$/);
    const inv = decodeBolt11(bolt11 ?? '');
    assert.ok(inv.ok, bolt11);
    assert.deepEqual([inv.value.amountMsat, inv.value.payee, inv.value.description], [108_690_000n, alice.id, 'a coffee grinder']);
    assert.match(r.stdout, /It expires in 3\dm|It expires in 40m/);
    assert.match(r.stdout, new RegExp(`Follow it with: rdv status ${inv.value.paymentHash.slice(0, 8)}`));
    assert.doesNotMatch(r.stdout, /█|▀|▄/, 'no QR code when stdout is not a terminal');
  });

  test('--json: the RPC method\'s answer, amounts as integers; --via the next payee\'s node id', async () => {
    const r = await runRdv([...at(alice), '--json', 'request', '--amount', '102500000msat', '--via', bob.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"amount_msat":102500000\b/);
    const j = JSON.parse(r.stdout) as { bolt11: string; payment_hash: string; amount_msat: number; expires_at: number; policy: string };
    assert.deepEqual(Object.keys(j), ['bolt11', 'payment_hash', 'amount_msat', 'expires_at', 'policy']);
    assert.equal(j.policy, 'a11ce001');
    const inv = decodeBolt11(j.bolt11);
    assert.equal(inv.ok && inv.value.paymentHash, j.payment_hash);
  });

  test('a refusal down the chain: exit 1 with the reason and the path', async () => {
    const r = await runRdv([...at(alice), 'request', '--amount', '600000sat', '--via', 'a11ce001']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^rdv: the chain refused: ${bob.id.slice(0, 8)}: ${carol.id.slice(0, 8)}: policy ca201001: [\\d,.]+ sat is over policy ca201001's maximum of 500,000 sat\\n$`));
  });

  test('a --via that names no relay policy on the node: exit 2, nothing asked', async () => {
    const before = bobAsked();
    const r = await runRdv([...at(alice), 'request', '--amount', '1000sat', '--via', 'ffffffff']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rdv: no relay policy ffffffff: see rdv policy list\n');
    assert.equal(bobAsked(), before);
  });

  test('no rdv plugin on the node: exit 1, saying so', async () => {
    const r = await runRdv([...at(bare), 'request', '--amount', '1000sat', '--via', 'a11ce001']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the rdv plugin is not loaded on this node, or is older than rdv-request/);
  });

  const bad: Array<{ description: string; args: string[]; says: RegExp }> = [
    { description: 'no --amount', args: ['--via', 'a11ce001'], says: /rdv request needs --amount: e\.g\. rdv request --amount 102000sat/ },
    { description: 'neither option', args: [], says: /rdv request needs --amount and --via/ },
    { description: 'a zero amount', args: ['--amount', '0', '--via', 'a11ce001'], says: /--amount: amount "0" is zero/ },
    { description: 'an amount in no unit rdv knows', args: ['--amount', '5k', '--via', 'a11ce001'], says: /--amount: amount "5k" is not understood/ },
    { description: 'a --via that is neither a policy id nor a node id', args: ['--amount', '1000sat', '--via', 'bob'], says: /--via "bob" is neither a policy id \(8 hex digits, see rdv policy list\) nor a node id/ },
    { description: 'a description over 639 bytes', args: ['--amount', '1000sat', '--via', 'a11ce001', '--description', 'é'.repeat(320)], says: /--description is 640 bytes/ },
    { description: 'a timeout of 4 s', args: ['--amount', '1000sat', '--via', 'a11ce001', '--timeout', '4'], says: /--timeout "4" is not a number of seconds from 5 to 60/ },
    { description: 'a timeout in minutes', args: ['--amount', '1000sat', '--via', 'a11ce001', '--timeout', '1m'], says: /--timeout "1m" is not a number of seconds/ },
  ];
  for (const c of bad) {
    test(`${c.description}: exit 2 before any node is reached`, async () => {
      // No node at this directory: a check made after connecting would say so, with exit 3.
      const r = await runRdv(['--lightning-dir', '/nonexistent/rdv', '--network', 'regtest', 'request', ...c.args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.says);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    });
  }

  test('no lightningd: exit 3', async () => {
    const r = await runRdv(['--lightning-dir', '/nonexistent/rdv', '--network', 'regtest', 'request', '--amount', '1000sat', '--via', 'a11ce001']);
    assert.equal(r.code, 3);
  });
});
