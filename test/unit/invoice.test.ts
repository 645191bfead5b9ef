/**
 * DESIGN.md "Invoice building rules" (src/chain/invoice.ts): Bob checks Carol's
 * downstream invoice, plans his same-hash invoice, and checks what his node signed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { encodeInvoice, resignInvoice, type Invoice, type InvoiceFields, type RouteHintHop } from '../../src/chain/bolt11.js';
import { planBudget, type BudgetPlan } from '../../src/chain/budget.js';
import type { NodeId, PaymentHash, PaymentSecret } from '../../src/chain/ids.js';
import { checkDownstream, checkSigned, planOurInvoice, type DownstreamContext, type OurInvoiceInput } from '../../src/chain/invoice.js';
import * as V from './bolt11-vectors.js';
import { BOB, BOB_KEY, BOB_SECRET, CAROL, CAROL_KEY, HASH, MALLORY, NOW, carolInvoice, decoded } from './invoice-kit.js';

const MARGIN = 600;

function ctx(over: Partial<DownstreamContext> = {}): DownstreamContext {
  return { network: 'regtest', ourNodeId: BOB, now: NOW, expiryMarginSeconds: MARGIN, hashInUse: false, ...over };
}

describe("checkDownstream: Carol's invoice must be relayable, or rdv says what to do", () => {
  test("Carol's ordinary invoice is accepted", () => {
    assert.equal(checkDownstream(carolInvoice(), ctx()), undefined);
  });

  // Carol's invoice expires at NOW + 7,100.
  const refused: Array<{ description: string; given: { invoice?: Partial<Invoice>; ctx?: Partial<DownstreamContext> }; error: RegExp }> = [
    {
      description: 'an invoice for another network is refused and asks for one from the same network',
      given: { ctx: { network: 'testnet' } },
      error: /for regtest \(prefix lnbcrt\) but this node runs on testnet: use an invoice from the same network/,
    },
    {
      description: 'a mainnet invoice on a signet node is refused',
      given: { invoice: { currency: 'bc', networks: ['bitcoin'] }, ctx: { network: 'signet' } },
      error: /for bitcoin \(prefix lnbc\) but this node runs on signet/,
    },
    {
      description: 'an invoice without an amount is refused and asks the payee for one with an amount',
      given: { invoice: { amountMsat: undefined } },
      error: /no amount: ask the payee \([0-9a-f]{8}…\) for an invoice with an amount/,
    },
    {
      description: 'an invoice for 0 msat is refused and asks for an amount',
      given: { invoice: { amountMsat: msat(0n) } },
      error: /for 0 msat: ask the payee .* for an invoice with an amount/,
    },
    {
      description: 'an invoice without a payment secret cannot be relayed safely and asks for a new invoice',
      given: { invoice: { paymentSecret: undefined } },
      error: /no payment secret, so it cannot be relayed safely: ask the payee .* for a new invoice/,
    },
    {
      description: 'an invoice payable to this node itself is refused: join with the next payee\'s invoice',
      given: { invoice: { payee: BOB } },
      error: /payable to this node itself: join with the next payee's invoice, not your own/,
    },
    {
      description: 'an expired invoice is refused with its expiry time and asks for a new one',
      given: { ctx: { now: NOW + 7_101 } },
      error: /expired at 2026-11-25T\d\d:\d\d:\d\dZ: ask the payee .* for a new one/,
    },
    {
      description: 'an invoice expiring this very second is expired',
      given: { ctx: { now: NOW + 7_100 } },
      error: /expired at/,
    },
    {
      description: 'an invoice expiring within the margin plus a minute is too soon to relay',
      given: { ctx: { now: NOW + 7_100 - 659 } },
      error: /expires in 659 s, too soon to relay \(rdv needs 660 s\): ask the payee .* for a new one/,
    },
    {
      description: 'a larger margin makes a longer-lived invoice too short',
      given: { ctx: { expiryMarginSeconds: 7_043 } },
      error: /expires in 7100 s, too soon to relay \(rdv needs 7103 s\)/,
    },
    {
      description: 'a hash this node already has a record or invoice for is refused and points to rdv status',
      given: { ctx: { hashInUse: true } },
      error: /already has a record or invoice for payment hash 9f9f.*: it was joined before \(see rdv status 9f9f9f9f\)/,
    },
    {
      description: 'an invoice requiring an unknown feature names the bits and asks for a plain invoice',
      given: { invoice: { featureBits: [8, 14, 17, 100, 102] } },
      error: /requires features this node cannot pay \(bits 100, 102\): ask the payee .* for a plain invoice/,
    },
    {
      description: 'an invoice without var_onion_optin is refused and asks for a new invoice',
      given: { invoice: { featureBits: [14, 17] } },
      error: /does not allow TLV onions \(var_onion_optin\): ask the payee .* for a new invoice/,
    },
  ];
  for (const c of refused) {
    test(c.description, () => {
      const problem = checkDownstream({ ...carolInvoice(), ...c.given.invoice }, ctx(c.given.ctx));
      assert.ok(problem !== undefined, 'accepted an invoice that must be refused');
      assert.match(problem, c.error);
    });
  }

  const accepted: Array<{ description: string; given: { invoice?: Partial<Invoice>; ctx?: Partial<DownstreamContext> } }> = [
    { description: 'an invoice with exactly the margin plus a minute left is accepted', given: { ctx: { now: NOW + 7_100 - 660 } } },
    { description: 'var_onion_optin only supported (bit 9) is enough', given: { invoice: { featureBits: [9, 14, 17] } } },
    { description: 'an unknown odd (optional) feature is fine', given: { invoice: { featureBits: [8, 14, 17, 25, 99] } } },
    { description: 'a testnet invoice on a testnet4 node (both use lntb)', given: { invoice: { currency: 'tb', networks: ['testnet', 'testnet4'] }, ctx: { network: 'testnet4' } } },
    { description: 'an invoice with a description hash only', given: { invoice: { description: undefined, descriptionHash: 'de'.repeat(32) } } },
  ];
  for (const c of accepted) {
    test(c.description, () => assert.equal(checkDownstream({ ...carolInvoice(), ...c.given.invoice }, ctx(c.given.ctx)), undefined));
  }

  test("BOLT 11's invoice without an s field is refused for its missing payment secret", () => {
    const problem = checkDownstream(decoded(V.MISSING_S_FIELD), ctx({ network: 'bitcoin', now: 1_496_314_659 }));
    assert.match(problem ?? '', /no payment secret/);
  });

  test("BOLT 11's invoice requiring unknown feature 100 is refused naming bit 100", () => {
    const problem = checkDownstream(decoded(V.UNKNOWN_FEATURE_100), ctx({ network: 'bitcoin', now: 1_496_314_659 }));
    assert.match(problem ?? '', /cannot pay \(bits 100\)/);
  });

  test('a wrong network is reported before anything else is wrong', () => {
    const problem = checkDownstream({ ...carolInvoice(), amountMsat: undefined, paymentSecret: undefined }, ctx({ network: 'bitcoin' }));
    assert.match(problem ?? '', /this node runs on bitcoin/);
  });
});

/** Bob's plan over Carol's 100,003 sat: payout 5,003, fee budget 1,007, delay 61. */
function bobPlan(): BudgetPlan {
  const r = planBudget({
    downstreamMsat: msat(100_003_000n),
    downstreamMinFinalCltv: 19,
    payoutMsat: msat(5_003_000n),
    feeBudgetMsat: msat(1_007_000n),
    delayBudgetBlocks: 61,
    safetyMarginBlocks: 34,
    cltvWarnBlocks: 432,
    routeAllowanceBlocks: 144,
    routeDelayBlocks: undefined,
    downstreamName: "Carol's invoice",
  });
  if (!('plan' in r)) assert.fail(r.problem.message);
  return r.plan;
}

