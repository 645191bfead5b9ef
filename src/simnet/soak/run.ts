/**
 * One payment as a soak follows it, for both soaks (this one and the one on real
 * lightningd, src/soak-regtest/): its PaymentRun, the phases it reaches and the
 * faults each phase sets off after their delay, the faults made or skipped, and
 * the payer's attempts. What differs between the networks (how a phase is seen,
 * how a fault is made, how the payer pays) comes in as functions.
 */
import type { PaymentTerms } from './audit.js';
import type { FaultKind, FaultPlan, PaymentPlan, Phase } from './plan.js';

export interface InjectedFault {
  id: string;
  kind: FaultKind;
  node: string;
  phase: Phase | 'retry';
  atMs: number;
  detail: string;
}

export interface SkippedFault {
  id: string;
  kind: FaultKind;
  why: string;
}

export interface PaymentRun {
  plan: PaymentPlan;
  hash: string;
  /** Alice's invoice: what the payer pays. */
  bolt11: string;
  terms: PaymentTerms;
  faults: InjectedFault[];
  skipped: SkippedFault[];
  /** Phases reached, with their time. */
  phases: Map<Phase, number>;
  /** Things that happened to this payment besides faults (attempts, stall releases). */
  notes: string[];
  /** The faults set off so far: the payment waits for them before it pays again and before it ends. */
  pending: Array<Promise<void>>;
  startedMs: number;
  /** 0 while the payment runs. */
  endedMs: number;
}

/** A run that has reached nothing and met no fault yet. */
export function newRun(o: Pick<PaymentRun, 'plan' | 'hash' | 'bolt11' | 'terms' | 'startedMs'>): PaymentRun {
  return { ...o, faults: [], skipped: [], phases: new Map(), notes: [], pending: [], endedMs: 0 };
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
/** An error with its stack, for a failure of the soak itself. */
export const stackText = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** Fault `f` was made on `node` (a node's name, or 'chain'), at `atMs` into the soak. */
export function noteFault(run: PaymentRun, f: FaultPlan, node: string, detail: string, atMs: number): void {
  run.faults.push({ id: f.id, kind: f.kind, node, phase: f.phase, atMs, detail });
}

/** Fault `f` was not made, and why (the node was down, nothing of the payment was where the fault acts). */
export function skipFault(run: PaymentRun, f: FaultPlan, why: string): void {
  run.skipped.push({ id: f.id, kind: f.kind, why });
}

/**
 * A phase is reached (the first time only, and not once the payment has ended):
 * its faults are made by `inject`, each after its delay, and added to the run's
 * pending work. A fault that throws is noted on the run, not thrown.
 */
export function reachPhase(run: PaymentRun, phase: Phase, now: () => number, inject: (f: FaultPlan) => Promise<void>): void {
  if (run.phases.has(phase) || run.endedMs > 0) return;
  run.phases.set(phase, now());
  for (const f of run.plan.faults.filter((x) => x.phase === phase)) {
    const job = (async () => {
      if (f.delayMs > 0) await sleep(f.delayMs);
      await inject(f);
    })().catch((e: unknown) => {
      run.notes.push(`${now()} fault ${f.id} ${f.kind} threw: ${stackText(e)}`);
    });
    run.pending.push(job);
  }
}

export type PayOutcome = { ok: true } | { ok: false; message: string };

/**
 * The payer pays the run's invoice with `payOnce`, and after a failure again (up
 * to the plan's retries), each time once the payment's faults so far are over (a
 * disabled channel enabled again...) and the plan's delay has passed; each
 * attempt is noted, each retry counted as a `payer_retry` fault of `payerName`.
 */
export async function payWithRetries(run: PaymentRun, payerName: string, payOnce: () => Promise<PayOutcome>, now: () => number): Promise<void> {
  const { plan } = run;
  for (let attempt = 0; ; attempt++) {
    const result = await payOnce();
    run.notes.push(`${now()} payer attempt ${attempt + 1}: ${result.ok ? 'paid' : `failed: ${result.message}`}`);
    if (result.ok || attempt >= plan.retries) break;
    await Promise.all(run.pending);
    await sleep(plan.retryDelayMs);
    run.faults.push({ id: `${plan.index}.r${attempt + 1}`, kind: 'payer_retry', node: payerName, phase: 'retry', atMs: now(), detail: `the payer pays the same invoice again (attempt ${attempt + 2})` });
  }
}
