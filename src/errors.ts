/**
 * Errors are values with a kind. One place (src/cli.ts) maps the kind to an
 * exit code and prints the one-line message; nothing else prints errors.
 */

export type ErrorKind =
  /** Bad flags, missing or malformed values: exit 2. */
  | 'usage'
  /** Well-formed but unacceptable input (expired invoice, budget out of range): exit 2. */
  | 'input'
  /** The node could not be reached (no socket, refused, timed out): exit 3. */
  | 'unreachable'
  /** The node answered with an error, or the operation did not succeed: exit 1. */
  | 'failed'
  /** The user stopped an interactive prompt (Ctrl-C): exit 130, like a shell. */
  | 'interrupted';

const EXIT_CODES: Record<ErrorKind, number> = {
  usage: 2,
  input: 2,
  unreachable: 3,
  failed: 1,
  interrupted: 130,
};

export class RdvError extends Error {
  override readonly name = 'RdvError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const usageError = (message: string): RdvError => new RdvError('usage', message);
export const inputError = (message: string): RdvError => new RdvError('input', message);
export const failedError = (message: string, cause?: unknown): RdvError =>
  new RdvError('failed', message, { cause });


/** For exhaustive switches: the compiler proves this is unreachable. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** A pure function's outcome: a value, or a reason it could not be computed. */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
