/** Shared bits for benchmarks: each prints ONE JSON line {name, params, figures, machine}. */
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export function machine(): Record<string, unknown> {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, mem_gb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

export const median = (v: number[]): number => percentile(v, 50);
export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export function report(name: string, params: Record<string, unknown>, figures: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ name, params, figures, machine: machine(), at: new Date().toISOString() })}\n`);
}

/** Resident set size of a process, and its peak, in MB (Linux /proc). */
export function rssMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
    return { rss: round(kb('VmRSS') / 1024, 1), peak: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return undefined;
  }
}

export const hrms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
