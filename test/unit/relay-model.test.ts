/**
 * Model-based property tests of the relay state machine: random histories of a
 * small simulated world (test/helpers/relay-world.ts: upstream HTLCs, lightningd's
 * replays and renamed channels, restarts that lose checkpoints, xpay and the
 * downstream, blocks, timers) run against step(), with the invariants checked
 * after every step, at every quiescent point and at the end of each run.
 * See test/helpers/relay-commands.ts for the commands and why fast-check.
 *
 * A failure prints the seed, the shrunk command list and the last steps of the
 * world; replay it with `npm run fuzz -- --seed <seed> --path <path>`.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { relayModelProperty } from '../helpers/relay-commands.js';

const RUNS = Number(process.env.RDV_MODEL_RUNS ?? 3000);

test(`relay invariants hold over ${RUNS} random histories (npm run fuzz for more)`, () => {
  fc.assert(relayModelProperty(40), { numRuns: RUNS, includeErrorInReport: true });
});
