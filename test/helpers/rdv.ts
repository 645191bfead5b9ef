import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { basename } from 'node:path';
import { RDV_BIN } from './paths.js';

export interface RdvRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A process started by `start`: its output so far, and its exit code once it ends. */
export interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code (-1 when a signal ended it), once its output is all read. */
  readonly exited: Promise<number>;
}

/**
 * The one place a test starts a program (bin/rdv, a shell), without blocking the
 * event loop: the simulated nodes answer in this same process. `env` is the whole
 * environment; stdin gets `input` and then ends, unless `typing` (the test writes
 * to child.stdin as it goes).
 */
export function start(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; typing?: boolean } = {}): Started {
  const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  // A program may end without reading its input (stty, a refusal before any prompt): the
  // pipe's EPIPE then is no error of the test's, and unhandled it would fail whichever test runs.
  child.stdin.on('error', () => undefined);
  if (!opts.typing) child.stdin.end(opts.input ?? '');
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
  };
}

/** Run a program to its end (see start); killed, and the promise rejected, after `timeoutMs`. */
export async function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RdvRun> {
  const started = Date.now();
  const p = start(command, args, opts);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${basename(command)} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${p.stdout}\nstderr: ${p.stderr}`));
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([p.exited, late]);
    return { code, stdout: p.stdout, stderr: p.stderr, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** bin/rdv's environment as a user's shell gives it, not lightningd's (no LIGHTNINGD_PLUGIN), without colour. */
const rdvEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: '1', LIGHTNINGD_PLUGIN: '', ...env });

/** Start bin/rdv as a user would and leave it running (see start). */
export function startRdv(args: string[], opts: { env?: Record<string, string> } = {}): Started {
  return start(RDV_BIN, args, { env: rdvEnv(opts.env) });
}

/** Run bin/rdv as a user would, to its end (see run). */
export function runRdv(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RdvRun> {
  return run(RDV_BIN, args, { ...opts, env: rdvEnv(opts.env) });
}

/** Global options that point rdv at a simulated (or real regtest) node directory. */
export const at = (node: { dir: string }): string[] => ['--lightning-dir', node.dir, '--network', 'regtest'];
