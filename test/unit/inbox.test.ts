/**
 * An invoice a peer passed back (src/chain/inbox.ts): Carol sends her invoice to
 * Bob's node. The peer connection authenticates the sender, so the invoice must
 * be payable to the sender itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/chain/ids.js';
import { judgePassedInvoice, type InboxContext } from '../../src/chain/inbox.js';
import type { InboxEntry } from '../../src/chain/record.js';
import { encodeInvoice } from '../../src/chain/bolt11.js';
import * as V from './bolt11-vectors.js';
import { BOB, BOB_KEY, CAROL, HASH, MALLORY, NOW, carolFields } from './invoice-kit.js';

const CAROLS = encodeInvoice(carolFields(), Buffer.from('c3'.repeat(32), 'hex'));
const SPEC_PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad' as NodeId;
/** The node id BOLT 11's "missing s field" example recovers to (its signature was made over other data). */
const MISSING_S_PAYEE = '0212cfa0137a4bfa5b76de84c3a89ceff01c5f22d0dbf1360258000b8372a58e70' as NodeId;

function ctx(over: Partial<InboxContext> = {}): InboxContext {
  return { network: 'regtest', ourNodeId: BOB, now: NOW, existing: undefined, ...over };
}
const earlier = (from: NodeId): InboxEntry => ({ version: 1, paymentHash: HASH, bolt11: CAROLS, from, receivedAt: NOW - 59 });

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

  test('the same peer sending the same hash again is accepted (a retry)', () => {
    assert.equal(judgePassedInvoice(CAROLS, CAROL, undefined, ctx({ existing: earlier(CAROL) })).ok, true);
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
    {
      description: 'a hash we already hold from another peer',
      given: { bolt11: CAROLS, from: CAROL, ctx: { existing: earlier(MALLORY) } },
      error: /^we already hold an invoice for this payment hash from another peer$/,
    },
  ];
  for (const c of refused) {
    test(`${c.description} is refused`, () => {
      const r = judgePassedInvoice(c.given.bolt11, c.given.from, undefined, ctx(c.given.ctx));
      assert.equal(r.ok, false, 'accepted an invoice that must be refused');
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});
