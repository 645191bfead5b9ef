/**
 * A year of records: 10 000 on one node (a simulated lightningd hosting the real
 * bin/rdv): mostly settled, some failed and expired, 150 open, 10 paying.
 * Measures the plugin's start (lightningd starting it to rdv-status answering,
 * records loaded), its RSS, and the CLI against it: `rdv status --json`,
 * `rdv status --state open`, `rdv watch --once`.
 * Targets: plugin ready < 2 s, status --state open < 500 ms, RSS < 150 MB.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import type { RelayRecord, RelayState } from '../src/chain/record.js';
import { SimNetwork } from '../src/simnet/network.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord } from '../test/helpers/fake-lightningd.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { hrms, median, report, round, rssMb } from './lib.js';

const N = Number(process.env.RDV_BENCH_RECORDS ?? 10_000);
const RUNS = Number(process.env.RDV_BENCH_RUNS ?? 5);

function time(args: string[]): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(RDV_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIGHTNINGD_PLUGIN: '' } });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve({ ms: hrms(t0), bytes }) : reject(new Error(`rdv ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

function stateFor(i: number): RelayState {
  if (i < 10) return 'paying';
  if (i < 160) return 'open';
  if (i < 160 + N * 0.05) return 'failed';
  if (i < 160 + N * 0.1) return 'expired';
  return 'settled';
}

const net = new SimNetwork({ pluginPath: RDV_BIN });
try {
  const node = await net.addNode('bob', { plugin: true, guard: true, important: true });
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < N; i++) {
    const hash = createHash('sha256').update(`record ${i}`).digest('hex') as PaymentHash;
    const state = stateFor(i);
    const createdAt = now - i * 3_000;
    const over: Partial<RelayRecord> = { paymentHash: hash, state, createdAt, updatedAt: createdAt, expiresAt: state === 'open' || state === 'paying' ? now + 3_600 : createdAt + 3_600 };
    if (state === 'settled') Object.assign(over, { earnedMsat: msat(5_700_000n), settledAt: createdAt + 60, preimage: createHash('sha256').update(`preimage ${i}`).digest('hex') });
    if (state === 'paying') Object.assign(over, { earliestExpiry: net.height + 100, parts: [], attempts: [{ round: 0, startedAt: now, maxdelay: 60, maxfeeMsat: msat(1_000_000n) }] });
    if (state === 'failed') over.lastError = 'no route to the next payee within the fee budget';
    seedRecord(node, makeRecord(over));
  }

  const readyMs: number[] = [];
  let rss: { rss: number; peak: number } | undefined;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await node.restart();
    const status = (await node.plugin?.request('rdv-status', { payment_hash: 'ffff' })) as { relays?: unknown[] } | undefined;
    readyMs.push(hrms(t0));
    if (!status) throw new Error('the plugin did not answer rdv-status');
    const pid = node.plugin?.pid;
    rss = pid ? rssMb(pid) : undefined;
  }
  const dir = ['--lightning-dir', node.dir, '--network', 'regtest'];
  const cases: Array<[string, string[]]> = [
    ['status --json', [...dir, '--json', 'status']],
    ['status --state open', [...dir, 'status', '--state', 'open']],
    ['status --state open --json', [...dir, '--json', 'status', '--state', 'open']],
    ['watch --once', [...dir, 'watch', '--once']],
  ];
  const figures: Record<string, unknown> = {
    records: N,
    plugin_ready_ms: { p50: round(median(readyMs), 0), max: round(Math.max(...readyMs), 0), target: 2_000 },
    plugin_rss_mb: { after_start: rss?.rss, peak: rss?.peak, target: 150 },
  };
  for (const [name, args] of cases) {
    const runs: Array<{ ms: number; bytes: number }> = [];
    for (let i = 0; i < RUNS; i++) runs.push(await time(args));
    figures[name] = { p50_ms: round(median(runs.map((r) => r.ms)), 0), max_ms: round(Math.max(...runs.map((r) => r.ms)), 0), output_kb: round((runs[0]?.bytes ?? 0) / 1024, 0), ...(name === 'status --state open' ? { target_ms: 500 } : {}) };
  }
  report('scale', { records: N, runs: RUNS }, figures);
} finally {
  await net.stop();
}
