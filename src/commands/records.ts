/** Finding this node's rdv records by payment hash or prefix (shared by pass-back and status). */
import type { AnyRecord } from '../chain/record.js';
import { inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { loadAllRecords } from '../rpc/records.js';

export function checkHashPrefix(text: string): string {
  const p = text.trim().toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(p)) throw inputError(`"${text}" is not a payment hash: give it, or a prefix of at least 4 hex digits`);
  return p;
}

export type { Stored as ListedRecord } from '../rpc/records.js';
import type { Stored as ListedRecord } from '../rpc/records.js';

/** All records, newest first; unreadable ones are returned as problems (shown, never fatal). */
export async function listRecords(node: LightningNode): Promise<{ records: ListedRecord[]; problems: string[] }> {
  const { records, problems } = await loadAllRecords(node);
  return { records: records.sort((a, b) => b.record.createdAt - a.record.createdAt), problems: problems.map((p) => p.problem) };
}

/** The one record whose hash starts with `prefix`; a clear error when none or several match. */
export async function findRecord(node: LightningNode, prefix: string): Promise<AnyRecord> {
  return (await findStored(node, prefix)).record;
}

/** Like findRecord, with the generation it was read at (for a compare-and-swap write or delete). */
export async function findStored(node: LightningNode, prefix: string): Promise<ListedRecord> {
  const { records } = await listRecords(node);
  const matches = records.filter((r) => r.record.paymentHash.startsWith(prefix));
  if (matches.length === 0) throw inputError(`no rdv record on this node matches ${prefix}: see rdv status`);
  if (matches.length > 1) throw inputError(`${matches.length} records match ${prefix}: give more digits of the payment hash`);
  return matches[0] as ListedRecord;
}
