/**
 * Processes the regtest harness starts: free loopback ports, spawning with output
 * to files, waiting for an exit, and a last-resort SIGKILL of every PID we started
 * if the test process exits without stopping them.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Is a process with this PID alive (a zombie, dead but not yet reaped by its parent, is not)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Linux: the process's state in /proc/<pid>/stat is Z; elsewhere (no /proc) false. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, so read after the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

const started = new Set<number>();
let exitHookInstalled = false;

/** On exit of the test process, SIGKILL whatever we started and did not stop. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export interface Spawned {
  pid: number;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

/**
 * Start a daemon in the foreground, stdout and stderr appended to `outFile`, not
 * keeping the event loop alive. Its PID is tracked until it exits, and killed if
 * we exit first, unless `outlive`: then it runs in its own session (a Ctrl-C in
 * our terminal does not reach it) and is left running (`rdv demo --keep`).
 */
export function startProcess(command: string, args: string[], outFile: string, options: { env?: NodeJS.ProcessEnv; outlive?: boolean } = {}): Spawned {
  const outlive = options.outlive ?? false;
  if (!outlive) installExitHook();
  const fd = openSync(outFile, 'a');
  let child;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], env: options.env ?? process.env, detached: outlive });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  if (!outlive) started.add(pid);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      started.delete(pid);
      resolve(code ?? signal ?? -1);
    });
    child.once('error', () => {
      done = true;
      started.delete(pid);
      resolve(-1);
    });
  });
  child.unref();
  return { pid, exited, hasExited: () => done };
}

/** Wait for a spawned process to exit; true if it did within `ms`. */
export async function waitExit(p: Spawned, ms: number): Promise<boolean> {
  if (p.hasExited()) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([p.exited.then(() => true as const), timeout]);
  if (timer) clearTimeout(timer);
  return result;
}

/** SIGKILL a spawned process (if still running) and wait for it to be gone. */
export async function killHard(p: Spawned): Promise<void> {
  if (p.hasExited()) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitExit(p, 5_000);
}

/** Run a short command; resolves with its output, never rejects. */
export function runCommand(command: string, args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string;
}

/** Direct children of a PID, from `ps` (works on Linux and macOS). */
export async function childProcesses(parent: number): Promise<ProcessInfo[]> {
  const r = await runCommand('ps', ['-A', '-o', 'pid=,ppid=,args=']);
  const out: ProcessInfo[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const ppid = Number(m[2]);
    if (ppid === parent) out.push({ pid: Number(m[1]), ppid, args: m[3] ?? '' });
  }
  return out;
}

/** Thrown by a poll check to stop polling at once (e.g. the process it waits for has exited). */
export class PollAbort extends Error {
  override readonly name = 'PollAbort';
}

/**
 * Poll `check` every `everyMs` until it returns a value other than undefined, or
 * throw after `timeoutMs`. Errors the check throws count as "not yet", except
 * PollAbort, which ends the wait at once.
 */
export async function poll<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof PollAbort) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resident memory of a process in KiB (Linux /proc), or undefined where that cannot be read. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