const HINT: RouteHintHop = { pubkey: MALLORY, shortChannelId: '110x1x0', feeBaseMsat: 1, feeProportionalMillionths: 10, cltvExpiryDelta: 6 };

function ourInput(over: Partial<OurInvoiceInput> = {}): OurInvoiceInput {
  return {
    downstream: carolInvoice(),
    plan: bobPlan(),
    paymentSecret: BOB_SECRET,
    now: NOW,
    requestedExpirySeconds: undefined,
    expiryMarginSeconds: MARGIN,
    description: undefined,
    routeHints: [[HINT]],
    ...over,
  };
}

describe("planOurInvoice: Bob's same-hash invoice", () => {
  test('same hash, our secret, amount = downstream + payout + fee, cltv = downstream + delay, our hints', () => {
    const r = planOurInvoice(ourInput());
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      currency: 'bcrt',
      amountMsat: 106_013_000n,
      paymentHash: HASH,
      paymentSecret: BOB_SECRET,
      description: "Carol's 100,003 sat",
      descriptionHash: undefined,
      createdAt: NOW,
      expirySeconds: 7_100 - MARGIN,
      minFinalCltv: 19 + 61,
      routeHints: [[HINT]],
    });
  });

  // Carol's invoice expires at NOW + 7,100; the room for ours is 6,500 s.
  const expiries: Array<{ description: string; given: { requested?: number; now?: number; margin?: number }; expected: number }> = [
    { description: 'without --expiry, ours lives until the margin before the downstream expiry', given: {}, expected: 6_500 },
    { description: 'a shorter --expiry is kept', given: { requested: 3_001 }, expected: 3_001 },
    { description: 'a longer --expiry is capped by the downstream remaining life minus the margin', given: { requested: 86_401 }, expected: 6_500 },
    { description: '--expiry equal to the room is kept', given: { requested: 6_500 }, expected: 6_500 },
    { description: 'later, there is less room', given: { now: NOW + 5_003 }, expected: 1_497 },
    { description: 'a bigger margin leaves less room', given: { margin: 6_997 }, expected: 103 },
    { description: 'exactly the shortest life (60 s) is allowed', given: { now: NOW + 6_440 }, expected: 60 },
  ];
  for (const c of expiries) {
    test(`${c.description}: ${c.expected} s`, () => {
      const r = planOurInvoice(
        ourInput({ requestedExpirySeconds: c.given.requested, now: c.given.now ?? NOW, expiryMarginSeconds: c.given.margin ?? MARGIN }),
      );
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.value.expirySeconds, c.expected);
      assert.equal(r.value.createdAt, c.given.now ?? NOW);
    });
  }

  const tooShort: Array<{ description: string; given: { requested?: number; now?: number }; error: RegExp }> = [
    { description: 'a downstream invoice with under a minute of room is refused', given: { now: NOW + 6_441 }, error: /our invoice would live only 59 s \(the downstream one expires at .*\): ask for a fresh downstream invoice/ },
    { description: 'an already-expired downstream invoice gives a negative life and is refused', given: { now: NOW + 7_201 }, error: /would live only -701 s/ },
    { description: 'a --expiry under a minute is refused', given: { requested: 59 }, error: /would live only 59 s/ },
  ];
  for (const c of tooShort) {
    test(c.description, () => {
      const r = planOurInvoice(ourInput({ requestedExpirySeconds: c.given.requested, now: c.given.now ?? NOW }));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }

  const descriptions: Array<{ description: string; given: { downstream: Partial<InvoiceFields>; ours: string | undefined }; expected: { description: string | undefined; descriptionHash: string | undefined } }> = [
    { description: "the downstream's description is the default", given: { downstream: {}, ours: undefined }, expected: { description: "Carol's 100,003 sat", descriptionHash: undefined } },
    { description: '--description replaces it', given: { downstream: {}, ours: 'Bob & Carol, 106,013 sat' }, expected: { description: 'Bob & Carol, 106,013 sat', descriptionHash: undefined } },
    { description: 'an empty --description is kept empty', given: { downstream: {}, ours: '' }, expected: { description: '', descriptionHash: undefined } },
    {
      description: 'a downstream with only a description hash passes the hash on',
      given: { downstream: { description: undefined, descriptionHash: 'de'.repeat(32) }, ours: undefined },
      expected: { description: undefined, descriptionHash: 'de'.repeat(32) },
    },
    {
      description: '--description wins over a downstream description hash',
      given: { downstream: { description: undefined, descriptionHash: 'de'.repeat(32) }, ours: 'Bob' },
      expected: { description: 'Bob', descriptionHash: undefined },
    },
  ];
  for (const c of descriptions) {
    test(c.description, () => {
      const r = planOurInvoice(ourInput({ downstream: carolInvoice(c.given.downstream), description: c.given.ours }));
      assert.ok(r.ok);
      assert.deepEqual({ description: r.value.description, descriptionHash: r.value.descriptionHash }, c.expected);
    });
  }

  test("a description hash of our own (rdv-request's, for LNURL) wins over any description, ours or the downstream's", () => {
    for (const downstream of [{}, { description: undefined, descriptionHash: 'de'.repeat(32) }]) {
      const r = planOurInvoice({ ...ourInput({ downstream: carolInvoice(downstream), description: 'Bob' }), descriptionHash: '5a'.repeat(32) });
      assert.ok(r.ok);
      assert.deepEqual({ description: r.value.description, descriptionHash: r.value.descriptionHash }, { description: undefined, descriptionHash: '5a'.repeat(32) });
    }
    const bad = planOurInvoice({ ...ourInput(), descriptionHash: '5A'.repeat(32) });
    assert.deepEqual(bad, { ok: false, error: 'the description hash must be 64 hex digits (a sha256)' });
  });

  test('a description hash given (an lnproxy client\'s description_hash) replaces the downstream description, and wins over a description', () => {
    for (const ours of [undefined, 'Bob']) {
      const r = planOurInvoice(ourInput({ description: ours, descriptionHash: 'ab'.repeat(32) }));
      assert.ok(r.ok);
      assert.deepEqual({ description: r.value.description, descriptionHash: r.value.descriptionHash }, { description: undefined, descriptionHash: 'ab'.repeat(32) });
    }
  });

  test('a downstream with neither description nor hash gives an empty description', () => {
    const r = planOurInvoice(ourInput({ downstream: { ...carolInvoice(), description: undefined, descriptionHash: undefined } }));
    assert.ok(r.ok);
    assert.equal(r.value.description, '');
    assert.equal(r.value.descriptionHash, undefined);
  });

  test("the downstream's network prefix is kept (signet)", () => {
    const r = planOurInvoice(ourInput({ downstream: carolInvoice({ currency: 'tbs' }) }));
    assert.ok(r.ok);
    assert.equal(r.value.currency, 'tbs');
  });

  test('without private channels there are no route hints', () => {
    const r = planOurInvoice(ourInput({ routeHints: [] }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.routeHints, []);
  });
});

/** What Bob asked for, and his node's signature over exactly that. */
function wantAndSigned(): { want: InvoiceFields; signed: Invoice } {
  const r = planOurInvoice(ourInput());
  if (!r.ok) assert.fail(r.error);
  return { want: r.value, signed: decoded(encodeInvoice(r.value, BOB_KEY)) };
}

describe('checkSigned: every difference between what we asked for and what the node signed is caught', () => {
  test('an invoice signed by our node exactly as asked passes', () => {
    const { want, signed } = wantAndSigned();
    assert.equal(checkSigned(signed, want, BOB), undefined);
  });

  test("the node's signinvoice result (a re-signed throwaway-key invoice) passes", () => {
    const { want } = wantAndSigned();
    const unsigned = encodeInvoice(want, CAROL_KEY);
    assert.equal(checkSigned(decoded(resignInvoice(unsigned, BOB_KEY)), want, BOB), undefined);
  });

  const mismatches: Array<{ description: string; given: (signed: Invoice) => Invoice; error: RegExp }> = [
    { description: 'another signer', given: (s) => ({ ...s, payee: MALLORY }), error: /signer \(0[23][0-9a-f]{64} instead of 0[23]/ },
    { description: 'an n field naming another node', given: (s) => ({ ...s, payee: MALLORY, hasPayeeField: true }), error: /payee field/ },
    { description: 'another currency', given: (s) => ({ ...s, currency: 'tb' }), error: /currency \(tb instead of bcrt\)/ },
    { description: 'another amount', given: (s) => ({ ...s, amountMsat: msat(106_013_001n) }), error: /amount \(106013001 instead of 106013000\)/ },
    { description: 'no amount', given: (s) => ({ ...s, amountMsat: undefined }), error: /amount/ },
    { description: 'another payment hash', given: (s) => ({ ...s, paymentHash: '8e'.repeat(32) as PaymentHash }), error: /payment hash/ },
    { description: 'another payment secret', given: (s) => ({ ...s, paymentSecret: '7d'.repeat(32) as PaymentSecret }), error: /payment secret/ },
    { description: 'no payment secret', given: (s) => ({ ...s, paymentSecret: undefined }), error: /payment secret/ },
    { description: 'another timestamp', given: (s) => ({ ...s, createdAt: NOW + 1 }), error: /timestamp/ },
    { description: 'another expiry', given: (s) => ({ ...s, expirySeconds: 3_600 }), error: /expiry \(3600 instead of 6500\)/ },
    { description: 'another min_final_cltv', given: (s) => ({ ...s, minFinalCltv: 18 }), error: /min_final_cltv \(18 instead of 80\)/ },
    { description: 'another description', given: (s) => ({ ...s, description: 'Mallory' }), error: /description \(Mallory instead of/ },
    { description: 'a description hash we did not ask for', given: (s) => ({ ...s, descriptionHash: 'de'.repeat(32) }), error: /description hash/ },
    { description: 'route hints dropped', given: (s) => ({ ...s, routeHints: [] }), error: /route hints/ },
    { description: 'a route hint with another fee', given: (s) => ({ ...s, routeHints: [[{ ...HINT, feeBaseMsat: 2 }]] }), error: /route hints/ },
    { description: 'a route hint with another scid', given: (s) => ({ ...s, routeHints: [[{ ...HINT, shortChannelId: '110x1x1' }]] }), error: /route hints/ },
    { description: 'a route hint added', given: (s) => ({ ...s, routeHints: [[HINT], [HINT]] }), error: /route hints/ },
    { description: 'var_onion_optin not required', given: (s) => ({ ...s, featureBits: [9, 14, 17] }), error: /feature 8 not required/ },
    { description: 'payment_secret not required', given: (s) => ({ ...s, featureBits: [8, 15, 17] }), error: /feature 14 not required/ },
    { description: 'basic_mpp missing', given: (s) => ({ ...s, featureBits: [8, 14] }), error: /basic_mpp missing/ },
  ];
  for (const c of mismatches) {
    test(`${c.description} is detected`, () => {
      const { want, signed } = wantAndSigned();
      const problem = checkSigned(c.given(signed), want, BOB);
      assert.ok(problem !== undefined, 'a different invoice passed the check');
      assert.match(problem, /^the node signed a different invoice: /);
      assert.match(problem, c.error);
    });
  }

  test('an invoice re-signed by another node is caught by its real signature', () => {
    const { want, signed } = wantAndSigned();
    const problem = checkSigned(decoded(resignInvoice(signed.bolt11, CAROL_KEY)), want, BOB);
    assert.match(problem ?? '', new RegExp(`signer \\(${CAROL} instead of ${BOB}\\)`));
  });

  test('every difference is listed, not only the first', () => {
    const { want, signed } = wantAndSigned();
    const problem = checkSigned({ ...signed, amountMsat: msat(1n), minFinalCltv: 9, featureBits: [] }, want, BOB) ?? '';
    for (const part of [/amount/, /min_final_cltv/, /feature 8 not required/, /feature 14 not required/, /basic_mpp missing/]) assert.match(problem, part);
  });

  test('basic_mpp required (bit 16) instead of supported is accepted', () => {
    const { want, signed } = wantAndSigned();
    assert.equal(checkSigned({ ...signed, featureBits: [8, 14, 16] }, want, BOB), undefined);
  });

  test('an n field naming our own node is fine', () => {
    const { want, signed } = wantAndSigned();
    assert.equal(checkSigned({ ...signed, hasPayeeField: true }, want, BOB), undefined);
  });

  test("a check against the wrong node id (Carol's) fails on the signer", () => {
    const { want, signed } = wantAndSigned();
    assert.match(checkSigned(signed, want, CAROL as NodeId) ?? '', /signer/);
  });
});
