/**
 * Everything the CLI prints goes through here: human text on stdout, warnings on
 * stderr, `--json` as one JSON document, spinners and QR codes only on a TTY.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Writable } from 'node:stream';
import { stringifyJson } from '../rpc/json.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
  yes: boolean;
}

export interface Streams {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: { isTTY?: boolean };
}

export interface Spinner {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

const noSpinner: Spinner = { update: () => undefined, succeed: () => undefined, fail: () => undefined, stop: () => undefined };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export const visibleLength = (s: string): number => s.replace(ANSI, '').length;

export class Output {
  readonly c: ChalkInstance;

  constructor(
    readonly options: OutputOptions,
    readonly streams: Streams = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  ) {
    const tty = streams.stdout.isTTY === true;
    this.c = new Chalk({ level: options.color && tty ? 1 : 0 });
  }

  /** Prompts are allowed: a terminal on both ends, and neither --json nor --yes. */
  get interactive(): boolean {
    return this.streams.stdin.isTTY === true && this.streams.stdout.isTTY === true && !this.options.json && !this.options.yes;
  }

  get tty(): boolean {
    return this.streams.stdout.isTTY === true && !this.options.json;
  }

  /** The main result: printed unless --json. */
  result(text: string): void {
    if (!this.options.json) this.streams.stdout.write(`${text}\n`);
  }

  /** Supporting detail: not with --quiet or --json. */
  info(text = ''): void {
    if (!this.options.json && !this.options.quiet) this.streams.stdout.write(`${text}\n`);
  }

  /** Always shown, on stderr, even with --json. */
  warn(text: string): void {
    this.streams.stderr.write(`${this.c.yellow('warning:')} ${text}\n`);
  }

  json(value: unknown): void {
    if (this.options.json) this.streams.stdout.write(`${stringifyJson(value)}\n`);
  }

  /** Aligned columns; the header row is dimmed. */
  table(header: string[], rows: string[][]): void {
    if (this.options.json) return;
    const all = [header, ...rows];
    const widths = header.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ''))));
    const fmt = (r: string[]): string =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)))).join('  ').trimEnd();
    this.streams.stdout.write(`${this.c.dim(fmt(header))}\n`);
    for (const r of rows) this.streams.stdout.write(`${fmt(r)}\n`);
  }

  /** Two columns, label: value. */
  pairs(rows: Array<[string, string]>): void {
    if (this.options.json || this.options.quiet) return;
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) this.streams.stdout.write(`  ${this.c.dim(k.padEnd(width))}  ${v}\n`);
  }

  async spinner(text: string): Promise<Spinner> {
    // A terminal that reports 0 columns (some pseudo-terminals) makes ora's redraw loop forever.
    const columns = (this.streams.stderr as { columns?: number }).columns ?? 0;
    if (!this.streams.stderr.isTTY || columns <= 0 || this.options.json || this.options.quiet) return noSpinner;
    const { default: ora } = await import('ora');
    const s = ora({ text, stream: this.streams.stderr, color: 'cyan', isEnabled: true }).start();
    return {
      update: (t) => void (s.text = t),
      succeed: (t) => void s.succeed(t),
      fail: (t) => void s.fail(t),
      stop: () => void s.stop(),
    };
  }

  /** A QR code of the invoice (upper case: denser QR alphanumeric mode). Terminal only. */
  async qr(bolt11: string, force = false): Promise<void> {
    if (this.options.json || (!force && (!this.tty || this.options.quiet))) return;
    const { default: QRCode } = await import('qrcode');
    const text = await QRCode.toString(bolt11.toUpperCase(), { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
    this.streams.stdout.write(text);
  }
}
