/**
 * The pass-back peer message (src/chain/passback.ts): type 0x8a01, then a BOLT 1
 * TLV stream. Round trips, CLN's real custommsg payloads, and every refusal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { MAX_PASSBACK_BYTES, decodePassback, encodePassback, isPassbackPayload, type PassbackMessage } from '../../src/chain/passback.js';
import { fixture } from '../helpers/paths.js';

const HASH = '9f'.repeat(32);
const BOLT11 = 'lnbcrt1000030n1p4sdl78pp5carol';

/** The hex of a message: type 0x8a01 then TLV records written by hand. */
const msg = (...records: string[]): string => `8a01${records.join('')}`;
/** One TLV record with a one-byte type and length. */
const tlv = (type: number, valueHex: string): string => type.toString(16).padStart(2, '0') + (valueHex.length / 2).toString(16).padStart(2, '0') + valueHex;
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const VERSION = tlv(0, '01');
const INVOICE_KIND = tlv(2, '01');
const ACK_KIND = tlv(2, '02');
const REQUEST_KIND = tlv(2, '03');
const REQ_ID = '5eed0fa11ed0c0de5eed0fa11ed0c0de';
/** 2026-11-25T10:00:07Z */
const DEADLINE = 1_795_600_807;
/** A request's fields after the kind: id, 108,690,000 msat, the deadline, 7 hops. */
const REQUEST_BODY = [tlv(12, REQ_ID), tlv(14, '067a7a50'), tlv(16, DEADLINE.toString(16).padStart(8, '0')), tlv(18, '07')];

