/**
 * The durable record and inbox entries (src/chain/record.ts): what the datastore
 * holds must read back exactly, and anything else must be refused naming the field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { NodeId, PaymentHash, PaymentSecret, Preimage } from '../../src/chain/ids.js';
import { ShapeError } from '../../src/chain/read.js';
import { stringifyJson } from '../../src/rpc/json.js';
import {
  inboxKey,
  parseInbox,
  parseRecord,
  recordToJson,
  relayKey,
  serializeInbox,
  serializeRecord,
  type AnyRecord,
  type InboxEntry,
  type LastRecord,
  type RelayRecord,
} from '../../src/chain/record.js';

const HASH = '9f'.repeat(32) as PaymentHash;
const CAROL = `02${'c3'.repeat(32)}` as NodeId;
const ALICE = `03${'a1'.repeat(32)}` as NodeId;
const NOW = 1_795_620_807;
/** Shaped like CLN's strings (rdv never parses them: the node's decode does). */
const LNO = 'lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc2zfq';
const LNI = 'lni1qqgyq5wuv8dmhs3fd9ru4al2jcsegfqvqypq8jvtgwzv3ymtgu4q2r9sk6awnh5zyg3ft4f';

/** Bob's open relay over Carol's 100,003 sat invoice, with only the required fields. */
function relay(over: Partial<RelayRecord> = {}): RelayRecord {
  return {
    version: 1,
    role: 'relay',
    paymentHash: HASH,
    bolt11: 'lnbcrt1060130n1bob',
    downstreamInvoice: 'lnbcrt1000030n1carol',
    downstreamPayee: CAROL,
    downstreamAmountMsat: msat(100_003_000n),
    downstreamMinFinalCltv: 19,
    paymentSecret: '5b'.repeat(32) as PaymentSecret,
    amountMsat: msat(106_013_000n),
    payoutMsat: msat(5_003_000n),
    feeBudgetMsat: msat(1_007_000n),
    delayBudget: 61,
    safetyMargin: 34,
    minFinalCltv: 80,
    expiresAt: NOW + 6_499,
    state: 'open',
    round: 0,
    parts: [],
    attempts: [],
    createdAt: NOW - 97,
    updatedAt: NOW - 97,
    ...over,
  };
}

/** The same relay after it settled: every optional field set. */
function settled(over: Partial<RelayRecord> = {}): RelayRecord {
  return relay({
    state: 'settled',
    round: 2,
    parts: [
      { scid: '103x1x0', id: '7', amountMsat: msat(53_006_501n), cltvExpiry: 1_311 },
      { scid: '119x1x0', id: '11', amountMsat: msat(53_006_499n), cltvExpiry: 1_313 },
    ],
    earliestExpiry: 1_311,
    attempts: [
      { round: 1, startedAt: NOW + 3, maxdelay: 46, maxfeeMsat: msat(1_007_000n), finishedAt: NOW + 5, outcome: 'failed', error: 'temporary channel failure' },
      { round: 2, startedAt: NOW + 9, maxdelay: 45, maxfeeMsat: msat(1_007_000n), finishedAt: NOW + 13, outcome: 'complete', sentMsat: msat(100_004_011n) },
    ],
    preimage: 'a1'.repeat(32) as Preimage,
    receivedMsat: msat(106_013_000n),
    sentMsat: msat(100_004_011n),
    earnedMsat: msat(6_008_989n),
    gatheredAt: NOW + 2,
    settledAt: NOW + 13,
    lastError: 'temporary channel failure',
    receivedFrom: CAROL,
    updatedAt: NOW + 13,
    claimed: ['103x1x0/7', '119x1x0/11'],
    ...over,
  });
}

function last(over: Partial<LastRecord> = {}): LastRecord {
  return {
    version: 1,
    role: 'last',
    paymentHash: HASH,
    bolt11: 'lnbcrt1000030n1carol',
    label: 'rdv-9f9f9f9f',
    amountMsat: msat(100_003_000n),
    description: "Carol's 100,003 sat",
    expiresAt: NOW + 7_100,
    createdAt: NOW - 101,
    updatedAt: NOW - 101,
    ...over,
  };
}

