/**
 * The tests' one way to start a program (test/helpers/rdv.ts): a program that ends
 * without reading its input is a normal run, not a test failure (EPIPE on its stdin).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../helpers/rdv.js';

test('a program that exits without reading a megabyte of input: its exit code, no EPIPE', async () => {
  const r = await run('true', [], { input: 'x'.repeat(1 << 20) });
  assert.equal(r.code, 0);
});
