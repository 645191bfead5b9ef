/**
 * CLI cold start: `rdv --help` and `rdv status --json` (against a simulated
 * node) next to `node -e 0`, in the same run. Target: `rdv --help` < 150 ms.
 */
import { spawn } from 'node:child_process';
import { SimNetwork } from '../src/simnet/network.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { hrms, median, percentile, report, round } from './lib.js';

const RUNS = Number(process.env.RDV_BENCH_RUNS ?? 20);

function time(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LIGHTNINGD_PLUGIN: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const expected = args.includes('/nonexistent') ? 3 : 0;
    child.on('exit', (code) => (code === expected ? resolve(hrms(t0)) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const net = new SimNetwork({ pluginPath: RDV_BIN });
try {
  const node = await net.addNode('bob');
  const cases: Array<[string, string, string[]]> = [
    ['node -e 0', process.execPath, ['-e', '0']],
    ['rdv --help', RDV_BIN, ['--help']],
    ['rdv status --json', RDV_BIN, ['--lightning-dir', node.dir, '--network', 'regtest', '--json', 'status']],
    ['rdv status, no node (exit 3)', RDV_BIN, ['--lightning-dir', '/nonexistent', 'status']],
  ];
  const samples = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so machine noise hits every case alike.
    for (const [name, cmd, args] of cases) samples.get(name)?.push(await time(cmd, args));
  }
  const figures: Record<string, unknown> = {};
  for (const [name] of cases) {
    const v = samples.get(name) ?? [];
    figures[name] = { p50_ms: round(median(v), 1), p90_ms: round(percentile(v, 90), 1) };
  }
  const baseline = median(samples.get('node -e 0') ?? []);
  figures.help_over_node_ms = round(median(samples.get('rdv --help') ?? []) - baseline, 1);
  figures.target_help_p50_ms = 150;
  report('cli-cold-start', { runs: RUNS }, figures);
} finally {
  await net.stop();
}
