/**
 * Relay policies (src/chain/policy.ts): what the operator types, the book, and the
 * values one pass-back gets. Bob relays for Carol (the next payee, --from) and
 * passes his invoice on to Alice (--pass-to); distinctive numbers throughout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat, type Msat } from '../../src/chain/amount.js';
import type { NodeId } from '../../src/chain/ids.js';
import { DEFAULT_POLICY_BOUNDS, EMPTY_BOOK, formatShare, MAX_DELIVERIES, MAX_POLICIES, shareOf, type LastPolicy, type Policy, type PolicyBook, type Share } from '../../src/chain/policy/policy.js';
import { newLastPolicy, newPolicy, parsePassTo, parseShare, type LastPolicyInput, type PolicyInput } from '../../src/chain/policy/input.js';
import { addLastPolicy, addPolicy, lastPolicyToJson, parseBook, policyFor, policyToJson, removePolicy, requestPolicyFor, serializeBook, viaPolicy } from '../../src/chain/policy/book.js';
import { admitJoin, descriptionProblem, invoiceLifeCap, joinsInWindow, openJoinedBy, policyValues, routeProblem, type PolicyLoad } from '../../src/chain/policy/decide.js';
import { ShapeError } from '../../src/chain/read.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import { CAROL, makeRecord, NOW } from '../helpers/builders.js';

const BOB = `03${'b0'.repeat(32)}` as NodeId;
const ALICE = `02${'a1'.repeat(32)}` as NodeId;
const DAVE = `03${'d4'.repeat(32)}` as NodeId;

const percent = (ppm: bigint): Share => ({ kind: 'percent', ppm });
const fixed = (m: bigint): Share => ({ kind: 'fixed', msat: msat(m) });

/** Bob's policy for Carol's pass-backs: 2%, fee budget 0.5%, 80 blocks, on to Alice (`passTo: undefined`: to nobody). */
function makePolicy(over: Partial<Policy> = {}): Policy {
  const p: Policy = { id: '5e1f0c2a', from: CAROL, payout: percent(20_000n), feeBudget: percent(5_000n), delayBudget: 80, passTo: { id: ALICE }, createdAt: NOW - 77, ...over };
  if (p.passTo === undefined) delete p.passTo;
  return p;
}
const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({ from: CAROL, payout: '2%', feeBudget: '0.5%', delayBudget: '80', ...over });
const ctx = { id: '5e1f0c2a', self: BOB, now: NOW };

