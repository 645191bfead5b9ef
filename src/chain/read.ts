import { MAX_MSAT, msat, type Msat } from './amount.js';

/** Thrown when JSON from outside (an RPC reply, a hook, a stored record) has the wrong shape. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A typed view over an untrusted JSON object: each getter checks the field and
 * throws a ShapeError naming the path, so a bad reply fails where it enters.
 */
export class Reader {
  constructor(
    readonly value: JsonObject,
    readonly path: string,
  ) {}

  static of(value: unknown, path: string): Reader {
    if (!isObject(value)) throw new ShapeError(`${path}: expected an object`);
    return new Reader(value, path);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  private fail(key: string, expected: string): never {
    const got = this.value[key];
    throw new ShapeError(`${this.path}.${key}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(typeof got === 'bigint' ? String(got) : got)}`);
  }

  str(key: string): string {
    const v = this.value[key];
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }
  optStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  /** A string matching a pattern, e.g. 64 hex digits. */
  match<T extends string>(key: string, re: RegExp, what: string): T {
    const v = this.value[key];
    if (typeof v !== 'string' || !re.test(v)) this.fail(key, what);
    return v as T;
  }
  optMatch<T extends string>(key: string, re: RegExp, what: string): T | undefined {
    return this.has(key) ? this.match<T>(key, re, what) : undefined;
  }

  bool(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }
  optBool(key: string): boolean | undefined {
    return this.has(key) ? this.bool(key) : undefined;
  }

  /** A non-negative integer that fits a JS number exactly (heights, counts, ids). */
  int(key: string): number {
    const v = this.value[key];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    this.fail(key, 'a non-negative integer');
  }
  optInt(key: string): number | undefined {
    return this.has(key) ? this.int(key) : undefined;
  }

  /** An integer of any size (e.g. u64 ids that may pass 2^53). */
  bigint(key: string): bigint {
    const v = this.value[key];
    if (typeof v === 'bigint' && v >= 0n) return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
    this.fail(key, 'a non-negative integer');
  }

  /**
   * An amount in msat as CLN gives it: a JSON number (possibly past 2^53), or a
   * string "123msat" (older APIs), or a decimal string (our own records).
   */
  msat(key: string): Msat {
    const v = this.value[key];
    const parsed = toMsat(v);
    if (parsed === undefined) this.fail(key, 'an amount in msat');
    return parsed;
  }
  optMsat(key: string): Msat | undefined {
    return this.has(key) ? this.msat(key) : undefined;
  }

  /** A signed amount in msat, as records store earnings (a loss is negative). */
  optSignedMsat(key: string): Msat | undefined {
    if (!this.has(key)) return undefined;
    const v = this.value[key];
    if (typeof v === 'string' && /^-\d{1,19}$/.test(v)) return msat(BigInt(v));
    if (typeof v === 'bigint' && v < 0n && v >= -MAX_MSAT) return msat(v);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v < 0) return msat(BigInt(v));
    return this.msat(key);
  }

  obj(key: string): Reader {
    const v = this.value[key];
    if (!isObject(v)) this.fail(key, 'an object');
    return new Reader(v, `${this.path}.${key}`);
  }
  optObj(key: string): Reader | undefined {
    return this.has(key) ? this.obj(key) : undefined;
  }

  arr(key: string): Json[] {
    const v = this.value[key];
    if (!Array.isArray(v)) this.fail(key, 'an array');
    return v;
  }
  /** An array of objects, each as a Reader. */
  objects(key: string): Reader[] {
    return this.arr(key).map((item, i) => Reader.of(item, `${this.path}.${key}[${i}]`));
  }
  optObjects(key: string): Reader[] {
    return this.has(key) ? this.objects(key) : [];
  }
  strings(key: string): string[] {
    return this.arr(key).map((item, i) => {
      if (typeof item !== 'string') throw new ShapeError(`${this.path}.${key}[${i}]: expected a string`);
      return item;
    });
  }
}

export function toMsat(v: unknown): Msat | undefined {
  let n: bigint | undefined;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string') {
    const m = /^(\d{1,19})(msat)?$/.exec(v);
    if (m?.[1] !== undefined) n = BigInt(m[1]);
  }
  return n !== undefined && n >= 0n && n <= MAX_MSAT * 10n ? msat(n) : undefined;
}
