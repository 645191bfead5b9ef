#!/usr/bin/env node
// `npm install` in a clone runs this (package.json "prepare") to build dist/.
// With the dev dependencies (development), it is the usual type-checked build.
// Without them — CLN's plugin manager, reckless, runs `npm install --omit=dev` —
// TypeScript and the @types packages are absent. Then it compiles with the
// TypeScript version locked in package-lock.json, which npm fetches into its
// own cache (not a dependency, not in node_modules), and only emits JavaScript
// (--noCheck: the type packages are missing; the commit was type-checked
// where it was made). See README, "Installing with reckless".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`prepare: ${[command, ...args].join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

const localTsc = join(root, 'node_modules', '.bin', 'tsc');
if (existsSync(localTsc)) {
  run(localTsc, ['-p', '.']);
} else {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.['node_modules/typescript']?.version;
  if (typeof version !== 'string') {
    console.error('prepare: package-lock.json names no typescript version to build with');
    process.exit(1);
  }
  // npm_execpath: the npm running this script (npm sets it for lifecycle scripts).
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  run(npm[0], [...npm.slice(1), 'exec', '--yes', `--package=typescript@${version}`, '--', 'tsc', '-p', '.', '--noCheck']);
}
