/**
 * Amounts (src/chain/amount.ts): what a user may type, what rdv prints, and the
 * decimal strings records store. Every amount is bigint msat.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MSAT, formatAmount, formatAmountArg, msat, msatFromDecimal, parseAmount } from '../../src/chain/amount.js';

describe('parseAmount: what a payee may type', () => {
  const accepted: Array<{ description: string; given: string; expected: bigint }> = [
    { description: 'a bare integer means sat', given: '5003', expected: 5_003_000n },
    { description: 'a "sat" suffix', given: '100003sat', expected: 100_003_000n },
    { description: 'a "sats" suffix means sat', given: '7007sats', expected: 7_007_000n },
    { description: 'a "msat" suffix', given: '251msat', expected: 251n },
    { description: 'a "btc" suffix with decimals', given: '0.00123btc', expected: 123_000_000n },
    { description: 'a whole number of btc', given: '3btc', expected: 300_000_000_000n },
    { description: 'a sat amount with msat decimals', given: '1.507sat', expected: 1_507n },
    { description: 'one decimal of a sat', given: '9.5sat', expected: 9_500n },
    { description: 'the smallest btc fraction is 1 msat (11 decimals)', given: '0.00000000001btc', expected: 1n },
    { description: 'units are case-insensitive', given: '13SAT', expected: 13_000n },
    { description: 'mixed-case btc', given: '0.5bTc', expected: 50_000_000_000n },
    { description: 'a space between number and unit', given: '17 sat', expected: 17_000n },
    { description: 'a space before "sats"', given: '19 sats', expected: 19_000n },
    { description: 'surrounding whitespace is ignored', given: '  23sat \n', expected: 23_000n },
    { description: 'leading zeros are harmless', given: '0029sat', expected: 29_000n },
    { description: 'trailing zero decimals are fine', given: '31.000sat', expected: 31_000n },
    { description: 'exactly 21 million BTC is the largest amount', given: '21000000btc', expected: 2_100_000_000_000_000_000n },
    { description: 'exactly 21 million BTC written in msat', given: '2100000000000000000msat', expected: 2_100_000_000_000_000_000n },
  ];
  for (const c of accepted) {
    test(`${c.description}: "${c.given}" is ${c.expected} msat`, () => {
      assert.deepEqual(parseAmount(c.given), { ok: true, value: c.expected });
    });
  }

  const refused: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'an empty amount asks for a number with a unit', given: '', error: /empty: give a number with a unit/ },
    { description: 'whitespace only is empty', given: '   ', error: /empty/ },
    { description: 'a bare decimal is ambiguous (sat or btc?) and asks for a unit', given: '1.5', error: /"1\.5" is ambiguous: add a unit/ },
    { description: 'a bare decimal btc-looking amount is ambiguous too', given: '0.001', error: /ambiguous/ },
    { description: 'zero is refused by default', given: '0', error: /"0" is zero: it must be positive/ },
    { description: 'zero sat is refused by default', given: '0sat', error: /is zero/ },
    { description: 'zero btc with decimals is refused by default', given: '0.000btc', error: /is zero/ },
    { description: 'a negative amount is refused', given: '-5sat', error: /"-5sat" is negative: amounts must be positive/ },
    { description: 'a negative zero is still negative', given: '-0', error: /negative/ },
    { description: 'comma thousands separators are refused with an example', given: '100,003sat', error: /digit separators: write it without them, e\.g\. 100000sat/ },
    { description: 'underscore separators are refused', given: '100_003sat', error: /digit separators/ },
    { description: 'space separators are refused', given: '100 003sat', error: /digit separators/ },
    { description: 'a decimal comma is not understood', given: '1,5sat', error: /not understood: use e\.g\. 5000sat, 250msat or 0\.001btc/ },
    { description: 'one msat past 21 million BTC is refused', given: '2100000000000000001msat', error: /larger than 21 million BTC/ },
    { description: 'a fraction past 21 million BTC is refused', given: '21000000.00000000001btc', error: /larger than 21 million BTC/ },
    { description: 'a huge number of digits is refused, not parsed', given: `${'9'.repeat(41)}sat`, error: /larger than 21 million BTC/ },
    { description: 'more than 11 decimals of btc would be a fraction of a msat', given: '0.000000000001btc', error: /more than 11 decimals: the smallest unit is 1msat/ },
    { description: 'more than 3 decimals of sat would be a fraction of a msat', given: '1.0001sat', error: /more than 3 decimals/ },
    { description: 'any decimal of msat is a fraction of a msat', given: '1.5msat', error: /fraction of a msat: msat is the smallest unit/ },
    { description: 'even a zero msat decimal is refused', given: '7.0msat', error: /fraction of a msat/ },
    { description: 'an unknown unit is not understood', given: '5bits', error: /not understood/ },
    { description: 'exponent notation is not understood', given: '1e3sat', error: /not understood/ },
    { description: 'hex is not understood', given: '0x10sat', error: /not understood/ },
    { description: 'a leading dot is not understood', given: '.5sat', error: /not understood/ },
    { description: 'a trailing dot is not understood', given: '5.sat', error: /not understood/ },
    { description: 'a unit without a number is not understood', given: 'sat', error: /not understood/ },
    { description: 'a plus sign is not understood', given: '+5sat', error: /not understood/ },
    { description: 'non-ASCII digits are not understood', given: '\u0663sat', error: /not understood/ },
  ];
  for (const c of refused) {
    test(`${c.description}: "${c.given}"`, () => {
      const r = parseAmount(c.given);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }

  test('zero is accepted when the caller allows it (a fee budget over a direct channel)', () => {
    assert.deepEqual(parseAmount('0', { allowZero: true }), { ok: true, value: 0n });
    assert.deepEqual(parseAmount('0msat', { allowZero: true }), { ok: true, value: 0n });
  });

  test('allowing zero does not allow negative amounts', () => {
    assert.equal(parseAmount('-1msat', { allowZero: true }).ok, false);
  });
});

describe('formatAmount: every printed amount carries a unit', () => {
  const cases: Array<{ description: string; given: bigint; expected: string }> = [
    { description: 'zero', given: 0n, expected: '0 sat' },
    { description: 'one msat', given: 1n, expected: '0.001 sat' },
    { description: 'just under a sat', given: 999n, expected: '0.999 sat' },
    { description: 'one sat', given: 1_000n, expected: '1 sat' },
    { description: 'a sat and a msat keeps three decimals', given: 1_001n, expected: '1.001 sat' },
    { description: 'thousands are grouped', given: 106_000_000n, expected: '106,000 sat' },
    { description: 'grouping with msat decimals', given: 1_234_567n, expected: '1,234.567 sat' },
    { description: 'msat decimals are zero-padded', given: 5_000_070n, expected: '5,000.070 sat' },
    { description: 'a negative difference keeps its sign', given: -1_500n, expected: '-1.500 sat' },
    { description: '21 million BTC', given: MAX_MSAT, expected: '2,100,000,000,000,000 sat' },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.given} msat prints as "${c.expected}"`, () => assert.equal(formatAmount(msat(c.given)), c.expected));
  }
});

describe('formatAmountArg: an exact form that parseAmount reads back', () => {
  const cases: Array<{ description: string; given: bigint; expected: string }> = [
    { description: 'whole sats print as sat', given: 106_000_000n, expected: '106000sat' },
    { description: 'zero prints as sat', given: 0n, expected: '0sat' },
    { description: 'a sub-sat amount prints as msat', given: 1_001n, expected: '1001msat' },
    { description: 'a single msat prints as msat', given: 1n, expected: '1msat' },
    { description: 'the largest amount prints as sat', given: MAX_MSAT, expected: '2100000000000000sat' },
  ];
  for (const c of cases) {
    test(`${c.description}: ${c.given} msat -> "${c.expected}" -> back to ${c.given} msat`, () => {
      const text = formatAmountArg(msat(c.given));
      assert.equal(text, c.expected);
      assert.deepEqual(parseAmount(text, { allowZero: true }), { ok: true, value: c.given });
    });
  }
});

describe('msatFromDecimal: the decimal strings records store', () => {
  const cases: Array<{ description: string; given: string; expected: bigint | undefined }> = [
    { description: 'zero', given: '0', expected: 0n },
    { description: 'an ordinary amount', given: '106000003', expected: 106_000_003n },
    { description: 'leading zeros', given: '0123', expected: 123n },
    { description: 'exactly 21 million BTC', given: '2100000000000000000', expected: MAX_MSAT },
    { description: 'one msat more than 21 million BTC', given: '2100000000000000001', expected: undefined },
    { description: 'the largest 19-digit number', given: '9999999999999999999', expected: undefined },
    { description: 'twenty digits', given: '10000000000000000000', expected: undefined },
    { description: 'a negative number', given: '-1', expected: undefined },
    { description: 'a decimal', given: '1.5', expected: undefined },
    { description: 'a unit suffix', given: '5msat', expected: undefined },
    { description: 'an empty string', given: '', expected: undefined },
    { description: 'surrounding whitespace', given: ' 7', expected: undefined },
    { description: 'exponent notation', given: '1e3', expected: undefined },
  ];
  for (const c of cases) {
    test(`${c.description}: "${c.given}" is ${c.expected === undefined ? 'refused' : `${c.expected} msat`}`, () => {
      assert.equal(msatFromDecimal(c.given), c.expected);
    });
  }
});