describe('encodePassback -> decodePassback gives the message back', () => {
  const cases: Array<{ description: string; given: PassbackMessage }> = [
    { description: 'an invoice without a note', given: { kind: 'invoice', bolt11: BOLT11 } },
    { description: 'an invoice with a note', given: { kind: 'invoice', bolt11: BOLT11, note: 'for the 2026-11-25 dinner' } },
    { description: 'an invoice with an empty note', given: { kind: 'invoice', bolt11: BOLT11, note: '' } },
    { description: 'an invoice with a non-ASCII note of exactly 200 bytes', given: { kind: 'invoice', bolt11: BOLT11, note: 'é'.repeat(100) } },
    { description: 'an invoice long enough to need a 3-byte TLV length', given: { kind: 'invoice', bolt11: `lnbcrt1${'q'.repeat(3_001)}` } },
    { description: 'an accepted ack', given: { kind: 'ack', paymentHash: HASH, accepted: true } },
    { description: 'a refused ack with its reason', given: { kind: 'ack', paymentHash: HASH, accepted: false, reason: 'invoice has expired' } },
    { description: 'a refused ack without a reason', given: { kind: 'ack', paymentHash: HASH, accepted: false } },
    { description: 'an invoice answering a request', given: { kind: 'invoice', bolt11: BOLT11, requestId: REQ_ID } },
    { description: 'an invoice with a note answering a request', given: { kind: 'invoice', bolt11: BOLT11, note: 'order 42', requestId: REQ_ID } },
    { description: 'a request refused, with the hops that passed the reason back', given: { kind: 'request-ack', requestId: REQ_ID, accepted: false, reason: '02bbbbbb: 03cccccc: 100,000 sat is over the maximum' } },
    { description: 'a request refused without a reason', given: { kind: 'request-ack', requestId: REQ_ID, accepted: false } },
    { description: 'a request for 108,690,000 msat', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(108_690_000n), deadline: DEADLINE, hops: 7 } },
    { description: 'a request for 1 msat with no hops left', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(1n), deadline: 0, hops: 0 } },
    { description: 'a request for 21 million BTC (8 bytes of tu64), deadline and hops at their maximum', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(2_100_000_000_000_000_000n), deadline: 0xffff_ffff, hops: 255 } },
    { description: 'a request for 256 msat (a two-byte tu64)', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(256n), deadline: DEADLINE, hops: 8 } },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const hex = encodePassback(c.given);
      assert.equal(isPassbackPayload(hex), true);
      assert.deepEqual(decodePassback(hex), { ok: true, value: c.given });
    });
  }

  test('a note over 200 bytes is refused by the encoder (the receiver would refuse it)', () => {
    assert.throws(() => encodePassback({ kind: 'invoice', bolt11: 'lnbcrt1x', note: 'é'.repeat(101) }), /note of 202 bytes is over 200/);
  });

  test('the wire form of an invoice message is exactly type, version, kind, bolt11, note', () => {
    assert.equal(encodePassback({ kind: 'invoice', bolt11: 'lnbcrt1x', note: 'hi' }), msg(VERSION, INVOICE_KIND, tlv(4, utf8('lnbcrt1x')), tlv(7, utf8('hi'))));
  });

  test('the wire form of an ack is exactly type, version, kind, hash, accepted, reason', () => {
    assert.equal(encodePassback({ kind: 'ack', paymentHash: HASH, accepted: false, reason: 'no' }), msg(VERSION, ACK_KIND, tlv(6, HASH), tlv(9, '00'), tlv(11, utf8('no'))));
  });

  test('the wire form of a request is exactly type, version, kind, id, amount (tu64), deadline (u32), hops (u8)', () => {
    assert.equal(encodePassback({ kind: 'request', requestId: REQ_ID, amountMsat: msat(108_690_000n), deadline: DEADLINE, hops: 7 }), msg(VERSION, REQUEST_KIND, ...REQUEST_BODY));
  });

  test('the wire form of a refused request is an ack with the request id where the hash would be, after the reason', () => {
    assert.equal(encodePassback({ kind: 'request-ack', requestId: REQ_ID, accepted: false, reason: 'no' }), msg(VERSION, ACK_KIND, tlv(9, '00'), tlv(11, utf8('no')), tlv(12, REQ_ID)));
  });

  test('an invoice answering a request carries the id last', () => {
    assert.equal(encodePassback({ kind: 'invoice', bolt11: 'lnbcrt1x', requestId: REQ_ID }), msg(VERSION, INVOICE_KIND, tlv(4, utf8('lnbcrt1x')), tlv(12, REQ_ID)));
  });

  const encodeRefusals: Array<{ description: string; given: PassbackMessage; error: RegExp }> = [
    { description: 'a request id of 15 bytes', given: { kind: 'request', requestId: REQ_ID.slice(2), amountMsat: msat(1n), deadline: 1, hops: 1 }, error: /is not 16 bytes of hex/ },
    { description: 'an upper-case request id', given: { kind: 'invoice', bolt11: 'lnbcrt1x', requestId: REQ_ID.toUpperCase() }, error: /is not 16 bytes of hex/ },
    { description: 'a request for 0 msat', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(0n), deadline: 1, hops: 1 }, error: /amount 0 msat is out of range/ },
    { description: 'a request for more than 21 million BTC', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(2_100_000_000_000_000_001n), deadline: 1, hops: 1 }, error: /out of range/ },
    { description: 'a deadline past 2106 (not a u32)', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(1n), deadline: 2 ** 32, hops: 1 }, error: /deadline 4294967296 is not a u32/ },
    { description: 'a hop budget of 256', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(1n), deadline: 1, hops: 256 }, error: /hops 256 is not a u8/ },
    { description: 'a negative hop budget', given: { kind: 'request', requestId: REQ_ID, amountMsat: msat(1n), deadline: 1, hops: -1 }, error: /hops -1 is not a u8/ },
  ];
  for (const c of encodeRefusals) test(`the encoder refuses ${c.description}`, () => assert.throws(() => encodePassback(c.given), c.error));

  test('a long reason is cut to 200 bytes so the peer can still read the ack', () => {
    const r = decodePassback(encodePassback({ kind: 'ack', paymentHash: HASH, accepted: false, reason: 'x'.repeat(503) }));
    assert.ok(r.ok && r.value.kind === 'ack');
    assert.equal(r.value.reason, 'x'.repeat(200));
  });

  test('a long non-ASCII reason is cut to at most 200 bytes, between characters', () => {
    const r = decodePassback(encodePassback({ kind: 'ack', paymentHash: HASH, accepted: false, reason: '☕'.repeat(151) }));
    assert.ok(r.ok && r.value.kind === 'ack', r.ok ? '' : r.error);
    assert.equal(r.value.reason, '☕'.repeat(66), '66 three-byte characters fit in 200 bytes');
  });

  test('an invoice too large for one message is refused when encoding', () => {
    assert.throws(() => encodePassback({ kind: 'invoice', bolt11: `lnbcrt1${'q'.repeat(4_093)}` }), /over 4096/);
  });
});

