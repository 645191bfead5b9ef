/**
 * CLN's datastore semantics, in memory: keys are string arrays, a key has a value
 * or children (never both), every write bumps a generation, and the error codes
 * are lightningd's (1200 missing, 1202 exists, 1203 missing on update, 1204 wrong
 * generation, 1205 has children).
 */
import { SimRpcError } from './rpc-server.js';

interface Entry {
  key: string[];
  value: Buffer;
  generation: number;
}

const join = (key: string[]): string => key.join('\u0000');

export class Datastore {
  private readonly entries = new Map<string, Entry>();

  private children(key: string[]): Entry[] {
    return [...this.entries.values()].filter((e) => e.key.length > key.length && key.every((k, i) => e.key[i] === k));
  }

  private view(e: Entry): Record<string, unknown> {
    const out: Record<string, unknown> = { key: e.key, generation: e.generation, hex: e.value.toString('hex') };
    const text = e.value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(e.value)) out.string = text;
    return out;
  }

  datastore(params: Record<string, unknown>): Record<string, unknown> {
    const key = keyParam(params.key);
    const mode = typeof params.mode === 'string' ? params.mode : 'must-create';
    const value =
      typeof params.string === 'string' ? Buffer.from(params.string, 'utf8') : typeof params.hex === 'string' ? Buffer.from(params.hex, 'hex') : undefined;
    if (value === undefined) throw new SimRpcError(-32602, 'missing string or hex');
    const generation = params.generation;
    if (generation !== undefined && mode !== 'must-replace' && mode !== 'must-append') {
      throw new SimRpcError(-32602, 'generation only valid with must-replace or must-append');
    }
    if (this.children(key).length > 0) throw new SimRpcError(1205, 'Key has children');
    for (let i = 1; i < key.length; i++) {
      if (this.entries.has(join(key.slice(0, i)))) throw new SimRpcError(1206, 'Parent key has a value');
    }
    const existing = this.entries.get(join(key));
    if (mode === 'must-create' && existing) throw new SimRpcError(1202, 'Key already exists');
    if ((mode === 'must-replace' || mode === 'must-append') && !existing) throw new SimRpcError(1203, 'Key does not exist');
    if (existing && generation !== undefined && Number(generation) !== existing.generation) {
      throw new SimRpcError(1204, 'generation is different');
    }
    const append = mode === 'must-append' || (mode === 'create-or-append' && existing);
    const entry: Entry = {
      key,
      value: append && existing ? Buffer.concat([existing.value, value]) : value,
      generation: existing ? existing.generation + 1 : 0,
    };
    this.entries.set(join(key), entry);
    return this.view(entry);
  }

  listdatastore(params: Record<string, unknown>): Record<string, unknown> {
    const key = params.key === undefined ? [] : keyParam(params.key);
    const exact = this.entries.get(join(key));
    if (exact) return { datastore: [this.view(exact)] };
    // Direct children only: a child with a value is shown whole, a deeper one as its key.
    const seen = new Map<string, Record<string, unknown>>();
    for (const e of this.children(key)) {
      const childKey = e.key.slice(0, key.length + 1);
      const j = join(childKey);
      if (seen.has(j)) continue;
      seen.set(j, e.key.length === childKey.length ? this.view(e) : { key: childKey });
    }
    return { datastore: [...seen.values()].sort((a, b) => compareKeys(join(a.key as string[]), join(b.key as string[]))) };
  }

  deldatastore(params: Record<string, unknown>): Record<string, unknown> {
    const key = keyParam(params.key);
    const existing = this.entries.get(join(key));
    if (!existing) throw new SimRpcError(1200, 'Key does not exist');
    if (params.generation !== undefined && Number(params.generation) !== existing.generation) {
      throw new SimRpcError(1201, 'generation is different');
    }
    this.entries.delete(join(key));
    return this.view(existing);
  }

  /** Test helper: the stored text at a key. */
  get(key: string[]): string | undefined {
    return this.entries.get(join(key))?.value.toString('utf8');
  }

  /** Test helper: every write, for "nothing was written" assertions. */
  snapshot(): string {
    return JSON.stringify([...this.entries.values()].map((e) => [e.key, e.generation, e.value.toString('hex')]));
  }
}

function keyParam(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((k) => typeof k === 'string')) return v as string[];
  throw new SimRpcError(-32602, 'key: should be a string or array of strings');
}

/** Byte order, as sqlite compares lightningd's keys (and far cheaper than localeCompare). */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
