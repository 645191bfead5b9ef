/** Blocks and durations as users type them, and durations as rdv prints them (src/chain/units.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseBlocks, parseDuration } from '../../src/chain/units.js';

describe('parseBlocks', () => {
  const accepted: Array<{ description: string; given: string; max?: number; expected: number }> = [
    { description: 'a bare number', given: '61', expected: 61 },
    { description: 'with "blocks"', given: '61blocks', expected: 61 },
    { description: 'with " block"', given: '1 block', expected: 1 },
    { description: 'in upper case', given: '37 BLOCKS', expected: 37 },
    { description: 'with surrounding spaces', given: ' 7 ', expected: 7 },
    { description: 'zero (a caller decides whether it makes sense)', given: '0', expected: 0 },
    { description: 'exactly the default maximum, 2016', given: '2016', expected: 2_016 },
    { description: 'under a custom maximum', given: '999', max: 1_000, expected: 999 },
  ];
  for (const c of accepted) test(`${c.description}: "${c.given}" is ${c.expected}`, () => assert.deepEqual(parseBlocks(c.given, 'delay budget', c.max), { ok: true, value: c.expected }));

  const refused: Array<{ description: string; given: string; max?: number; error: RegExp }> = [
    { description: 'one over the default maximum', given: '2017', error: /^delay budget 2017 blocks is more than 2016$/ },
    { description: 'over a custom maximum', given: '1001', max: 1_000, error: /1001 blocks is more than 1000/ },
    { description: 'a negative number', given: '-1', error: /^delay budget "-1" is not a whole number of blocks$/ },
    { description: 'a fraction', given: '1.5', error: /not a whole number of blocks/ },
    { description: 'an empty string', given: '', error: /not a whole number of blocks/ },
    { description: 'words', given: 'sixty', error: /not a whole number of blocks/ },
    { description: 'seven digits', given: '1000001', error: /not a whole number of blocks/ },
    { description: 'another unit', given: '60h', error: /not a whole number of blocks/ },
  ];
  for (const c of refused) {
    test(`${c.description}: "${c.given}" is refused`, () => {
      const r = parseBlocks(c.given, 'delay budget', c.max);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('parseDuration', () => {
  const accepted: Array<{ description: string; given: string; expected: number }> = [
    { description: 'bare seconds', given: '3601', expected: 3_601 },
    { description: 'seconds', given: '91s', expected: 91 },
    { description: 'minutes', given: '31m', expected: 1_860 },
    { description: 'hours', given: '13h', expected: 46_800 },
    { description: 'days', given: '3d', expected: 259_200 },
    { description: 'weeks', given: '1w', expected: 604_800 },
    { description: 'an upper-case unit with a space', given: '31 M', expected: 1_860 },
  ];
  for (const c of accepted) test(`${c.description}: "${c.given}" is ${c.expected} s`, () => assert.deepEqual(parseDuration(c.given, '--expiry'), { ok: true, value: c.expected }));

  const refused: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'zero seconds', given: '0', error: /^--expiry must be more than 0 seconds$/ },
    { description: 'zero minutes', given: '0m', error: /more than 0 seconds/ },
    { description: 'an unknown unit, with examples', given: '5y', error: /^--expiry "5y" is not a duration: use seconds or a unit, e\.g\. 3600, 30m, 12h, 2d$/ },
    { description: 'a fraction', given: '1.5h', error: /not a duration/ },
    { description: 'a negative duration', given: '-60', error: /not a duration/ },
    { description: 'an empty string', given: '', error: /not a duration/ },
    { description: 'two units', given: '1h30m', error: /not a duration/ },
  ];
  for (const c of refused) {
    test(`${c.description}: "${c.given}" is refused`, () => {
      const r = parseDuration(c.given, '--expiry');
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('formatDuration: "2h 5m" style for humans', () => {
  const cases: Array<{ description: string; given: number; expected: string }> = [
    { description: 'zero', given: 0, expected: '0s' },
    { description: 'under 90 s in seconds', given: 89, expected: '89s' },
    { description: '90 s in minutes', given: 90, expected: '2m' },
    { description: 'just under an hour', given: 3_599, expected: '60m' },
    { description: 'an hour and a half', given: 5_400, expected: '1h 30m' },
    { description: 'hours and minutes', given: 7_261, expected: '2h 1m' },
    { description: 'a few seconds under two days rounds up to the next hour, not "47h 60m"', given: 172_799, expected: '48h 0m' },
    { description: 'two days', given: 172_800, expected: '2d 0h' },
    { description: 'days and hours', given: 200_003, expected: '2d 8h' },
    { description: 'a few seconds under three days rounds up to the next day, not "2d 24h"', given: 259_199, expected: '3d 0h' },
    { description: 'one week', given: 604_800, expected: '7d 0h' },
    { description: 'the past', given: -121, expected: '2m ago' },
  ];
  for (const c of cases) test(`${c.description}: ${c.given} s is "${c.expected}"`, () => assert.equal(formatDuration(c.given), c.expected));
});