describe('isPassbackPayload: the custommsg hook also gets messages that are not ours', () => {
  const payloadOf = (name: string): string => (fixture(name) as { params: { payload: string } }).params.payload;

  test("CLN's peer_storage message (type 0x0007, ~1.9 KB) is not ours", () => {
    const payload = payloadOf('hook-custommsg-peer_storage.json');
    assert.equal(payload.slice(0, 4), '0007');
    assert.equal(isPassbackPayload(payload), false);
  });

  test('the captured sendcustommsg of type 0x8a01 is ours by type', () => {
    assert.equal(isPassbackPayload(payloadOf('hook-custommsg.json')), true);
  });

  test('its body ("hello-fixture-01") is not a valid TLV stream, so decoding says so', () => {
    const r = decodePassback(payloadOf('hook-custommsg.json'));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /TLV 104 is truncated/);
  });

  const cases: Array<{ description: string; given: string; expected: boolean }> = [
    { description: 'upper-case hex of our type', given: '8A010001', expected: true },
    { description: 'the neighbouring odd type 0x8a03', given: '8a030001', expected: false },
    { description: 'our type bytes swapped', given: '018a0001', expected: false },
    { description: 'an empty payload', given: '', expected: false },
    { description: 'a single byte', given: '8a', expected: false },
  ];
  for (const c of cases) test(`${c.description}: ${c.expected}`, () => assert.equal(isPassbackPayload(c.given), c.expected));
});

