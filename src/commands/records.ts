/** Finding this node's rdv records by payment hash or prefix (shared by pass-back and status). */
import { KEY_ROOT, parseRecord, type AnyRecord } from '../chain/record.js';
import { ShapeError } from '../chain/read.js';
import { inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';

export function checkHashPrefix(text: string): string {
  const p = text.trim().toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(p)) throw inputError(`"${text}" is not a payment hash: give it, or a prefix of at least 4 hex digits`);
  return p;
}

export interface ListedRecord {
  record: AnyRecord;
  generation: number;
}

/** All records; unreadable ones are returned as problems (shown, never fatal). */
export async function listRecords(node: LightningNode): Promise<{ records: ListedRecord[]; problems: string[] }> {
  const entries = await node.listdatastore([...KEY_ROOT, 'relay']);
  const records: ListedRecord[] = [];
  const problems: string[] = [];
  for (const e of entries) {
    if (e.string === undefined || e.generation === undefined) continue;
    try {
      records.push({ record: parseRecord(e.string, `record ${e.key[3]?.slice(0, 8) ?? '?'}`), generation: e.generation });
    } catch (err) {
      problems.push(err instanceof ShapeError ? err.message : String(err));
    }
  }
  records.sort((a, b) => b.record.createdAt - a.record.createdAt);
  return { records, problems };
}

/** The one record whose hash starts with `prefix`; a clear error when none or several match. */
export async function findRecord(node: LightningNode, prefix: string): Promise<AnyRecord> {
  const { records } = await listRecords(node);
  const matches = records.filter((r) => r.record.paymentHash.startsWith(prefix));
  if (matches.length === 0) throw inputError(`no rdv record on this node matches ${prefix}: see rdv status`);
  if (matches.length > 1) throw inputError(`${matches.length} records match ${prefix}: give more digits of the payment hash`);
  return (matches[0] as ListedRecord).record;
}
