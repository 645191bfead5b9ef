/**
 * The chaos soak (issue 7): many three-payee rendez-vous (payer -> Alice -> Bob
 * -> Carol) on one simulated network, each chain built with the real CLI and
 * relayed by the real bin/rdv and bin/rdv-guard, with faults injected at
 * points of each payment's progress (plan.ts), then a drain and an audit of
 * the whole HTLC history (audit.ts).
 *
 * Each payment has its own payer node and channels to Alice (so a zero-conf
 * channel, a splice or a channel closing belongs to one payment); Alice, Bob
 * and Carol, their channels and the blocks are shared, so a crash, a disabled
 * channel or a burst of blocks meant for one payment hits the others in flight
 * too — more chaos, and the audit is per payment anyway.
 *
 * This file runs a soak (runSoak); each concern has its room. The simulated soak's own:
 *   network.ts    the network and what the soak knows of it: set-up, blocks and
 *                 Carol's stall valve, disabled channels, the drain (SoakOptions)
 *   payment.ts    one payment: joins, its payer, phases from the ledger, xpay and retries
 *   faults.ts     each family of faults on the simulated network
 *   watchdog.ts   what a run that seems stuck is waiting on
 *   result.ts     the audit of every payment, records against the ledger, dumps
 * Shared with the soak on real lightningd (src/soak-regtest/), whose engine is the same shape:
 *   plan.ts       each payment's amounts and faults, from the seed (prng.ts)
 *   run.ts        one payment as a soak follows it: phases set off faults, the payer's retries
 *   joins.ts      the chain built with the real CLI (cli.ts), asked again while a node is down
 *   lifecycle.ts  one lifecycle fault at a time per node; a node started again after one
 *   blocks.ts     blocks mined one at a time; Carol's stalls and when the valve ends one
 *   pool.ts       the payments run `concurrency` at a time
 *   audit.ts      a payment's verdict (the conservation law), pure
 *   report.ts     the result (SoakResult), which payments are bad, the part of a dump both write alike
 *   summary.ts    the one JSON line
 *   main.ts       `npm run soak`: arguments, either soak, what is printed
 */
import { SimSoak, type SoakOptions } from './network.js';
import { runPayment } from './payment.js';
import { runPool } from './pool.js';
import type { SoakResult } from './report.js';
import { soakResult } from './result.js';
import { startWatchdog } from './watchdog.js';

export type { SoakOptions } from './network.js';
export type { BadPayment, SoakResult } from './report.js';
export type { InjectedFault } from './run.js';

/**
 * Run the soak: set up the network, run the payments `concurrency` at a time,
 * drain, audit. The network is stopped before this returns.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const soak = new SimSoak(o);
  try {
    await soak.setup();
    const indexes = o.only ?? Array.from({ length: o.payments }, (_, i) => i);
    let done = 0;
    const stopWatchdog = startWatchdog(soak, () => done, o.progress);
    try {
      await runPool(
        indexes,
        o.concurrency,
        (i) => runPayment(soak, i),
        (index, error) => soak.setupFailures.push({ index, error }),
        (count) => {
          done = count;
          if (o.progress && (done % 10 === 0 || done === indexes.length)) {
            o.progress(`soak: ${done}/${indexes.length} payments, ${Math.round((Date.now() - started) / 1000)} s, height ${soak.net.height}`);
          }
        },
      );
    } finally {
      stopWatchdog();
    }
    await soak.drain();
    return soakResult(soak, (Date.now() - started) / 1000);
  } finally {
    await soak.stop();
  }
}