describe('decodePassback refuses malformed messages, and says why', () => {
  const invoiceBody = [VERSION, INVOICE_KIND, tlv(4, utf8(BOLT11))];
  const cases: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'not hex', given: '8a01zz', error: /not hex/ },
    { description: 'an odd number of hex digits', given: '8a0100010', error: /not hex/ },
    { description: 'another message type', given: `8a03${invoiceBody.join('')}`, error: /not a pass-back message/ },
    { description: 'a payload shorter than a type', given: '8a', error: /not a pass-back message/ },
    { description: 'a message over 4096 bytes', given: msg(VERSION, INVOICE_KIND, `04fd0ffd${'71'.repeat(4_093)}`), error: /4105 bytes is over the 4096-byte limit/ },
    { description: 'a value running past the end', given: msg(VERSION, INVOICE_KIND, '0420', utf8('lnbcrt1')), error: /TLV 4 is truncated/ },
    { description: 'a record with a type and no length', given: msg(VERSION, INVOICE_KIND, '04'), error: /truncated or non-minimal TLV length/ },
    { description: 'a 3-byte type cut short', given: msg(VERSION, 'fd01'), error: /truncated or non-minimal TLV type/ },
    { description: 'a 5-byte length cut short', given: msg(VERSION, INVOICE_KIND, '04fe0000'), error: /truncated or non-minimal TLV length/ },
    { description: 'a non-minimal 3-byte length (0xfd00fc)', given: msg(VERSION, INVOICE_KIND, '04fd0007', utf8('lnbcrt1')), error: /non-minimal TLV length/ },
    { description: 'a non-minimal 3-byte type (0xfd0004)', given: msg(VERSION, INVOICE_KIND, 'fd000407', utf8('lnbcrt1')), error: /non-minimal TLV type/ },
    { description: 'a non-minimal 5-byte length (0xfe0000ffff range)', given: msg(VERSION, INVOICE_KIND, '04fe00000007', utf8('lnbcrt1')), error: /non-minimal TLV length/ },
    { description: 'an 8-byte bigsize', given: msg(VERSION, INVOICE_KIND, '04ff0000000000000007', utf8('lnbcrt1')), error: /TLV length/ },
    { description: 'types out of order', given: msg(VERSION, tlv(4, utf8(BOLT11)), INVOICE_KIND), error: /not strictly increasing/ },
    { description: 'a repeated type', given: msg(VERSION, INVOICE_KIND, INVOICE_KIND, tlv(4, utf8(BOLT11))), error: /not strictly increasing/ },
    { description: 'an unknown even type (8) says the sender runs a newer rdv', given: msg(...invoiceBody, tlv(8, '00')), error: /unknown required field 8: the sender runs a newer rdv/ },
    { description: 'an unknown large even type', given: msg(...invoiceBody, 'fd0100', '00'), error: /unknown required field 256/ },
    { description: 'version 2 says to upgrade', given: msg(tlv(0, '02'), INVOICE_KIND, tlv(4, utf8(BOLT11))), error: /version 2 is not supported: upgrade rdv/ },
    { description: 'no version', given: msg(INVOICE_KIND, tlv(4, utf8(BOLT11))), error: /no version field/ },
    { description: 'a two-byte version', given: msg(tlv(0, '0001'), INVOICE_KIND, tlv(4, utf8(BOLT11))), error: /no version field/ },
    { description: 'no kind', given: msg(VERSION, tlv(4, utf8(BOLT11))), error: /no kind field/ },
    { description: 'an unknown kind', given: msg(VERSION, tlv(2, '04')), error: /unknown message kind 4/ },
    { description: 'an unknown even type between the request fields (an older rdv refuses types 12-18 this way)', given: msg(VERSION, REQUEST_KIND, tlv(12, REQ_ID), tlv(13, ''), tlv(14, '01'), tlv(15, ''), tlv(16, '00000001'), tlv(18, '01'), tlv(20, '00')), error: /unknown required field 20/ },
    { description: 'a request without an id', given: msg(VERSION, REQUEST_KIND, ...REQUEST_BODY.slice(1)), error: /request without a request id/ },
    { description: 'a request id of 17 bytes', given: msg(VERSION, REQUEST_KIND, tlv(12, `${REQ_ID}00`), ...REQUEST_BODY.slice(1)), error: /request id of 17 bytes, not 16/ },
    { description: 'a request without an amount', given: msg(VERSION, REQUEST_KIND, REQUEST_BODY[0] ?? '', ...REQUEST_BODY.slice(2)), error: /request without an amount/ },
    { description: 'a request for 0 msat (an empty tu64)', given: msg(VERSION, REQUEST_KIND, REQUEST_BODY[0] ?? '', tlv(14, ''), ...REQUEST_BODY.slice(2)), error: /request for 0 msat/ },
    { description: 'an amount with a leading zero byte (not minimal)', given: msg(VERSION, REQUEST_KIND, REQUEST_BODY[0] ?? '', tlv(14, '00067a7a50'), ...REQUEST_BODY.slice(2)), error: /not a minimal tu64/ },
    { description: 'an amount of 9 bytes', given: msg(VERSION, REQUEST_KIND, REQUEST_BODY[0] ?? '', tlv(14, '010000000000000000'), ...REQUEST_BODY.slice(2)), error: /not a minimal tu64 of at most 8 bytes/ },
    { description: 'an amount over 21 million BTC', given: msg(VERSION, REQUEST_KIND, REQUEST_BODY[0] ?? '', tlv(14, 'ffffffffffffffff'), ...REQUEST_BODY.slice(2)), error: /over 21 million BTC/ },
    { description: 'a request without a deadline', given: msg(VERSION, REQUEST_KIND, ...REQUEST_BODY.slice(0, 2), REQUEST_BODY[3] ?? ''), error: /request without a 4-byte deadline/ },
    { description: 'a request with an 8-byte deadline', given: msg(VERSION, REQUEST_KIND, ...REQUEST_BODY.slice(0, 2), tlv(16, '0000000000000001'), REQUEST_BODY[3] ?? ''), error: /4-byte deadline/ },
    { description: 'a request without a hop budget', given: msg(VERSION, REQUEST_KIND, ...REQUEST_BODY.slice(0, 3)), error: /request without a 1-byte hop budget/ },
    { description: 'a request with a 2-byte hop budget', given: msg(VERSION, REQUEST_KIND, ...REQUEST_BODY.slice(0, 3), tlv(18, '0001')), error: /1-byte hop budget/ },
    { description: 'an ack naming both a hash and a request', given: msg(VERSION, ACK_KIND, tlv(6, HASH), tlv(9, '00'), tlv(12, REQ_ID)), error: /both a payment hash and a request/ },
    { description: 'an ack whose request id is 8 bytes', given: msg(VERSION, ACK_KIND, tlv(9, '00'), tlv(12, '0011223344556677')), error: /request id of 8 bytes/ },
    { description: 'an invoice whose request id is empty', given: msg(...invoiceBody, tlv(12, '')), error: /request id of 0 bytes/ },
    { description: 'an invoice message without a bolt11', given: msg(VERSION, INVOICE_KIND, tlv(7, utf8('hi'))), error: /invoice message without a bolt11/ },
    { description: 'an invoice message with an empty bolt11', given: msg(VERSION, INVOICE_KIND, tlv(4, '')), error: /without a bolt11/ },
    { description: 'a bolt11 that is not UTF-8', given: msg(VERSION, INVOICE_KIND, tlv(4, 'ff6c6e')), error: /bolt11 is not UTF-8/ },
    { description: 'a note that is not UTF-8', given: msg(...invoiceBody, tlv(7, 'c328')), error: /field 7 is not UTF-8/ },
    { description: 'a note over 200 bytes', given: msg(...invoiceBody, `07c9${'61'.repeat(201)}`), error: /field 7 is longer than 200 bytes/ },
    { description: 'an ack without a payment hash', given: msg(VERSION, ACK_KIND, tlv(9, '01')), error: /ack without a 32-byte payment hash/ },
    { description: 'an ack with a 31-byte hash', given: msg(VERSION, ACK_KIND, tlv(6, '9f'.repeat(31)), tlv(9, '01')), error: /32-byte payment hash/ },
    { description: 'an ack without its accepted field', given: msg(VERSION, ACK_KIND, tlv(6, HASH)), error: /ack without an accepted field/ },
    { description: 'an ack whose reason is not UTF-8', given: msg(VERSION, ACK_KIND, tlv(6, HASH), tlv(9, '00'), tlv(11, 'fe')), error: /field 11 is not UTF-8/ },
  ];
  for (const c of cases) {
    test(`${c.description} is refused`, () => {
      const r = decodePassback(c.given);
      assert.equal(r.ok, false, 'decoded a malformed message');
      if (!r.ok) assert.match(r.error, c.error);
    });
  }

  test('the size limit is 4096 bytes including the type', () => {
    assert.equal(MAX_PASSBACK_BYTES, 4_096);
    const fits = msg(VERSION, INVOICE_KIND, `04fd0ff4${'71'.repeat(4_084)}`);
    assert.equal(fits.length / 2, 4_096);
    assert.equal(decodePassback(fits).ok, true);
  });
});

