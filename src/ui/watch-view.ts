/**
 * What `rdv watch` reads and prints without a screen: the `rdv-status` reply,
 * the full list (`--once` without a terminal), and change events (one line or
 * one JSON object per change). The full-screen view is in watch-frame.ts. Pure.
 */
import { formatAmount, msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { Reader } from '../chain/read.js';
import { formatDuration } from '../chain/units.js';

export interface RelayRow {
  paymentHash: string;
  role: string;
  state: string;
  amountMsat: bigint;
  heldParts: number;
  heldMsat: bigint;
  heldSince: number | undefined;
  blocksToExpiry: number | undefined;
  outgoing: string | undefined;
  payInFlight: boolean;
  earnedMsat: bigint | undefined;
  settledAt: number | undefined;
  lastError: string | undefined;
  /** The rdv policy that joined it, if no one typed rdv join. */
  policy?: string | undefined;
  /** The offer or address the next payee's invoice was pulled from ("offer lno1…", "address carol@…"). */
  downstream?: string | undefined;
}

/** The plugin's counts over every relay record (it lists only those in memory). */
export interface SnapshotTotals {
  byState: Record<string, number>;
  earnedMsat: bigint;
  /** Ended since the `since` asked for (rdv watch: local midnight). */
  recent: { settled: number; earnedMsat: bigint };
}

export interface Snapshot {
  relaying: boolean;
  reason: string | undefined;
  blockheight: number;
  rows: RelayRow[];
  /** Absent from an older plugin's reply: the rows are then all there is. */
  totals?: SnapshotTotals;
}

/** `rdv-status` with `brief`: only the fields read here, small enough to ask for every second with 10 000 records. */
export const statusParams = (since: number): { brief: true; since: number } => ({ brief: true, since });

/** Read an `rdv-status` reply (brief or full; an older plugin ignores `brief`). Throws ShapeError on a reply of the wrong shape. */
export function readSnapshot(reply: unknown): Snapshot {
  const r = Reader.of(reply, 'rdv-status');
  const t = r.has('totals') && r.value.totals !== null ? r.obj('totals') : undefined;
  const totals: SnapshotTotals | undefined = t && {
    byState: Object.fromEntries(Object.keys(t.obj('by_state').value).map((k) => [k, t.obj('by_state').int(k)])),
    earnedMsat: t.optSignedMsat('earned_msat') ?? 0n,
    recent: { settled: t.obj('recent').int('settled'), earnedMsat: t.obj('recent').optSignedMsat('earned_msat') ?? 0n },
  };
  return {
    ...(totals ? { totals } : {}),
    relaying: r.optBool('relaying') ?? false,
    reason: r.optStr('not_relaying_because'),
    blockheight: r.optInt('blockheight') ?? 0,
    rows: r.optObjects('relays').map((x) => {
      const live = x.optObj('live');
      return {
        paymentHash: x.str('payment_hash'),
        role: x.str('role'),
        state: x.optStr('state') ?? 'open',
        amountMsat: x.msat('amount_msat'),
        heldParts: live?.optInt('held_parts') ?? 0,
        heldMsat: live?.optMsat('held_msat') ?? 0n,
        heldSince: live?.optInt('held_since'),
        blocksToExpiry: live?.has('blocks_to_expiry') ? Number(live.value.blocks_to_expiry) : undefined,
        outgoing: live?.optStr('outgoing'),
        payInFlight: live?.optBool('pay_in_flight') ?? false,
        earnedMsat: x.optSignedMsat('earned_msat'),
        settledAt: x.optInt('settled_at'),
        lastError: x.optStr('last_error'),
        policy: x.optStr('policy'),
        downstream: x.optStr('downstream'),
      };
    }),
  };
}

/** The dashboard's table: relays only (a last payee's invoice is settled by lightningd). */
export function dashboardRows(s: Snapshot, now: number): string[][] {
  return s.rows
    .filter((r) => r.role === 'relay')
    .map((r) => [
      shortHash(r.paymentHash),
      r.state,
      formatAmount(msat(r.amountMsat)),
      r.heldParts === 0 ? '-' : `${r.heldParts} part(s), ${formatAmount(msat(r.heldMsat))}`,
      r.heldSince === undefined ? '-' : formatDuration(now - r.heldSince),
      r.blocksToExpiry === undefined || !holdsHtlcs(r) ? '-' : String(r.blocksToExpiry),
      outcome(r),
    ]);
}

/**
 * The relay holds the payer's HTLCs (or lightningd does, for it, until they are
 * replayed): only then do blocks to expiry matter, and is the relay in progress.
 */
export function holdsHtlcs(r: RelayRow): boolean {
  return r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying' || r.heldParts > 0);
}

export const DASHBOARD_HEADER = ['HASH', 'STATE', 'AMOUNT', 'HELD', 'HELD FOR', 'BLOCKS LEFT', 'OUTCOME'];

function outcome(r: RelayRow): string {
  if (r.state === 'settled') return `earned ${formatAmount(msat(r.earnedMsat ?? 0n))}`;
  if (r.state === 'paying' || r.state === 'gathered') return `paying${r.outgoing ? ` (outgoing ${r.outgoing})` : ''}`;
  if (r.lastError) return `last try failed: ${r.lastError}`;
  return r.state === 'open' ? `waiting for the payer${r.downstream ? ` (next payee: ${r.downstream})` : ''}` : r.state;
}

export type WatchEvent = { event: 'relay'; payment_hash: string; state: string; held_parts: number; held_msat: bigint; outgoing?: string; earned_msat?: bigint; last_error?: string; policy?: string; downstream?: string };

/** One event per relay whose state, held parts or outgoing status changed since `before`. */
export function changes(before: Snapshot | undefined, after: Snapshot): WatchEvent[] {
  const old = new Map((before?.rows ?? []).map((r) => [r.paymentHash, r]));
  const out: WatchEvent[] = [];
  for (const r of after.rows) {
    if (r.role !== 'relay') continue;
    const o = old.get(r.paymentHash);
    if (o && o.state === r.state && o.heldParts === r.heldParts && o.outgoing === r.outgoing) continue;
    const e: WatchEvent = { event: 'relay', payment_hash: r.paymentHash, state: r.state, held_parts: r.heldParts, held_msat: r.heldMsat };
    if (r.outgoing !== undefined) e.outgoing = r.outgoing;
    if (r.earnedMsat !== undefined && r.state === 'settled') e.earned_msat = r.earnedMsat;
    if (r.lastError !== undefined) e.last_error = r.lastError;
    if (r.policy !== undefined) e.policy = r.policy;
    if (r.downstream !== undefined) e.downstream = r.downstream;
    out.push(e);
  }
  return out;
}
