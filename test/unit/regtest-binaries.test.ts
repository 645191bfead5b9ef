/** findBinaries: RDV_LIGHTNINGD / RDV_BITCOIND, CLIs next to them, PATH, and the one-line reason. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findBinaries, findReckless, locateBinaries, missingBinariesReason } from '../../src/regtest/binaries.js';

const root = mkdtempSync(join(tmpdir(), 'rdv-bins-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeBin(dir: string, name: string, executable = true): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, executable ? 0o755 : 0o644);
  return p;
}

const cln = join(root, 'cln', 'bin');
const core = join(root, 'core', 'bin');
const lightningd = fakeBin(cln, 'lightningd');
const lightningCli = fakeBin(cln, 'lightning-cli');
const bitcoind = fakeBin(core, 'bitcoind');
const bitcoinCli = fakeBin(core, 'bitcoin-cli');
const notExecutable = fakeBin(join(root, 'noexec'), 'lightningd', false);

describe('findBinaries', () => {
  test('the variables win, and each CLI is taken from next to its daemon', () => {
    assert.deepEqual(findBinaries({ RDV_LIGHTNINGD: lightningd, RDV_BITCOIND: bitcoind, PATH: '' }), { lightningd, lightningCli, bitcoind, bitcoinCli });
  });

  test('PATH is searched when the variables are not set', () => {
    assert.deepEqual(findBinaries({ PATH: `/nonexistent:${cln}:${core}` }), { lightningd, lightningCli, bitcoind, bitcoinCli });
  });

  test('nothing anywhere: undefined, and one line naming both variables', () => {
    assert.equal(findBinaries({ PATH: '/nonexistent' }), undefined);
    assert.equal(missingBinariesReason({ PATH: '/nonexistent' }), 'no lightningd or bitcoind on PATH (set RDV_LIGHTNINGD and RDV_BITCOIND)');
  });

  test('a variable naming a file that is not executable is reported as such', () => {
    const r = locateBinaries({ RDV_LIGHTNINGD: notExecutable, RDV_BITCOIND: bitcoind, PATH: '' });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /^RDV_LIGHTNINGD=.*noexec\/lightningd is not an executable file$/);
  });

  test('a daemon without its CLI (next to it or on PATH) is refused', () => {
    const lone = fakeBin(join(root, 'lone'), 'bitcoind');
    const r = locateBinaries({ RDV_LIGHTNINGD: lightningd, RDV_BITCOIND: lone, PATH: '' });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /^no bitcoin-cli next to .*lone\/bitcoind or on PATH$/);
  });
});

describe('findReckless', () => {
  const reckless = fakeBin(cln, 'reckless');
  const elsewhere = fakeBin(join(root, 'tools'), 'reckless');

  test('RDV_RECKLESS wins; else next to lightningd; else PATH; else none', () => {
    assert.equal(findReckless(lightningd, { RDV_RECKLESS: elsewhere, PATH: '' }), elsewhere);
    assert.equal(findReckless(lightningd, { PATH: join(root, 'tools') }), reckless);
    assert.equal(findReckless(bitcoind, { PATH: join(root, 'tools') }), elsewhere);
    assert.equal(findReckless(bitcoind, { PATH: '/nonexistent' }), undefined);
  });

  test('an RDV_RECKLESS that is not executable is not used', () => {
    assert.equal(findReckless(lightningd, { RDV_RECKLESS: notExecutable, PATH: '' }), undefined);
  });
});
