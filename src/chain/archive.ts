/**
 * What `rdv prune` and `rdv forget` keep of a finished record: enough for
 * `rdv status` totals (count per state, earnings) and a trace of the hash,
 * nothing that could pay or claim anything (no invoices, secrets or preimage).
 * Stored at ["rdv","v1","archive",<hash>]; amounts as decimal strings like records.
 */
import { msat, type Msat } from './amount.js';
import type { PaymentHash } from './ids.js';
import { RECORD_VERSION, KEY_ROOT, type AnyRecord } from './record.js';
import { parseJson } from './json.js';
import { Reader, ShapeError, type JsonObject } from './read.js';

export const archiveKey = (hash: string): string[] => [...KEY_ROOT, 'archive', hash];

/** The end a record came to: for a last payee, its invoice's (paid counts as settled). */
export type FinalState = 'settled' | 'failed' | 'expired';
export const FINAL_STATES: readonly FinalState[] = ['settled', 'failed', 'expired'];

export interface ArchivedRecord {
  version: 1;
  paymentHash: PaymentHash;
  role: 'relay' | 'last';
  state: FinalState;
  amountMsat: Msat;
  payoutMsat?: Msat;
  receivedMsat?: Msat;
  sentMsat?: Msat;
  /** What the relay really kept (can be negative); a last payee's received amount. */
  earnedMsat?: Msat;
  createdAt: number;
  /** When it settled, failed or expired. */
  endedAt: number;
  archivedAt: number;
}

/** The archive entry of a record that came to `state` at `endedAt`. */
export function archiveOf(r: AnyRecord, state: FinalState, endedAt: number, now: number): ArchivedRecord {
  const base = { version: RECORD_VERSION as 1, paymentHash: r.paymentHash, role: r.role, state, amountMsat: r.amountMsat, createdAt: r.createdAt, endedAt, archivedAt: now };
  if (r.role === 'last') return state === 'settled' ? { ...base, earnedMsat: r.amountMsat } : base;
  const out: ArchivedRecord = { ...base, payoutMsat: r.payoutMsat };
  if (r.receivedMsat !== undefined) out.receivedMsat = r.receivedMsat;
  if (r.sentMsat !== undefined) out.sentMsat = r.sentMsat;
  if (r.earnedMsat !== undefined) out.earnedMsat = r.earnedMsat;
  return out;
}

export function serializeArchived(a: ArchivedRecord): string {
  const o: Record<string, unknown> = {
    version: a.version,
    payment_hash: a.paymentHash,
    role: a.role,
    state: a.state,
    amount_msat: a.amountMsat.toString(),
    payout_msat: a.payoutMsat?.toString(),
    received_msat: a.receivedMsat?.toString(),
    sent_msat: a.sentMsat?.toString(),
    earned_msat: a.earnedMsat?.toString(),
    created_at: a.createdAt,
    ended_at: a.endedAt,
    archived_at: a.archivedAt,
  };
  return JSON.stringify(o);
}

export function parseArchived(text: string, where = 'archive entry'): ArchivedRecord {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch {
    throw new ShapeError(`${where}: not JSON`);
  }
  const r = Reader.of(raw, where);
  const version = r.int('version');
  if (version !== RECORD_VERSION) throw new ShapeError(`${where}: version ${version} is not supported by this rdv: upgrade rdv`);
  const role = r.str('role');
  if (role !== 'relay' && role !== 'last') throw new ShapeError(`${where}.role: expected "relay" or "last"`);
  const state = r.str('state');
  if (!(FINAL_STATES as readonly string[]).includes(state)) throw new ShapeError(`${where}.state: expected settled, failed or expired`);
  const a: ArchivedRecord = {
    version: 1,
    paymentHash: r.match<PaymentHash>('payment_hash', /^[0-9a-f]{64}$/, '64 hex digits'),
    role,
    state: state as FinalState,
    amountMsat: r.msat('amount_msat'),
    createdAt: r.int('created_at'),
    endedAt: r.int('ended_at'),
    archivedAt: r.int('archived_at'),
  };
  const payout = r.optMsat('payout_msat');
  const received = r.optMsat('received_msat');
  const sent = r.optMsat('sent_msat');
  const earned = r.optSignedMsat('earned_msat');
  if (payout !== undefined) a.payoutMsat = payout;
  if (received !== undefined) a.receivedMsat = received;
  if (sent !== undefined) a.sentMsat = sent;
  if (earned !== undefined) a.earnedMsat = msat(earned);
  return a;
}

/** The entry as JSON, CLN's way (`*_msat` as integer msat), for `--json` and the plugin's log. */
export function archivedToJson(a: ArchivedRecord): JsonObject {
  const o: JsonObject = { payment_hash: a.paymentHash, role: a.role, state: a.state, amount_msat: a.amountMsat, created_at: a.createdAt, ended_at: a.endedAt, archived_at: a.archivedAt };
  if (a.payoutMsat !== undefined) o.payout_msat = a.payoutMsat;
  if (a.receivedMsat !== undefined) o.received_msat = a.receivedMsat;
  if (a.sentMsat !== undefined) o.sent_msat = a.sentMsat;
  if (a.earnedMsat !== undefined) o.earned_msat = a.earnedMsat;
  return o;
}
