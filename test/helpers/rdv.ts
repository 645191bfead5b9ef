import { spawn } from 'node:child_process';
import { RDV_BIN } from './paths.js';

export interface RdvRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run bin/rdv as a user would, without blocking the event loop (the simulated
 * nodes answer in this same process).
 */
export function runRdv(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RdvRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(RDV_BIN, args, {
      env: { ...process.env, NO_COLOR: '1', LIGHTNINGD_PLUGIN: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rdv ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Global options that point rdv at a simulated (or real regtest) node directory. */
export const at = (node: { dir: string }): string[] => ['--lightning-dir', node.dir, '--network', 'regtest'];