describe('parseShare', () => {
  const cases: Array<{ description: string; given: [string, string, { allowZero?: boolean }?]; expected: Share | RegExp }> = [
    { description: '2% is 20 000 ppm', given: ['2%', '--payout'], expected: percent(20_000n) },
    { description: '0.25% is 2 500 ppm', given: ['0.25%', '--payout'], expected: percent(2_500n) },
    { description: '4 decimals: 0.0001% is 1 ppm', given: ['0.0001%', '--payout'], expected: percent(1n) },
    { description: '100% is the whole downstream amount', given: ['100%', '--payout'], expected: percent(1_000_000n) },
    { description: 'spaces around, and before the sign', given: [' 1.5 % ', '--payout'], expected: percent(15_000n) },
    { description: '101% is refused', given: ['101%', '--payout'], expected: /^--payout 101% is more than 100%$/ },
    { description: '1000% is more than 100%, not "not a percentage"', given: ['1000%', '--payout'], expected: /^--payout 1000% is more than 100%$/ },
    { description: '0% payout is refused', given: ['0%', '--payout'], expected: /^--payout 0% is zero$/ },
    { description: '0% fee budget is allowed', given: ['0%', '--fee-budget', { allowZero: true }], expected: percent(0n) },
    { description: '5 decimals are refused', given: ['0.00001%', '--payout'], expected: /^--payout "0\.00001%" is not a percentage: use e\.g\. 2% or 0\.25% \(at most 4 decimals\)$/ },
    { description: 'a percent sign in the wrong place', given: ['%2', '--payout'], expected: /is not a percentage/ },
    { description: 'an amount: 5000sat', given: ['5000sat', '--payout'], expected: fixed(5_000_000n) },
    { description: 'a bare integer is sat', given: ['777', '--payout'], expected: fixed(777_000n) },
    { description: 'msat', given: ['1234msat', '--fee-budget', { allowZero: true }], expected: fixed(1_234n) },
    { description: '0sat payout is refused', given: ['0sat', '--payout'], expected: /^--payout: amount "0sat" is zero/ },
    { description: '0sat fee budget is allowed', given: ['0sat', '--fee-budget', { allowZero: true }], expected: fixed(0n) },
    { description: 'nonsense names the flag', given: ['lots', '--fee-budget', { allowZero: true }], expected: /^--fee-budget: amount "lots" is not understood/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = parseShare(...c.given);
      if (c.expected instanceof RegExp) {
        assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r.ok && formatShare(r.value))}`);
        if (!r.ok) assert.match(r.error, c.expected);
      } else assert.deepEqual(r, { ok: true, value: c.expected });
    });
  }
});

describe('shareOf: a percentage is rounded down to the msat', () => {
  const cases: Array<{ description: string; share: Share; downstream: bigint; expected: bigint }> = [
    { description: '2% of 1 000 001 msat is 20 000 (20 000.02 rounded down)', share: percent(20_000n), downstream: 1_000_001n, expected: 20_000n },
    { description: '2% of 100 000 sat is 2 000 sat', share: percent(20_000n), downstream: 100_000_000n, expected: 2_000_000n },
    { description: '0.25% of 999 msat is 2 (2.4975)', share: percent(2_500n), downstream: 999n, expected: 2n },
    { description: '0.0001% of 999 999 msat is 0', share: percent(1n), downstream: 999_999n, expected: 0n },
    { description: '100% is all of it', share: percent(1_000_000n), downstream: 123_457n, expected: 123_457n },
    { description: 'a fixed amount is itself, whatever the downstream amount', share: fixed(5_000_000n), downstream: 1n, expected: 5_000_000n },
  ];
  for (const c of cases) test(c.description, () => assert.equal(shareOf(c.share, msat(c.downstream)), c.expected));
});

describe('formatShare', () => {
  const cases: Array<[Share, string]> = [
    [percent(20_000n), '2%'],
    [percent(2_500n), '0.25%'],
    [percent(1n), '0.0001%'],
    [percent(1_000_000n), '100%'],
    [percent(0n), '0%'],
    [fixed(5_000_000n), '5,000 sat'],
    [fixed(1_234n), '1.234 sat'],
  ];
  for (const [share, text] of cases) test(text, () => assert.equal(formatShare(share), text));
  test('what it prints parses back to the same percentage', () => {
    for (const ppm of [1n, 2_500n, 20_000n, 123_456n, 1_000_000n]) assert.deepEqual(parseShare(formatShare(percent(ppm)), '--payout'), { ok: true, value: percent(ppm) });
  });
});

describe('parsePassTo', () => {
  test('an id alone, with a host, with a host and port, an IPv6 address in brackets; upper case is made lower', () => {
    assert.deepEqual(parsePassTo(ALICE), { ok: true, value: { id: ALICE } });
    assert.deepEqual(parsePassTo(`${ALICE.toUpperCase()}@alice.example.net`), { ok: true, value: { id: ALICE, host: 'alice.example.net' } });
    assert.deepEqual(parsePassTo(`${ALICE}@203.0.113.7:9735`), { ok: true, value: { id: ALICE, host: '203.0.113.7', port: 9735 } });
    assert.deepEqual(parsePassTo(`${ALICE}@[2001:db8::7]:19846`), { ok: true, value: { id: ALICE, host: '2001:db8::7', port: 19846 } });
  });
  for (const bad of [`${ALICE}@host:0`, `${ALICE}@host:65536`, `04${'a1'.repeat(32)}`, 'alice', `${ALICE}@`, `${ALICE}@2001:db8::7`]) {
    test(`"${bad.slice(0, 12)}...${bad.slice(-12)}" is refused`, () => assert.equal(parsePassTo(bad).ok, false));
  }
});

describe('newPolicy', () => {
  test('the values as typed, dated now, with the id given', () => {
    const r = newPolicy(input({ passTo: `${ALICE}@203.0.113.7:9735`, minAmount: '10000sat', maxAmount: '1000000sat', expires: '30d', note: 'Carol, shop' }), ctx);
    assert.deepEqual(r, {
      ok: true,
      value: {
        id: '5e1f0c2a', from: CAROL, payout: percent(20_000n), feeBudget: percent(5_000n), delayBudget: 80, createdAt: NOW,
        passTo: { id: ALICE, host: '203.0.113.7', port: 9735 }, minAmountMsat: 10_000_000n, maxAmountMsat: 1_000_000_000n, expiresAt: NOW + 30 * 86_400, note: 'Carol, shop',
      },
    });
  });

  test('the node id is taken in any case and stored in lower case', () => {
    const r = newPolicy(input({ from: ` ${CAROL.toUpperCase()} ` }), ctx);
    assert.equal(r.ok && r.value.from, CAROL);
  });

  test('the delay budget must exceed the safety margin 34 plus 3: 37 is refused, 38 accepted', () => {
    const at37 = newPolicy(input({ delayBudget: '37' }), ctx);
    assert.deepEqual(at37, { ok: false, error: "--delay-budget 37 can never be met: it must exceed the safety margin (34) plus 3 blocks for xpay's retries, and cover the route's CLTV deltas too; give at least 38" });
    assert.equal(newPolicy(input({ delayBudget: '38' }), ctx).ok, true);
  });

  test('with a wider safety margin, the floor moves with it', () => {
    assert.equal(newPolicy(input({ delayBudget: '43' }), { ...ctx, safetyMargin: 40 }).ok, false);
    assert.equal(newPolicy(input({ delayBudget: '44' }), { ...ctx, safetyMargin: 40 }).ok, true);
  });

  test('without knowing this node yet (self undefined), everything else is checked and a self policy passes', () => {
    assert.equal(newPolicy(input({ from: BOB }), { ...ctx, self: undefined }).ok, true);
    assert.equal(newPolicy(input({ delayBudget: '37' }), { ...ctx, self: undefined }).ok, false);
  });

  const refusals: Array<{ description: string; given: Partial<PolicyInput>; error: RegExp }> = [
    { description: 'a --from that is no node id', given: { from: 'carol' }, error: /^--from "carol" is not a node id \(66 hex digits\)$/ },
    { description: 'a --from of 66 hex digits that is no key (04...)', given: { from: `04${'c3'.repeat(32)}` }, error: /^--from .* is not a node id/ },
    { description: '--from this node itself', given: { from: BOB }, error: /^--from is this node itself/ },
    { description: 'a payout of 0%', given: { payout: '0%' }, error: /^--payout 0% is zero$/ },
    { description: 'a payout over 100%', given: { payout: '100.5%' }, error: /^--payout 100\.5% is more than 100%$/ },
    { description: 'a fee budget that is no amount', given: { feeBudget: 'cheap' }, error: /^--fee-budget: / },
    { description: 'a delay budget that is no number', given: { delayBudget: 'soon' }, error: /^--delay-budget "soon" is not a whole number of blocks$/ },
    { description: 'a delay budget over 2016', given: { delayBudget: '2017' }, error: /^--delay-budget 2017 blocks is more than 2016$/ },
    { description: '--pass-to the --from node', given: { passTo: CAROL }, error: /^--pass-to is the --from node/ },
    { description: '--pass-to this node itself', given: { passTo: `${BOB}@127.0.0.1:9735` }, error: /^--pass-to is this node itself/ },
    { description: '--pass-to no node id', given: { passTo: 'alice@host' }, error: /^--pass-to "alice@host" is not a node id/ },
    { description: '--min-amount over --max-amount', given: { minAmount: '50001sat', maxAmount: '50000sat' }, error: /^--min-amount 50,001 sat is more than --max-amount 50,000 sat: no pass-back could meet the policy$/ },
    { description: '--min-amount of 0', given: { minAmount: '0' }, error: /^--min-amount: amount "0" is zero/ },
    { description: '--max-amount that is no amount', given: { maxAmount: '1.5' }, error: /^--max-amount: amount "1\.5" is ambiguous/ },
    { description: 'a fixed fee budget over --max-amount', given: { feeBudget: '60000sat', maxAmount: '50000sat' }, error: /^--fee-budget 60,000 sat is more than --max-amount/ },
    { description: '--expires that is no duration', given: { expires: 'soon' }, error: /^--expires "soon" is not a duration/ },
    { description: '--expires 0', given: { expires: '0' }, error: /^--expires must be more than 0 seconds$/ },
    { description: 'a note over 200 bytes (67 three-byte characters)', given: { note: '€'.repeat(67) }, error: /^--note is longer than 200 bytes$/ },
  ];
  for (const c of refusals) {
    test(`refuses ${c.description}`, () => {
      const r = newPolicy(input(c.given), ctx);
      assert.equal(r.ok, false, c.description);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }

  test('the bounds given are kept, the others left to the defaults (and so absent)', () => {
    const r = newPolicy(input({ maxOpen: '17', maxInvoiceLife: '15m' }), ctx);
    assert.deepEqual(r.ok && r.value.bounds, { maxOpen: 17, maxInvoiceLifeSeconds: 900 });
    const all = newPolicy(input({ maxOpen: '10000', maxPerMinute: '1', maxInvoiceLife: '60', maxDescription: '0' }), ctx);
    assert.deepEqual(all.ok && all.value.bounds, { maxOpen: 10_000, maxPerMinute: 1, maxInvoiceLifeSeconds: 60, maxDescriptionBytes: 0 });
    const none = newPolicy(input(), ctx);
    assert.equal(none.ok && none.value.bounds, undefined);
  });

  const boundRefusals: Array<{ description: string; given: Partial<PolicyInput>; error: RegExp }> = [
    { description: '--max-open 0', given: { maxOpen: '0' }, error: /^--max-open 0 is out of range: give 1 to 10000$/ },
    { description: '--max-open 10001', given: { maxOpen: '10001' }, error: /^--max-open 10001 is out of range: give 1 to 10000$/ },
    { description: '--max-open that is no number', given: { maxOpen: 'many' }, error: /^--max-open "many" is not a whole number$/ },
    { description: '--max-per-minute 1001', given: { maxPerMinute: '1001' }, error: /^--max-per-minute 1001 is out of range: give 1 to 1000$/ },
    { description: '--max-per-minute 2.5', given: { maxPerMinute: '2.5' }, error: /^--max-per-minute "2\.5" is not a whole number$/ },
    { description: '--max-invoice-life 59 (our invoice lives at least 60 s)', given: { maxInvoiceLife: '59' }, error: /^--max-invoice-life 59 is out of range: give 60 s to 30d$/ },
    { description: '--max-invoice-life 31d', given: { maxInvoiceLife: '31d' }, error: /^--max-invoice-life 31d is out of range: give 60 s to 30d$/ },
    { description: '--max-invoice-life that is no duration', given: { maxInvoiceLife: 'long' }, error: /^--max-invoice-life "long" is not a duration/ },
    { description: '--max-description 640 (BOLT 11 carries 639 bytes)', given: { maxDescription: '640' }, error: /^--max-description 640 is out of range: give 0 to 639$/ },
  ];
  for (const c of boundRefusals) {
    test(`refuses ${c.description}`, () => {
      const r = newPolicy(input(c.given), ctx);
      assert.equal(r.ok, false, c.description);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }

  test('a note of exactly 200 bytes is kept', () => {
    const r = newPolicy(input({ note: 'n'.repeat(200) }), ctx);
    assert.equal(r.ok && r.value.note?.length, 200);
  });
});

describe('the book: add, remove, and which policy applies', () => {
  const carol = makePolicy();
  const dave = makePolicy({ id: '0d4e9b17', from: DAVE, passTo: undefined, expiresAt: NOW + 600 });

  test('add puts a policy at the end; the book given is not changed', () => {
    const one = addPolicy(EMPTY_BOOK, carol);
    assert.ok(one.ok);
    const two = addPolicy(one.value, dave);
    assert.ok(two.ok);
    assert.deepEqual(two.value.policies.map((p) => p.id), ['5e1f0c2a', '0d4e9b17']);
    assert.deepEqual(EMPTY_BOOK.policies, []);
    assert.equal(one.value.policies.length, 1);
  });

  test('a second policy for the same --from node is refused, naming the first', () => {
    const book: PolicyBook = { version: 1, lastPolicies: [], policies: [carol] };
    assert.deepEqual(addPolicy(book, makePolicy({ id: '77aa77aa', payout: fixed(1n) })), {
      ok: false,
      error: `policy 5e1f0c2a already joins pass-backs from ${CAROL}: remove it first (rdv policy remove 5e1f0c2a)`,
    });
  });

  test('an id already in the book is refused (remove would take both)', () => {
    const book: PolicyBook = { version: 1, lastPolicies: [], policies: [carol] };
    assert.deepEqual(addPolicy(book, makePolicy({ from: DAVE })), { ok: false, error: 'there is a policy 5e1f0c2a already: try again (ids are random)' });
  });

  test(`the book holds at most ${MAX_POLICIES}`, () => {
    const full: PolicyBook = { version: 1, lastPolicies: [], policies: Array.from({ length: MAX_POLICIES }, (_, i) => makePolicy({ id: i.toString(16).padStart(8, '0'), from: `02${i.toString(16).padStart(64, '0')}` as NodeId })) };
    const r = addPolicy(full, carol);
    assert.equal(r.ok, false);
  });

  test('remove takes it out and returns it; an unknown id is refused', () => {
    const book: PolicyBook = { version: 1, lastPolicies: [], policies: [carol, dave] };
    assert.deepEqual(removePolicy(book, '5e1f0c2a'), { ok: true, value: { book: { version: 1, lastPolicies: [], policies: [dave] }, removed: carol } });
    assert.deepEqual(removePolicy(book, 'ffffffff'), { ok: false, error: 'no policy ffffffff: see rdv policy list' });
  });

  test('policyFor: the sender\'s policy while it has not expired; none for other nodes', () => {
    const book: PolicyBook = { version: 1, lastPolicies: [], policies: [carol, dave] };
    const cases: Array<{ description: string; from: NodeId; now: number; expected: string | undefined }> = [
      { description: 'Carol, no expiry', from: CAROL, now: NOW + 10 ** 8, expected: '5e1f0c2a' },
      { description: 'Dave, a second before expiry', from: DAVE, now: NOW + 599, expected: '0d4e9b17' },
      { description: 'Dave, at expiry', from: DAVE, now: NOW + 600, expected: undefined },
      { description: 'Alice has no policy', from: ALICE, now: NOW, expected: undefined },
    ];
    for (const c of cases) assert.equal(policyFor(book, c.from, c.now)?.id, c.expected, c.description);
  });
});

describe('policyValues: the budgets one pass-back gets', () => {
  const bounded = makePolicy({ minAmountMsat: msat(10_000_000n), maxAmountMsat: msat(1_000_000_000n) });
  const cases: Array<{ description: string; policy: Policy; downstream: Msat | undefined; now?: number; expected: { payoutMsat: bigint; feeBudgetMsat: bigint; delayBudget: number } | RegExp }> = [
    { description: '2% and 0.5% of 100 000 sat', policy: bounded, downstream: msat(100_000_000n), expected: { payoutMsat: 2_000_000n, feeBudgetMsat: 500_000n, delayBudget: 80 } },
    { description: 'rounded down: 2% and 0.5% of 1 000 001 msat', policy: makePolicy(), downstream: msat(1_000_001n), expected: { payoutMsat: 20_000n, feeBudgetMsat: 5_000n, delayBudget: 80 } },
    { description: 'fixed amounts stay fixed', policy: makePolicy({ payout: fixed(5_000_000n), feeBudget: fixed(1_000_000n), delayBudget: 61 }), downstream: msat(100_000_000n), expected: { payoutMsat: 5_000_000n, feeBudgetMsat: 1_000_000n, delayBudget: 61 } },
    { description: 'the minimum itself is joined', policy: bounded, downstream: msat(10_000_000n), expected: { payoutMsat: 200_000n, feeBudgetMsat: 50_000n, delayBudget: 80 } },
    { description: 'the maximum itself is joined', policy: bounded, downstream: msat(1_000_000_000n), expected: { payoutMsat: 20_000_000n, feeBudgetMsat: 5_000_000n, delayBudget: 80 } },
    { description: 'a msat under the minimum is refused', policy: bounded, downstream: msat(9_999_999n), expected: /^9,999\.999 sat is under policy 5e1f0c2a's minimum of 10,000 sat$/ },
    { description: 'a msat over the maximum is refused', policy: bounded, downstream: msat(1_000_000_001n), expected: /^1,000,000\.001 sat is over policy 5e1f0c2a's maximum of 1,000,000 sat$/ },
    { description: 'an invoice without an amount is refused', policy: makePolicy(), downstream: undefined, expected: /^policy 5e1f0c2a joins only invoices with an amount$/ },
    { description: 'a payout that rounds down to nothing is refused (2% of 49 msat)', policy: makePolicy(), downstream: msat(49n), expected: /^policy 5e1f0c2a's payout of 2% of 0\.049 sat rounds down to nothing$/ },
    { description: 'a 0% fee budget is 0 msat, and that is fine', policy: makePolicy({ feeBudget: percent(0n) }), downstream: msat(100_000_000n), expected: { payoutMsat: 2_000_000n, feeBudgetMsat: 0n, delayBudget: 80 } },
    { description: 'an expired policy is refused', policy: makePolicy({ expiresAt: NOW }), downstream: msat(100_000_000n), now: NOW, expected: /^policy 5e1f0c2a expired$/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = policyValues(c.policy, c.downstream, c.now ?? NOW);
      if (c.expected instanceof RegExp) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.expected);
      } else assert.deepEqual(r, { ok: true, value: c.expected });
    });
  }
});

describe('the stored book', () => {
  const full = makePolicy({
    passTo: { id: ALICE, host: '2001:db8::7', port: 19846 }, minAmountMsat: msat(10_000_000n), maxAmountMsat: msat(2_100_000_000_000_000_000n),
    expiresAt: NOW + 2_592_000, note: 'Carol\'s shop "no. 1" €',
  });
  const bare = makePolicy({ id: '0d4e9b17', from: DAVE, payout: fixed(5_000_000n), feeBudget: fixed(0n), passTo: undefined, delayBudget: 38 });
  const book: PolicyBook = { version: 1, lastPolicies: [], policies: [full, bare] };

  test('serializeBook then parseBook gives the same book back (amounts as strings, up to 21 million BTC)', () => {
    const text = serializeBook(book);
    assert.match(text, /"max_amount_msat":"2100000000000000000"/);
    assert.match(text, /"ppm":"20000"/);
    assert.deepEqual(parseBook(text), book);
  });

  test('an empty book round-trips', () => assert.deepEqual(parseBook(serializeBook(EMPTY_BOOK)), EMPTY_BOOK));

  test('bounds round-trip as given; a book without them (written before them) reads with none, and the defaults apply', () => {
    const bounded: PolicyBook = { version: 1, lastPolicies: [], policies: [makePolicy({ bounds: { maxOpen: 13, maxPerMinute: 7, maxInvoiceLifeSeconds: 1_799, maxDescriptionBytes: 0 } })] };
    const text = serializeBook(bounded);
    assert.match(text, /"max_open":13,"max_per_minute":7,"max_invoice_life_seconds":1799,"max_description_bytes":0/);
    assert.deepEqual(parseBook(text), bounded);
    const old = '{"version":1,"policies":[{"id":"5e1f0c2a","from":"' + CAROL + '","payout":{"ppm":"20000"},"fee_budget":{"ppm":"5000"},"delay_budget":80,"created_at":1}]}';
    const read = parseBook(old).policies[0];
    assert.equal(read?.bounds, undefined);
    assert.equal(read && invoiceLifeCap(read), DEFAULT_POLICY_BOUNDS.maxInvoiceLifeSeconds);
  });

  const stored = JSON.parse(serializeBook(book)) as { version: number; policies: Array<Record<string, unknown>> };
  const damaged = (edit: (b: typeof stored) => void): string => {
    const copy = structuredClone(stored);
    edit(copy);
    return JSON.stringify(copy);
  };
  const cases: Array<{ description: string; text: string; error: RegExp }> = [
    { description: 'not JSON', text: '{"version":1,', error: /^policies: not JSON$/ },
    { description: 'not an object', text: '[1]', error: /^policies: not an object$/ },
    { description: 'a newer version', text: damaged((b) => (b.version = 2)), error: /^policies: version 2 is not one this rdv reads \(1\): upgrade rdv$/ },
    { description: 'no version', text: '{"policies":[]}', error: /^policies\.version: expected a non-negative integer, got nothing$/ },
    { description: 'a bad node id', text: damaged((b) => (b.policies[1]!.from = 'dave')), error: /^policies\.policies\[1\]\.from is not a node id$/ },
    { description: 'a bad pass_to node id', text: damaged((b) => (b.policies[0]!.pass_to = { id: 'alice' })), error: /^policies\.policies\[0\]\.pass_to\.id is not a node id$/ },
    { description: 'a percentage over 100%', text: damaged((b) => (b.policies[0]!.payout = { ppm: '1000001' })), error: /^policies\.policies\[0\]\.payout\.ppm is out of range$/ },
    { description: 'a share that is neither', text: damaged((b) => (b.policies[0]!.fee_budget = {})), error: /fee_budget\.msat: expected an amount in msat/ },
    { description: 'a negative delay budget', text: damaged((b) => (b.policies[1]!.delay_budget = -1)), error: /delay_budget: expected a non-negative integer/ },
    { description: 'policies not a list', text: '{"version":1,"policies":{}}', error: /^policies\.policies: expected an array/ },
    { description: 'a max_open of 0', text: damaged((b) => (b.policies[1]!.max_open = 0)), error: /^policies\.policies\[1\]\.max_open is out of range$/ },
    { description: 'a max_invoice_life_seconds of a year', text: damaged((b) => (b.policies[0]!.max_invoice_life_seconds = 31_536_000)), error: /^policies\.policies\[0\]\.max_invoice_life_seconds is out of range$/ },
  ];
  for (const c of cases) test(`a damaged book throws ShapeError: ${c.description}`, () => assert.throws(() => parseBook(c.text), (e: unknown) => e instanceof ShapeError && c.error.test(e.message)));

  test('a policy that pulls from an offer or an address round-trips, with no from; exactly one of from and pull is read', () => {
    const offer = 'lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc2zpsjqcm0venx2efqvaexjmnyv4epvggrnne6c3knkc8e5y7dqvt69nd23euxjtyuxvvww6pkkysuv6c38h8q';
    const pulls: PolicyBook = {
      version: 1,
      lastPolicies: [],
      policies: [
        { id: 'b0b00001', pull: { kind: 'offer', offer }, payout: fixed(5_000_000n), feeBudget: fixed(1_000_000n), delayBudget: 80, createdAt: NOW },
        { id: 'b0b00002', pull: { kind: 'address', address: 'carol@carol.example' }, payout: percent(10_000n), feeBudget: percent(5_000n), delayBudget: 80, createdAt: NOW, passTo: { id: ALICE } },
      ],
    };
    const text = serializeBook(pulls);
    assert.ok(!text.includes('"from"'));
    assert.match(text, /"pull":\{"kind":"address","address":"carol@carol\.example"\}/);
    assert.deepEqual(parseBook(text), pulls);
    const stored2 = JSON.parse(text) as { policies: Array<Record<string, unknown>> };
    const bad = (edit: (p: Record<string, unknown>) => void): string => {
      const copy = structuredClone(stored2);
      edit(copy.policies[0] ?? {});
      return JSON.stringify(copy);
    };
    for (const [text2, error] of [
      [bad((p) => (p.from = CAROL)), /must have exactly one of from and pull$/],
      [bad((p) => delete p.pull), /must have exactly one of from and pull$/],
      [bad((p) => (p.pull = { kind: 'offer', offer: 'lni1qqqq' })), /pull\.offer: expected a BOLT 12 offer \(lno1\.\.\., at most 8192 characters\)$/],
      [bad((p) => (p.pull = { kind: 'address', address: 'no at sign' })), /pull\.address: expected a Lightning Address \(name@domain, at most 320 characters\)$/],
      [bad((p) => (p.pull = { kind: 'bip353', name: 'carol' })), /pull\.kind: expected "offer" or "address", got "bip353"$/],
    ] as const) assert.throws(() => parseBook(text2), (e: unknown) => e instanceof ShapeError && error.test(e.message));
  });
});

describe('newPolicy: a next payee that runs no rdv', () => {
  test('--address and --offer are stored as pull (an address lower-cased; an offer without its + line breaks), with no from', () => {
    const a = newPolicy({ ...input({}), from: undefined, address: ' Carol@Carol.Example ' }, ctx);
    assert.ok(a.ok);
    assert.deepEqual([a.value.from, a.value.pull], [undefined, { kind: 'address', address: 'carol@carol.example' }]);
    const o = newPolicy({ ...input({}), from: undefined, offer: 'lno1qgsq+\n  vgnw' }, ctx);
    assert.ok(o.ok);
    assert.deepEqual(o.value.pull, { kind: 'offer', offer: 'lno1qgsqvgnw' });
  });

  for (const [description, given, error] of [
    ['none', { from: undefined }, /^give the next payee once: --from <node id>/],
    ['two', { address: 'carol@carol.example' }, /^give the next payee once/],
    ['an invoice for an offer', { from: undefined, offer: 'lni1qqqq' }, /^--offer must be a BOLT 12 offer \(lno1\.\.\.\), not an invoice$/],
    ['an offer with a character bech32 does not use', { from: undefined, offer: 'lno1qqbq' }, /^--offer is not a BOLT 12 offer: it has characters bech32 does not use$/],
    ['an address without a name', { from: undefined, address: '@carol.example' }, /^--address: "@carol\.example" has no name before the @$/],
    ['an address with a path', { from: undefined, address: 'carol@carol.example/x' }, /^--address: the domain of "carol@carol\.example\/x" is not a host name or host:port$/],
  ] as const) {
    test(`refused: ${description}`, () => {
      const r = newPolicy({ ...input({}), ...given }, ctx);
      assert.ok(!r.ok && error.test(r.error), r.ok ? 'accepted' : r.error);
    });
  }
});

describe('policyToJson: CLN\'s convention', () => {
  test('integer msat in _msat fields, ppm as an integer, active while not expired', () => {
    const p = makePolicy({ feeBudget: fixed(1_000_000n), minAmountMsat: msat(10_000_000n), expiresAt: NOW + 60 });
    assert.deepEqual(policyToJson(p, NOW), {
      kind: 'relay', id: '5e1f0c2a', from: CAROL, payout: { percent: '2', ppm: 20_000 }, fee_budget: { amount_msat: 1_000_000n }, delay_budget: 80,
      pass_to: { id: ALICE }, min_amount_msat: 10_000_000n, expires_at: NOW + 60, active: true, created_at: NOW - 77,
      max_open: 100, max_per_minute: 30, max_invoice_life_seconds: 3_600, max_description_bytes: 200,
    });
    assert.equal(policyToJson(p, NOW + 60).active, false);
  });
});

describe('routeProblem: a policy joins only what it can pay on now (rdv join only warns)', () => {
  const payee = '02'.padEnd(66, 'c') as NodeId;
  const values = { payoutMsat: msat(5_000_000n), feeBudgetMsat: msat(1_000_000n), delayBudget: 60 };
  const cases: Array<{ description: string; route: { feeMsat: bigint; delayBlocks: number } | undefined; problem: RegExp | undefined }> = [
    { description: 'no route at all', route: undefined, problem: /no route to the next payee \(02cccccc…\) is known now/ },
    { description: 'a route within both budgets', route: { feeMsat: 1_000_000n, delayBlocks: 23 }, problem: undefined },
    { description: 'fees one msat over the budget', route: { feeMsat: 1_000_001n, delayBlocks: 18 }, problem: /costs 1,000\.001 sat in fees, over the fee budget of 1,000 sat/ },
    { description: 'CLTV one block over what 60 leaves after the margin 34 and xpay\'s 3', route: { feeMsat: 0n, delayBlocks: 24 }, problem: /needs 24 blocks of CLTV, more than the 23 the delay budget of 60 leaves/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const p = routeProblem(c.route === undefined ? undefined : { feeMsat: msat(c.route.feeMsat), delayBlocks: c.route.delayBlocks }, values, 34, payee);
      if (c.problem === undefined) assert.equal(p, undefined);
      else assert.match(p ?? '', c.problem);
    });
  }
});

describe('admitJoin: the bounds a join by the policy must meet before anything is asked of the node', () => {
  const NOW_MS = NOW * 1000 + 123;
  /** Bob's policy for Carol, on to Alice, at most 13 open and 7 a minute. */
  const bounded = makePolicy({ bounds: { maxOpen: 13, maxPerMinute: 7 } });
  const load = (over: Partial<PolicyLoad> = {}): PolicyLoad => ({ open: 0, recentJoinsMs: [], deliveries: 0, ...over });
  /** `n` joins, one every 3 s, the last `lastAgoMs` before now. */
  const joins = (n: number, lastAgoMs: number): number[] => Array.from({ length: n }, (_, i) => NOW_MS - lastAgoMs - (n - 1 - i) * 3_000);
  const cases: Array<{ description: string; policy: Policy; load: PolicyLoad; error?: RegExp }> = [
    { description: 'nothing open, no recent join: let through', policy: bounded, load: load() },
    { description: '12 open of 13: let through', policy: bounded, load: load({ open: 12 }) },
    { description: '13 open of 13: refused, and told when to try again', policy: bounded, load: load({ open: 13 }), error: /^13 relays it joined are open and unpaid, its limit \(--max-open 13\): try again when one is paid or expires$/ },
    { description: '6 joins in the last minute of 7: let through', policy: bounded, load: load({ recentJoinsMs: joins(6, 1_000) }) },
    { description: '7 joins in the last minute of 7: refused until the oldest is a minute old (it began 19 s ago: 41 s)', policy: bounded, load: load({ recentJoinsMs: joins(7, 1_000) }), error: /^7 joins began in the last minute, its limit \(--max-per-minute 7\): try again in 41 s$/ },
    { description: '7 joins, the oldest exactly a minute ago: it no longer counts', policy: bounded, load: load({ recentJoinsMs: [NOW_MS - 60_000, ...joins(6, 1_000)] }) },
    { description: '7 joins, the oldest a minute less a msat ago: refused for 1 s more', policy: bounded, load: load({ recentJoinsMs: [NOW_MS - 59_999, ...joins(6, 1_000)] }), error: /try again in 1 s$/ },
    { description: 'a clock that stepped back: joins "in the future" still count', policy: bounded, load: load({ recentJoinsMs: Array.from({ length: 7 }, (_, i) => NOW_MS + 5_000 + i) }), error: /^7 joins began in the last minute/ },
    { description: `${MAX_DELIVERIES - 1} deliveries running: let through`, policy: bounded, load: load({ deliveries: MAX_DELIVERIES - 1 }) },
    { description: `${MAX_DELIVERIES} deliveries running, and the policy passes on: refused`, policy: bounded, load: load({ deliveries: MAX_DELIVERIES }), error: new RegExp(`^${MAX_DELIVERIES} invoices are being passed on already, the most at once: try again in a few seconds$`) },
    { description: `${MAX_DELIVERIES} deliveries running, but the policy has no --pass-to: let through`, policy: makePolicy({ passTo: undefined }), load: load({ deliveries: MAX_DELIVERIES }) },
    { description: 'the open bound is said first when several are met', policy: bounded, load: load({ open: 13, recentJoinsMs: joins(7, 1_000), deliveries: MAX_DELIVERIES }), error: /--max-open 13/ },
    { description: 'a book written before the bounds: the defaults (100 open) apply', policy: makePolicy(), load: load({ open: 100 }), error: /--max-open 100\)/ },
    { description: 'a book written before the bounds: the defaults (30 a minute) apply', policy: makePolicy(), load: load({ recentJoinsMs: Array.from({ length: 30 }, (_, i) => NOW_MS - i * 1_999) }), error: /--max-per-minute 30\)/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = admitJoin(c.policy, c.load, NOW_MS);
      if (c.error === undefined) assert.deepEqual(r, { ok: true, value: undefined });
      else {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.error);
      }
    });
  }

  test('joinsInWindow keeps what is younger than a minute', () => {
    assert.deepEqual(joinsInWindow([NOW_MS - 60_001, NOW_MS - 60_000, NOW_MS - 59_999, NOW_MS], NOW_MS), [NOW_MS - 59_999, NOW_MS]);
  });
});

describe('descriptionProblem: what the sender can make our node sign', () => {
  const cases: Array<{ description: string; policy: Policy; text: string | undefined; problem?: RegExp }> = [
    { description: 'no description (a description hash): nothing to bound', policy: makePolicy(), text: undefined },
    { description: '200 bytes, the default limit', policy: makePolicy(), text: 'd'.repeat(200) },
    { description: '201 bytes: refused', policy: makePolicy(), text: 'd'.repeat(201), problem: /^the invoice's description is 201 bytes, over the policy's limit of 200 \(--max-description\): pass back one with a shorter description$/ },
    { description: 'bytes, not characters: 67 euro signs are 201 bytes', policy: makePolicy(), text: '€'.repeat(67), problem: /is 201 bytes/ },
    { description: '--max-description 0: only an empty description', policy: makePolicy({ bounds: { maxDescriptionBytes: 0 } }), text: '', problem: undefined },
    { description: '--max-description 0: "order 42" is refused', policy: makePolicy({ bounds: { maxDescriptionBytes: 0 } }), text: 'order 42', problem: /is 8 bytes, over the policy's limit of 0/ },
    { description: '--max-description 639 takes what BOLT 11 can carry', policy: makePolicy({ bounds: { maxDescriptionBytes: 639 } }), text: 'd'.repeat(639) },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const p = descriptionProblem(c.policy, c.text);
      if (c.problem === undefined) assert.equal(p, undefined);
      else assert.match(p ?? '', c.problem);
    });
  }
});

describe('openJoinedBy: the open relays a policy made, as the plugin counts them for --max-open', () => {
  const hash = (n: number): PaymentHash => n.toString(16).padStart(64, '0') as PaymentHash;
  const records = [
    makeRecord({ paymentHash: hash(1), policy: '5e1f0c2a', state: 'open', expiresAt: NOW + 1 }),
    makeRecord({ paymentHash: hash(2), policy: '5e1f0c2a', state: 'open', expiresAt: NOW + 3_599 }),
    makeRecord({ paymentHash: hash(3), policy: '5e1f0c2a', state: 'open', expiresAt: NOW }),
    makeRecord({ paymentHash: hash(4), policy: '5e1f0c2a', state: 'gathered' }),
    makeRecord({ paymentHash: hash(5), policy: '5e1f0c2a', state: 'expired', expiresAt: NOW - 7 }),
    makeRecord({ paymentHash: hash(6), policy: '0d4e9b17', state: 'open' }),
    makeRecord({ paymentHash: hash(7), state: 'open' }),
  ];
  test('open and unexpired, by this policy: 2 (not the one expiring now, not the gathered, not another policy\'s, not rdv join\'s)', () => {
    assert.equal(openJoinedBy(records, '5e1f0c2a', NOW), 2);
    assert.equal(openJoinedBy(records, '0d4e9b17', NOW), 1);
    assert.equal(openJoinedBy(records, 'ffffffff', NOW), 0);
  });
});

/** Carol's last-payee policy for Bob's requests (Carol is the last payee, Bob asks her). */
function makeLast(over: Partial<LastPolicy> = {}): LastPolicy {
  return { kind: 'last', id: '7a57c0de', for: BOB, description: 'order', invoiceExpirySeconds: 3_600, maxUnpaid: 100, maxPerMinute: 30, createdAt: NOW - 41, ...over };
}

describe('newLastPolicy: what rdv policy add --last was given', () => {
  const lastCtx = { id: '7a57c0de', self: CAROL, now: NOW };
  const given = (over: Partial<LastPolicyInput> = {}): LastPolicyInput => ({ for: BOB, ...over });
  const cases: Array<{ description: string; given: LastPolicyInput; expected: LastPolicy | RegExp }> = [
    { description: 'only --for: no description, 1h, 100 unpaid, 30 a minute', given: given(), expected: makeLast({ description: '', createdAt: NOW }) },
    {
      description: 'everything given',
      given: given({ for: BOB.toUpperCase(), minAmount: '1000sat', maxAmount: '1000000sat', description: 'order €', expiry: '15m', maxUnpaid: '7', maxPerMinute: '13', expires: '30d', note: 'shop' }),
      expected: makeLast({ minAmountMsat: msat(1_000_000n), maxAmountMsat: msat(1_000_000_000n), description: 'order €', invoiceExpirySeconds: 900, maxUnpaid: 7, maxPerMinute: 13, expiresAt: NOW + 2_592_000, note: 'shop', createdAt: NOW }),
    },
    { description: 'a bad --for', given: given({ for: 'bob' }), expected: /^--for "bob" is not a node id \(66 hex digits\)$/ },
    { description: 'this node as --for', given: given({ for: CAROL }), expected: /^--for is this node itself/ },
    { description: 'a description over 639 bytes', given: given({ description: 'é'.repeat(320) }), expected: /^--description is 640 bytes; an invoice description holds at most 639$/ },
    { description: 'an invoice life of 59 s', given: given({ expiry: '59' }), expected: /^--expiry 59 is out of range: give 60 s to 30d$/ },
    { description: 'an invoice life of 31 days', given: given({ expiry: '31d' }), expected: /^--expiry 31d is out of range/ },
    { description: '--max-unpaid 0', given: given({ maxUnpaid: '0' }), expected: /^--max-unpaid 0 is out of range: give 1 to 10000$/ },
    { description: '--max-per-minute of words', given: given({ maxPerMinute: 'lots' }), expected: /^--max-per-minute "lots" is not a whole number$/ },
    { description: 'a minimum over the maximum', given: given({ minAmount: '2000sat', maxAmount: '1000sat' }), expected: /^--min-amount 2,000 sat is more than --max-amount 1,000 sat: no request could meet the policy$/ },
    { description: 'a zero maximum', given: given({ maxAmount: '0sat' }), expected: /^--max-amount: amount "0sat" is zero/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = newLastPolicy(c.given, lastCtx);
      if (c.expected instanceof RegExp) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, c.expected);
      } else assert.deepEqual(r, { ok: true, value: c.expected });
    });
  }
});

describe('the book with last-payee policies', () => {
  const toAlice = makePolicy();
  const forBob = makeLast();
  const book: PolicyBook = { version: 1, policies: [toAlice], lastPolicies: [forBob] };

  test('round trip: relay policies first, then the last-payee ones marked kind "last"', () => {
    const text = serializeBook({ ...book, lastPolicies: [makeLast({ minAmountMsat: msat(1n), maxAmountMsat: msat(2_100_000_000_000_000_000n), expiresAt: NOW + 9, note: 'n' })] });
    const stored = JSON.parse(text) as { policies: Array<Record<string, unknown>> };
    assert.deepEqual(stored.policies.map((p) => p.kind), [undefined, 'last']);
    assert.deepEqual(stored.policies[1], { kind: 'last', id: '7a57c0de', for: BOB, min_amount_msat: '1', max_amount_msat: '2100000000000000000', description: 'order', invoice_expiry: 3_600, max_unpaid: 100, max_per_minute: 30, expires_at: NOW + 9, note: 'n', created_at: NOW - 41 });
    assert.deepEqual(parseBook(text), { ...book, lastPolicies: [makeLast({ minAmountMsat: msat(1n), maxAmountMsat: msat(2_100_000_000_000_000_000n), expiresAt: NOW + 9, note: 'n' })] });
  });

  test('a book written before last-payee policies reads unchanged, with none', () => {
    const old = `{"version":1,"policies":[{"id":"5e1f0c2a","from":"${CAROL}","payout":{"ppm":"20000"},"fee_budget":{"ppm":"5000"},"delay_budget":80,"created_at":1}]}`;
    const read = parseBook(old);
    assert.deepEqual(read.lastPolicies, []);
    assert.equal(read.policies[0]?.id, '5e1f0c2a');
  });

  const damagedCases: Array<{ description: string; edit: (p: Record<string, unknown>) => void; error: RegExp }> = [
    { description: 'an unknown kind', edit: (p) => (p.kind = 'first'), error: /^policies\.policies\[1\]\.kind "first" is not one this rdv knows: upgrade rdv$/ },
    { description: 'a bad for', edit: (p) => (p.for = 'bob'), error: /^policies\.policies\[1\]\.for is not a node id$/ },
    { description: 'max_unpaid 0', edit: (p) => (p.max_unpaid = 0), error: /^policies\.policies\[1\]\.max_unpaid is out of range$/ },
    { description: 'an invoice life of 10 s', edit: (p) => (p.invoice_expiry = 10), error: /^policies\.policies\[1\]\.invoice_expiry is out of range$/ },
    { description: 'no description', edit: (p) => delete p.description, error: /description/ },
    { description: 'a description of 640 bytes', edit: (p) => (p.description = 'x'.repeat(640)), error: /description is over 639 bytes/ },
  ];
  for (const c of damagedCases) {
    test(`a damaged last-payee policy throws ShapeError: ${c.description}`, () => {
      const stored = JSON.parse(serializeBook(book)) as { policies: Array<Record<string, unknown>> };
      const entry = stored.policies[1];
      assert.ok(entry);
      c.edit(entry);
      assert.throws(() => parseBook(JSON.stringify(stored)), (e: unknown) => e instanceof ShapeError && c.error.test(e.message));
    });
  }

  test('one last-payee policy per node; none for a node a relay policy passes to; no relay policy passing to a node a last-payee one answers', () => {
    assert.deepEqual(addLastPolicy(book, makeLast({ id: '11111111' })), { ok: false, error: `last-payee policy 7a57c0de already answers ${BOB}'s invoice requests: remove it first (rdv policy remove 7a57c0de)` });
    assert.deepEqual(addLastPolicy(book, makeLast({ id: '11111111', for: ALICE })), {
      ok: false,
      error: `policy 5e1f0c2a passes to ${ALICE} and answers its invoice requests by asking ${CAROL}: remove it first (rdv policy remove 5e1f0c2a)`,
    });
    assert.deepEqual(addPolicy(book, makePolicy({ id: '22222222', from: DAVE, passTo: { id: BOB } })), {
      ok: false,
      error: `last-payee policy 7a57c0de answers ${BOB}'s invoice requests, and a policy passing to it would answer them too: remove one first (rdv policy remove 7a57c0de)`,
    });
    const ok = addLastPolicy(book, makeLast({ id: '33333333', for: DAVE }));
    assert.deepEqual(ok.ok && ok.value.lastPolicies.map((p) => p.id), ['7a57c0de', '33333333']);
    assert.deepEqual(addLastPolicy(book, makeLast({ id: '5e1f0c2a', for: DAVE })), { ok: false, error: 'there is a policy 5e1f0c2a already: try again (ids are random)' });
  });

  test('the book holds at most 200 policies of both kinds together', () => {
    const many: PolicyBook = { ...book, policies: Array.from({ length: MAX_POLICIES - 1 }, (_, i) => makePolicy({ id: i.toString(16).padStart(8, '0'), from: `02${i.toString(16).padStart(64, '0')}` as NodeId })) };
    assert.deepEqual(addLastPolicy(many, makeLast({ id: '33333333', for: DAVE })), { ok: false, error: `there are ${MAX_POLICIES} policies already: remove some first` });
  });

  test('remove takes a last-payee policy out by its id', () => {
    assert.deepEqual(removePolicy(book, '7a57c0de'), { ok: true, value: { book: { ...book, lastPolicies: [] }, removed: forBob } });
  });

  test('requestPolicyFor: the relay policy passing to the asker, or the last-payee policy for it, while in force', () => {
    const withDave: PolicyBook = { ...book, lastPolicies: [forBob, makeLast({ id: '0d4e9b17', for: DAVE, expiresAt: NOW + 600 })] };
    const cases: Array<{ description: string; asker: NodeId; now: number; expected: string | undefined }> = [
      { description: 'Alice: the relay policy passing to her', asker: ALICE, now: NOW, expected: 'relay 5e1f0c2a' },
      { description: 'Bob: the last-payee policy for him', asker: BOB, now: NOW, expected: 'last 7a57c0de' },
      { description: 'Dave, a second before his expires', asker: DAVE, now: NOW + 599, expected: 'last 0d4e9b17' },
      { description: 'Dave, once it expired', asker: DAVE, now: NOW + 600, expected: undefined },
      { description: 'Carol (the relay policy is FROM her): none', asker: CAROL, now: NOW, expected: undefined },
    ];
    for (const c of cases) {
      const r = requestPolicyFor(withDave, c.asker, c.now);
      assert.ok(r.ok, c.description);
      assert.equal(r.value === undefined ? undefined : `${r.value.kind} ${r.value.policy.id}`, c.expected, c.description);
    }
  });

  test('requestPolicyFor: two relay policies passing to the asker (a book from before that was refused) is a refusal naming both', () => {
    const two: PolicyBook = { version: 1, lastPolicies: [], policies: [toAlice, makePolicy({ id: '0d4e9b17', from: DAVE })] };
    assert.deepEqual(requestPolicyFor(two, ALICE, NOW), { ok: false, error: 'policies 5e1f0c2a and 0d4e9b17 would all answer: the operator must remove all but one' });
  });

  test('viaPolicy: a relay policy by id or by its --from node; a last-payee policy or an unknown one is refused', () => {
    const cases: Array<{ via: string; now?: number; expected: string | RegExp }> = [
      { via: '5e1f0c2a', expected: '5e1f0c2a' },
      { via: CAROL.toUpperCase(), expected: '5e1f0c2a' },
      { via: '7a57c0de', expected: /^policy 7a57c0de is a last-payee policy: it answers requests, it asks no one/ },
      { via: DAVE, expected: new RegExp(`^no relay policy from ${DAVE}: see rdv policy list$`) },
      { via: 'ffffffff', expected: /^no relay policy ffffffff: see rdv policy list$/ },
    ];
    for (const c of cases) {
      const r = viaPolicy(book, c.via, c.now ?? NOW);
      if (typeof c.expected === 'string') assert.equal(r.ok && r.value.id, c.expected, c.via);
      else {
        assert.equal(r.ok, false, c.via);
        if (!r.ok) assert.match(r.error, c.expected);
      }
    }
    assert.deepEqual(viaPolicy({ ...book, policies: [makePolicy({ expiresAt: NOW })] }, '5e1f0c2a', NOW), { ok: false, error: 'policy 5e1f0c2a expired' });
  });

  test('lastPolicyToJson: integer msat, active while in force', () => {
    const p = makeLast({ maxAmountMsat: msat(1_000_000_000n), expiresAt: NOW + 60 });
    assert.deepEqual(lastPolicyToJson(p, NOW), { kind: 'last', id: '7a57c0de', for: BOB, max_amount_msat: 1_000_000_000n, description: 'order', invoice_expiry: 3_600, max_unpaid: 100, max_per_minute: 30, expires_at: NOW + 60, active: true, created_at: NOW - 41 });
    assert.equal(lastPolicyToJson(p, NOW + 60).active, false);
  });
});