describe('serializeRecord -> parseRecord gives the same record back', () => {
  const cases: Array<{ description: string; given: AnyRecord }> = [
    { description: 'a new open relay with no optional fields', given: relay() },
    { description: 'a settled relay with every optional field', given: settled() },
    { description: 'a gathered relay with one part and no attempt yet', given: relay({ state: 'gathered', parts: [{ scid: '103x1x0', id: '7', amountMsat: msat(106_013_000n), cltvExpiry: 1_311 }], earliestExpiry: 1_311, gatheredAt: NOW + 2 }) },
    { description: 'a paying relay with an unfinished attempt', given: relay({ state: 'paying', round: 1, attempts: [{ round: 1, startedAt: NOW + 3, maxdelay: 46, maxfeeMsat: msat(1_007_000n) }] }) },
    { description: 'a failed relay with its last error', given: relay({ state: 'failed', lastError: 'no route to 02c3c3c3' }) },
    { description: 'an expired relay', given: relay({ state: 'expired' }) },
    { description: 'a settled relay that lost money (a negative earning, parts not claimed)', given: settled({ claimed: [], receivedMsat: msat(0n), earnedMsat: msat(-100_004_011n), lastError: '2 of 2 incoming part(s) were not held' }) },
    { description: 'a relay whose downstream came through the inbox', given: relay({ receivedFrom: CAROL }) },
    { description: 'amounts past 2^53 msat stay exact', given: relay({ amountMsat: msat(2_000_000_000_000_000_001n), downstreamAmountMsat: msat(1_999_999_999_999_999_999n) }) },
    { description: "a last payee's record", given: last() },
    { description: "a last payee's record with an empty description", given: last({ description: '' }) },
    { description: 'a description with quotes, a newline and non-ASCII', given: last({ description: 'Carol "☕"\nline two' }) },
    { description: "a last payee's record made by its policy for Alice's request", given: last({ policy: '7a57c0de', requestedBy: ALICE }) },
    { description: 'a relay joined by policy for a request from Alice', given: relay({ policy: '5e1f0c2a', requestedBy: ALICE, receivedFrom: CAROL }) },
    { description: 'a relay made by rdv-request on this node', given: relay({ policy: '5e1f0c2a', requestedBy: 'rpc' }) },
    { description: 'a relay over a BOLT 12 invoice fetched from an offer', given: relay({ downstreamInvoice: LNI, downstreamSource: { kind: 'offer', offer: LNO } }) },
    { description: 'a relay over a BOLT 12 invoice, upper case as bech32 allows', given: relay({ downstreamInvoice: LNI.toUpperCase() }) },
    { description: 'a relay over an invoice from a Lightning Address', given: relay({ downstreamSource: { kind: 'address', address: 'carol@shop.example' } }) },
    { description: 'a settled BOLT 12 relay with every optional field', given: settled({ downstreamInvoice: LNI, downstreamSource: { kind: 'offer', offer: LNO }, policy: '5e1f0c2a' }) },
  ];
  for (const c of cases) {
    test(c.description, () => assert.deepEqual(parseRecord(serializeRecord(c.given)), c.given));
  }

  test('msat amounts are stored as decimal strings, in snake_case like CLN', () => {
    const json = JSON.parse(serializeRecord(settled())) as Record<string, unknown>;
    assert.equal(json.amount_msat, '106013000');
    assert.equal(json.fee_budget_msat, '1007000');
    assert.deepEqual(json.parts, [
      { scid: '103x1x0', id: '7', amount_msat: '53006501', cltv_expiry: 1_311 },
      { scid: '119x1x0', id: '11', amount_msat: '53006499', cltv_expiry: 1_313 },
    ]);
  });

  test('shown (status --json, rdv-status) with integer msat like CLN, exact past 2^53', () => {
    const big = msat(21_000_000n * 100_000_000_000n);
    const json = recordToJson(settled({ amountMsat: big }));
    assert.equal(json.amount_msat, big);
    assert.equal(json.fee_budget_msat, 1_007_000n);
    assert.match(stringifyJson(json), /"amount_msat":2100000000000000000,/);
    assert.deepEqual(parseRecord(stringifyJson(json)), settled({ amountMsat: big }), 'what is shown reads back as the record');
  });

  test('a loss shown as a negative integer reads back', () => {
    const lost = settled({ earnedMsat: msat(-1_000n) });
    assert.equal(parseRecord(stringifyJson(recordToJson(lost))).role, 'relay');
    assert.deepEqual(parseRecord(stringifyJson(recordToJson(lost))), lost);
  });

  test('absent optional fields are not written at all', () => {
    const json = recordToJson(relay());
    for (const key of ['preimage', 'earliest_expiry', 'gathered_at', 'settled_at', 'last_error', 'received_from', 'sent_msat']) {
      assert.equal(key in json, false, `${key} was written`);
    }
  });

  test('a BOLT 12 downstream is stored as downstream_bolt12 (and only there), its source as downstream_source', () => {
    const json = JSON.parse(serializeRecord(relay({ downstreamInvoice: LNI, downstreamSource: { kind: 'offer', offer: LNO } }))) as Record<string, unknown>;
    assert.deepEqual([json.downstream_bolt12, 'downstream_bolt11' in json, json.downstream_source], [LNI, false, { kind: 'offer', offer: LNO }]);
  });

  test('a BOLT 11 downstream is stored as downstream_bolt11, byte for byte as rdv wrote it before BOLT 12', () => {
    assert.equal(serializeRecord(relay({ policy: '5e1f0c2a', receivedFrom: CAROL })), V1_RECORD);
  });

  test('the datastore keys are ["rdv","v1","relay"|"inbox",<hash>]', () => {
    assert.deepEqual(relayKey(HASH), ['rdv', 'v1', 'relay', HASH]);
    assert.deepEqual(inboxKey(HASH), ['rdv', 'v1', 'inbox', HASH]);
  });
});

