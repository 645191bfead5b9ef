import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** bin/rdv (RDV_TEST_BIN points the plugin tests at another build, e.g. to show a test fails on an older rdv). */
export const RDV_BIN = process.env.RDV_TEST_BIN ?? join(ROOT, 'bin', 'rdv');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'cln-v26.06');

/** A captured CLN reply or hook payload, parsed. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

