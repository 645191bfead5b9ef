/**
 * Drive bin/rdv in a real pseudo-terminal (util-linux `script`, part of every
 * Debian system): wait for a prompt, type an answer, as a user would.
 */
import { RDV_BIN } from './paths.js';
import { run, start, type Started } from './rdv.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
export const plain = (s: string): string => s.replace(ANSI, '').replace(/\r/g, '');

export interface Step {
  /** Wait until the screen (since the last answer) matches this. */
  expect: RegExp;
  /** Keys to type: "\r" is Enter, "\u0003" is Ctrl-C. */
  send: string;
}

/**
 * bin/rdv with `args` in a pseudo-terminal of `size` (see start); `first` runs in
 * the terminal's shell before rdv takes it over.
 */
function startInTerminal(args: string[], size: { columns: number; rows: number }, env: NodeJS.ProcessEnv, first = ''): Started {
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  // A real terminal has a size; `script` alone gives 0 columns.
  const cmd = `stty cols ${size.columns} rows ${size.rows} 2>/dev/null; ${first}exec ${[RDV_BIN, ...args].map(quote).join(' ')}`;
  return start('script', ['-qfec', cmd, '/dev/null'], { env, typing: true });
}

export function runInPty(args: string[], steps: Step[], timeoutMs = 30_000): Promise<{ code: number; screen: string }> {
  return new Promise((resolve, reject) => {
    const rdv = startInTerminal(args, { columns: 120, rows: 40 }, { ...process.env, TERM: 'xterm', NO_COLOR: '1', LIGHTNINGD_PLUGIN: '', COLUMNS: '120' });
    const child = rdv.child;
    let seen = 0;
    let next = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty: gave up waiting for ${String(steps[next]?.expect)}\n${plain(rdv.stdout)}`));
    }, timeoutMs);
    child.stdout.on('data', () => {
      const screen = rdv.stdout;
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
    void rdv.exited.then((code) => {
      clearTimeout(timer);
      resolve({ code, screen: plain(rdv.stdout) });
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
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', LIGHTNINGD_PLUGIN: '' };
  delete env.NO_COLOR;
  delete env.COLUMNS;
  delete env.LINES;
  // The shell tells which terminal it got and its pid, which exec hands to rdv.
  const rdv = startInTerminal(args, size, env, `printf 'pty %s %s\\n' "$(tty)" "$$"; `);
  const child = rdv.child;
  const waiters = new Set<() => void>();
  child.stdout.on('data', () => {
    for (const w of [...waiters]) w();
  });
  const waitFor = (check: (o: string) => boolean, what: string, timeoutMs = 15_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check(rdv.stdout)) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(poll);
        reject(new Error(`pty: gave up waiting for ${what}\n${plain(rdv.stdout)}`));
      }, timeoutMs);
      const poll = (): void => {
        if (!check(rdv.stdout)) return;
        clearTimeout(timer);
        waiters.delete(poll);
        resolve();
      };
      waiters.add(poll);
    });
  await waitFor((o) => /pty (\/dev\/\S+) (\d+)\r?\n/.test(o), 'the pty line');
  const [, tty = '', pid = '0'] = /pty (\/dev\/\S+) (\d+)\r?\n/.exec(rdv.stdout) ?? [];
  return {
    get output() {
      return rdv.stdout;
    },
    tty,
    pid: Number(pid),
    send: (keys) => void child.stdin.write(keys),
    resize: async (columns, rows) => {
      const stty = await run('stty', ['-F', tty, 'cols', String(columns), 'rows', String(rows)]);
      if (stty.code !== 0) throw new Error(`stty -F ${tty} exited ${stty.code}`);
    },
    waitFor,
    exited: rdv.exited,
  };
}
