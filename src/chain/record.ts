import type { Msat } from './amount.js';
import type { NodeId, PaymentHash, PaymentSecret, Preimage } from './ids.js';
import type { PartIdentity } from './parts.js';
import { Reader, ShapeError, type JsonObject } from './read.js';
import { assertNever } from '../errors.js';
import { parseJson } from './json.js';
import { downstreamInvoiceKind, readDownstreamInvoice, readSource, sourceToJson, type DownstreamSource } from './record-downstream.js';

export { downstreamInvoiceKind, MAX_ADDRESS_TEXT, MAX_OFFER_TEXT, type DownstreamSource } from './record-downstream.js';

/**
 * The durable record, one per payment hash, stored in the node's datastore at
 * ["rdv","v1","relay",<hash>]. Amounts are stored as decimal strings of msat.
 */
export const RECORD_VERSION = 1;
export const KEY_ROOT = ['rdv', 'v1'] as const;
export const relayKey = (hash: string): string[] => [...KEY_ROOT, 'relay', hash];
/**
 * An inbox entry: one per payment hash and sender, so a peer that learned the hash
 * first cannot pre-empt the real next payee. rdv 0.1.0 wrote `inbox/<hash>`; both
 * are read (the value names the sender).
 */
export const inboxKey = (hash: string, from?: string): string[] => [...KEY_ROOT, 'inbox', from === undefined ? hash : `${hash}-${from}`];
/** A node the operator trusts to pass invoices back (rdv trust add). */
export const trustKey = (node: string): string[] => [...KEY_ROOT, 'trust', node];
/** Whom we passed our invoice for a hash to: only that node's acknowledgement is stored. */
export const passedKey = (hash: string): string[] => [...KEY_ROOT, 'passed', hash];
export const ackKey = (hash: string): string[] => [...KEY_ROOT, 'ack', hash];
/** Parts rdv-guard resolved for a dead rdv (so rdv counts them as received). */
export const guardClaimKey = (hash: string): string[] => [...KEY_ROOT, 'guard', hash];

export type RelayState = 'open' | 'gathered' | 'paying' | 'settled' | 'failed' | 'expired';
export const RELAY_STATES: readonly RelayState[] = ['open', 'gathered', 'paying', 'settled', 'failed', 'expired'];
/** The states of a relay not yet finished (the running plugin holds every such record). */
export const UNFINISHED_STATES: readonly RelayState[] = ['open', 'gathered', 'paying'];

/**
 * One incoming HTLC of a gathered set, named so that a replay after a restart is
 * recognised even when its channel's scid changed (see parts.ts).
 */
export type Part = PartIdentity;
export { partKey } from './parts.js';

export interface Attempt {
  /** The gathering round (RelayRecord.round) this attempt paid for. */
  round: number;
  startedAt: number;
  /** Block height when xpay was called: its attempts count maxdelay from there (plus blocks found meanwhile). */
  startHeight?: number;
  /** The askrene layer given to xpay: disabling the payee in it stops new attempts. */
  layer?: string;
  maxdelay: number;
  maxfeeMsat: Msat;
  finishedAt?: number;
  outcome?: 'complete' | 'failed';
  sentMsat?: Msat;
  error?: string;
}

