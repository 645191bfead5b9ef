/**
 * `rdv serve` as its own process, as an operator starts it next to a node:
 * `rdv --json serve ...` against the node's lightning-dir, its first line read
 * (where it listens, what it offers), stopped by its PID with SIGTERM. The demo
 * runs it so; the tests and the benchmark too (test/helpers/serve-process.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { isObject } from '../chain/read.js';

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** Its first line, `rdv serve --json`'s: listening, public_url, node_id, addresses, wrap. */
  started: Record<string, unknown>;
  /** Where it listens, e.g. http://127.0.0.1:41234. */
  listening: string;
  /** What it wrote to stderr so far (its log). */
  stderr: () => string;
  /** SIGTERM (by its PID), and its exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Start `rdvPath --lightning-dir <dir> --network regtest --json serve <args>`;
 * resolves once it says where it listens, rejects if it exits first or says
 * nothing within `ms`.
 */
export async function startServe(rdvPath: string, dir: string, args: string[], ms = 30_000): Promise<ServeProcess> {
  const child = spawn(rdvPath, ['--lightning-dir', dir, '--network', 'regtest', '--json', 'serve', ...args], {
    env: { ...process.env, NO_COLOR: '1', LIGHTNINGD_PLUGIN: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const stop = (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    return exited;
  };
  let line: string;
  try {
    line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rdv serve said nothing within ${ms} ms: ${stderr.trim()}`)), ms);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        const i = stdout.indexOf('\n');
        if (i < 0) return;
        clearTimeout(timer);
        resolve(stdout.slice(0, i));
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`rdv serve exited ${String(code)} before listening: ${stderr.trim()}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  let started: unknown;
  try {
    started = JSON.parse(line);
  } catch {
    started = undefined;
  }
  if (!isObject(started) || typeof started.listening !== 'string') {
    await stop();
    throw new Error(`rdv serve's first line is not what --json promises: ${line}`);
  }
  return { child, started, listening: started.listening, stderr: () => stderr, stop };
}
