import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson } from '../../src/chain/json.js';

/** The repository root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** bin/rdv (RDV_TEST_BIN points the plugin tests at another build, e.g. to show a test fails on an older rdv). */
export const RDV_BIN = process.env.RDV_TEST_BIN ?? join(ROOT, 'bin', 'rdv');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'cln-v26.06');

/** The small test plugins a node may load besides rdv (test/e2e/fixtures; each file's header says what it does). */
const testPlugin = (file: string): string => join(ROOT, 'test', 'e2e', 'fixtures', file);
/** Holds, fails or lets go htlc_accepted calls for chosen hashes (hold-hash, hold-fail, hold-release). */
export const HOLD_PLUGIN = testPlugin('hold-plugin.mjs');
/** Accepts every incoming channel as zero-conf (openchannel hook: mindepth 0). */
export const ZEROCONF_PLUGIN = testPlugin('zeroconf-plugin.mjs');
/** Records each htlc_accepted call (as lightningd named the HTLC) before rdv sees it. */
export const HTLC_SPY_PLUGIN = testPlugin('htlc-spy.mjs');
/** Fails chosen HTLCs after holding them a moment (flaky-fail), and records them (flaky-calls). */
export const FLAKY_PLUGIN = testPlugin('flaky-plugin.mjs');
/** Counts the pass-back custom messages a node without rdv receives. */
export const CAPTURE_PLUGIN = testPlugin('custommsg-capture.mjs');

/** A captured CLN reply or hook payload, parsed. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}


/** Real CLN v26.06.6 BOLT 12 replies (test/fixtures/bolt12/README.md says how each was made). */
export const BOLT12_FIXTURES = join(ROOT, 'test', 'fixtures', 'bolt12');

/** A BOLT 12 fixture, parsed as rdv parses RPC replies (integers past 2^53 stay exact). */
export function bolt12Fixture(name: string): unknown {
  return parseJson(readFileSync(join(BOLT12_FIXTURES, name), 'utf8'));
}
