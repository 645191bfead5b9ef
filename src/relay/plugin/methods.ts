/**
 * The rdv plugin's RPC methods: rdv-status (what rdv status and rdv watch show),
 * rdv-reload (what rdv join, prune and forget call after a write), rdv-request
 * (ask the chain for an invoice: rdv request, rdv serve, a shop's backend) and
 * rdv-wrap (join anyone's invoice by a policy: rdv serve --wrap), and the
 * reading of their parameters. All wait until setup is over.
 */
import { MAX_MSAT, msat, parseAmount, type Msat } from '../../chain/amount.js';
import { INVOICE_TEXT_RE } from '../../chain/bolt11.js';
import { MAX_DESCRIPTION_BYTES } from '../../chain/policy/policy.js';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS } from '../../chain/request.js';
import { isObject } from '../../chain/read.js';
import type { RelayRecord } from '../../chain/record.js';
import { REQUEST_REFUSED, REQUEST_TIMED_OUT } from '../../rpc/request.js';
import { loadRecord } from '../../rpc/records.js';
import { PluginMethodError, type LogLevel, type PluginSpec } from '../../rpc/plugin.js';
import type { RelayView } from '../runner/runner.js';
import { readAllRecords } from './setup.js';
import type { State } from './state.js';
import { statusReply } from './status.js';

// rdv-request's error codes are REQUEST_REFUSED and REQUEST_TIMED_OUT (src/rpc/request.ts), and -32602 for bad parameters or a `via` that names no relay policy; rdv-wrap's are REQUEST_REFUSED and -32602.

/** rdv-status, rdv-reload, rdv-request and rdv-wrap, answered once `ready` (setup over). */
export function rpcMethods(state: State, ready: Promise<void>, log: (level: LogLevel, message: string) => void): NonNullable<PluginSpec['rpcmethods']> {
  return [
    {
      name: 'rdv-status',
      usage: '[payment_hash] [brief] [since]',
      description: 'Show rdv relays: state, held parts, outgoing payment, blocks to expiry, earnings (brief: only what rdv watch shows)',
      handler: async (params) => {
        await ready;
        return statusReply(state, hashParam(params), briefParam(params), sinceParam(params), await finishedViews(state, hashParam(params)));
      },
    },
    {
      name: 'rdv-reload',
      usage: '[payment_hash]',
      description: 'Re-read rdv records from the datastore (rdv join calls this after storing one)',
      handler: async (params) => {
        await ready;
        if (!state.node || !state.runner) throw new PluginMethodError(-1, state.notRelaying ?? 'not ready');
        const hash = hashParam(params);
        if (hash?.length === 64) {
          // One record (what rdv join asks for): no need to read them all.
          const stored = await loadRecord(state.node, hash);
          if (stored) state.runner.adopt(stored);
          // Gone from the datastore (rdv prune, rdv forget): let it go, unless the relay still needs it.
          const kept = stored ? undefined : await state.runner.forget(hash);
          await state.inbox?.load();
          return { loaded: stored ? 1 : 0, unreadable: 0, ...(stored ? {} : { forgotten: kept === undefined, ...(kept ? { kept_because: kept } : {}) }) };
        }
        const runner = state.runner;
        const { loaded, unreadable } = await readAllRecords(state, log, (s) => runner.adopt(s));
        await state.inbox?.load();
        return { loaded, unreadable };
      },
    },
    {
      name: 'rdv-request',
      usage: 'amount_msat via [description] [description_hash] [timeout]',
      description: 'Ask the chain for an invoice of exactly amount_msat through relay policy via (its id, or its --from node): returns our invoice, joined over the next payee\'s answer',
      handler: async (params) => {
        const p = requestParams(params);
        await ready;
        if (!state.requests) throw new PluginMethodError(-1, state.notRelaying ?? 'not ready');
        const r = await state.requests.request(p.via, p.amountMsat, p);
        if (!r.ok) {
          const code = r.error.kind === 'input' ? -32602 : r.error.kind === 'timeout' ? REQUEST_TIMED_OUT : REQUEST_REFUSED;
          throw new PluginMethodError(code, r.error.message);
        }
        return invoiceReply(r.value);
      },
    },
    {
      name: 'rdv-wrap',
      usage: 'invoice policy [routing_msat] [description] [description_hash]',
      description: 'Join an invoice as a relay by relay policy `policy` (rdv serve --wrap, lnproxy\'s API): returns our same-hash invoice, exactly the original plus routing_msat when given',
      handler: async (params) => {
        const p = wrapParams(params);
        await ready;
        if (!state.requests) throw new PluginMethodError(-1, state.notRelaying ?? 'not ready');
        const r = await state.requests.wrap(p.policy, p.invoice, p);
        if (!r.ok) throw new PluginMethodError(r.error.kind === 'input' ? -32602 : REQUEST_REFUSED, r.error.message);
        return invoiceReply(r.value);
      },
    },
  ];
}