/**
 * A record as rdv wrote it before downstream invoices could be BOLT 12 (its
 * serializeRecord, run on relay({ policy, receivedFrom }) at 861c24d): records
 * are versioned (DESIGN.md), and version 1 must stay readable.
 */
const V1_RECORD =
  '{"version":1,"role":"relay","payment_hash":"9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f","bolt11":"lnbcrt1060130n1bob","amount_msat":"106013000","expires_at":1795627306,"created_at":1795620710,"updated_at":1795620710,"downstream_bolt11":"lnbcrt1000030n1carol","downstream_payee":"02c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","downstream_amount_msat":"100003000","downstream_min_final_cltv":19,"payment_secret":"5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b","payout_msat":"5003000","fee_budget_msat":"1007000","delay_budget":61,"safety_margin":34,"min_final_cltv":80,"state":"open","round":0,"parts":[],"attempts":[],"received_from":"02c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","policy":"5e1f0c2a"}';

describe('a record written before BOLT 12 downstreams still reads', () => {
  test('its downstream_bolt11 becomes downstreamInvoice, with no source', () => {
    const r = parseRecord(V1_RECORD);
    assert.deepEqual(r, relay({ policy: '5e1f0c2a', receivedFrom: CAROL }));
    assert.equal('downstreamSource' in r, false);
  });
});

