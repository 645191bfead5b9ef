/**
 * When a record may go (`rdv prune`, `rdv forget`, the plugin's rdv-prune-after):
 * only once it is finished and nothing can still happen to its HTLCs or its
 * payment onward. Pure: the caller brings what lightningd and the plugin say.
 */
import type { FinalState } from './archive.js';
import { isClaimed } from './parts.js';
import type { AnyRecord, LastRecord, RelayRecord, RelayState } from './record.js';
import type { OutgoingSummary } from './relay/types.js';
import { formatDuration, parseDuration } from './units.js';
import { err, ok, type Result } from '../errors.js';

/**
 * A failed relay stays this long past its invoice's expiry: the relay refuses a
 * part after expiry by its own clock, but a payer's clock may be behind.
 */
export const FAILED_MARGIN_SECONDS = 3_600;

/**
 * A recorded HTLC part counts as possibly alive until this many blocks after its
 * cltv_expiry (a reorg can bring a block back).
 */
export const PART_AFTERLIFE_BLOCKS = 6;

/** What lightningd and the plugin say about one record, asked just before deciding. */
export interface PruneFacts {
  /** lightningd's block height. */
  blockheight: number;
  /** A last payee's invoice (listinvoices by label); undefined: not known, 'missing': the node has none by that label. */
  invoice?: { status: 'unpaid' | 'paid' | 'expired'; paidAt?: number } | 'missing';
  /** A relay's outgoing payment (listsendpays, summarised per part); undefined: not known. */
  outgoing?: OutgoingSummary['kind'];
  /** The running plugin's view; undefined when no rdv plugin runs. */
  plugin?: { heldParts: number; state?: RelayState; updatedAt?: number };
}

/**
 * Why a record is kept: `recent` (ended too recently), `active` (not finished),
 * `busy` (an HTLC or a payment may still move), `unknown` (a fact is missing),
 * `attention` (something looks wrong: the operator should look first).
 */
export type KeepKind = 'recent' | 'active' | 'busy' | 'unknown' | 'attention';

export type PruneDecision = { prune: true; state: FinalState; endedAt: number } | { prune: false; kind: KeepKind; reason: string };

const keep = (kind: KeepKind, reason: string): PruneDecision => ({ prune: false, kind, reason });

/**
 * May `record` be archived and removed now? `olderThanSeconds`: it must have
 * ended at least that long ago (0 for `rdv forget`). Never for a relay that is
 * open, gathered or paying, one the plugin holds HTLCs for or has a newer copy
 * of, one whose payment onward has a pending part, one with recorded HTLC parts
 * that may still be alive, a failed one whose invoice could still be paid, nor
 * a last payee's record whose invoice is unpaid or unknown.
 */
export function pruneDecision(record: AnyRecord, facts: PruneFacts, now: number, olderThanSeconds: number): PruneDecision {
  const ended = record.role === 'relay' ? relayEnd(record, facts, now, olderThanSeconds) : lastEnd(record, facts, now, olderThanSeconds);
  if (!ended.prune) return ended;
  const plugin = facts.plugin;
  if (plugin && plugin.heldParts > 0) return keep('busy', `the plugin holds ${plugin.heldParts} HTLC part(s) for it`);
  if (plugin?.state !== undefined && plugin.state !== (record.role === 'relay' ? record.state : undefined)) {
    return keep('busy', `the plugin has it as ${plugin.state} and has not written that yet: try again in a minute`);
  }
  if (plugin?.updatedAt !== undefined && plugin.updatedAt > record.updatedAt) return keep('busy', 'the plugin has changes to it not written yet: try again in a minute');
  const age = now - ended.endedAt;
  if (age < olderThanSeconds) return recent(ended.state, age, olderThanSeconds);
  return ended;
}

const recent = (what: string, age: number, olderThanSeconds: number): PruneDecision =>
  keep('recent', `${what} ${formatDuration(Math.max(0, age))} ago, more recently than ${formatDuration(olderThanSeconds)}`);

/** When a finished relay ended (undefined while it is not finished). */
function relayEndedAt(r: RelayRecord): number | undefined {
  switch (r.state) {
    case 'settled':
      return r.settledAt ?? r.updatedAt;
    case 'failed':
      return Math.max(r.updatedAt, r.expiresAt);
    case 'expired':
      return r.expiresAt;
    default:
      return undefined;
  }
}

