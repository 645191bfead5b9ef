/**
 * Parsing a large listchannelmoves reply (the restart's check for claimed parts):
 * every payment move carries a u64 group_id, so every page has integers past
 * 2^53. RDV_BENCH_MOVES (default 100000; "100000,400000" for several) moves,
 * shaped like CLN v26.06's. Each parser runs in a child process of its own, so
 * each RSS figure is that parser's: `before` is rdv 0.1's parseJson (the whole
 * reply through lossless-json as soon as one such integer appears), `after` is
 * today's parseJson, `json_parse` plain JSON.parse (lossy) for scale.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isInteger, isSafeNumber, parse as losslessParse } from 'lossless-json';
import { parseJson } from '../src/chain/json.js';
import { hrms, median, report, round, rssMb } from './lib.js';

const VARIANTS = ['before', 'after', 'json_parse'] as const;
type Variant = (typeof VARIANTS)[number];

/** A listchannelmoves reply of `n` moves: mostly "invoice"/"routed" payment moves with part_id and group_id. */
export function channelMovesReply(n: number): string {
  const moves: string[] = [];
  for (let i = 1; i <= n; i++) {
    const hash = (i * 2_654_435_761).toString(16).padStart(8, '0').repeat(8);
    const channel = `${(i % 97).toString(16).padStart(2, '0')}`.repeat(32);
    const credit = i % 2 === 0;
    const amount = 1_000_000 + ((i * 7_919) % 90_000_000);
    const group = (18_000_000_000_000_000_000n - BigInt(i) * 104_729n).toString();
    moves.push(
      `{"created_index":${i},"account_id":"${channel}","credit_msat":${credit ? amount : 0},"debit_msat":${credit ? 0 : amount},"timestamp":${1_795_000_000 + i},` +
        `"primary_tag":"${credit ? 'invoice' : 'routed'}","payment_hash":"${hash}","part_id":${i % 3},"group_id":${group},"fees_msat":${credit ? 0 : 1_001}}`,
    );
  }
  return `{"jsonrpc":"2.0","id":"rdv:listchannelmoves#1","result":{"channelmoves":[${moves.join(',')}]}}`;
}

/** rdv 0.1's parseJson, kept here to measure against. */
function parseBefore(text: string): unknown {
  if (!/[:[,]\s*-?\d{16,}/.test(text)) return JSON.parse(text);
  return losslessParse(text, null, (value: string) => (isInteger(value) && !isSafeNumber(value) ? BigInt(value) : Number(value)));
}

const parsers: Record<Variant, (text: string) => unknown> = { before: parseBefore, after: parseJson, json_parse: (t) => JSON.parse(t) };

/** Parse once in this process: time, RSS just before (after a GC), and the peak while parsing. */
function child(variant: Variant, n: number): void {
  const text = channelMovesReply(n);
  (globalThis as { gc?: () => void }).gc?.();
  // Reset the peak (VmHWM) to what is resident now, so the peak is the parse's.
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then includes building the reply.
  }
  const ready = rssMb(process.pid);
  const t0 = process.hrtime.bigint();
  const value = parsers[variant](text) as { result: { channelmoves: Array<{ group_id: unknown }> } };
  const ms = hrms(t0);
  const after = rssMb(process.pid);
  const moves = value.result.channelmoves;
  if (moves.length !== n) throw new Error(`${variant}: ${moves.length} moves, expected ${n}`);
  const exact = moves.every((m) => typeof m.group_id === 'bigint');
  process.stdout.write(`${JSON.stringify({ ms, mb: Buffer.byteLength(text) / 1e6, rss_before_mb: ready?.rss ?? Number.NaN, peak_rss_mb: after?.peak ?? Number.NaN, exact })}\n`);
}

interface Run {
  ms: number;
  mb: number;
  rss_before_mb: number;
  peak_rss_mb: number;
  exact: boolean;
}

const RUNS = Number(process.env.RDV_BENCH_RUNS ?? 3);
const [variant, n] = process.argv.slice(2);
if (process.argv[1] !== fileURLToPath(import.meta.url)) {
  // Imported (for its reply builder): nothing to run.
} else if (variant !== undefined) {
  child(variant as Variant, Number(n));
} else {
  const sizes = (process.env.RDV_BENCH_MOVES ?? '100000').split(',').map(Number);
  for (const moves of sizes) {
    const figures: Record<string, unknown> = {};
    for (const v of VARIANTS) {
      const runs: Run[] = [];
      for (let r = 0; r < RUNS; r++) {
        const out = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), v, String(moves)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (out.status !== 0) throw new Error(`${v} (${moves} moves) failed: ${out.stderr}`);
        runs.push(JSON.parse(out.stdout) as Run);
      }
      const first = runs[0];
      figures[v] = {
        parse_ms: round(median(runs.map((x) => x.ms)), 0),
        reply_mb: round(first?.mb ?? Number.NaN, 1),
        rss_before_mb: round(median(runs.map((x) => x.rss_before_mb)), 0),
        peak_rss_mb: round(Math.max(...runs.map((x) => x.peak_rss_mb)), 0),
        peak_growth_mb: round(Math.max(...runs.map((x) => x.peak_rss_mb - x.rss_before_mb)), 0),
        exact: runs.every((x) => x.exact),
      };
    }
    report('json-parse', { moves, runs: RUNS }, figures);
  }
}
