/**
 * What rdv serve asks of the node, over lightningd's RPC socket like the CLI
 * (never from inside the plugin): an invoice from the chain (the plugin's
 * rdv-request), the policy book, verify tokens in the datastore, a payment's
 * settlement from the first payee's own record, and a wrap joined with rdv
 * join's own code. CLN errors become outcomes here; nothing above reads an RpcError.
 */
import type { Msat } from '../chain/amount.js';
import { DEFAULT_CLTV_WARN, DEFAULT_SAFETY_MARGIN } from '../chain/budget.js';
import { preimageMatches, type PaymentHash, type Preimage } from '../chain/ids.js';
import { descriptionProblem, invoiceLifeCap, routeProblem } from '../chain/policy/decide.js';
import type { Policy, PolicyBook } from '../chain/policy/policy.js';
import { Reader, ShapeError } from '../chain/read.js';
import type { RelayRecord } from '../chain/record.js';
import { RdvError, err, ok, type Result } from '../errors.js';
import { RpcError } from '../rpc/client.js';
import { completeRelayJoin, prepareRelayJoin, relayBudget } from '../rpc/join-relay.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { loadBook } from '../rpc/policies.js';
import { loadRecord } from '../rpc/records.js';
import { entryExpired, parseEntry, serializeEntry, SERVE_KEY, tokenKey, type VerifyEntry } from './tokens.js';
import { wrapValues, type WrapRequest } from './wrap.js';

/**
 * Why the node could not give what was asked: `refused`, the chain (or a policy,
 * a check) said no, with its reason; `unreachable`, lightningd is not answering.
 */
export interface NodeProblem {
  kind: 'refused' | 'unreachable';
  reason: string;
}

const unreachable = (e: unknown): Result<never, NodeProblem> => err({ kind: 'unreachable', reason: e instanceof Error ? e.message : String(e) });

/** A chain that has not answered rdv-request in this long is forgotten (its chains slot freed). */
export const REQUEST_RPC_TIMEOUT_MS = 60_000;

/** rdv-request's answer (the plugin's RPC method, on the first payee). */
export interface RequestedInvoice {
  bolt11: string;
  paymentHash: PaymentHash;
  amountMsat: Msat;
  expiresAt: number;
  policy: string | undefined;
}

/**
 * Ask the chain for an invoice of exactly `amountMsat` through `via`, with `h` =
 * `descriptionHash`. A JSON-RPC error is the chain's refusal: its message is the
 * reason, which travelled back hop by hop.
 */
