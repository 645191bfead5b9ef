/**
 * BOLT 12 downstream (src/chain/bolt12.ts), held to real CLN v26.06.6 replies
 * (test/fixtures/bolt12/): reading decode's offers and invoices, the fee and
 * CLTV a blinded path adds (checked against what xpay really sent), and the
 * checks a relay makes before joining a fetched invoice.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat, type Msat } from '../../src/chain/amount.js';
import {
  blindedPathFeeMsat,
  bolt12PathCosts,
  CHAIN_HASH,
  checkBolt12Downstream,
  checkBolt12Offer,
  readBolt12Invoice,
  readBolt12Offer,
  unknownEvenBits,
  type Bolt12DownstreamContext,
  type Bolt12Invoice,
  type Bolt12Offer,
  type Bolt12OfferContext,
  type Bolt12PaymentPath,
} from '../../src/chain/bolt12.js';
import type { NodeId } from '../../src/chain/ids.js';
import type { Result } from '../../src/errors.js';
import { bolt12Fixture, fixture } from '../helpers/paths.js';

// The nodes of the capture (test/fixtures/bolt12/capture.log).
const BOB = '031ec38383a28d00dc748b42dc4f91c6752943baeb03e46c2a35deb1fdbf380354' as NodeId;
const CAROL = '03d2947f0efb0eeb9b6e1b2d3e13f96f75c395c048c7f6d46658a121001183e745' as NodeId;
const DAVE = '02b6d43c01db5b9f5ed905ed5792e8e9250827782eb8ef16653da05bda4e0699e4' as NodeId;
/** invoice_created_at of every invoice of the capture. */
const CREATED = 1_796_686_279;

const obj = (name: string): Record<string, unknown> => bolt12Fixture(name) as Record<string, unknown>;
const str = (name: string, key: string): string => String(obj(name)[key]);

const offerOf = (made: string, decoded: string): Bolt12Offer => value(readBolt12Offer(bolt12Fixture(decoded), str(made, 'bolt12')));
const invoiceOf = (fetched: string, decoded: string): Bolt12Invoice => value(readBolt12Invoice(bolt12Fixture(decoded), str(fetched, 'invoice')));

const OFFER_ANY = offerOf('rpc-offer-any.json', 'rpc-decode-offer-any.json');
const OFFER_FIXED = offerOf('rpc-offer-fixed.json', 'rpc-decode-offer-fixed.json');
const OFFER_PRIVATE = offerOf('rpc-offer-private.json', 'rpc-decode-offer-private.json');
const OFFER_EXPIRED = offerOf('rpc-offer-expiring.json', 'rpc-decode-offer-expired.json');
const INV_PUBLIC = invoiceOf('rpc-fetchinvoice-any.json', 'rpc-decode-invoice-public.json');
const INV_FIXED = invoiceOf('rpc-fetchinvoice-fixed.json', 'rpc-decode-invoice-fixed.json');
const INV_PRIVATE = invoiceOf('rpc-fetchinvoice-private.json', 'rpc-decode-invoice-private.json');
const INV_ALICE = invoiceOf('rpc-fetchinvoice-private-alice.json', 'rpc-decode-invoice-private-alice.json');

describe('readBolt12Offer reads CLN decode replies of offers', () => {
  const cases: Array<{ description: string; given: Bolt12Offer; expected: unknown[] }> = [
    { description: 'an any-amount offer of a public node: issuer id, no paths', given: OFFER_ANY, expected: [CAROL, undefined, 'rdv fixture: any amount', undefined, undefined, [CHAIN_HASH.regtest]] },
    { description: 'a fixed-amount offer', given: OFFER_FIXED, expected: [CAROL, 250_000n, 'rdv fixture: fixed 250000msat', undefined, undefined, [CHAIN_HASH.regtest]] },
    { description: "an unannounced node's offer: a path from its peer, and still an issuer id", given: OFFER_PRIVATE, expected: [DAVE, undefined, 'rdv fixture: unannounced issuer', undefined, [BOB], [CHAIN_HASH.regtest]] },
    { description: 'an offer with an absolute expiry', given: OFFER_EXPIRED, expected: [CAROL, undefined, 'rdv fixture: expires soon', 1_796_686_284, undefined, [CHAIN_HASH.regtest]] },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const o = c.given;
      assert.deepEqual(
        [o.issuerId, o.amountMsat, o.description, o.absoluteExpiry, o.paths?.map((p) => (p.introduction.kind === 'node' ? p.introduction.nodeId : p.introduction.scid)), o.chains],
        c.expected,
      );
    });
  }

  test("the offer id is decode's, and the text is the offer's string", () => {
    assert.deepEqual([OFFER_ANY.offerId, OFFER_ANY.text], [str('rpc-offer-any.json', 'offer_id'), str('rpc-offer-any.json', 'bolt12')]);
  });
});

