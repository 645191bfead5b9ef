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
        // Let the prompt finish drawing before typing.
        setTimeout(() => child.stdin.write(step.send), 60);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, screen: plain(screen) });
    });
  });
}
