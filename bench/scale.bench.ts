/**
 * A year of records: 10 000 on one node (a simulated lightningd hosting the real
 * bin/rdv): mostly settled, some failed and expired, 150 open, 10 paying.
 * Measures the plugin's start (lightningd (re)starting to rdv-status answering,
 * records loaded), its RSS (as it becomes ready, its peak, and 15 s later), and the CLI against it: `rdv status --json`,
 * `rdv status --state open`, `rdv watch --once`; on the simulated lightningd and,
 * when the binaries are there, on a real one.
 * Targets: plugin ready < 2 s, status --state open < 500 ms, RSS < 150 MB.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import type { RelayRecord, RelayState } from '../src/chain/record.js';
import { relayKey, serializeRecord } from '../src/chain/record.js';
import { locateBinaries } from '../src/regtest/binaries.js';
import { Regtest } from '../src/regtest/harness.js';
import { SimNetwork } from '../src/simnet/network.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord } from '../test/helpers/fake-lightningd.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { hrms, median, report, round, rssMb } from './lib.js';

const N = Number(process.env.RDV_BENCH_RECORDS ?? 10_000);
const RUNS = Number(process.env.RDV_BENCH_RUNS ?? 5);
const SETTLE_MS = 15_000;

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

/** The year's records, oldest last: what each of N looks like. */
function records(height: number): RelayRecord[] {
  const now = Math.floor(Date.now() / 1000);
  const out: RelayRecord[] = [];
  for (let i = 0; i < N; i++) {
    const hash = createHash('sha256').update(`record ${i}`).digest('hex') as PaymentHash;
    const state = stateFor(i);
    const createdAt = now - i * 3_000;
    const over: Partial<RelayRecord> = { paymentHash: hash, state, createdAt, updatedAt: createdAt, expiresAt: state === 'open' || state === 'paying' ? now + 3_600 : createdAt + 3_600 };
    if (state === 'settled') Object.assign(over, { earnedMsat: msat(5_700_000n), settledAt: createdAt + 60, preimage: createHash('sha256').update(`preimage ${i}`).digest('hex') });
    if (state === 'paying') Object.assign(over, { earliestExpiry: height + 100, parts: [], attempts: [{ round: 0, startedAt: now, maxdelay: 60, maxfeeMsat: msat(1_000_000n) }] });
    if (state === 'failed') over.lastError = 'no route to the next payee within the fee budget';
    out.push(makeRecord(over));
  }
  return out;
}

interface Target {
  name: string;
  dir: string;
  /** Restart lightningd and wait until the plugin answers rdv-status: returns the ms that took and the plugin's pid. */
  restart(): Promise<{ ms: number; pid: number | undefined }>;
}

async function measure(target: Target): Promise<void> {
  const readyMs: number[] = [];
  let rss: { rss: number; peak: number } | undefined;
  let pid: number | undefined;
  for (let i = 0; i < RUNS; i++) {
    const r = await target.restart();
    readyMs.push(r.ms);
    pid = r.pid;
    rss = r.pid ? rssMb(r.pid) : undefined;
  }
  // What `ps` shows an hour later: V8 hands the start's garbage back within seconds.
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const settled = pid ? rssMb(pid) : undefined;
  const dir = ['--lightning-dir', target.dir, '--network', 'regtest'];
  const cases: Array<[string, string[]]> = [
    ['status --json', [...dir, '--json', 'status']],
    ['status --state open', [...dir, 'status', '--state', 'open']],
    ['status --state open --json', [...dir, '--json', 'status', '--state', 'open']],
    ['watch --once', [...dir, 'watch', '--once']],
  ];
  const figures: Record<string, unknown> = {
    node: target.name,
    records: N,
    plugin_ready_ms: { p50: round(median(readyMs), 0), max: round(Math.max(...readyMs), 0), target: 2_000 },
    plugin_rss_mb: { after_start: rss?.rss, peak: rss?.peak, [`after_${SETTLE_MS / 1000}s`]: settled?.rss, target: 150 },
  };
  for (const [name, args] of cases) {
    const runs: Array<{ ms: number; bytes: number }> = [];
    for (let i = 0; i < RUNS; i++) runs.push(await time(args));
    figures[name] = { p50_ms: round(median(runs.map((r) => r.ms)), 0), max_ms: round(Math.max(...runs.map((r) => r.ms)), 0), output_kb: round((runs[0]?.bytes ?? 0) / 1024, 0), ...(name === 'status --state open' ? { target_ms: 500 } : {}) };
  }
  report('scale', { node: target.name, records: N, runs: RUNS }, figures);
}

// --- simulated lightningd (its own listdatastore, in this process, is part of the figures) ---
const net = new SimNetwork({ pluginPath: RDV_BIN });
try {
  const node = await net.addNode('bob', { plugin: true, guard: true, important: true });
  for (const r of records(net.height)) seedRecord(node, r);
  await measure({
    name: 'simulated',
    dir: node.dir,
    restart: async () => {
      const t0 = process.hrtime.bigint();
      await node.restart();
      if (!(await node.plugin?.request('rdv-status', { payment_hash: 'ffff' }))) throw new Error('the plugin did not answer rdv-status');
      return { ms: hrms(t0), pid: node.plugin?.pid };
    },
  });
} finally {
  await net.stop();
}

// --- real lightningd on regtest ----------------------------------------------------------
const bins = locateBinaries();
if (!bins.ok) {
  process.stderr.write(`scale on regtest: skipped: ${bins.error}\n`);
} else {
  const started = await Regtest.start({ binaries: bins.value, rdvPath: RDV_BIN, nodes: [{ name: 'bob' }] });
  if (!started.ok) throw new Error(started.error);
  const rt = started.value;
  try {
    const bob = rt.node('bob');
    const height = (await bob.rpc.getinfo()).blockheight;
    const all = records(height);
    for (let i = 0; i < all.length; i += 200) {
      await Promise.all(all.slice(i, i + 200).map((r) => bob.rpc.datastoreCreate(relayKey(r.paymentHash), serializeRecord(r))));
    }
    await measure({
      name: 'regtest (CLN v26.06.6)',
      dir: bob.dir,
      restart: async () => {
        // From lightningd answering RPC after its restart: the plugin's setup (records loaded) is what is left.
        await rt.restart('bob');
        const t0 = process.hrtime.bigint();
        await bob.rpc.rpc.call('rdv-status', { payment_hash: 'ffff' });
        const ms = hrms(t0);
        const [plugin] = await bob.rdvPluginProcesses();
        return { ms, pid: plugin?.pid };
      },
    });
  } finally {
    await rt.stop();
  }
}
