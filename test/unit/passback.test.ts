/**
 * The pass-back peer message (src/chain/passback.ts): type 0x8a01, then a BOLT 1
 * TLV stream. Round trips, CLN's real custommsg payloads, and every refusal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
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
    { description: 'an unknown kind', given: msg(VERSION, tlv(2, '03')), error: /unknown message kind 3/ },
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
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(decodePassback(c.given), { ok: true, value: c.expected }));
});
