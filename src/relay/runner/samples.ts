/** Recent samples of how long the relay took to decide, for rdv-status. */
export class Samples {
  private readonly values: number[] = [];
  constructor(private readonly max = 1_000) {}
  add(v: number): void {
    this.values.push(v);
    if (this.values.length > this.max) this.values.shift();
  }
  /** Percentiles of the last `n` samples. */
  summary(n = this.max): { samples: number; p50_ms: number; p99_ms: number } | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = this.values.slice(-n).sort((a, b) => a - b);
    const at = (p: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0) * 1000) / 1000;
    return { samples: sorted.length, p50_ms: at(0.5), p99_ms: at(0.99) };
  }
}
