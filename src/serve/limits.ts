/**
 * The counting behind rdv serve's bounds: requests per client address in a
 * sliding minute, and chains running at once. Time is passed in (ms); nothing
 * here reads a clock or keeps a timer. Pure (state in plain objects).
 */

export const WINDOW_MS = 60_000;

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * At most `perWindow` requests per key in any `WINDOW_MS`. Remembers at most
 * `maxKeys` keys: the least recently seen is forgotten first, so a flood from
 * many addresses costs bounded memory (and the chains bound still holds).
 */
export class RateLimiter {
  private readonly seen = new Map<string, number[]>();

  constructor(
    readonly perWindow: number,
    readonly maxKeys: number,
  ) {}

  /** Count a request from `key` at `nowMs`, if it is within the rate. */
  take(key: string, nowMs: number): Admission {
    const times = (this.seen.get(key) ?? []).filter((t) => t > nowMs - WINDOW_MS);
    // Re-inserted: the map's order is least recently seen first.
    this.seen.delete(key);
    if (times.length >= this.perWindow) {
      this.seen.set(key, times);
      const oldest = times[0] ?? nowMs;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000)) };
    }
    times.push(nowMs);
    this.seen.set(key, times);
    while (this.seen.size > this.maxKeys) {
      const first = this.seen.keys().next();
      if (first.done) break;
      this.seen.delete(first.value);
    }
    return { ok: true };
  }

  /** Keys remembered now (for tests and the memory bound). */
  get size(): number {
    return this.seen.size;
  }
}

/** A counted resource: at most `max` held at once; a holder gives it back exactly once. */
export class Slots {
  private held = 0;

  constructor(readonly max: number) {}

  /** A release function, or undefined when all are held. */
  take(): (() => void) | undefined {
    if (this.held >= this.max) return undefined;
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
    };
  }

  get inUse(): number {
    return this.held;
  }
}
