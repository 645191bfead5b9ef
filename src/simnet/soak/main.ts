/**
 * `npm run soak -- --payments N --seed S [--concurrency K] [--with-closing]
 * [--block-interval-ms MS] [--only I,J] [--without-guard]`: runs the chaos soak and prints ONE
 * JSON line; exits 1 if money was lost, an HTLC is stuck, a relay let one
 * expire (a force close) or a failed payment's preimage got out, and then
 * prints each bad payment's faults and ledger to stderr.
 *
 * `--regtest [--keep] [--save-books DIR]`: the same soak on real lightningd and bitcoind
 * (RDV_LIGHTNINGD, RDV_BITCOIND), audited from lightningd's own books
 * (src/soak-regtest); the same JSON line, plus `"mode":"regtest"`.
 */
import { runSoak, type SoakOptions } from './engine.js';

const USAGE =
  'usage: soak --payments N --seed S [--concurrency K] [--with-closing] [--block-interval-ms MS] [--only I[,J...]] [--dump I[,J...]] [--without-guard] [--quiet]\n' +
  '       soak --regtest [--keep] [--save-books DIR] --payments N --seed S [--concurrency K] [--block-interval-ms MS] [--only I[,J...]] [--dump I[,J...]] [--quiet]\n' +
  '       (--regtest: real lightningd and bitcoind from RDV_LIGHTNINGD / RDV_BITCOIND or PATH; --keep keeps their directory; --save-books writes the replies the audit read)';

interface MainOptions extends SoakOptions {
  quiet: boolean;
  regtest: boolean;
  keep: boolean;
  saveBooks?: string;
}

function indexes(text: string, arg: string): number[] {
  return text.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${arg}: not a payment index: ${x}`);
    return n;
  });
}

function parseArgs(argv: string[]): MainOptions {
  const o: MainOptions = { payments: 20, seed: 1, concurrency: 4, withClosing: false, blockIntervalMs: 2_000, quiet: false, regtest: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const int = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${arg}: expected an integer >= ${min}, got ${v}`);
      return n;
    };
    switch (arg) {
      case '--payments':
        o.payments = int(1);
        break;
      case '--seed':
        o.seed = int(0);
        break;
      case '--concurrency':
        o.concurrency = int(1);
        break;
      case '--with-closing':
        o.withClosing = true;
        break;
      case '--block-interval-ms':
        o.blockIntervalMs = int(0);
        break;
      case '--only':
        o.only = indexes(value(), arg);
        break;
      case '--without-guard':
        o.guard = false;
        break;
      case '--dump':
        o.dump = indexes(value(), arg);
        break;
      case '--quiet':
        o.quiet = true;
        break;
      case '--regtest':
        o.regtest = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--save-books':
        o.saveBooks = value();
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg ?? ''}`);
    }
  }
  if (o.regtest && (o.withClosing || o.guard === false)) throw new Error('--with-closing and --without-guard are simulated faults only, not with --regtest');
  if ((o.keep || o.saveBooks !== undefined) && !o.regtest) throw new Error('--keep and --save-books go with --regtest');
  return o;
}

export async function main(argv: string[]): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (o.regtest) return mainRegtest(o);
  const result = await runSoak({ ...o, progress: o.quiet ? undefined : (line) => process.stderr.write(`${line}\n`) });
  for (const b of [...result.bad, ...result.shown]) process.stderr.write(`${b.dump}\n\n`);
  for (const m of result.recordMismatches) process.stderr.write(`record mismatch: ${m}\n`);
  for (const a of result.anomalies) process.stderr.write(`anomaly: ${a}\n`);
  for (const s of result.setupFailures) process.stderr.write(`setup of payment #${s.index} failed: ${s.error}\n`);
  process.stdout.write(`${JSON.stringify(result.summary)}\n`);
  return result.ok ? 0 : 1;
}

async function mainRegtest(o: MainOptions): Promise<number> {
  // Loaded only here: the simulated soak never touches the regtest harness.
  const { runRegtestSoak } = await import('../../soak-regtest/engine.js');
  const r = await runRegtestSoak({
    payments: o.payments,
    seed: o.seed,
    concurrency: o.concurrency,
    blockIntervalMs: o.blockIntervalMs,
    keep: o.keep,
    ...(o.saveBooks !== undefined ? { saveBooks: o.saveBooks } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(o.dump ? { dump: o.dump } : {}),
    ...(o.quiet ? {} : { progress: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  if (!r.ok) {
    process.stderr.write(`soak: ${r.error}\n`);
    return 2;
  }
  const result = r.value;
  for (const b of [...result.bad, ...result.shown]) process.stderr.write(`${b.dump}\n\n`);
  for (const m of result.recordMismatches) process.stderr.write(`record mismatch: ${m}\n`);
  for (const a of result.anomalies) process.stderr.write(`anomaly: ${a}\n`);
  for (const m of result.balanceMismatches) process.stderr.write(`balance mismatch: ${m}\n`);
  for (const c of result.forceCloses) process.stderr.write(`force close: ${c}\n`);
  for (const s of result.setupFailures) process.stderr.write(`setup of payment #${s.index} failed: ${s.error}\n`);
  if (result.dir !== undefined) process.stderr.write(`soak: regtest directory kept: ${result.dir}\n`);
  process.stdout.write(`${JSON.stringify(result.summary)}\n`);
  return result.ok ? 0 : 1;
}
