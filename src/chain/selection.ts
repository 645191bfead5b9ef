/**
 * What `rdv status` lists: records (and, for totals, archive entries) chosen by
 * state and age, newest first, with totals over the whole selection. Pure.
 */
import { msat, type Msat } from './amount.js';
import type { ArchivedRecord } from './archive.js';
import { RELAY_STATES, type AnyRecord, type RecordHead, type RelayRecord, type RelayState } from './record.js';
import { parseDuration } from './units.js';
import { err, ok, type Result } from '../errors.js';

export interface Selection {
  /** Empty: every state. */
  states: RelayState[];
  /** Unix seconds: only records created at or after it. */
  since?: number;
  /** Rows to list (totals still count the whole selection). */
  limit?: number;
}

/** A last payee's invoice as the node reports it ('deleted' when the node no longer has it). */
export type InvoiceState = 'unpaid' | 'paid' | 'expired' | 'deleted';

/**
 * The state a record is in, in the relay's words. A last payee's record has no
 * state of its own: its invoice's stands in (paid is settled; a deleted invoice
 * can no longer be paid, so it counts as failed).
 */
export function stateOf(r: AnyRecord, invoice: InvoiceState | undefined, now: number): RelayState {
  if (r.role === 'relay') return r.state;
  switch (invoice) {
    case 'paid':
      return 'settled';
    case 'expired':
      return 'expired';
    case 'deleted':
      return 'failed';
    default:
      return r.expiresAt <= now ? 'expired' : 'open';
  }
}

export interface Totals {
  count: number;
  byState: Record<RelayState, number>;
  /** Relays: what they kept (claimed minus paid on; a loss is negative). */
  earnedMsat: Msat;
  /** Last payee: what its paid invoices brought in. */
  receivedMsat: Msat;
  /** How many of `count` are archive entries (pruned records). */
  archived: number;
}

export interface Listed {
  record: AnyRecord;
  state: RelayState;
}

export interface Selected {
  rows: Listed[];
  archivedRows: ArchivedRecord[];
  totals: Totals;
}

/**
 * Choose, order (newest first; equal times by hash, so the order is stable) and
 * count. An archived hash that still has a record (a prune cut short) counts once,
 * as the record.
 */
export function select(records: Listed[], archive: ArchivedRecord[], sel: Selection): Selected {
  const wanted = (state: RelayState, createdAt: number): boolean =>
    (sel.states.length === 0 || sel.states.includes(state)) && (sel.since === undefined || createdAt >= sel.since);
  const rows = records.filter((l) => wanted(l.state, l.record.createdAt)).sort((a, b) => b.record.createdAt - a.record.createdAt || cmp(a.record.paymentHash, b.record.paymentHash));
  const live = new Set(records.map((l) => l.record.paymentHash));
  const archivedRows = archive.filter((a) => !live.has(a.paymentHash) && wanted(a.state, a.createdAt)).sort((a, b) => b.createdAt - a.createdAt || cmp(a.paymentHash, b.paymentHash));

  const byState = Object.fromEntries(RELAY_STATES.map((s) => [s, 0])) as Record<RelayState, number>;
  let earned = 0n;
  let received = 0n;
  for (const { record, state } of rows) {
    byState[state]++;
    if (record.role === 'relay') earned += record.earnedMsat ?? 0n;
    else if (state === 'settled') received += record.amountMsat;
  }
  for (const a of archivedRows) {
    byState[a.state]++;
    if (a.role === 'relay') earned += a.earnedMsat ?? 0n;
    else if (a.state === 'settled') received += a.earnedMsat ?? a.amountMsat;
  }
  const totals: Totals = { count: rows.length + archivedRows.length, byState, earnedMsat: msat(earned), receivedMsat: msat(received), archived: archivedRows.length };
  const limit = sel.limit ?? Number.POSITIVE_INFINITY;
  return { rows: rows.slice(0, limit), archivedRows: archivedRows.slice(0, Math.max(0, limit - rows.length)), totals };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `--state` values (repeatable, or comma-separated). */
export function parseStates(values: string[]): Result<RelayState[]> {
  const out: RelayState[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const s = v.trim().toLowerCase();
    if (!(RELAY_STATES as readonly string[]).includes(s)) return err(`--state "${v}" is not a state: use ${RELAY_STATES.join(', ')}`);
    if (!out.includes(s as RelayState)) out.push(s as RelayState);
  }
  return ok(out);
}

/** `--since`: a duration back from now (30m, 12h, 7d) or a date (2026-11-01, or an ISO time). */
export function parseSince(text: string, now: number): Result<number> {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    // A bare date is midnight UTC, like lightning-cli's and bitcoind's UTC timestamps.
    const ms = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t.replace(' ', 'T'));
    // Date.parse rolls 2026-02-30 over to March: a date must read back as itself.
    if (Number.isNaN(ms) || (t.length === 10 && new Date(ms).toISOString().slice(0, 10) !== t)) return err(`--since "${text}" is not a real date`);
    const at = Math.floor(ms / 1000);
    if (at > now) return err(`--since ${t} is in the future`);
    return ok(at);
  }
  const d = parseDuration(t, '--since');
  if (!d.ok) return err(`--since "${text}" is neither a duration (30m, 12h, 7d) nor a date (2026-11-01)`);
  return ok(now - d.value);
}

