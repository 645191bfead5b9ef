#!/usr/bin/env node
// Runs the benchmarks in dist/bench (each prints one JSON line). `npm run bench -- cold` runs only those matching.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'bench');
const filters = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (filters.length === 0 || filters.some((x) => f.includes(x)))).sort();
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
