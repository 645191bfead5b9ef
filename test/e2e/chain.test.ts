/**
 * Real CLN (regtest): building a chain of three payees with the real CLI —
 * join --last, pass-back over a real peer connection (the next node's rdv plugin
 * stores it and acknowledges), inbox, join --from-inbox — checked with CLN's own
 * `decode`. No channels are needed: pass-back is a peer message (the receiver
 * trusts the sender with rdv trust add, since they share no channel).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { e2eBinaries, rdv, rdvJson, regtestNetwork } from './lib.js';

const { skip } = e2eBinaries();

describe('e2e: chain building on real CLN', () => {
  const { net, withLogs } = regtestNetwork({ nodes: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] });

  /**
   * Pass `hash` from `from` to `to` over the peer connection; returns the CLI run.
   * They share no channel, so `to` first trusts `from` (rdv trust add), as an operator would.
   */
  async function passBack(from: RegtestNode, to: RegtestNode, hash: string, json: boolean) {
    const trusted = await rdv(to, ['trust', 'add', from.id]);
    assert.equal(trusted.code, 0, `rdv trust add failed: ${trusted.stderr}`);
    return rdv(from, [...(json ? ['--json'] : []), 'pass-back', hash, '--to', to.address]);
  }

  /** `to`'s inbox lists the invoice from `from`; then `to` joins it. Returns CLN's decode of both invoices. */
  async function joinFromInbox(to: RegtestNode, from: RegtestNode, hash: string, downstreamBolt11: string, p: { payout: string; fee: string; delay: number }) {
    const inbox = await rdvJson(to, ['inbox']);
    const entry = inbox.objects('invoices').find((i) => i.str('payment_hash') === hash);
    assert.ok(entry, `${to.name}'s inbox does not list ${hash.slice(0, 8)}`);
    assert.equal(entry.str('from'), from.id);
    assert.equal(entry.str('bolt11'), downstreamBolt11);

    const joined = await rdvJson(to, ['join', '--from-inbox', hash.slice(0, 10), '--payout', p.payout, '--fee-budget', p.fee, '--delay-budget', String(p.delay)]);
    assert.equal(joined.str('payment_hash'), hash);
    // The inbox entry is used up.
    const after = await rdvJson(to, ['inbox']);
    assert.equal(after.objects('invoices').filter((i) => i.str('payment_hash') === hash).length, 0);

    const ours = await to.rpc.decode(joined.str('bolt11'));
    const theirs = await to.rpc.decode(downstreamBolt11);
    return { joined, ours, theirs };
  }

  test('Carol -> Bob -> Alice: pass-back, inbox, join --from-inbox; CLN decode agrees', { skip }, async () => {
    await withLogs(async () => {
      const n = net();
      const [alice, bob, carol] = [n.node('alice'), n.node('bob'), n.node('carol')];

      const last = await rdvJson(carol, ['join', '--last', '--amount', '100000sat', '--description', 'order 42']);
      const hash = last.str('payment_hash');
      const carolBolt11 = last.str('bolt11');

      // Carol -> Bob over a real peer connection; Bob's plugin stores it and acks.
      const sent = await passBack(carol, bob, hash, false);
      assert.equal(sent.code, 0, `pass-back failed: ${sent.stderr}`);
      assert.match(sent.stdout, /delivered invoice/, `pass-back did not report delivery:\n${sent.stdout}\n${sent.stderr}`);
      assert.ok(bob.rdvLog().some((l) => l.includes(`inbox: invoice ${hash.slice(0, 8)}`)), 'Bob\'s plugin did not log the stored invoice');

      const b = await joinFromInbox(bob, carol, hash, carolBolt11, { payout: '5000sat', fee: '1000sat', delay: 60 });
      assert.equal(b.theirs.valid, true);
      assert.equal(b.ours.valid, true);
      assert.equal(b.ours.payee, bob.id);
      assert.equal(b.ours.paymentHash, hash);
      assert.equal(b.ours.amountMsat, 100_000_000n + 5_000_000n + 1_000_000n);
      assert.ok(b.theirs.minFinalCltv !== undefined && b.ours.minFinalCltv !== undefined);
      assert.equal(b.ours.minFinalCltv, b.theirs.minFinalCltv + 60);
      assert.ok(b.ours.paymentSecret && b.theirs.paymentSecret);
      assert.notEqual(b.ours.paymentSecret, b.theirs.paymentSecret);

      // Bob -> Alice, the same again over Bob's invoice (--json this time).
      const sent2 = await passBack(bob, alice, hash, true);
      assert.equal(sent2.code, 0, `pass-back failed: ${sent2.stderr}`);
      const delivery = JSON.parse(sent2.stdout) as { delivery?: { status?: string } };
      assert.equal(delivery.delivery?.status, 'stored', sent2.stdout);

      const a = await joinFromInbox(alice, bob, hash, b.joined.str('bolt11'), { payout: '2000sat', fee: '1000sat', delay: 60 });
      assert.equal(a.ours.valid, true);
      assert.equal(a.ours.payee, alice.id);
      assert.equal(a.ours.paymentHash, hash);
      assert.equal(a.ours.amountMsat, 106_000_000n + 2_000_000n + 1_000_000n);
      assert.equal(a.ours.minFinalCltv, (b.ours.minFinalCltv ?? 0) + 60);
      assert.notEqual(a.ours.paymentSecret, b.ours.paymentSecret);
      assert.notEqual(a.ours.paymentSecret, b.theirs.paymentSecret);

      // Each relay's record says what it relays to.
      const bobStatus = await rdvJson(bob, ['status', hash]);
      const bobRecord = bobStatus.objects('records')[0];
      assert.equal(bobRecord?.str('state'), 'open');
      assert.equal(bobRecord?.str('downstream_payee'), carol.id);
      assert.equal(bobRecord?.str('received_from'), carol.id);
    });
  });
});