function relayEnd(r: RelayRecord, facts: PruneFacts, now: number, olderThanSeconds: number): PruneDecision {
  if (r.state === 'open') {
    return keep(
      'active',
      r.expiresAt > now
        ? `still open: its invoice expires in ${formatDuration(r.expiresAt - now)}; wait until it has expired (the plugin then marks it expired)`
        : `still open, though its invoice expired ${formatDuration(now - r.expiresAt)} ago: the plugin marks it expired at the next block (is rdv running?)`,
    );
  }
  if (r.state === 'gathered' || r.state === 'paying') return keep('active', `${r.state}: it holds the payer's HTLCs while its payment onward runs; never removed`);
  if (r.state === 'failed' && now < r.expiresAt + FAILED_MARGIN_SECONDS) {
    const when = r.expiresAt > now ? `expires in ${formatDuration(r.expiresAt - now)}` : 'has only just expired';
    return keep('active', `failed, but the payer may still retry: its invoice ${when}; wait ${formatDuration(r.expiresAt + FAILED_MARGIN_SECONDS - now)}`);
  }
  const endedAt = relayEndedAt(r);
  if (endedAt === undefined) return keep('active', `it is ${r.state}`);
  // Decided by the record alone, before any fact is needed (they are not asked for then: see worthAsking).
  if (now - endedAt < olderThanSeconds) return recent(r.state, now - endedAt, olderThanSeconds);
  if (facts.outgoing === undefined) return keep('unknown', 'lightningd did not say what became of its payment onward (listsendpays)');
  if (facts.outgoing === 'pending') return keep('busy', 'its payment onward has a part still pending (listsendpays)');
  if (facts.outgoing === 'complete' && r.state !== 'settled') {
    return keep('attention', `it is ${r.state} but its payment onward completed: look at it with rdv status before removing it`);
  }
  const alive = aliveParts(r, facts.blockheight);
  if (alive.length > 0) {
    const until = Math.max(...alive.map((p) => p.cltvExpiry)) + PART_AFTERLIFE_BLOCKS;
    return keep(
      'busy',
      r.state === 'settled'
        ? `${alive.length} of its HTLC part(s) are not known as received and lightningd may still replay them (until block ${until})`
        : `it holds ${alive.length} HTLC part(s) rdv-guard may still resolve (until block ${until})`,
    );
  }
  return { prune: true, state: r.state as FinalState, endedAt };
}

/** Recorded parts whose HTLC may still be held somewhere: for a settled set, those not known as received. */
function aliveParts(r: RelayRecord, height: number): RelayRecord['parts'] {
  const unaccounted = r.state === 'settled' ? r.parts.filter((p) => !isClaimed(p, r.claimed ?? [])) : r.parts;
  return unaccounted.filter((p) => height <= p.cltvExpiry + PART_AFTERLIFE_BLOCKS);
}

function lastEnd(r: LastRecord, facts: PruneFacts, now: number, olderThanSeconds: number): PruneDecision {
  const inv = facts.invoice;
  // Paid or expired after it was made: a young record ended too recently, whatever its invoice says.
  if (inv === undefined && now - r.createdAt < olderThanSeconds) return recent('made', now - r.createdAt, olderThanSeconds);
  if (inv === undefined) return keep('unknown', `lightningd did not say what became of its invoice (listinvoices label ${r.label})`);
  if (inv === 'missing') {
    return keep('attention', `its invoice (label ${r.label}) is no longer on the node (delinvoice or autoclean), so rdv cannot tell whether it was paid`);
  }
  switch (inv.status) {
    case 'unpaid':
      return keep(
        'active',
        r.expiresAt > now ? `still open: its invoice is unpaid and expires in ${formatDuration(r.expiresAt - now)}; wait until it is paid or has expired` : 'its invoice is unpaid and lightningd has not marked it expired yet',
      );
    case 'paid':
      return { prune: true, state: 'settled', endedAt: inv.paidAt ?? r.updatedAt };
    case 'expired':
      return { prune: true, state: 'expired', endedAt: r.expiresAt };
  }
}

/**
 * Is it worth asking lightningd about this record? Not when the record alone
 * keeps it (not finished, or ended too recently): saves RPC calls per young or
 * active record. A last payee's invoice is paid or expires after it was made.
 */
export function worthAsking(record: AnyRecord, now: number, olderThanSeconds: number): boolean {
  if (record.role === 'last') return now - record.createdAt >= olderThanSeconds;
  const endedAt = relayEndedAt(record);
  return endedAt !== undefined && now - endedAt >= olderThanSeconds;
}

/**
 * The plugin option rdv-prune-after: "off" (the default) or a duration
 * ("30d", "12h", "3600"). A bad value is an error the caller reports loudly,
 * falling back to off.
 */
export function pruneAfterOption(value: unknown): Result<number | undefined> {
  if (value === undefined || value === null) return ok(undefined);
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? ok(value) : err(`rdv-prune-after=${value} is not a duration: use off or e.g. 30d`);
  if (typeof value !== 'string') return err('rdv-prune-after is not a duration: use off or e.g. 30d');
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'off' || text === 'no' || text === 'false' || text === '0') return ok(undefined);
  const d = parseDuration(text, 'rdv-prune-after');
  return d.ok ? ok(d.value) : err(`${d.error}, or off`);
}