describe('readBolt12Invoice reads CLN decode replies of invoices', () => {
  const path = (p: Bolt12PaymentPath | undefined): unknown[] => [p?.introduction, p?.hops, p?.payinfo.feeBaseMsat, p?.payinfo.feePpm, p?.payinfo.cltvExpiryDelta, p?.payinfo.htlcMinimumMsat, p?.payinfo.htlcMaximumMsat, p?.payinfo.features];
  const cases: Array<{ description: string; given: Bolt12Invoice; expected: { amount: bigint; requested: bigint | undefined; node: NodeId; offer: Bolt12Offer; path: unknown[] } }> = [
    {
      description: "Carol's (public): the stub path that starts at her, no fee, her cltv-final, 21M BTC max (past 2^53, exact)",
      given: INV_PUBLIC,
      expected: { amount: 100_000_123n, requested: 100_000_123n, node: CAROL, offer: OFFER_ANY, path: [{ kind: 'node', nodeId: CAROL }, 1, 0n, 0, 10, 0n, 2_100_000_000_000_000_000n, ''] },
    },
    {
      description: "a fixed offer's, fetched without an amount: no invreq_amount",
      given: INV_FIXED,
      expected: { amount: 250_000n, requested: undefined, node: CAROL, offer: OFFER_FIXED, path: [{ kind: 'node', nodeId: CAROL }, 1, 0n, 0, 10, 0n, 2_100_000_000_000_000_000n, ''] },
    },
    {
      description: "Dave's (unannounced): a path from Bob with Bob's fees, 41 + 10 blocks, two blinded hops",
      given: INV_PRIVATE,
      expected: { amount: 54_321_987n, requested: 54_321_987n, node: DAVE, offer: OFFER_PRIVATE, path: [{ kind: 'node', nodeId: BOB }, 2, 1_234n, 567, 51, 0n, 986_185_728n, ''] },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const inv = c.given;
      assert.deepEqual(
        [inv.valid, inv.amountMsat, inv.requestedMsat, inv.nodeId, inv.offer.offerId, inv.chain, inv.createdAt, inv.relativeExpirySeconds, inv.expiresAt, inv.features, inv.paths.length, path(inv.paths[0])],
        [true, c.expected.amount, c.expected.requested, c.expected.node, c.expected.offer.offerId, CHAIN_HASH.regtest, CREATED, 7_200, CREATED + 7_200, '020000', 1, c.expected.path],
      );
    });
  }

  test("the payment hash is decode's invoice_payment_hash", () => {
    assert.equal(INV_PRIVATE.paymentHash, '983a05410970261fb3f8904216ccfbcf2c8c6f6ddeb416a83a61534efb958691');
  });

  const decoded = obj('rpc-decode-invoice-public.json');
  const without = (key: string, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const o: Record<string, unknown> = { ...decoded, ...extra };
    delete o[key];
    return o;
  };
  const refusals: Array<{ description: string; given: unknown; error: RegExp }> = [
    { description: 'a BOLT 11 decode', given: fixture('rpc-decode-bolt11.json'), error: /^that is not a BOLT 12 invoice: decode says it is a bolt11 invoice$/ },
    { description: "an offer's decode", given: bolt12Fixture('rpc-decode-offer-any.json'), error: /^that is not a BOLT 12 invoice: decode says it is a bolt12 offer$/ },
    { description: 'no invoice_paths (with the warning decode gives)', given: without('invoice_paths', { valid: false, warning_missing_invoice_paths: 'invoices without a invoice_paths are invalid' }), error: /invoice_paths: missing \(missing_invoice_paths: invoices without a invoice_paths are invalid\)/ },
    { description: 'no payment hash', given: without('invoice_payment_hash'), error: /decode\.invoice_payment_hash: missing/ },
    { description: 'a payinfo without its cltv_expiry_delta', given: { ...decoded, invoice_paths: [{ first_node_id: CAROL, first_path_key: CAROL, payinfo: { fee_base_msat: 0, fee_proportional_millionths: 0, htlc_minimum_msat: 0, htlc_maximum_msat: 1, features: '' }, path: [{ blinded_node_id: CAROL, encrypted_recipient_data: '' }] }] }, error: /payinfo\.cltv_expiry_delta: expected a non-negative integer/ },
    { description: 'a path with no hops', given: { ...decoded, invoice_paths: [{ first_node_id: CAROL, first_path_key: CAROL, payinfo: { fee_base_msat: 0, fee_proportional_millionths: 0, cltv_expiry_delta: 10, htlc_minimum_msat: 0, htlc_maximum_msat: 1, features: '' }, path: [] }] }, error: /a blinded path with no hops/ },
    { description: 'not an object', given: 'lni1', error: /^decode's reply for the invoice cannot be read: decode: expected an object$/ },
  ];
  for (const c of refusals) test(`${c.description} is refused`, () => assert.match(value(readBolt12Invoice(c.given, 'lni1x') as Result<unknown>, true), c.error));

  test('a complete reply that decode calls invalid is read, with valid false and its warnings', () => {
    const inv = value(readBolt12Invoice({ ...decoded, valid: false, warning_invalid_invoice_signature: 'Incorrect signature' }, 'lni1x'));
    assert.deepEqual([inv.valid, inv.warnings], [false, ['invalid_invoice_signature: Incorrect signature']]);
  });

  test('an offer decode calls invalid is refused with its warnings', () => {
    const r = readBolt12Offer({ ...obj('rpc-decode-offer-any.json'), valid: false, warning_missing_offer_description: '`offer_description` is not present.' }, 'lno1x');
    assert.deepEqual(r, { ok: false, error: 'the offer is not valid (missing_offer_description: `offer_description` is not present.): ask the payee for a new offer' });
  });
});

