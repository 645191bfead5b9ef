/**
 * What `rdv __complete` prints for the shell: one `<payment hash>\t<description>`
 * line per record or inbox invoice, or `<policy id>\t<description>` per policy,
 * from datastore entries. Pure.
 */
import { formatAmount } from '../../chain/amount.js';
import { shortHash } from '../../chain/ids.js';
import { formatShare, nextPayeeText, POLICY_KEY } from '../../chain/policy/policy.js';
import { parseBook } from '../../chain/policy/book.js';
import { parseInbox, parseRecord, type AnyRecord } from '../../chain/record.js';

export interface Entry {
  key: string[];
  string: string | undefined;
}

const HASH = /^[0-9a-f]{64}/;

const describeRecord = (r: AnyRecord): string =>
  r.role === 'relay' ? `relay, ${r.state}, ${formatAmount(r.amountMsat)}` : `last payee, ${formatAmount(r.amountMsat)}`;

/** Records (key rdv/v1/relay/<hash>), newest first; an unreadable one is still listed (rdv status shows why). */
export function recordLines(entries: readonly Entry[]): string[] {
  const rows = entries.flatMap((e) => {
    const hash = e.key[3];
    if (hash === undefined || !HASH.test(hash)) return [];
    try {
      const r = parseRecord(e.string ?? '');
      return [{ hash, createdAt: r.createdAt, text: describeRecord(r) }];
    } catch {
      return [{ hash, createdAt: 0, text: 'unreadable record' }];
    }
  });
  return rows.sort((a, b) => b.createdAt - a.createdAt).map((r) => `${r.hash}\t${r.text}`);
}

/** Inbox invoices (key rdv/v1/inbox/<hash>-<sender>), oldest first, one line per hash with its senders. */
export function inboxLines(entries: readonly Entry[]): string[] {
  const senders = new Map<string, { receivedAt: number; from: string[] }>();
  for (const e of entries) {
    const hash = HASH.exec(e.key[3] ?? '')?.[0];
    if (hash === undefined) continue;
    let from: string | undefined;
    let receivedAt = Number.MAX_SAFE_INTEGER;
    try {
      const entry = parseInbox(e.string ?? '');
      from = entry.from;
      receivedAt = entry.receivedAt;
    } catch {
      // unreadable: rdv join --from-inbox will say so; the hash is still worth offering
    }
    const row = senders.get(hash) ?? { receivedAt, from: [] };
    row.receivedAt = Math.min(row.receivedAt, receivedAt);
    if (from !== undefined) row.from.push(`${shortHash(from)}…`);
    senders.set(hash, row);
  }
  return [...senders.entries()]
    .sort(([, a], [, b]) => a.receivedAt - b.receivedAt)
    .map(([hash, row]) => `${hash}\t${row.from.length > 0 ? `from ${row.from.join(', ')}` : 'inbox'}`);
}

/** Policies (the one entry rdv/v1/policies), in the book's order; an unreadable book offers nothing (rdv policy list says why). */
export function policyLines(entries: readonly Entry[]): string[] {
  const text = entries.find((e) => e.key.length === POLICY_KEY.length)?.string;
  if (text === undefined) return [];
  try {
    const book = parseBook(text);
    const note = (n: string | undefined): string => (n ? `, ${n.replace(/\s+/g, ' ')}` : '');
    return [
      ...book.policies.map((p) => `${p.id}\t${p.pull ? `pulls from ${nextPayeeText(p, true)}` : `from ${nextPayeeText(p, true)}`}, payout ${formatShare(p.payout)}${note(p.note)}`),
      ...book.lastPolicies.map((p) => `${p.id}\tlast payee for ${shortHash(p.for)}…${note(p.note)}`),
    ];
  } catch {
    return [];
  }
}
