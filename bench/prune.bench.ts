/**
 * `rdv prune` on a payee after a year: RDV_BENCH_RECORDS (default 2000) relays
 * settled 45 days ago plus a tenth as many settled yesterday, on a simulated
 * node without the plugin. Times the dry run and the real run (one each: the
 * real run removes what it times).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import { SimNetwork } from '../src/simnet/network.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord } from '../test/helpers/fake-lightningd.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { hrms, report, round } from './lib.js';

const RECORDS = Number(process.env.RDV_BENCH_RECORDS ?? 2000);
const DAY = 86_400;

function run(args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(RDV_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIGHTNINGD_PLUGIN: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve({ ms: hrms(t0), stdout }) : reject(new Error(`rdv ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const net = new SimNetwork();
try {
  const node = await net.addNode('bob');
  const now = Math.floor(Date.now() / 1000);
  const seed = (i: number, daysAgo: number): void => {
    const ended = now - daysAgo * DAY;
    const hash = createHash('sha256').update(`bench-${i}`).digest('hex') as PaymentHash;
    seedRecord(node, makeRecord({ paymentHash: hash, state: 'settled', createdAt: ended - 600, updatedAt: ended, expiresAt: ended + 3_000, settledAt: ended, earnedMsat: msat(5_000_000n) }));
  };
  for (let i = 0; i < RECORDS; i++) seed(i, 45);
  for (let i = 0; i < RECORDS / 10; i++) seed(RECORDS + i, 1);
  const at = ['--lightning-dir', node.dir, '--network', 'regtest', '--json', 'prune', '--older-than', '30d'];
  const dry = await run([...at, '--dry-run']);
  const real = await run(at);
  const pruned = (JSON.parse(real.stdout) as { pruned: unknown[] }).pruned.length;
  if (pruned !== RECORDS) throw new Error(`pruned ${pruned} of ${RECORDS}`);
  report('prune', { records: RECORDS, young: RECORDS / 10 }, { dry_run_ms: round(dry.ms, 0), prune_ms: round(real.ms, 0), per_record_ms: round(real.ms / RECORDS, 2) });
} finally {
  await net.stop();
}