/** The error of a Result that must fail (the test's own helper). */
function value<T>(r: Result<T>, failing: true): string;
function value<T>(r: Result<T>): T;
function value<T>(r: Result<T>, failing?: true): T | string {
  if (failing) {
    if (r.ok) throw new Error('expected an error');
    return r.error;
  }
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe("a blinded path's fee: base + floor(amount x ppm / 1e6), as xpay (askrene) charges it", () => {
  const bobPath = INV_PRIVATE.paths[0]?.payinfo;
  const stub = INV_PUBLIC.paths[0]?.payinfo;
  assert.ok(bobPath && stub);
  /** What xpay really sent beyond the amount, from listsendpays. */
  const paidFee = (name: string): bigint => {
    const [part] = (bolt12Fixture(name) as { payments: Array<{ amount_msat: number; amount_sent_msat: number }> }).payments;
    assert.ok(part);
    return BigInt(part.amount_sent_msat) - BigInt(part.amount_msat);
  };
  const cases: Array<{ description: string; amount: bigint; payinfo: typeof bobPath; expected: bigint; real?: bigint }> = [
    { description: "Alice's 7,654,321 msat through Bob: 1,234 + floor(4,340.000007); a ceiling would say 5,575", amount: 7_654_321n, payinfo: bobPath, expected: 5_574n, real: paidFee('rpc-listsendpays-private-alice.json') },
    { description: "Alice's 3,210,987 msat at maxfee=3054 (3053 failed): 1,234 + floor(1,820.629629)", amount: 3_210_987n, payinfo: bobPath, expected: 3_054n, real: paidFee('rpc-listsendpays-at-path-limits.json') },
    { description: "Bob's 54,321,987 msat: 1,234 + floor(30,800.566629) (Bob is the introduction node: counted against maxfee, not sent)", amount: 54_321_987n, payinfo: bobPath, expected: 32_034n },
    { description: 'Bob at maxfee=2429 failed for 2,109,876 msat: 1,234 + floor(1,196.299692)', amount: 2_109_876n, payinfo: bobPath, expected: 2_430n },
    { description: 'the stub path is free', amount: 100_000_123n, payinfo: stub, expected: 0n },
    { description: 'one msat through Bob: the base fee alone', amount: 1n, payinfo: bobPath, expected: 1_234n },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(blindedPathFeeMsat(c.payinfo, msat(c.amount)), c.expected);
      if (c.real !== undefined) assert.equal(c.real, c.expected, 'xpay sent this fee on real CLN');
    });
  }

  test('a payer that is the introduction node sends the amount itself (the fee stays with it)', () => {
    const [part] = (bolt12Fixture('rpc-listsendpays-private.json') as { payments: Array<{ amount_msat: number; amount_sent_msat: number }> }).payments;
    assert.deepEqual([part?.amount_msat, part?.amount_sent_msat], [54_321_987, 54_321_987]);
  });
});

