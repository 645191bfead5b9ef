/**
 * Drive bin/rdv in a real pseudo-terminal (util-linux `script`, part of every
 * Debian system): wait for a prompt, type an answer, as a user would.
 */
import { spawn } from 'node:child_process';
import { RDV_BIN } from './paths.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
export const plain = (s: string): string => s.replace(ANSI, '').replace(/\r/g, '');

export interface Step {
  /** Wait until the screen (since the last answer) matches this. */
  expect: RegExp;
  /** Keys to type: "\r" is Enter, "\u0003" is Ctrl-C. */
  send: string;
}

export function runInPty(args: string[], steps: Step[], timeoutMs = 30_000): Promise<{ code: number; screen: string }> {
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  // A real terminal has a size; `script` alone gives 0 columns.
  const cmd = `stty cols 120 rows 40 2>/dev/null; exec ${[RDV_BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', NO_COLOR: '1', LIGHTNINGD_PLUGIN: '', COLUMNS: '120' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let seen = 0;
    let next = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty: gave up waiting for ${String(steps[next]?.expect)}\n${plain(screen)}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      const step = steps[next];
      if (step && step.expect.test(plain(screen.slice(seen)))) {
        seen = screen.length;
        next++;
        // Typed at once: inquirer draws a prompt and starts listening for keys in the
        // same turn of its event loop (create-prompt.js: render, then the effects that
        // attach the keypress handler), so keys sent after the text is seen are heard.
        child.stdin.write(step.send);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, screen: plain(screen) });
    });
  });
}

export interface PtySession {
  /** Everything written to the terminal so far, escape codes included. */
  readonly output: string;
  /** The pseudo-terminal (/dev/pts/N) and rdv's pid. */
  readonly tty: string;
  readonly pid: number;
  send(keys: string): void;
  /** Change the terminal's size, as a user dragging the window does (the kernel sends SIGWINCH). */
  resize(columns: number, rows: number): Promise<void>;
  /** Wait until the output satisfies `check`. */
  waitFor(check: (output: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<number>;
}

/** Start bin/rdv in a pseudo-terminal of `columns` x `rows` and leave it running. */
export async function startInPty(args: string[], size: { columns: number; rows: number }): Promise<PtySession> {
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  // The shell tells which terminal it got and its pid, which exec hands to rdv.
  const cmd = `stty cols ${size.columns} rows ${size.rows} 2>/dev/null; printf 'pty %s %s\\n' "$(tty)" "$$"; exec ${[RDV_BIN, ...args].map(quote).join(' ')}`;
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', LIGHTNINGD_PLUGIN: '' };
  delete env.NO_COLOR;
  delete env.COLUMNS;
  delete env.LINES;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const waitFor = (check: (o: string) => boolean, what: string, timeoutMs = 15_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check(output)) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(poll);
        reject(new Error(`pty: gave up waiting for ${what}\n${plain(output)}`));
      }, timeoutMs);
      const poll = (): void => {
        if (!check(output)) return;
        clearTimeout(timer);
        waiters.delete(poll);
        resolve();
      };
      waiters.add(poll);
    });
  await waitFor((o) => /pty (\/dev\/\S+) (\d+)\r?\n/.test(o), 'the pty line');
  const [, tty = '', pid = '0'] = /pty (\/dev\/\S+) (\d+)\r?\n/.exec(output) ?? [];
  return {
    get output() {
      return output;
    },
    tty,
    pid: Number(pid),
    send: (keys) => void child.stdin.write(keys),
    resize: (columns, rows) =>
      new Promise((resolve, reject) => {
        const stty = spawn('stty', ['-F', tty, 'cols', String(columns), 'rows', String(rows)], { stdio: 'ignore' });
        stty.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`stty -F ${tty} exited ${code}`))));
      }),
    waitFor,
    exited,
  };
}
