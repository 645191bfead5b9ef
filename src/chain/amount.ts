import { err, ok, type Result } from '../errors.js';

/** Millisatoshis. Every amount in rdv is one of these; never a `number`. */
export type Msat = bigint & { readonly __unit: 'msat' };

export const msat = (value: bigint): Msat => value as Msat;

export const MSAT_PER_SAT = 1_000n;
export const MSAT_PER_BTC = 100_000_000_000n;
/** 21 million BTC: no amount can be larger. */
export const MAX_MSAT = msat(21_000_000n * MSAT_PER_BTC);

export const sumMsat = (values: Iterable<Msat>): Msat => {
  let total = 0n;
  for (const v of values) total += v;
  return msat(total);
};

const UNITS = {
  msat: { scale: 1n, decimals: 0 },
  sat: { scale: MSAT_PER_SAT, decimals: 3 },
  btc: { scale: MSAT_PER_BTC, decimals: 11 },
} as const;
type Unit = keyof typeof UNITS;

const AMOUNT_RE = /^(\d+)(?:\.(\d+))?\s*(msat|sat|sats|btc)?$/i;

export interface ParseAmountOptions {
  /** Allow 0 (e.g. a fee budget over a direct channel). Default: false. */
  allowZero?: boolean;
}

/**
 * Parse a user amount: "100000sat", "250msat", "0.001btc", "1.5sat" (= 1500msat),
 * or a bare integer, which means sat. A bare decimal ("1.5") is ambiguous and refused.
 * Returns a one-line reason on failure.
 */
export function parseAmount(text: string, options: ParseAmountOptions = {}): Result<Msat> {
  const input = text.trim();
  if (input === '') return err('amount is empty: give a number with a unit, e.g. 5000sat');
  if (input.startsWith('-')) return err(`amount "${input}" is negative: amounts must be positive`);
  if (/[,_ ]\d{3}/.test(input)) {
    return err(`amount "${input}" has digit separators: write it without them, e.g. 100000sat`);
  }
  const match = AMOUNT_RE.exec(input);
  if (!match) {
    return err(`amount "${input}" is not understood: use e.g. 5000sat, 250msat or 0.001btc`);
  }
  const [, whole = '', fraction, rawUnit] = match;
  if (rawUnit === undefined && fraction !== undefined) {
    return err(`amount "${input}" is ambiguous: add a unit (sat, msat or btc)`);
  }
  const unitName = (rawUnit ?? 'sat').toLowerCase();
  const unit: Unit = unitName === 'sats' ? 'sat' : (unitName as Unit);
  const { scale, decimals } = UNITS[unit];
  const digits = fraction ?? '';
  if (digits.length > decimals) {
    return err(
      unit === 'msat'
        ? `amount "${input}" has a fraction of a msat: msat is the smallest unit`
        : `amount "${input}" has more than ${decimals} decimals: the smallest unit is 1msat`,
    );
  }
  if (whole.length > 30) return err(`amount "${input}" is larger than 21 million BTC`);
  const value = BigInt(whole) * scale + BigInt(digits.padEnd(decimals, '0') || '0') * (scale / 10n ** BigInt(decimals));
  if (value > MAX_MSAT) return err(`amount "${input}" is larger than 21 million BTC`);
  if (value === 0n && !options.allowZero) return err(`amount "${input}" is zero: it must be positive`);
  return ok(msat(value));
}

/** Exact, re-parseable form: "106000sat", or "1500msat" when not whole sats. */
export function formatAmountArg(value: Msat): string {
  return value % MSAT_PER_SAT === 0n ? `${value / MSAT_PER_SAT}sat` : `${value}msat`;
}

/** Human form with grouped digits: "106,000 sat", "1,234.567 sat". Always carries a unit. */
export function formatAmount(value: Msat): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const sats = abs / MSAT_PER_SAT;
  const rest = abs % MSAT_PER_SAT;
  const grouped = sats.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = rest === 0n ? '' : `.${rest.toString().padStart(3, '0')}`;
  return `${negative ? '-' : ''}${grouped}${fraction} sat`;
}

/** Parse a non-negative decimal integer string of msat (how records store amounts). */
export function msatFromDecimal(text: string): Msat | undefined {
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= MAX_MSAT ? msat(value) : undefined;
}