describe('bolt12PathCosts: the CLTV and fee a relay budgets for', () => {
  const bob = INV_PRIVATE.paths[0] as Bolt12PaymentPath;
  const withPaths = (paths: Bolt12PaymentPath[], features = INV_PRIVATE.features): Bolt12Invoice => ({ ...INV_PRIVATE, paths, features });
  const slower: Bolt12PaymentPath = { ...bob, introduction: { kind: 'node', nodeId: CAROL }, payinfo: { ...bob.payinfo, feeBaseMsat: msat(5_003n), feePpm: 1, cltvExpiryDelta: 144 } };
  const D = msat(54_321_987n);
  const cases: Array<{ description: string; given: Bolt12Invoice; amount: Msat; expected: { cltv: number; minFee: bigint; maxFee: bigint; paths: number } | RegExp }> = [
    { description: "Dave's one path: 51 blocks (Bob's 41 + cltv-final 10), as xpay's maxdelay=51 showed", given: INV_PRIVATE, amount: D, expected: { cltv: 51, minFee: 32_034n, maxFee: 32_034n, paths: 1 } },
    { description: "Carol's stub path: her cltv-final, no fee", given: INV_PUBLIC, amount: msat(100_000_123n), expected: { cltv: 10, minFee: 0n, maxFee: 0n, paths: 1 } },
    { description: 'two paths, the slower one cheaper: the largest delta bounds every part, fees span both (5,003 + floor(54.3) = 5,057)', given: withPaths([bob, slower]), amount: D, expected: { cltv: 144, minFee: 5_057n, maxFee: 32_034n, paths: 2 } },
    { description: 'a path with an unknown even feature is not used (xpay skips it)', given: withPaths([bob, { ...slower, payinfo: { ...slower.payinfo, features: '0100' } }]), amount: D, expected: { cltv: 51, minFee: 32_034n, maxFee: 32_034n, paths: 1 } },
    { description: 'an unknown odd feature is fine', given: withPaths([{ ...slower, payinfo: { ...slower.payinfo, features: '0200' } }]), amount: D, expected: { cltv: 144, minFee: 5_057n, maxFee: 5_057n, paths: 1 } },
    { description: 'without MPP, a path whose htlc_maximum is below the amount cannot carry it', given: withPaths([bob, { ...slower, payinfo: { ...slower.payinfo, htlcMaximumMsat: msat(54_321_986n) } }], ''), amount: D, expected: { cltv: 51, minFee: 32_034n, maxFee: 32_034n, paths: 1 } },
    { description: 'with MPP (CLN sets it), the same path may carry a part', given: withPaths([bob, { ...slower, payinfo: { ...slower.payinfo, htlcMaximumMsat: msat(54_321_986n) } }]), amount: D, expected: { cltv: 144, minFee: 5_057n, maxFee: 32_034n, paths: 2 } },
    { description: "a path whose htlc_minimum is above the amount", given: withPaths([{ ...bob, payinfo: { ...bob.payinfo, htlcMinimumMsat: msat(54_321_988n) } }]), amount: D, expected: /^none of the invoice's 1 payment path\(s\) can carry 54321987 msat/ },
    { description: 'no paths at all', given: withPaths([]), amount: D, expected: /^the invoice has no payment paths/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = bolt12PathCosts(c.given, c.amount);
      if (c.expected instanceof RegExp) {
        assert.match(value(r, true), c.expected);
        return;
      }
      const v = value(r);
      assert.deepEqual([v.minFinalCltv, v.minFeeMsat, v.maxFeeMsat, v.paths.length], [c.expected.cltv, c.expected.minFee, c.expected.maxFee, c.expected.paths]);
    });
  }

  test('unknownEvenBits: bit 16 and 17 (basic_mpp) are known; 8 is required and unknown; 9 optional', () => {
    assert.deepEqual([unknownEvenBits('020000'), unknownEvenBits('010000'), unknownEvenBits('0100'), unknownEvenBits('0200'), unknownEvenBits('')], [[], [], [8], [], []]);
  });
});