/** rdv-request's and rdv-wrap's answer: our invoice. */
function invoiceReply(rec: RelayRecord): Record<string, unknown> {
  return { bolt11: rec.bolt11, payment_hash: rec.paymentHash, amount_msat: rec.amountMsat, expires_at: rec.expiresAt, policy: rec.policy ?? null };
}

export interface RequestParams {
  amountMsat: Msat;
  via: string;
  description?: string;
  descriptionHash?: string;
  timeoutSeconds: number;
}

/** rdv-request's parameters, by position or by name; a bad one is -32602 and nothing is asked. */
export function requestParams(params: unknown): RequestParams {
  const names = ['amount_msat', 'via', 'description', 'description_hash', 'timeout'] as const;
  const get = (i: number): unknown => (Array.isArray(params) ? params[i] : isObject(params) ? params[names[i] ?? ''] : undefined);
  const bad = (m: string): PluginMethodError => new PluginMethodError(-32602, m);
  const a = get(0);
  let amountMsat: Msat | undefined;
  if (typeof a === 'number' && Number.isSafeInteger(a) && a > 0) amountMsat = msat(BigInt(a));
  // Integers past 2^53 arrive as exact bigints (src/chain/json.ts parseJson).
  else if (typeof a === 'bigint') amountMsat = msat(a);
  else if (typeof a === 'string' && /^\d{1,19}$/.test(a.trim())) amountMsat = msat(BigInt(a.trim()));
  else if (typeof a === 'string' && /[a-z]$/i.test(a.trim())) {
    const parsed = parseAmount(a);
    if (parsed.ok) amountMsat = parsed.value;
  }
  if (amountMsat === undefined || amountMsat <= 0n || amountMsat > MAX_MSAT) throw bad('amount_msat must be a positive whole number of msat (or an amount with a unit, e.g. 102000sat)');
  const via = get(1);
  if (typeof via !== 'string' || via.trim() === '') throw bad('via must name a relay policy: its id, or the node id of its --from (rdv policy list)');
  const out: RequestParams = { amountMsat, via: via.trim(), timeoutSeconds: DEFAULT_REQUEST_TIMEOUT_SECONDS, ...ownDescription(get(2), get(3)) };
  const t = get(4);
  if (t !== undefined && t !== null) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < MIN_REQUEST_TIMEOUT_SECONDS || t > MAX_REQUEST_TIMEOUT_SECONDS) {
      throw bad(`timeout must be a whole number of seconds from ${MIN_REQUEST_TIMEOUT_SECONDS} to ${MAX_REQUEST_TIMEOUT_SECONDS}`);
    }
    out.timeoutSeconds = t;
  }
  return out;
}

export interface WrapParams {
  invoice: string;
  policy: string;
  routingMsat?: Msat;
  description?: string;
  descriptionHash?: string;
}