describe('decodePassback is forward compatible', () => {
  const cases: Array<{ description: string; given: string; expected: PassbackMessage }> = [
    { description: 'an unknown odd type between known ones is ignored', given: msg(VERSION, INVOICE_KIND, tlv(4, utf8(BOLT11)), tlv(5, 'abcdef')), expected: { kind: 'invoice', bolt11: BOLT11 } },
    { description: 'an unknown odd type after the last known one is ignored', given: msg(VERSION, INVOICE_KIND, tlv(4, utf8(BOLT11)), tlv(7, utf8('hi')), tlv(13, '')), expected: { kind: 'invoice', bolt11: BOLT11, note: 'hi' } },
    { description: 'an unknown large odd type (3-byte bigsize) is ignored', given: msg(VERSION, INVOICE_KIND, tlv(4, utf8(BOLT11)), 'fd0101', '01', '00'), expected: { kind: 'invoice', bolt11: BOLT11 } },
    { description: 'an accepted byte other than 1 means refused', given: msg(VERSION, ACK_KIND, tlv(6, HASH), tlv(9, '07')), expected: { kind: 'ack', paymentHash: HASH, accepted: false } },
    { description: 'upper-case hex is read', given: msg(VERSION, ACK_KIND, tlv(6, HASH), tlv(9, '01')).toUpperCase(), expected: { kind: 'ack', paymentHash: HASH, accepted: true } },
    { description: 'unknown odd types around the request fields are ignored', given: msg(VERSION, REQUEST_KIND, tlv(5, 'ff'), ...REQUEST_BODY, tlv(19, 'ff'), tlv(21, '')), expected: { kind: 'request', requestId: REQ_ID, amountMsat: msat(108_690_000n), deadline: DEADLINE, hops: 7 } },
    { description: 'an accepted request-ack is read as it was sent (the asker decides what it means)', given: msg(VERSION, ACK_KIND, tlv(9, '01'), tlv(12, REQ_ID)), expected: { kind: 'request-ack', requestId: REQ_ID, accepted: true } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(decodePassback(c.given), { ok: true, value: c.expected }));
});