describe('checkBolt12Downstream: may the relay join this fetched invoice?', () => {
  const base: Bolt12DownstreamContext = { offer: OFFER_ANY, wantMsat: msat(100_000_123n), network: 'regtest', ourNodeId: BOB, now: CREATED + 61, expiryMarginSeconds: 600, hashInUse: false };
  const noIssuer: Bolt12Offer = { ...OFFER_PRIVATE, issuerId: undefined };
  const finalBlinded = OFFER_PRIVATE.paths?.[0]?.finalBlindedNodeId as NodeId;
  const cases: Array<{ description: string; inv: Bolt12Invoice; ctx?: Partial<Bolt12DownstreamContext>; error?: RegExp }> = [
    { description: "Carol's invoice for exactly what Bob asked", inv: INV_PUBLIC },
    { description: "Dave's, where Bob is the path's introduction node (that is not paying himself)", inv: INV_PRIVATE, ctx: { offer: OFFER_PRIVATE, wantMsat: msat(54_321_987n) } },
    { description: "a fixed offer's invoice for its amount", inv: INV_FIXED, ctx: { offer: OFFER_FIXED, wantMsat: msat(250_000n) } },
    { description: 'an offer without issuer id: the invoice signed by the final blinded node of its path', inv: { ...INV_PRIVATE, nodeId: finalBlinded }, ctx: { offer: noIssuer, wantMsat: msat(54_321_987n) } },
    { description: 'a signature decode says is wrong', inv: { ...INV_PUBLIC, valid: false, warnings: ['invalid_invoice_signature: Incorrect signature'] }, error: /^the invoice is not validly signed \(invalid_invoice_signature: Incorrect signature\): fetch a new invoice from the offer$/ },
    { description: 'an invoice for another offer', inv: INV_PRIVATE, ctx: { wantMsat: msat(54_321_987n) }, error: /^the invoice answers another offer \(83890f77…\) than the one asked \(02318f0b…\): fetch again from the offer$/ },
    { description: 'signed by someone else than the issuer', inv: { ...INV_PUBLIC, nodeId: DAVE }, error: /^the invoice is signed by 02b6d43c…, not by the offer's issuer: do not pay it/ },
    { description: 'an offer without issuer id, signed by another node', inv: INV_PRIVATE, ctx: { offer: noIssuer, wantMsat: msat(54_321_987n) }, error: /not by the offer's issuer/ },
    { description: 'on another chain', inv: INV_PUBLIC, ctx: { network: 'bitcoin' }, error: /^the invoice is for regtest but this node runs on bitcoin: use an offer from the same network$/ },
    { description: 'one msat less than asked', inv: INV_PUBLIC, ctx: { wantMsat: msat(100_000_124n) }, error: /^the invoice is for 100000123 msat, not the 100000124 msat asked: refuse it and fetch again for the exact amount$/ },
    { description: 'an invoice amount that differs from its own request', inv: { ...INV_PUBLIC, requestedMsat: msat(100_000_122n) }, error: /not the 100000123 msat asked/ },
    { description: 'payable to this node', inv: INV_PUBLIC, ctx: { ourNodeId: CAROL }, error: /^the invoice is payable to this node itself/ },
    { description: 'expired (created_at + 7200)', inv: INV_PUBLIC, ctx: { now: CREATED + 7_200 }, error: /^the invoice expired at 2026-12-08T01:31:19Z: fetch a new one from the offer$/ },
    { description: 'expiring within the margin', inv: INV_PUBLIC, ctx: { now: CREATED + 7_200 - 659 }, error: /^the invoice expires in 659 s, too soon to relay \(rdv needs 660 s\)/ },
    { description: 'just outside the margin', inv: INV_PUBLIC, ctx: { now: CREATED + 7_200 - 660 } },
    { description: 'a hash this node already has', inv: INV_PUBLIC, ctx: { hashInUse: true }, error: /^this node already has a record or invoice for payment hash 698f6204/ },
    { description: 'an unknown required invoice feature', inv: { ...INV_PUBLIC, features: '04020000' }, error: /^the invoice requires features this node cannot pay \(bits 26\)/ },
    { description: 'an unknown required offer feature', inv: { ...INV_PUBLIC, offer: { ...INV_PUBLIC.offer, features: '01' } }, error: /bits 0/ },
    { description: 'no usable path', inv: { ...INV_PUBLIC, paths: [] }, error: /^the invoice has no payment paths/ },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.error ? 'refused' : 'accepted'}`, () => {
      const why = checkBolt12Downstream(c.inv, { ...base, ...c.ctx });
      if (c.error) assert.match(why ?? 'accepted', c.error);
      else assert.equal(why, undefined);
    });
  }
});

describe('checkBolt12Offer: can rdv fetch an invoice for exactly this amount?', () => {
  const ctx: Bolt12OfferContext = { network: 'regtest', wantMsat: msat(250_000n), now: CREATED };
  const cases: Array<{ description: string; offer: Bolt12Offer; over?: Partial<typeof ctx>; error?: RegExp }> = [
    { description: 'an any-amount offer', offer: OFFER_ANY },
    { description: 'a fixed offer, for its amount', offer: OFFER_FIXED },
    { description: 'a fixed offer, for more (BOLT 12 lets a payer pay more; CLN accepts up to 5x)', offer: OFFER_FIXED, over: { wantMsat: msat(250_777n) } },
    { description: 'a fixed offer, for less', offer: OFFER_FIXED, over: { wantMsat: msat(249_999n) }, error: /^the offer asks for 250000 msat, more than the 249999 msat the chain passes on/ },
    { description: 'another network', offer: OFFER_ANY, over: { network: 'signet' }, error: /^the offer is for regtest but this node runs on signet/ },
    { description: 'an expired offer', offer: OFFER_EXPIRED, over: { now: 1_796_686_284 }, error: /^the offer expired at 2026-12-07T23:31:24Z: ask the payee for a new one$/ },
    { description: 'an offer one second before it expires', offer: OFFER_EXPIRED, over: { now: 1_796_686_283 } },
    { description: 'a currency offer', offer: { ...OFFER_ANY, currency: 'EUR' }, error: /^the offer is priced in EUR/ },
    { description: 'a quantity offer', offer: { ...OFFER_ANY, quantityMax: 0n }, error: /^the offer sells by quantity/ },
    { description: 'a recurring offer', offer: { ...OFFER_ANY, recurrence: true }, error: /^the offer is recurring/ },
    { description: 'an unknown required offer feature', offer: { ...OFFER_ANY, features: '0100' }, error: /bits 8/ },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.error ? 'refused' : 'accepted'}`, () => {
      const why = checkBolt12Offer(c.offer, { ...ctx, ...c.over });
      if (c.error) assert.match(why ?? 'accepted', c.error);
      else assert.equal(why, undefined);
    });
  }
});

test("Alice's invoice reads like Bob's: the same offer and path, her own amount", () => {
  assert.deepEqual([INV_ALICE.offer.offerId, INV_ALICE.amountMsat, INV_ALICE.paths[0]?.payinfo.cltvExpiryDelta], [OFFER_PRIVATE.offerId, 7_654_321n, 51]);
});
