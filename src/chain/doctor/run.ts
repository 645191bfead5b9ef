/**
 * `rdv doctor`: each check is a pure function from facts lightningd gave
 * (gathered by src/commands/doctor.ts) to results, ok / warn / fail, each
 * warning and failure with what to do. Nothing here asks the node anything.
 *
 * runChecks runs them all, in the order their lines are shown. One file per kind
 * of check, named for what a doctor line is about, so that a reader of a line
 * finds its check; a check's file imports only facts.ts and results.ts:
 *   facts.ts      what the checks read: DoctorFacts (each fact a value or why not), which relays need which
 *   results.ts    what they give: CheckResult (ok / warn / fail and what to do), findings combined into one line
 *   node.ts       lightningd itself: cln-version, commands, reachable
 *   plugins.ts    rdv and rdv-guard: rdv-plugin, guard-plugin, hook-order
 *   records.ts    rdv's records: records, stuck (a relay holding a payment with nothing in flight)
 *   liquidity.ts  each open relay invoice: liquidity (and the route onward), cltv
 *   inbox.ts      the pass-back inbox: inbox
 *   pulls.ts      the offers and Lightning Addresses policies pull invoices from: pull
 *   run.ts        runChecks, the order of the lines
 */
import type { DoctorFacts } from './facts.js';
import type { CheckResult } from './results.js';
import { checkClnVersion, checkCommands, checkReachable } from './node.js';
import { checkRdvPlugin, checkGuardPlugin, checkHookOrder } from './plugins.js';
import { checkRecords, checkStuck } from './records.js';
import { checkLiquidity, checkCltv } from './liquidity.js';
import { checkInbox } from './inbox.js';
import { checkPulls } from './pulls.js';

/** Every check, in the order they are shown. */
export function runChecks(f: DoctorFacts): CheckResult[] {
  return [
    checkClnVersion(f),
    checkRdvPlugin(f),
    checkGuardPlugin(f),
    checkHookOrder(f),
    checkCommands(f),
    checkReachable(f),
    checkRecords(f),
    ...checkLiquidity(f),
    checkCltv(f),
    ...checkStuck(f),
    checkInbox(f),
    checkPulls(f),
  ];
}
