/**
 * Runs the real bin/rdv CLI against a simulated node, as a payee would, without
 * blocking the event loop (the simulated nodes answer in this same process).
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/src/simnet/soak/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const RDV_BIN = process.env.RDV_TEST_BIN ?? join(ROOT, 'bin', 'rdv');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    const child = spawn(RDV_BIN, args, { env: { ...process.env, NO_COLOR: '1', LIGHTNINGD_PLUGIN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `--lightning-dir` and `--network` for a simulated node. */
export const at = (node: { dir: string }): string[] => ['--lightning-dir', node.dir, '--network', 'regtest'];