/** `--limit`: a whole number of rows, at least 1. */
export function parseLimit(text: string): Result<number> {
  if (!/^\s*\d{1,9}\s*$/.test(text) || Number(text) < 1) return err(`--limit "${text}" is not a whole number of rows (1 or more)`);
  return ok(Number(text));
}

/** What the plugin keeps of a record it does not run (finished, nothing to replay): enough to count it. */
export interface RecordSummary {
  state: RelayState;
  createdAt: number;
  /** When it settled, failed or expired (its last update). */
  endedAt: number;
  amountMsat: Msat;
  earnedMsat?: Msat;
}

export function summaryOf(r: RelayRecord): RecordSummary {
  const s: RecordSummary = { state: r.state, createdAt: r.createdAt, endedAt: r.settledAt ?? r.updatedAt, amountMsat: r.amountMsat };
  if (r.earnedMsat !== undefined) s.earnedMsat = r.earnedMsat;
  return s;
}

export interface Tally {
  records: number;
  byState: Record<RelayState, number>;
  earnedMsat: Msat;
  /** Relays that ended since `since` (rdv watch: since local midnight). */
  recent: { since: number; settled: number; failed: number; expired: number; earnedMsat: Msat };
}

/** Counts of relays for `rdv-status` and the `rdv watch` summary line (a last payee's state is lightningd's to tell). */
export function tally(summaries: Iterable<RecordSummary>, since: number): Tally {
  const byState = Object.fromEntries(RELAY_STATES.map((s) => [s, 0])) as Record<RelayState, number>;
  let records = 0;
  let earned = 0n;
  const day = { settled: 0, failed: 0, expired: 0, earned: 0n };
  for (const s of summaries) {
    records++;
    byState[s.state]++;
    earned += s.earnedMsat ?? 0n;
    if (s.endedAt >= since && (s.state === 'settled' || s.state === 'failed' || s.state === 'expired')) {
      day[s.state]++;
      day.earned += s.earnedMsat ?? 0n;
    }
  }
  return { records, byState, earnedMsat: msat(earned), recent: { since, settled: day.settled, failed: day.failed, expired: day.expired, earnedMsat: msat(day.earned) } };
}

/**
 * Whether a stored record may be in the selection, from its head alone: false only
 * when it certainly is not (so a damaged record is still read, and reported).
 */
export function mayBeSelected(head: RecordHead, sel: Selection): boolean {
  if (sel.since !== undefined && typeof head.createdAt === 'number' && head.createdAt < sel.since) return false;
  if (sel.states.length === 0) return true;
  if (head.role === 'relay' && typeof head.state === 'string' && (RELAY_STATES as readonly string[]).includes(head.state)) return sel.states.includes(head.state as RelayState);
  // A last payee's record is open, settled, failed or expired, as its invoice says.
  if (head.role === 'last') return sel.states.some((s) => s !== 'gathered' && s !== 'paying');
  return true;
}
