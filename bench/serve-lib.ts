/** Shared by the rdv serve benchmarks: time LNURL callbacks (HTTP request -> invoice) one after another and in rounds at once. */
import { hrms, median, percentile, round } from './lib.js';

export interface CallbackTimes {
  sequential: number[];
  concurrent: number[];
  roundMs: number[];
  /** Wallet-like: the pay parameters, then the callback (only if `wallet`). */
  walletMs: number[];
  /** Callbacks that gave no invoice: HTTP status and reason. */
  failures: string[];
}

/**
 * Against rdv serve at `base` (address `shop`): `warmUp` callbacks, then
 * `sequential` one after another (and as many wallet exchanges, if `wallet`),
 * then `rounds` rounds of `atOnce` at once; each asks a new amount from 21,000 sat up.
 */
export async function timeCallbacks(base: string, o: { warmUp: number; sequential: number; atOnce: number; rounds: number; wallet?: boolean }): Promise<CallbackTimes> {
  let amount = 21_000_000;
  const t: CallbackTimes = { sequential: [], concurrent: [], roundMs: [], walletMs: [], failures: [] };
  const ask = async (callback: string): Promise<void> => {
    const res = await fetch(`${callback}?amount=${amount++}`);
    const body = (await res.json()) as { pr?: string; reason?: string };
    if (!body.pr) t.failures.push(`${res.status} ${body.reason ?? ''}`);
  };
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    const start = process.hrtime.bigint();
    await fn();
    return hrms(start);
  };
  const callback = (): Promise<number> => timed(() => ask(`${base}/lnurlp/shop/callback`));
  for (let i = 0; i < o.warmUp; i++) await callback();
  t.failures.length = 0;
  for (let i = 0; i < o.sequential; i++) t.sequential.push(await callback());
  if (o.wallet) {
    for (let i = 0; i < o.sequential; i++) {
      t.walletMs.push(await timed(async () => ask(((await (await fetch(`${base}/.well-known/lnurlp/shop`)).json()) as { callback: string }).callback)));
    }
  }
  for (let r = 0; r < o.rounds; r++) {
    const start = process.hrtime.bigint();
    t.concurrent.push(...(await Promise.all(Array.from({ length: o.atOnce }, () => callback()))));
    t.roundMs.push(hrms(start));
  }
  return t;
}

/** p50, p99 and max, in ms. */
export const figures = (v: number[]): Record<string, number> => ({ p50: round(median(v), 1), p99: round(percentile(v, 99), 1), max: round(Math.max(...v), 1) });