export interface RelayRecord {
  version: 1;
  role: 'relay';
  paymentHash: PaymentHash;
  /** Our invoice, signed by our node. */
  bolt11: string;
  /**
   * The next payee's invoice, which xpay pays: BOLT 11 (lnbc...) or BOLT 12
   * (lni1..., fetched from an offer). Stored as `downstream_bolt11` or
   * `downstream_bolt12` by its kind (downstreamInvoiceKind).
   */
  downstreamInvoice: string;
  /** Where the downstream invoice came from when rdv fetched it: an offer or a Lightning Address. */
  downstreamSource?: DownstreamSource;
  downstreamPayee: NodeId;
  downstreamAmountMsat: Msat;
  downstreamMinFinalCltv: number;
  paymentSecret: PaymentSecret;
  amountMsat: Msat;
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
  delayBudget: number;
  safetyMargin: number;
  minFinalCltv: number;
  expiresAt: number;
  state: RelayState;
  /** How many times a set of parts has been gathered (a failed round reopens the relay). */
  round: number;
  parts: Part[];
  /** Earliest cltv_expiry among `parts`, set when gathered. */
  earliestExpiry?: number;
  attempts: Attempt[];
  preimage?: Preimage;
  /** Parts (partKey) whose HTLC was resolved with the preimage: what was really received. */
  claimed?: string[];
  receivedMsat?: Msat;
  sentMsat?: Msat;
  earnedMsat?: Msat;
  createdAt: number;
  updatedAt: number;
  gatheredAt?: number;
  settledAt?: number;
  lastError?: string;
  /** Node that passed the downstream invoice to us, if it came through the inbox. */
  receivedFrom?: NodeId;
  /** The `rdv policy` that joined it (no one typed rdv join). */
  policy?: string;
  /** Made to answer an invoice request: from this node, or `rpc` (rdv-request on this node). */
  requestedBy?: RequestOrigin;
}

/** Who asked for the invoice a record was made for: the node before us, or `rpc` (rdv-request, on this node). */
export type RequestOrigin = NodeId | 'rpc';

export interface LastRecord {
  version: 1;
  role: 'last';
  paymentHash: PaymentHash;
  bolt11: string;
  label: string;
  amountMsat: Msat;
  description: string;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  /** The last-payee policy that made it (no one typed rdv join --last). */
  policy?: string;
  /** Made to answer this node's invoice request. */
  requestedBy?: RequestOrigin;
}

export type AnyRecord = RelayRecord | LastRecord;

const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;

/**
 * JSON for the datastore. Field names are snake_case like CLN's; msat as decimal
 * strings, as rdv has always stored them (JSON.parse would round big numbers).
 */
