/**
 * `npm run soak -- --payments N --seed S [--concurrency K] [--with-closing]
 * [--block-interval-ms MS] [--only I,J] [--without-guard]`: runs the chaos soak and prints ONE
 * JSON line; exits 1 if money was lost, an HTLC is stuck, a relay let one
 * expire (a force close) or a failed payment's preimage got out, and then
 * prints each bad payment's faults and ledger to stderr.
 */
import { runSoak, type SoakOptions } from './engine.js';

const USAGE = 'usage: soak --payments N --seed S [--concurrency K] [--with-closing] [--block-interval-ms MS] [--only I[,J...]] [--dump I[,J...]] [--without-guard] [--quiet]';

function indexes(text: string, arg: string): number[] {
  return text.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${arg}: not a payment index: ${x}`);
    return n;
  });
}

function parseArgs(argv: string[]): SoakOptions & { quiet: boolean } {
  const o: SoakOptions & { quiet: boolean } = { payments: 20, seed: 1, concurrency: 4, withClosing: false, blockIntervalMs: 2_000, quiet: false };
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
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg ?? ''}`);
    }
  }
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
  const result = await runSoak({ ...o, progress: o.quiet ? undefined : (line) => process.stderr.write(`${line}\n`) });
  for (const b of [...result.bad, ...result.shown]) process.stderr.write(`${b.dump}\n\n`);
  for (const m of result.recordMismatches) process.stderr.write(`record mismatch: ${m}\n`);
  for (const s of result.setupFailures) process.stderr.write(`setup of payment #${s.index} failed: ${s.error}\n`);
  process.stdout.write(`${JSON.stringify(result.summary)}\n`);
  return result.ok ? 0 : 1;
}
