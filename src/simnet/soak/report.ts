/**
 * What a soak shows of its payments, for both soaks: its result (SoakResult), which are bad (isBad), the
 * bad ones and those asked for with --dump each with its dump (sortOut), and the
 * part of a dump every soak writes alike (runLines). Each soak adds its own head
 * (how to replay) and its own evidence (a ledger; lightningd's books and logs).
 */
import type { PaymentVerdict } from './audit.js';
import type { PaymentRun } from './run.js';

export interface BadPayment {
  index: number;
  verdict: PaymentVerdict;
  /** HTLCs of the payment still held at the end. */
  stuck: number;
  dump: string;
}

/** What a soak gives back (the regtest soak adds its own checks). */
export interface SoakResult {
  summary: Record<string, unknown>;
  /** No money lost, nothing stuck, no force close, no preimage given away. */
  ok: boolean;
  bad: BadPayment[];
  /** Payments asked for with `dump` that are not bad. */
  shown: BadPayment[];
  /** Where a relay's own record (rdv status) disagrees with the audit: bookkeeping, not money. */
  recordMismatches: string[];
  /** Each payment's anomalies (the JSON line counts them), printed whatever the payment's verdict (anomalyLines). */
  anomalies: string[];
  /** Payments whose chain could not be built with the CLI (not audited). */
  setupFailures: Array<{ index: number; error: string }>;
}

/** Money lost, an HTLC stuck, one let expire (by a relay or the payee), or a preimage given away. */
export function isBad(v: PaymentVerdict, stuck: number): boolean {
  return v.lostMsat > 0n || stuck > 0 || v.relayExpiries > 0 || v.preimageRevealed || v.payeeExpiries > 0;
}

/**
 * Each run's verdict (in order), and the runs to show: the bad ones, and those
 * in `dumpIndexes` that are not bad, each with `dump`'s text.
 */
/** Every payment's anomalies (counted in the JSON line), one line each, named by payment: printed whether or not the payment is bad. */
export function anomalyLines(runs: readonly PaymentRun[], verdicts: readonly PaymentVerdict[]): string[] {
  return runs.flatMap((run, i) => (verdicts[i]?.anomalies ?? []).map((a) => `#${run.plan.index} ${run.hash.slice(0, 8)} ${a}`));
}

export function sortOut<R extends PaymentRun>(
  runs: readonly R[],
  verdictOf: (run: R) => PaymentVerdict,
  stuckOf: (run: R) => number,
  dumpIndexes: readonly number[] | undefined,
  dump: (run: R, v: PaymentVerdict, stuck: number) => string,
): { verdicts: PaymentVerdict[]; bad: BadPayment[]; shown: BadPayment[] } {
  const verdicts: PaymentVerdict[] = [];
  const bad: BadPayment[] = [];
  const shown: BadPayment[] = [];
  for (const run of runs) {
    const v = verdictOf(run);
    verdicts.push(v);
    const stuck = stuckOf(run);
    const runIsBad = isBad(v, stuck);
    if (runIsBad || dumpIndexes?.includes(run.plan.index)) {
      const entry = { index: run.plan.index, verdict: v, stuck, dump: dump(run, v, stuck) };
      if (runIsBad) bad.push(entry);
      else shown.push(entry);
    }
  }
  return { verdicts, bad, shown };
}

/**
 * The lines of a payment's dump that every soak writes alike: its planned faults,
 * the audit's findings, the phases it reached, the faults made and skipped, those
 * made for other payments while it ran (they hit it too), and its notes.
 */
export function runLines(run: PaymentRun, v: PaymentVerdict, runs: readonly PaymentRun[]): string[] {
  const lines: string[] = [];
  lines.push(`planned: ${run.plan.faults.map((f) => `${f.id} ${f.kind}@${f.node}/${f.phase}+${f.delayMs}ms`).join('; ') || 'none'}`);
  for (const s of v.shortfalls) lines.push(`shortfall: ${s.role} ${s.msat} msat: ${s.why}`);
  for (const a of v.anomalies) lines.push(`anomaly: ${a}`);
  lines.push(`net (received - paid): ${Object.entries(v.netMsat).map(([r, n]) => `${r} ${n}`).join(', ')}`);
  lines.push(`phases: ${[...run.phases].map(([p, t]) => `${p} +${t}ms`).join(', ')}`);
  for (const f of run.faults) lines.push(`fault +${f.atMs}ms ${f.id} ${f.kind} on ${f.node} at ${f.phase}: ${f.detail}`);
  for (const s of run.skipped) lines.push(`skipped ${s.id} ${s.kind}: ${s.why}`);
  for (const other of runs) {
    if (other === run) continue;
    for (const f of other.faults) if (f.atMs >= run.startedMs && f.atMs <= run.endedMs) lines.push(`meanwhile +${f.atMs}ms ${f.id} ${f.kind} on ${f.node}: ${f.detail}`);
  }
  for (const n of run.notes) lines.push(`note ${n}`);
  return lines;
}