/** A stored relay record with one field replaced (or removed, with undefined). */
function storedWith(field: string, value: unknown, base: AnyRecord = relay()): string {
  const json: Record<string, unknown> = { ...recordToJson(base) };
  if (value === undefined) delete json[field];
  else json[field] = value;
  return JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

describe('parseRecord refuses what it cannot read safely, naming the field', () => {
  const cases: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'a record from a newer rdv says to upgrade', given: storedWith('version', 2), error: /^record: version 2 is not supported by this rdv \(it knows version 1\): upgrade rdv$/ },
    { description: 'version 0 is not supported either', given: storedWith('version', 0), error: /version 0 is not supported/ },
    { description: 'a version that is not a number', given: storedWith('version', '1'), error: /record\.version: expected a non-negative integer, got "1"/ },
    { description: 'no version at all', given: storedWith('version', undefined), error: /record\.version: expected a non-negative integer, got nothing/ },
    { description: 'an unknown role', given: storedWith('role', 'payer'), error: /record\.role: expected "relay" or "last", got "payer"/ },
    { description: 'an unknown state', given: storedWith('state', 'pending'), error: /record\.state: unknown state "pending"/ },
    { description: 'a state in upper case', given: storedWith('state', 'OPEN'), error: /unknown state "OPEN"/ },
    { description: 'a payment hash of 63 hex digits', given: storedWith('payment_hash', '9f'.repeat(31) + 'f'), error: /record\.payment_hash: expected 64 hex digits/ },
    { description: 'a payment hash in upper case', given: storedWith('payment_hash', '9F'.repeat(32)), error: /record\.payment_hash: expected 64 hex digits/ },
    { description: 'a payment hash that is not hex', given: storedWith('payment_hash', 'zz'.repeat(32)), error: /record\.payment_hash/ },
    { description: 'a bad payment secret', given: storedWith('payment_secret', 'nope'), error: /record\.payment_secret: expected 64 hex digits/ },
    { description: 'a bad preimage', given: storedWith('preimage', 'a1'), error: /record\.preimage: expected 64 hex digits/ },
    { description: 'a downstream payee that is not a node id', given: storedWith('downstream_payee', `04${'c3'.repeat(32)}`), error: /record\.downstream_payee: expected a node id/ },
    { description: 'a bad received_from', given: storedWith('received_from', 'carol'), error: /record\.received_from: expected a node id/ },
    { description: 'a missing amount', given: storedWith('amount_msat', undefined), error: /record\.amount_msat: expected an amount in msat, got nothing/ },
    { description: 'a negative amount', given: storedWith('payout_msat', '-5'), error: /record\.payout_msat: expected an amount in msat/ },
    { description: 'an amount with a decimal point', given: storedWith('fee_budget_msat', '1007.5'), error: /record\.fee_budget_msat/ },
    { description: 'a missing downstream invoice', given: storedWith('downstream_bolt11', undefined), error: /record\.downstream_bolt11: expected a string, got nothing/ },
    { description: 'both a BOLT 11 and a BOLT 12 downstream invoice', given: storedWith('downstream_bolt12', LNI), error: /^record: both downstream_bolt11 and downstream_bolt12/ },
    { description: 'a BOLT 12 invoice stored as downstream_bolt11', given: storedWith('downstream_bolt11', LNI), error: /record\.downstream_bolt11: a BOLT 12 invoice \(lni1\.\.\.\) belongs in downstream_bolt12/ },
    { description: 'a BOLT 11 invoice stored as downstream_bolt12', given: storedWith('downstream_bolt12', 'lnbcrt1000030n1carol', relay({ downstreamInvoice: LNI })), error: /record\.downstream_bolt12: expected a BOLT 12 invoice/ },
    { description: 'a downstream_bolt12 that is not a string', given: storedWith('downstream_bolt12', 7, relay({ downstreamInvoice: LNI })), error: /record\.downstream_bolt12: expected a string, got 7/ },
    { description: 'a downstream source of an unknown kind', given: storedWith('downstream_source', { kind: 'lnurl', lnurl: 'LNURL1DP68' }), error: /record\.downstream_source\.kind: expected "offer" or "address", got "lnurl"/ },
    { description: 'a downstream source that is a bare string', given: storedWith('downstream_source', LNO), error: /record\.downstream_source: expected an object/ },
    { description: 'an offer source that is a BOLT 12 invoice', given: storedWith('downstream_source', { kind: 'offer', offer: LNI }), error: /record\.downstream_source\.offer: expected a BOLT 12 offer/ },
    { description: 'an offer source past 8,192 characters', given: storedWith('downstream_source', { kind: 'offer', offer: `lno1${'q'.repeat(8_189)}` }), error: /record\.downstream_source\.offer: expected a BOLT 12 offer \(lno1\.\.\., at most 8192 characters\)/ },
    { description: 'an address source without @', given: storedWith('downstream_source', { kind: 'address', address: 'carol.shop.example' }), error: /record\.downstream_source\.address: expected a Lightning Address/ },
    { description: 'an address source with a newline', given: storedWith('downstream_source', { kind: 'address', address: 'carol@shop.example\nx' }), error: /record\.downstream_source\.address/ },
    { description: 'an address source past 320 characters', given: storedWith('downstream_source', { kind: 'address', address: `${'c'.repeat(250)}@${'s'.repeat(70)}` }), error: /record\.downstream_source\.address: expected a Lightning Address \(name@domain, at most 320 characters\)/ },
    { description: 'a missing min_final_cltv', given: storedWith('min_final_cltv', undefined), error: /record\.min_final_cltv: expected a non-negative integer/ },
    { description: 'a fractional delay budget', given: storedWith('delay_budget', 60.5), error: /record\.delay_budget: expected a non-negative integer, got 60\.5/ },
    { description: 'a negative expiry', given: storedWith('expires_at', -1), error: /record\.expires_at/ },
    { description: 'parts that are not a list', given: storedWith('parts', {}), error: /record\.parts: expected an array/ },
    { description: 'a part that is not an object', given: storedWith('parts', ['103x1x0/7']), error: /record\.parts\[0\]: expected an object/ },
    { description: 'a part without an amount', given: storedWith('parts', [{ scid: '103x1x0', id: '7', cltv_expiry: 1_311 }]), error: /record\.parts\[0\]\.amount_msat/ },
    { description: 'an attempt with an unknown outcome', given: storedWith('attempts', [{ started_at: NOW, maxdelay: 46, maxfee_msat: '1007000', outcome: 'maybe' }]), error: /record\.attempts\[0\]\.outcome: unknown outcome "maybe"/ },
    { description: 'an attempt without maxdelay', given: storedWith('attempts', [{ started_at: NOW, maxfee_msat: '1007000' }]), error: /record\.attempts\[0\]\.maxdelay/ },
    { description: "a last payee's record without a label", given: storedWith('label', undefined, last()), error: /record\.label: expected a string/ },
    { description: 'requested_by neither a node id nor "rpc"', given: storedWith('requested_by', 'alice'), error: /record\.requested_by: expected a node id or "rpc"/ },
    { description: "a last payee's requested_by that is not a node id", given: storedWith('requested_by', 'RPC', last()), error: /record\.requested_by: expected a node id or "rpc"/ },
    { description: 'not JSON', given: '{"version":1,', error: /^record: not JSON$/ },
    { description: 'an empty string', given: '', error: /not JSON/ },
    { description: 'a JSON array', given: '[1]', error: /^record: expected an object$/ },
    { description: 'JSON null', given: 'null', error: /expected an object/ },
  ];
  for (const c of cases) {
    test(`${c.description} is refused`, () => {
      assert.throws(() => parseRecord(c.given), (e: unknown) => e instanceof ShapeError && c.error.test(e.message));
    });
  }

  test('the caller can say where the record came from', () => {
    assert.throws(() => parseRecord(storedWith('version', 3), `datastore ${relayKey(HASH).join('/')}`), /^ShapeError: datastore rdv\/v1\/relay\/9f9f.*: version 3/);
  });

  test('msat amounts written as numbers (as CLN writes them) are read too', () => {
    assert.equal((parseRecord(storedWith('amount_msat', 106_013_000)) as RelayRecord).amountMsat, 106_013_000n);
  });

  test('null optional fields read as absent', () => {
    assert.equal('preimage' in parseRecord(storedWith('preimage', null)), false);
  });

  test('a field rdv does not know is ignored (a newer minor field)', () => {
    assert.deepEqual(parseRecord(storedWith('colour', 'blue')), relay());
  });
});

