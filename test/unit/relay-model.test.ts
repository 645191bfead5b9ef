/**
 * Model-based property tests of the relay state machine: random histories of a
 * small simulated world (test/helpers/relay-world.ts: upstream HTLCs, lightningd's
 * replays and renamed channels, restarts that lose checkpoints, xpay and the
 * downstream, blocks, timers, failed writes) run against step(), with the
 * invariants checked after every step, at every quiescent point and at the end
 * of each run (relay-world.ts says exactly what each asserts). The commands and
 * why fast-check: test/helpers/relay-commands.ts.
 *
 * A failure prints the seed, the path, the shrunk command list (with its
 * replayPath) and the last steps of the world; replay it with `npm run fuzz --
 * --seed <seed> --path <path> --replay-path <replayPath> --profile <profile>`.
 * Known findings: relay-model-findings.test.ts.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { relayModelProperty, type Profile } from '../helpers/relay-commands.js';

const runs: Record<Profile, number> = {
  mixed: Number(process.env.RDV_MODEL_RUNS ?? 6000),
  deadline: Math.ceil(Number(process.env.RDV_MODEL_RUNS ?? 6000) / 2),
};

for (const profile of ['mixed', 'deadline'] as const) {
  test(`relay invariants hold over ${runs[profile]} random histories (${profile} world; npm run fuzz for more)`, () => {
    fc.assert(relayModelProperty(60, profile), { numRuns: runs[profile], includeErrorInReport: true });
  });
}
