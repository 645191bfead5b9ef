import { err, ok, type Result } from '../errors.js';

/** A whole number of blocks, e.g. "60" or "60blocks". */
export function parseBlocks(text: string, what: string, max = 2016): Result<number> {
  const m = /^\s*(\d{1,6})\s*(blocks?)?\s*$/i.exec(text);
  if (!m) return err(`${what} "${text}" is not a whole number of blocks`);
  const n = Number(m[1]);
  if (n > max) return err(`${what} ${n} blocks is more than ${max}`);
  return ok(n);
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A duration in seconds: "3600", "90s", "30m", "12h", "2d", "1w". */
export function parseDuration(text: string, what: string): Result<number> {
  const m = /^\s*(\d{1,9})\s*([smhdw]?)\s*$/i.exec(text);
  if (!m) return err(`${what} "${text}" is not a duration: use seconds or a unit, e.g. 3600, 30m, 12h, 2d`);
  const n = Number(m[1]) * (SECONDS[(m[2] || 's').toLowerCase()] ?? 1);
  if (n === 0) return err(`${what} must be more than 0 seconds`);
  return ok(n);
}

/** "2h 5m" style, for humans. */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `${formatDuration(-seconds)} ago`;
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  // Round to the smaller unit first, then split, so 47h 59m 59s is "48h 0m", not "47h 60m".
  if (seconds < 172_800) {
    const minutes = Math.round(seconds / 60);
    return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
  }
  const hours = Math.round(seconds / 3600);
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
