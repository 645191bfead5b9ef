#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Arguments narrow the set: `npm test -- unit relay` runs files whose path contains "unit" or "relay".
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'test');
const files = [];
(function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(dir);
const filters = process.argv.slice(2);
const chosen = files.filter((f) => filters.length === 0 || filters.some((x) => relative(dir, f).includes(x))).sort();
if (chosen.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}
if (chosen.some((f) => f.includes(`${join('test', 'e2e')}`))) {
  const { missingBinariesReason } = await import(join(root, 'dist', 'src', 'regtest', 'binaries.js'));
  const why = missingBinariesReason();
  if (why) console.log(`e2e: skipped: ${why}`);
}
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=4', ...chosen], { stdio: 'inherit', cwd: root });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