describe('inbox entries: an invoice a peer passed back', () => {
  const entry = (over: Partial<InboxEntry> = {}): InboxEntry => ({ version: 1, paymentHash: HASH, bolt11: 'lnbcrt1000030n1carol', from: CAROL, receivedAt: NOW + 17, ...over });

  const roundTrips: Array<{ description: string; given: InboxEntry }> = [
    { description: 'without a note', given: entry() },
    { description: 'with a note', given: entry({ note: 'for the 2026-11-25 dinner' }) },
    { description: 'with an empty note', given: entry({ note: '' }) },
    { description: 'with a non-ASCII note', given: entry({ note: 'Carol ☕ → Bob', from: ALICE }) },
  ];
  for (const c of roundTrips) test(`round trip ${c.description}`, () => assert.deepEqual(parseInbox(serializeInbox(c.given)), c.given));

  test('an absent note is not written', () => {
    assert.equal(serializeInbox(entry()).includes('note'), false);
  });

  const refused: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'a newer version says to upgrade', given: JSON.stringify({ ...JSON.parse(serializeInbox(entry())), version: 2 }), error: /^inbox entry: version 2 is not supported by this rdv \(it knows version 1\): upgrade rdv$/ },
    { description: 'a sender that is not a node id', given: JSON.stringify({ ...JSON.parse(serializeInbox(entry())), from: 'carol' }), error: /inbox entry\.from: expected a node id/ },
    { description: 'a bad payment hash', given: JSON.stringify({ ...JSON.parse(serializeInbox(entry())), payment_hash: '9f' }), error: /inbox entry\.payment_hash/ },
    { description: 'no invoice', given: JSON.stringify({ ...JSON.parse(serializeInbox(entry())), bolt11: undefined }), error: /inbox entry\.bolt11: expected a string, got nothing/ },
    { description: 'not JSON', given: 'lnbcrt1', error: /^inbox entry: not JSON$/ },
    { description: 'a JSON string', given: '"lnbcrt1"', error: /inbox entry: expected an object/ },
  ];
  for (const c of refused) {
    test(`${c.description} is refused`, () => {
      assert.throws(() => parseInbox(c.given), (e: unknown) => e instanceof ShapeError && c.error.test(e.message));
    });
  }
});
