/**
 * rdv's records in the node's datastore, with their generations, for
 * compare-and-swap writes: the CLI and the plugin never overwrite each other's
 * changes unseen. Used by the CLI, the relay and the guard.
 */
import { parseJson } from '../chain/json.js';
import { KEY_ROOT, parseGuardClaims, parseRecord, recordHead, relayKey, serializeRecord, type AnyRecord, type RecordHead } from '../chain/record.js';
import { ShapeError } from '../chain/read.js';
import { parseArchived, type ArchivedRecord } from '../chain/archive.js';
import type { LightningNode } from './node.js';

export interface Stored<R extends AnyRecord = AnyRecord> {
  record: R;
  generation: number;
}

export type LoadProblem = { key: string[]; problem: string };

/**
 * Every record under ["rdv","v1","relay"]; unreadable ones are reported, not fatal.
 * With `keep`, only records whose head it keeps are checked in full and returned
 * (a listing of a few among 10 000 need not validate the rest).
 */
export async function loadAllRecords(node: LightningNode, keep?: (head: RecordHead) => boolean): Promise<{ records: Stored[]; problems: LoadProblem[] }> {
  const records: Stored[] = [];
  const problems = await forEachRecord(node, (s) => records.push(s), keep);
  return { records, problems };
}

/**
 * Every record, handed to `visit` one at a time and not kept: the plugin's start
 * adopts 10 000 of them, and holding them all at once is what its RSS would show.
 * Returns the unreadable ones.
 */
export async function forEachRecord(node: LightningNode, visit: (stored: Stored) => void, keep?: (head: RecordHead) => boolean): Promise<LoadProblem[]> {
  const entries = await node.listdatastore([...KEY_ROOT, 'relay']);
  const problems: LoadProblem[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === undefined) continue;
    // Let the entry's text go as soon as it is read.
    entries[i] = undefined as never;
    if (e.string === undefined || e.generation === undefined) continue;
    const where = `record ${e.key.at(-1) ?? '?'}`;
    let stored: Stored;
    try {
      let parsed: unknown;
      try {
        parsed = parseJson(e.string);
      } catch {
        throw new ShapeError(`${where}: not JSON`);
      }
      if (keep && !keep(recordHead(parsed))) continue;
      stored = { record: parseRecord({ parsed }, where), generation: e.generation };
    } catch (err) {
      problems.push({ key: e.key, problem: err instanceof ShapeError ? err.message : String(err) });
      continue;
    }
    visit(stored);
  }
  return problems;
}

/** One record by hash, or undefined if there is none. Throws ShapeError if it is unreadable. */
export async function loadRecord(node: LightningNode, hash: string): Promise<Stored | undefined> {
  const entries = await node.listdatastore(relayKey(hash));
  const e = entries.find((x) => x.key.length === 4 && x.key[3] === hash);
  if (!e || e.string === undefined || e.generation === undefined) return undefined;
  return { record: parseRecord(e.string, `record ${hash.slice(0, 8)}`), generation: e.generation };
}

export type WriteOutcome = { ok: true; generation: number } | { ok: false; error: string };

/**
 * Write a record over the given generation. On a generation conflict the stored
 * generation is re-read and the write retried once: the writer's record is the
 * newer truth (the plugin is the only one that moves a relay forward), but the
 * conflict is reported so it shows in the log.
 */
export async function writeRecord(
  node: LightningNode,
  record: AnyRecord,
  generation: number | undefined,
  onConflict: (message: string) => void,
): Promise<WriteOutcome> {
  const key = relayKey(record.paymentHash);
  const text = serializeRecord(record);
  let gen = generation;
  for (let attempt = 0; attempt < 3; attempt++) {
    const w = gen === undefined ? await node.datastoreCreate(key, text) : await node.datastoreReplace(key, text, gen);
    if (w.ok) return w;
    if (w.reason === 'missing') {
      onConflict(`record ${record.paymentHash.slice(0, 8)} was deleted from the datastore: writing it again`);
      gen = undefined;
      continue;
    }
    const current = (await node.listdatastore(key)).find((e) => e.key.length === 4);
    onConflict(`record ${record.paymentHash.slice(0, 8)} was changed by someone else (generation ${current?.generation ?? 'none'}, expected ${gen ?? 'none'}): keeping the relay's version`);
    gen = current?.generation;
  }
  return { ok: false, error: 'the record kept changing under us' };
}

/** Parts rdv-guard resolved, by payment hash (unreadable entries are skipped). */
export async function loadGuardClaims(node: LightningNode): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of await node.listdatastore([...KEY_ROOT, 'guard'])) {
    const hash = e.key[3];
    if (e.string === undefined || hash === undefined) continue;
    try {
      out.set(hash, parseGuardClaims(e.string));
    } catch {
      // a damaged claim list only makes earnings look lower; never fatal
    }
  }
  return out;
}

/** Every archive entry (what rdv prune kept of finished records); unreadable ones are reported. */
export async function loadArchive(node: LightningNode): Promise<{ entries: ArchivedRecord[]; problems: LoadProblem[] }> {
  const entries: ArchivedRecord[] = [];
  const problems: LoadProblem[] = [];
  for (const e of await node.listdatastore([...KEY_ROOT, 'archive'])) {
    if (e.string === undefined) continue;
    try {
      entries.push(parseArchived(e.string, `archive ${e.key.at(-1) ?? '?'}`));
    } catch (err) {
      problems.push({ key: e.key, problem: err instanceof ShapeError ? err.message : String(err) });
    }
  }
  return { entries, problems };
}
