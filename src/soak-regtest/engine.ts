/**
 * The chaos soak on real lightningd and bitcoind (`npm run soak -- --regtest`):
 * the simulated soak's payments and fault plans (src/simnet/soak/plan.ts, the
 * `regtest` vocabulary), made on a real regtest network (src/regtest), audited
 * from lightningd's own books instead of rdv's records or a simulated ledger.
 *
 *   payer ==(3 x 6M sat)== alice --(15M)-- bob --(15M)-- carol
 *
 * Alice and Bob relay with rdv and rdv-guard (important-plugin); Carol is the
 * last payee, with two test plugins: hold-plugin.mjs after rdv in her
 * htlc_accepted chain to fail a payment, stall-plugin.mjs on invoice_payment to
 * stall one once it is complete (where the simulated payee stalls). One payer pays every payment (a run of 60
 * lightningd payers would not fit the machine); a plan's multi-part payment is
 * made with an askrene layer that caps each payer channel below the amount.
 *
 * Real faults: kill -9 of rdv alone (lightningd stops, as for an important
 * plugin) and of lightningd, clean restarts, peer disconnects while an HTLC is
 * held, bursts of blocks, Carol stalling (released after some time or blocks,
 * and always a few blocks before her HTLC's expiry) or failing the payment,
 * Carol deleting her invoice, the payer paying again.
 *
 * This file starts the network and runs a soak on it (runRegtestSoak); each
 * concern has its room, the same rooms as the simulated soak's engine:
 *   network.ts   the network and what the soak knows of it: set-up and baselines,
 *                blocks and Carol's stall valve, stalls and failing spells
 *                released, the drain (RegtestSoakOptions)
 *   payment.ts   one payment: joins, the multi-part layer, xpay and retries
 *   faults.ts    each family of faults on real lightningd
 *   watch.ts     the nodes sampled while the payments run: phases, HTLCs, expiries
 *   result.ts    the books read, every payment audited, records and balances
 *                checked, dumps (RegtestSoakResult)
 *   books.ts     the audit from lightningd's books, pure (replies in, verdicts
 *                out, unit-tested on captured replies)
 * and, from src/simnet/soak/, the pieces both soaks share: plan.ts, run.ts
 * (phases, faults noted, the payer's retries), joins.ts (the CLI), lifecycle.ts,
 * blocks.ts (the miner, stalls), pool.ts, report.ts (bad payments, dumps),
 * summary.ts (the JSON line).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { locateBinaries } from '../regtest/binaries.js';
import { Regtest } from '../regtest/harness.js';
import { ROOT } from '../simnet/soak/cli.js';
import { runPool } from '../simnet/soak/pool.js';
import { RegtestSoak, type RegtestSoakOptions } from './network.js';
import { runPayment } from './payment.js';
import { regtestResult, type RegtestSoakResult } from './result.js';

export type { RegtestSoakOptions } from './network.js';
export type { RegtestSoakResult } from './result.js';

/** Carol fails a payment with it (htlc_accepted: temporary_node_failure). */
export const HOLD_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'hold-plugin.mjs');
/** Carol stalls a complete payment with it (invoice_payment), as the simulated stalling payee does. */
export const STALL_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'stall-plugin.mjs');

/**
 * rdv-mpp-timeout, as in the simulated soak: how long a relay waits for a set's
 * parts, and after a restart for lightningd's replays before it asks the channel
 * moves whether a part it resolved just before the restart was received.
 */
const MPP_TIMEOUT_S = 3;

/**
 * Run the soak on a fresh regtest network: set up, run the payments
 * `concurrency` at a time, drain, read the books, audit. The network is
 * stopped (and its directory removed unless `keep`) before this returns.
 * An error value when the binaries or the hold plugin are missing, or the
 * network does not start.
 */
export async function runRegtestSoak(o: RegtestSoakOptions): Promise<{ ok: true; value: RegtestSoakResult } | { ok: false; error: string }> {
  const bins = locateBinaries();
  if (!bins.ok) return { ok: false, error: bins.error };
  const missing = [HOLD_PLUGIN, STALL_PLUGIN].find((p) => !existsSync(p));
  if (missing !== undefined) return { ok: false, error: `no ${missing}: the regtest soak runs from the repository` };
  const started = Date.now();
  const net = await Regtest.start({
    binaries: bins.value,
    nodes: [
      { name: 'payer', rdv: 'none' },
      { name: 'alice', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`] },
      { name: 'bob', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`] },
      { name: 'carol', extraArgs: [`--rdv-mpp-timeout=${MPP_TIMEOUT_S}`, `--plugin=${HOLD_PLUGIN}`, `--plugin=${STALL_PLUGIN}`] },
    ],
    keep: o.keep ?? false,
  });
  if (!net.ok) return { ok: false, error: net.error };
  const rt = net.value;
  const soak = new RegtestSoak(rt, o);
  try {
    o.progress?.(`soak: regtest network in ${rt.dir}; setting up channels`);
    await soak.setup();
    o.progress?.(`soak: set up in ${Math.round((Date.now() - started) / 1000)} s at height ${soak.height}`);
    const indexes = o.only ?? Array.from({ length: o.payments }, (_, i) => i);
    await runPool(
      indexes,
      o.concurrency,
      (i) => runPayment(soak, i),
      (index, error) => soak.setupFailures.push({ index, error }),
      (done) => {
        if (o.progress && (done % 5 === 0 || done === indexes.length)) o.progress(`soak: ${done}/${indexes.length} payments, ${Math.round((Date.now() - started) / 1000)} s, height ${soak.height}`);
      },
    );
    o.progress?.('soak: draining');
    await soak.drain();
    return { ok: true, value: await regtestResult(soak, (Date.now() - started) / 1000) };
  } finally {
    await soak.stop().catch(() => undefined);
    await rt.stop();
  }
}