export async function requestInvoice(node: LightningNode, p: { amountMsat: Msat; via: string; descriptionHash: string }): Promise<Result<RequestedInvoice, NodeProblem>> {
  let reply: unknown;
  try {
    reply = await node.rpc.call('rdv-request', { amount_msat: p.amountMsat, via: p.via, description_hash: p.descriptionHash }, { timeoutMs: REQUEST_RPC_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof RpcError) return err({ kind: 'refused', reason: e.code === -32601 ? 'the rdv plugin on this node does not answer rdv-request (is it loaded, and new enough?)' : e.rpcMessage });
    if (e instanceof RdvError) return unreachable(e);
    throw e;
  }
  try {
    const r = Reader.of(reply, 'rdv-request');
    return ok({
      bolt11: r.str('bolt11'),
      paymentHash: r.match<PaymentHash>('payment_hash', /^[0-9a-f]{64}$/, '64 hex digits'),
      amountMsat: r.msat('amount_msat'),
      expiresAt: r.int('expires_at'),
      policy: r.optStr('policy'),
    });
  } catch (e) {
    if (e instanceof ShapeError) return err({ kind: 'refused', reason: `rdv-request answered in an unexpected shape (${e.message})` });
    throw e;
  }
}

/**
 * The relay policy `via` names now: by its id, or as the policy whose --from is
 * that node (what rdv-request takes). Undefined when there is none.
 */
export function policyFor(book: PolicyBook, via: string): Policy | undefined {
  return book.policies.find((p) => p.id === via) ?? book.policies.find((p) => p.from === via);
}

export async function loadPolicy(node: LightningNode, via: string): Promise<Result<Policy | undefined, NodeProblem>> {
  try {
    return ok(policyFor((await loadBook(node)).book, via));
  } catch (e) {
    if (e instanceof ShapeError) return err({ kind: 'refused', reason: `the policy book is unreadable (${e.message}): see rdv policy list` });
    if (e instanceof RdvError) return unreachable(e);
    throw e;
  }
}

/** Store a new token; false if one with that key exists (16 random bytes: never, in practice). */
export async function storeToken(node: LightningNode, token: string, entry: VerifyEntry): Promise<boolean> {
  return (await node.datastoreCreate(tokenKey(token), serializeEntry(entry))).ok;
}

/** The token's entry, if it exists and has not expired. An unreadable one counts as absent. */
export async function loadToken(node: LightningNode, token: string, now: number): Promise<VerifyEntry | undefined> {
  const key = tokenKey(token);
  const e = (await node.listdatastore(key)).find((x) => x.key.length === key.length && x.key.at(-1) === token);
  if (e?.string === undefined) return undefined;
  try {
    const entry = parseEntry(e.string);
    return entryExpired(entry, now) ? undefined : entry;
  } catch (x) {
    if (x instanceof ShapeError) return undefined;
    throw x;
  }
}

/**
 * The preimage, if this node's record says the payment settled: the first
 * payee's relay record, settled, with a preimage that hashes to the hash.
 * Anything else (no record, unpaid, a last payee's record) is "not settled".
 */
export async function settledPreimage(node: LightningNode, hash: PaymentHash): Promise<Preimage | undefined> {
  let stored;
  try {
    stored = await loadRecord(node, hash);
  } catch (e) {
    if (e instanceof ShapeError) return undefined;
    throw e;
  }
  const r = stored?.record;
  if (r?.role !== 'relay' || r.state !== 'settled' || r.preimage === undefined) return undefined;
  return preimageMatches(r.preimage, hash) ? r.preimage : undefined;
}

/** Remove expired verify tokens (deleted at the generation read, so a rewrite in between wins). */
export async function pruneTokens(node: LightningNode, now: number): Promise<{ removed: number; unreadable: number }> {
  let removed = 0;
  let unreadable = 0;
  for (const e of await node.listdatastore([...SERVE_KEY])) {
    if (e.key.length !== SERVE_KEY.length + 1 || e.generation === undefined) continue;
    let entry: VerifyEntry;
    try {
      entry = parseEntry(e.string ?? '');
    } catch (x) {
      if (!(x instanceof ShapeError)) throw x;
      unreadable++;
      continue;
    }
    if (entryExpired(entry, now) && (await node.deldatastoreAt(e.key, e.generation)) === 'deleted') removed++;
  }
  return { removed, unreadable };
}

export interface WrapDeps {
  node: LightningNode;
  info: NodeInfo;
  now: () => number;
  warn: (message: string) => void;
}

/**
 * Join `req.invoice` as a relay by `policy`, with rdv join's checks and writes
 * (src/rpc/join-relay.ts) and the demands a policy makes of a pass-back (a route
 * within the budgets now, the description's length), then tell the plugin. Our
 * stored relay record, or why not (nothing written then).
 */
export async function wrapInvoice(d: WrapDeps, policy: Policy, req: WrapRequest): Promise<Result<RelayRecord, NodeProblem & { input?: boolean }>> {
  try {
    const now = d.now();
    const prepared = await prepareRelayJoin(d.node, d.info, req.invoice, undefined, now);
    if (!prepared.ok) return err({ kind: 'refused', reason: prepared.error.message, input: prepared.error.kind === 'input' });
    const p = prepared.value;
    const values = wrapValues(policy, p.downstreamMsat, req.routingMsat, now);
    if (!values.ok) return err({ kind: 'refused', reason: values.error, input: true });
    // Our node signs the description our invoice carries: the original's, or the one asked for.
    const long = descriptionProblem(policy, req.description ?? p.invoice.description);
    if (long) return err({ kind: 'refused', reason: long, input: true });
    const limits = { safetyMargin: DEFAULT_SAFETY_MARGIN, cltvWarn: DEFAULT_CLTV_WARN };
    const budget = relayBudget(p, values.value, limits);
    if ('problem' in budget) return err({ kind: 'refused', reason: budget.problem.message, input: true });
    const route = routeProblem(p.route, values.value, limits.safetyMargin, p.invoice.payee);
    if (route) return err({ kind: 'refused', reason: route });
    const joined = await completeRelayJoin(d.node, d.info, p, values.value, budget.plan, {
      ...limits,
      requestedExpirySeconds: invoiceLifeCap(policy),
      description: req.description,
      descriptionHash: req.descriptionHash,
      policy: policy.id,
      warn: d.warn,
      now: d.now,
    });
    if (!joined.ok) return err({ kind: 'refused', reason: joined.error.message, input: joined.error.kind === 'input' });
    const record = joined.value.record;
    // The plugin adopts the record now, not at its first HTLC (as after rdv join).
    await d.node.rpc.call('rdv-reload', { payment_hash: record.paymentHash }).catch((e: unknown) => d.warn(`wrapped ${record.paymentHash.slice(0, 8)}, but the rdv plugin did not take rdv-reload (${(e as Error).message}): is it loaded?`));
    return ok(record);
  } catch (e) {
    if (e instanceof RdvError) return e.kind === 'unreachable' ? unreachable(e) : err({ kind: 'refused', reason: e.message });
    throw e;
  }
}
