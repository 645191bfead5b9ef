/**
 * The soak's one JSON line, built in one place so the simulated soak and the
 * soak on real lightningd (src/soak-regtest) print the same keys in the same
 * order; a mode's own keys come after them.
 */
import type { PaymentVerdict } from './audit.js';

export interface SoakFigures {
  seed: number;
  payments: number;
  concurrency: number;
  faultsByKind: Record<string, number>;
  faultsByPhase: Record<string, number>;
  faultsSkipped: Record<string, number>;
  networkEvents: Record<string, number>;
  verdicts: readonly PaymentVerdict[];
  stuckHtlcs: number;
  forceCloses: number;
  recordMismatches: number;
  setupFailed: number;
  withClosing: boolean;
  /** Only when rdv-guard was left out (--without-guard). */
  guard?: false;
  blocks: number;
  htlcs: number;
  durationS: number;
}

/** The JSON line's object: the simulated soak's keys, then `extra`'s. */
export function soakSummary(f: SoakFigures, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const faults = Object.values(f.faultsByKind).reduce((s, n) => s + n, 0);
  const lost = f.verdicts.reduce((s, v) => s + v.lostMsat, 0n);
  return {
    name: 'soak',
    seed: f.seed,
    payments: f.payments,
    concurrency: f.concurrency,
    faults,
    settled: f.verdicts.filter((v) => v.outcome === 'settled').length,
    failed_back: f.verdicts.filter((v) => v.outcome === 'failed_back').length,
    lost_msat: Number(lost),
    stuck_htlcs: f.stuckHtlcs,
    force_closes: f.forceCloses,
    faults_by_kind: sortKeys(f.faultsByKind),
    faults_by_phase: sortKeys(f.faultsByPhase),
    faults_skipped: sortKeys(f.faultsSkipped),
    network_events: sortKeys(f.networkEvents),
    preimage_leaks: f.verdicts.filter((v) => v.preimageRevealed).length,
    payee_expiries: f.verdicts.reduce((s, v) => s + v.payeeExpiries, 0),
    anomalies: f.verdicts.reduce((s, v) => s + v.anomalies.length, 0),
    record_mismatches: f.recordMismatches,
    setup_failed: f.setupFailed,
    with_closing: f.withClosing,
    ...(f.guard === false ? { guard: false } : {}),
    blocks: f.blocks,
    htlcs: f.htlcs,
    duration_s: Math.round(f.durationS * 10) / 10,
    ...extra,
  };
}

/** The soak passes: no money lost, nothing stuck, no force close, no preimage given away. */
export function soakOk(summary: Record<string, unknown>): boolean {
  return summary.lost_msat === 0 && summary.stuck_htlcs === 0 && summary.force_closes === 0 && summary.preimage_leaks === 0;
}

/** Count `key(x)` over `items`. */
export function countBy<T>(items: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

export function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