export function serializeRecord(r: AnyRecord): string {
  return JSON.stringify(recordToJson(r), (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The record as JSON, CLN's way: `*_msat` fields are integer msat (bigint, written
 * as exact JSON numbers by stringifyJson). `rdv status --json` and `rdv-status`
 * show this; serializeRecord stores it with the amounts as strings.
 */
export function recordToJson(r: AnyRecord): JsonObject {
  const base = {
    version: r.version,
    role: r.role,
    payment_hash: r.paymentHash,
    bolt11: r.bolt11,
    amount_msat: r.amountMsat,
    expires_at: r.expiresAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
  switch (r.role) {
    case 'last':
      return dropUndefined({ ...base, label: r.label, description: r.description, policy: r.policy, requested_by: r.requestedBy });
    case 'relay':
      return dropUndefined({
        ...base,
        // BOLT 11 records are written exactly as before downstream_bolt12 existed, so an older rdv reads them.
        [`downstream_${downstreamInvoiceKind(r.downstreamInvoice)}`]: r.downstreamInvoice,
        downstream_source: r.downstreamSource && sourceToJson(r.downstreamSource),
        downstream_payee: r.downstreamPayee,
        downstream_amount_msat: r.downstreamAmountMsat,
        downstream_min_final_cltv: r.downstreamMinFinalCltv,
        payment_secret: r.paymentSecret,
        payout_msat: r.payoutMsat,
        fee_budget_msat: r.feeBudgetMsat,
        delay_budget: r.delayBudget,
        safety_margin: r.safetyMargin,
        min_final_cltv: r.minFinalCltv,
        state: r.state,
        round: r.round,
        parts: r.parts.map((p) =>
          dropUndefined({ scid: p.scid, id: p.id, channel_id: p.channelId, peer_id: p.peerId, amount_msat: p.amountMsat, cltv_expiry: p.cltvExpiry }),
        ),
        earliest_expiry: r.earliestExpiry,
        attempts: r.attempts.map((a) =>
          dropUndefined({
            round: a.round,
            started_at: a.startedAt,
            start_height: a.startHeight,
            layer: a.layer,
            maxdelay: a.maxdelay,
            maxfee_msat: a.maxfeeMsat,
            finished_at: a.finishedAt,
            outcome: a.outcome,
            sent_msat: a.sentMsat,
            error: a.error,
          }),
        ),
        preimage: r.preimage,
        claimed_parts: r.claimed,
        received_msat: r.receivedMsat,
        sent_msat: r.sentMsat,
        earned_msat: r.earnedMsat,
        gathered_at: r.gatheredAt,
        settled_at: r.settledAt,
        last_error: r.lastError,
        received_from: r.receivedFrom,
        policy: r.policy,
        requested_by: r.requestedBy,
      });
    default:
      return assertNever(r, 'record role');
  }
}


function dropUndefined(o: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as JsonObject[string];
  return out;
}

/**
 * A stored JSON object of our version. Throws ShapeError; something written by
 * a newer rdv (higher version) is refused rather than misread.
 */
function readVersioned(text: string | { parsed: unknown }, where: string): Reader {
  let raw: unknown;
  if (typeof text === 'string') {
    try {
      raw = parseJson(text);
    } catch {
      throw new ShapeError(`${where}: not JSON`);
    }
  } else raw = text.parsed;
  const r = Reader.of(raw, where);
  const version = r.int('version');
  if (version !== RECORD_VERSION) {
    throw new ShapeError(`${where}: version ${version} is not supported by this rdv (it knows version ${RECORD_VERSION}): upgrade rdv`);
  }
  return r;
}

/** What a listing filters on, read from a record's JSON without checking the rest. */
export interface RecordHead {
  role: unknown;
  state: unknown;
  createdAt: unknown;
  expiresAt: unknown;
}

export function recordHead(parsed: unknown): RecordHead {
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  return { role: o.role, state: o.state, createdAt: o.created_at, expiresAt: o.expires_at };
}

/**
 * Parse a stored record (its text, or its JSON already parsed with parseJson).
 * Throws ShapeError naming the field at fault.
 */
export function parseRecord(text: string | { parsed: unknown }, where = 'record'): AnyRecord {
  const r = readVersioned(text, where);
  const role = r.str('role');
  const base = {
    version: RECORD_VERSION as 1,
    paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, '64 hex digits'),
    bolt11: r.str('bolt11'),
    amountMsat: r.msat('amount_msat'),
    expiresAt: r.int('expires_at'),
    createdAt: r.int('created_at'),
    updatedAt: r.int('updated_at'),
  };
  if (role === 'last') {
    return stripUndefined<LastRecord>({ ...base, role: 'last', label: r.str('label'), description: r.optStr('description') ?? '', policy: r.optStr('policy'), requestedBy: readOrigin(r) });
  }
  if (role !== 'relay') throw new ShapeError(`${where}.role: expected "relay" or "last", got ${JSON.stringify(role)}`);
  const state = r.str('state');
  if (!(RELAY_STATES as readonly string[]).includes(state)) throw new ShapeError(`${where}.state: unknown state ${JSON.stringify(state)}`);
  const record: RelayRecord = {
    ...base,
    role: 'relay',
    downstreamInvoice: readDownstreamInvoice(r),
    downstreamPayee: r.match<NodeId>('downstream_payee', NODE_RE, 'a node id'),
    downstreamAmountMsat: r.msat('downstream_amount_msat'),
    downstreamMinFinalCltv: r.int('downstream_min_final_cltv'),
    paymentSecret: r.match<PaymentSecret>('payment_secret', HASH_RE, '64 hex digits'),
    payoutMsat: r.msat('payout_msat'),
    feeBudgetMsat: r.msat('fee_budget_msat'),
    delayBudget: r.int('delay_budget'),
    safetyMargin: r.int('safety_margin'),
    minFinalCltv: r.int('min_final_cltv'),
    state: state as RelayState,
    round: r.optInt('round') ?? 0,
    // rdv 0.1.0 wrote parts without channel_id and peer_id: they are matched by scid or by their HTLC's fields (parts.ts).
    parts: r.objects('parts').map((p) =>
      stripUndefined<Part>({
        scid: p.str('scid'),
        id: p.str('id'),
        channelId: p.optMatch('channel_id', HASH_RE, '64 hex digits'),
        peerId: p.optMatch<NodeId>('peer_id', NODE_RE, 'a node id'),
        amountMsat: p.msat('amount_msat'),
        cltvExpiry: p.int('cltv_expiry'),
      }),
    ),
    attempts: r.objects('attempts').map((a) => {
      const outcome = a.optStr('outcome');
      if (outcome !== undefined && outcome !== 'complete' && outcome !== 'failed') {
        throw new ShapeError(`${a.path}.outcome: unknown outcome ${JSON.stringify(outcome)}`);
      }
      return stripUndefined<Attempt>({
        round: a.optInt('round') ?? 0,
        startedAt: a.int('started_at'),
        startHeight: a.optInt('start_height'),
        layer: a.optStr('layer'),
        maxdelay: a.int('maxdelay'),
        maxfeeMsat: a.msat('maxfee_msat'),
        finishedAt: a.optInt('finished_at'),
        outcome,
        sentMsat: a.optMsat('sent_msat'),
        error: a.optStr('error'),
      });
    }),
  };
  return stripUndefined<RelayRecord>({
    ...record,
    earliestExpiry: r.optInt('earliest_expiry'),
    preimage: r.optMatch<Preimage>('preimage', HASH_RE, '64 hex digits'),
    claimed: r.has('claimed_parts') ? r.strings('claimed_parts') : undefined,
    receivedMsat: r.optMsat('received_msat'),
    sentMsat: r.optMsat('sent_msat'),
    earnedMsat: r.optSignedMsat('earned_msat'),
    gatheredAt: r.optInt('gathered_at'),
    settledAt: r.optInt('settled_at'),
    lastError: r.optStr('last_error'),
    receivedFrom: r.optMatch<NodeId>('received_from', NODE_RE, 'a node id'),
    policy: r.optStr('policy'),
    requestedBy: readOrigin(r),
    downstreamSource: readSource(r),
  });
}

function readOrigin(r: Reader): RequestOrigin | undefined {
  const v = r.optStr('requested_by');
  if (v === undefined || v === 'rpc') return v;
  if (!NODE_RE.test(v)) throw new ShapeError(`${r.path}.requested_by: expected a node id or "rpc"`);
  return v as NodeId;
}

function stripUndefined<T>(o: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** An invoice a peer passed back to us, waiting for `rdv join --from-inbox`. */
export interface InboxEntry {
  version: 1;
  paymentHash: PaymentHash;
  bolt11: string;
  from: NodeId;
  receivedAt: number;
  note?: string;
}

export function serializeInbox(e: InboxEntry): string {
  return JSON.stringify(
    dropUndefined({ version: e.version, payment_hash: e.paymentHash, bolt11: e.bolt11, from: e.from, received_at: e.receivedAt, note: e.note }),
  );
}

export function parseInbox(text: string, where = 'inbox entry'): InboxEntry {
  const r = readVersioned(text, where);
  return stripUndefined<InboxEntry>({
    version: 1,
    paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, '64 hex digits'),
    bolt11: r.str('bolt11'),
    from: r.match<NodeId>('from', NODE_RE, 'a node id'),
    receivedAt: r.int('received_at'),
    note: r.optStr('note'),
  });
}

/** The parts rdv-guard resolved for a hash, as stored at guardClaimKey(hash). */
export function serializeGuardClaims(parts: string[]): string {
  return JSON.stringify({ version: RECORD_VERSION, parts });
}

export function parseGuardClaims(text: string, where = 'guard claims'): string[] {
  return readVersioned(text, where).strings('parts');
}
