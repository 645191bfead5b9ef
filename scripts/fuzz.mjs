#!/usr/bin/env node
// Runs the relay model-based properties (test/unit/relay-model.test.ts) much longer.
//   npm run fuzz -- [--runs N] [--seed S --path P --replay-path R] [--profile mixed|deadline]
//                   [--commands N] [--without Cmd,...] [--coverage]
// --seed, --path and --replay-path (the /*replayPath="..."*/ of the counterexample)
// replay a failure printed by `npm test` or by an earlier fuzz run, with the same
// --profile and --commands (npm test uses 60). --without leaves out commands, Restart
// flags, `lookalike` or `softN` (see commandArbitraries) to look past a known finding.
// Prints the failure report (seed, shrunk commands, last steps) on stderr and one
// JSON line on stdout: {"name":"fuzz","runs":..,"seed":..,"failures":0,...}.
// Needs `npm run build` first (npm run fuzz does it).
import { parseArgs } from 'node:util';
import fc from 'fast-check';

const root = new URL('..', import.meta.url).pathname;
const { relayModelProperty } = await import(`${root}dist/test/helpers/relay-commands.js`);
const { coverage } = await import(`${root}dist/test/helpers/relay-world.js`);

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'replay-path': { type: 'string' },
    commands: { type: 'string', default: '60' },
    without: { type: 'string', default: '' },
    coverage: { type: 'boolean', default: false },
    profile: { type: 'string', default: 'mixed' },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(values.seed);
const without = values.without.split(',').filter(Boolean);
const t0 = performance.now();
const details = fc.check(relayModelProperty(Number(values.commands), values.profile, without, values['replay-path']), {
  numRuns: runs,
  seed,
  ...(values.path ? { path: values.path } : {}),
  includeErrorInReport: true,
});
const seconds = (performance.now() - t0) / 1000;
/** fc.commands prints its replay path inside the counterexample's toString. */
function replayPathOf(d) {
  return /replayPath="([^"]*)"/.exec(fc.stringify(d.counterexample))?.[1];
}
if (details.failed) console.error(fc.defaultReportMessage(details));
if (values.coverage) {
  // What the relay logged, over every run (shrinking included): which paths the histories reached.
  for (const [k, n] of [...coverage].sort((a, b) => b[1] - a[1])) console.error(`${String(n).padStart(9)}  ${k}`);
}
const result = {
  name: 'fuzz',
  runs: details.numRuns,
  seed,
  failures: details.failed ? 1 : 0,
  ...(details.failed ? { path: details.counterexamplePath, replay_path: replayPathOf(details), invariant: details.errorInstance?.invariant ?? 'error' } : {}),
  commands: Number(values.commands),
  profile: values.profile,
  without,
  seconds: Math.round(seconds * 10) / 10,
  runs_per_second: Math.round(details.numRuns / seconds),
};
console.log(JSON.stringify(result));
process.exit(details.failed ? 1 : 0);
