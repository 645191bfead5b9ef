/**
 * An invoice a peer passed back (src/chain/inbox.ts): Carol sends her invoice to
 * Bob's node. The peer connection authenticates the sender, so the invoice must
 * be payable to the sender itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/chain/ids.js';
import { admit, inboxOptions, judgePassedInvoice, senderTrust, type IndexedEntry, type InboxContext } from '../../src/chain/inbox.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import { encodeInvoice } from '../../src/chain/bolt11.js';
import * as V from './bolt11-vectors.js';
import { BOB, BOB_KEY, CAROL, HASH, MALLORY, NOW, carolFields } from './invoice-kit.js';

const CAROLS = encodeInvoice(carolFields(), Buffer.from('c3'.repeat(32), 'hex'));
const SPEC_PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad' as NodeId;
/** The node id BOLT 11's "missing s field" example recovers to (its signature was made over other data). */
const MISSING_S_PAYEE = '0212cfa0137a4bfa5b76de84c3a89ceff01c5f22d0dbf1360258000b8372a58e70' as NodeId;

function ctx(over: Partial<InboxContext> = {}): InboxContext {
  return { network: 'regtest', ourNodeId: BOB, now: NOW, ...over };
}

describe("judgePassedInvoice: what goes into Bob's inbox", () => {
  test("Carol's invoice from Carol is stored with its hash, sender and arrival time", () => {
    const r = judgePassedInvoice(CAROLS, CAROL, undefined, ctx());
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.value.entry, { version: 1, paymentHash: HASH, bolt11: CAROLS, from: CAROL, receivedAt: NOW });
    assert.equal(r.value.invoice.amountMsat, 100_003_000n);
  });

  test('the note comes along', () => {
    const r = judgePassedInvoice(CAROLS, CAROL, 'for the 2026-11-25 dinner', ctx());
    assert.ok(r.ok);
    assert.equal(r.value.entry.note, 'for the 2026-11-25 dinner');
  });

  test('an upper-case invoice with a lightning: prefix is stored in its normal form', () => {
    const r = judgePassedInvoice(`lightning:${CAROLS.toUpperCase()}`, CAROL, undefined, ctx());
    assert.ok(r.ok);
    assert.equal(r.value.entry.bolt11, CAROLS);
  });

  test('an invoice one second before it expires is accepted', () => {
    assert.equal(judgePassedInvoice(CAROLS, CAROL, undefined, ctx({ now: NOW + 7_099 })).ok, true);
  });

  const refused: Array<{ description: string; given: { bolt11: string; from: NodeId; ctx?: Partial<InboxContext> }; error: RegExp }> = [
    { description: 'something that is not an invoice', given: { bolt11: 'hello-fixture-01', from: CAROL }, error: /not a BOLT 11 invoice/ },
    { description: 'an invoice with a bad checksum', given: { bolt11: `${CAROLS.slice(0, -1)}${CAROLS.endsWith('q') ? 'p' : 'q'}`, from: CAROL }, error: /bad checksum/ },
    { description: 'an invoice for another network', given: { bolt11: CAROLS, from: CAROL, ctx: { network: 'testnet4' } }, error: /^invoice is for regtest, this node runs on testnet4$/ },
    { description: "Carol's invoice sent by Mallory (the payee must be the sender)", given: { bolt11: CAROLS, from: MALLORY }, error: /^invoice is not payable to the peer that sent it$/ },
    { description: 'an invoice payable to us', given: { bolt11: encodeInvoice(carolFields(), BOB_KEY), from: BOB }, error: /^invoice is payable to us$/ },
    { description: 'an invoice without an amount (BOLT 11 donation example)', given: { bolt11: V.DONATION, from: SPEC_PAYEE, ctx: { network: 'bitcoin', now: 1_496_314_659 } }, error: /^invoice has no amount$/ },
    { description: 'an invoice for 0 msat', given: { bolt11: encodeInvoice(carolFields({ amountMsat: 0n as never }), Buffer.from('c3'.repeat(32), 'hex')), from: CAROL }, error: /^invoice has no amount$/ },
    { description: 'an invoice without a payment secret (BOLT 11 example)', given: { bolt11: V.MISSING_S_FIELD, from: MISSING_S_PAYEE, ctx: { network: 'bitcoin', now: 1_496_314_659 } }, error: /^invoice has no payment secret$/ },
    { description: 'an invoice that expires this second', given: { bolt11: CAROLS, from: CAROL, ctx: { now: NOW + 7_100 } }, error: /^invoice has expired$/ },
    { description: 'a long-expired invoice', given: { bolt11: CAROLS, from: CAROL, ctx: { now: NOW + 86_401 } }, error: /has expired/ },
  ];
  for (const c of refused) {
    test(`${c.description} is refused`, () => {
      const r = judgePassedInvoice(c.given.bolt11, c.given.from, undefined, ctx(c.given.ctx));
      assert.equal(r.ok, false, 'accepted an invoice that must be refused');
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('senderTrust: channel peer, trusted, or stranger', () => {
  test('a node on the trust list is trusted, channel or not', () => assert.equal(senderTrust(MALLORY, new Set([MALLORY]), new Set([MALLORY])), 'trusted'));
  test('a channel peer not on the list is a channel peer', () => assert.equal(senderTrust(CAROL, new Set([CAROL]), new Set()), 'channel'));
  test('anyone else is a stranger', () => assert.equal(senderTrust(MALLORY, new Set([CAROL]), new Set([BOB])), 'stranger'));
});

describe('admit: a bounded inbox that a flood cannot take over', () => {
  const limits = { perPeer: 3, total: 5 };
  const hash = (n: number): PaymentHash => n.toString(16).padStart(64, '0') as PaymentHash;
  const entry = (n: number, from: NodeId, over: Partial<IndexedEntry> = {}): IndexedEntry => ({ paymentHash: hash(n), from, receivedAt: NOW - 100 + n, expiresAt: NOW + 3_600, ...over });
  const candidate = entry(99, CAROL);

  test("a stranger's invoice is refused when only peers may pass back, with what to do", () => {
    const a = admit([], candidate, 'stranger', 'peers', limits, NOW);
    assert.deepEqual([a.ok, a.ok ? '' : a.reason], [false, 'we only take invoices from channel peers and trusted nodes (ask the operator to run: rdv trust add <your node id>)']);
  });
  test("a stranger's invoice is taken when the operator opted in to anyone", () => assert.equal(admit([], candidate, 'stranger', 'anyone', limits, NOW).ok, true));
  test('a channel peer at its bound (3) is refused, however many others have', () => {
    const a = admit([entry(1, CAROL), entry(2, CAROL), entry(3, CAROL)], candidate, 'channel', 'peers', limits, NOW);
    assert.equal(a.ok, false);
    assert.match(a.ok ? '' : a.reason, /^inbox full for your node \(3 unjoined invoices\)/);
  });
  test("one peer's flood does not fill another peer's place", () => {
    assert.equal(admit([entry(1, MALLORY), entry(2, MALLORY), entry(3, MALLORY)], candidate, 'channel', 'peers', limits, NOW).ok, true);
  });
  test('the whole inbox at its bound (5) refuses everyone: nothing already there is evicted', () => {
    const full = [entry(1, MALLORY), entry(2, MALLORY), entry(3, MALLORY), entry(4, BOB), entry(5, BOB)];
    const a = admit(full, candidate, 'trusted', 'peers', limits, NOW);
    assert.deepEqual([a.ok, a.prune], [false, []]);
  });
  test('expired entries are pruned first, making room', () => {
    const full = [entry(1, MALLORY, { expiresAt: NOW }), entry(2, MALLORY), entry(3, MALLORY), entry(4, BOB), entry(5, BOB)];
    const a = admit(full, candidate, 'channel', 'peers', limits, NOW);
    assert.equal(a.ok, true);
    assert.deepEqual(a.prune.map((e) => e.paymentHash), [hash(1)]);
  });
  test('the same sender sending the same hash again replaces its entry, even at its bound', () => {
    const mine = [entry(1, CAROL), entry(2, CAROL), entry(99, CAROL)];
    assert.deepEqual(admit(mine, candidate, 'channel', 'peers', limits, NOW), { ok: true, prune: [], replaces: true });
  });
  test('another sender for a hash already in the inbox is kept too (no first-come-wins)', () => {
    assert.deepEqual(admit([entry(99, MALLORY)], candidate, 'channel', 'peers', limits, NOW), { ok: true, prune: [], replaces: false });
  });
});

describe('inboxOptions: the plugin options, checked', () => {
  const cases: Array<{ given: [unknown, unknown, unknown]; expected: string }> = [
    { given: [undefined, undefined, undefined], expected: 'peers 20 200' },
    { given: ['anyone', 5, 50], expected: 'anyone 5 50' },
    { given: ['everyone', 20, 200], expected: 'rdv-inbox-from=everyone: say peers (channel peers and trusted nodes) or anyone' },
    { given: ['peers', 0, 200], expected: 'rdv-inbox-per-peer=0: give a whole number from 1 to 10000' },
    { given: ['peers', 20, 10_001], expected: 'rdv-inbox-max=10001: give a whole number from 1 to 10000' },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.given)}: ${c.expected}`, () => {
      const r = inboxOptions(...c.given);
      assert.equal(r.ok ? `${r.value.policy} ${r.value.limits.perPeer} ${r.value.limits.total}` : r.error, c.expected);
    });
  }
});