/** rdv-wrap's parameters, by position or by name; a bad one is -32602 and nothing is asked. */
export function wrapParams(params: unknown): WrapParams {
  const names = ['invoice', 'policy', 'routing_msat', 'description', 'description_hash'] as const;
  const get = (i: number): unknown => (Array.isArray(params) ? params[i] : isObject(params) ? params[names[i] ?? ''] : undefined);
  const bad = (m: string): PluginMethodError => new PluginMethodError(-32602, m);
  const invoice = get(0);
  if (typeof invoice !== 'string' || !INVOICE_TEXT_RE.test(invoice.trim())) throw bad('invoice must be a BOLT 11 invoice');
  const policy = get(1);
  if (typeof policy !== 'string' || !/^[0-9a-f]{8}$/i.test(policy.trim())) throw bad('policy must be a relay policy id (8 hex digits, rdv policy list)');
  const out: WrapParams = { invoice: invoice.trim(), policy: policy.trim().toLowerCase() };
  const routing = get(2);
  if (routing !== undefined && routing !== null) {
    const text = typeof routing === 'number' || typeof routing === 'bigint' ? String(routing) : typeof routing === 'string' ? routing.trim() : '';
    if (!/^\d{1,19}$/.test(text) || BigInt(text) === 0n || BigInt(text) > MAX_MSAT) throw bad('routing_msat must be a positive whole number of msat');
    out.routingMsat = msat(BigInt(text));
  }
  const own = ownDescription(get(3), get(4));
  if (own.description !== undefined && own.descriptionHash !== undefined) throw bad('give description or description_hash, not both');
  return { ...out, ...own };
}

/** Our invoice's own description or description hash, as rdv-request and rdv-wrap take them (nulls for none). */
function ownDescription(d: unknown, h: unknown): { description?: string; descriptionHash?: string } {
  const bad = (m: string): PluginMethodError => new PluginMethodError(-32602, m);
  const out: { description?: string; descriptionHash?: string } = {};
  if (d !== undefined && d !== null) {
    if (typeof d !== 'string') throw bad('description must be a string');
    if (Buffer.byteLength(d, 'utf8') > MAX_DESCRIPTION_BYTES) throw bad(`description is over ${MAX_DESCRIPTION_BYTES} bytes`);
    out.description = d;
  }
  if (h !== undefined && h !== null) {
    if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) throw bad('description_hash must be 64 hex digits (the sha256 of the description, as LNURL\'s metadata)');
    out.descriptionHash = h.toLowerCase();
  }
  return out;
}

function hashParam(params: unknown): string | undefined {
  const v = Array.isArray(params) ? params[0] : isObject(params) ? params.payment_hash : undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(v)) throw new PluginMethodError(-32602, 'payment_hash must be hex (a prefix is enough)');
  return v.toLowerCase();
}

/** rdv-status <hash> of a finished relay the runner only counts: read from the datastore (at most 20). */
async function finishedViews(state: State, hash: string | undefined): Promise<RelayView[]> {
  if (hash === undefined || !state.runner || !state.node) return [];
  const node = state.node;
  const stored = await Promise.all(state.runner.finishedMatching(hash, 20).map((h) => loadRecord(node, h).catch(() => undefined)));
  return stored.flatMap((s) => (s ? [{ record: s.record, heldParts: 0, heldMsat: 0n, heldSince: undefined, payInFlight: false, outgoing: undefined, heldExpiry: undefined }] : []));
}

/** `since` (Unix seconds): totals.recent counts relays that ended since then; default the last 24 hours. */
function sinceParam(params: unknown): number {
  const v = Array.isArray(params) ? params[2] : isObject(params) ? params.since : undefined;
  if (v === undefined || v === null) return Math.floor(Date.now() / 1000) - 86_400;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new PluginMethodError(-32602, 'since must be a Unix time in seconds');
  return v;
}

function briefParam(params: unknown): boolean {
  const v = Array.isArray(params) ? params[1] : isObject(params) ? params.brief : undefined;
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new PluginMethodError(-32602, 'brief must be true or false');
  return v;
}
