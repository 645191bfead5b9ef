/**
 * The policy book as stored: one versioned datastore entry (add and remove are one
 * compare-and-swap write each), its JSON, and finding the policy for a sender's
 * pass-back or an asker's request.
 */
import { isNodeId, type NodeId } from '../ids.js';
import { isObject, Reader, ShapeError } from '../read.js';
import { err, ok, type Result } from '../../errors.js';
import {
  POLICY_VERSION, MAX_POLICIES, PPM, type Share, type Policy, type PolicyBounds, POLICY_BOUND_LIMITS, policyBounds, type PolicyBook, formatShare,
  type LastPolicy, isActive, isLastPolicy, MAX_DESCRIPTION_BYTES, LAST_LIMITS, type PullSource, nextPayeeText,
} from './policy.js';
import { readSourceFields } from '../record-downstream.js';

/** Why a policy with this id, or one more policy, cannot go in the book. */
function roomFor(book: PolicyBook, id: string): string | undefined {
  // Ids are random: two alike would make rdv policy remove take both.
  if (book.policies.some((p) => p.id === id) || book.lastPolicies.some((p) => p.id === id)) return `there is a policy ${id} already: try again (ids are random)`;
  if (book.policies.length + book.lastPolicies.length >= MAX_POLICIES) return `there are ${MAX_POLICIES} policies already: remove some first`;
  return undefined;
}

/**
 * Add to the book: one policy per --from node (which one would apply is then never
 * a question), and none passing to a node a last-payee policy answers (both would
 * answer its requests).
 */
export function addPolicy(book: PolicyBook, policy: Policy): Result<PolicyBook> {
  const same = book.policies.find((p) => (policy.from !== undefined && p.from === policy.from) || (policy.pull !== undefined && samePull(p.pull, policy.pull)));
  if (same) {
    const what = policy.from !== undefined ? `joins pass-backs from ${policy.from}` : `pulls from ${nextPayeeText(policy)}`;
    return err(`policy ${same.id} already ${what}: remove it first (rdv policy remove ${same.id})`);
  }
  const last = policy.passTo && book.lastPolicies.find((p) => p.for === policy.passTo?.id);
  if (last) return err(`last-payee policy ${last.id} answers ${last.for}'s invoice requests, and a policy passing to it would answer them too: remove one first (rdv policy remove ${last.id})`);
  const full = roomFor(book, policy.id);
  if (full) return err(full);
  return ok({ ...book, policies: [...book.policies, policy] });
}

/** Add a last-payee policy: one per node it answers, and none for a node a relay policy passes to. */
export function addLastPolicy(book: PolicyBook, policy: LastPolicy): Result<PolicyBook> {
  const same = book.lastPolicies.find((p) => p.for === policy.for);
  if (same) return err(`last-payee policy ${same.id} already answers ${policy.for}'s invoice requests: remove it first (rdv policy remove ${same.id})`);
  const relay = book.policies.find((p) => p.passTo?.id === policy.for);
  if (relay) return err(`policy ${relay.id} passes to ${policy.for} and answers its invoice requests by asking ${nextPayeeText(relay)}: remove it first (rdv policy remove ${relay.id})`);
  const full = roomFor(book, policy.id);
  if (full) return err(full);
  return ok({ ...book, lastPolicies: [...book.lastPolicies, policy] });
}

export function removePolicy(book: PolicyBook, id: string): Result<{ book: PolicyBook; removed: Policy | LastPolicy }> {
  const removed = book.policies.find((p) => p.id === id) ?? book.lastPolicies.find((p) => p.id === id);
  if (!removed) return err(`no policy ${id}: see rdv policy list`);
  return ok({ book: { version: 1, policies: book.policies.filter((p) => p.id !== id), lastPolicies: book.lastPolicies.filter((p) => p.id !== id) }, removed });
}

const samePull = (a: PullSource | undefined, b: PullSource): boolean =>
  a !== undefined && a.kind === b.kind && (a.kind === 'offer' ? a.offer === (b as typeof a).offer : a.address === (b as typeof a).address);

/** The policy for pass-backs from this node, if one applies now. */
export function policyFor(book: PolicyBook, from: NodeId, now: number): Policy | undefined {
  const p = book.policies.find((x) => x.from === from);
  return p && isActive(p, now) ? p : undefined;
}

/** What answers an invoice request from a node: a relay policy passing to it (which asks its --from node), or a last-payee policy for it. */
export type RequestPolicy = { kind: 'relay'; policy: Policy } | { kind: 'last'; policy: LastPolicy };

/**
 * The policy that answers `asker`'s invoice requests now; undefined if none does,
 * or why not when several would (a book from before addPolicy refused that: the
 * operator must choose).
 */
export function requestPolicyFor(book: PolicyBook, asker: NodeId, now: number): Result<RequestPolicy | undefined> {
  const found: RequestPolicy[] = [
    ...book.policies.filter((p) => p.passTo?.id === asker && isActive(p, now)).map((policy) => ({ kind: 'relay' as const, policy })),
    ...book.lastPolicies.filter((p) => p.for === asker && isActive(p, now)).map((policy) => ({ kind: 'last' as const, policy })),
  ];
  if (found.length > 1) return err(`policies ${found.map((f) => f.policy.id).join(' and ')} would all answer: the operator must remove all but one`);
  return ok(found[0]);
}

/**
 * The relay policy `via` names for rdv-request: by id, or by its --from node
 * (the next payee, asked for the invoice), or the address or offer it pulls
 * from. A last-payee policy asks no one.
 */
export function viaPolicy(book: PolicyBook, via: string, now: number): Result<Policy> {
  const v = via.trim().toLowerCase();
  const p = book.policies.find((x) => x.id === v || (x.from !== undefined && x.from === v) || (x.pull?.kind === 'address' && x.pull.address === v) || (x.pull?.kind === 'offer' && x.pull.offer === v));
  if (!p) {
    if (book.lastPolicies.some((x) => x.id === v)) return err(`policy ${v} is a last-payee policy: it answers requests, it asks no one; give a relay policy (rdv policy list)`);
    return err(`no relay policy ${isNodeId(v) ? `from ${v}` : v}: see rdv policy list`);
  }
  if (!isActive(p, now)) return err(`policy ${p.id} expired`);
  return ok(p);
}

function shareJson(s: Share): Record<string, unknown> {
  return s.kind === 'fixed' ? { msat: s.msat.toString() } : { ppm: s.ppm.toString() };
}

function readShare(r: Reader, name: string): Share {
  const s = r.obj(name);
  if (s.has('ppm')) {
    const ppm = s.bigint('ppm');
    if (ppm < 0n || ppm > PPM) throw new ShapeError(`${s.path}.ppm is out of range`);
    return { kind: 'percent', ppm };
  }
  return { kind: 'fixed', msat: s.msat('msat') };
}

/** The stored names of the bounds (absent: the default applies). */
const BOUND_FIELDS = { maxOpen: 'max_open', maxPerMinute: 'max_per_minute', maxInvoiceLifeSeconds: 'max_invoice_life_seconds', maxDescriptionBytes: 'max_description_bytes' } as const satisfies Record<keyof PolicyBounds, string>;

function boundsJson(b: Partial<PolicyBounds> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, name] of Object.entries(BOUND_FIELDS) as Array<[keyof PolicyBounds, string]>) {
    const v = b?.[field];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** A last-payee policy as stored. */
function lastJson(p: LastPolicy): Record<string, unknown> {
  return {
    kind: 'last',
    id: p.id,
    for: p.for,
    ...(p.minAmountMsat !== undefined ? { min_amount_msat: p.minAmountMsat.toString() } : {}),
    ...(p.maxAmountMsat !== undefined ? { max_amount_msat: p.maxAmountMsat.toString() } : {}),
    description: p.description,
    invoice_expiry: p.invoiceExpirySeconds,
    max_unpaid: p.maxUnpaid,
    max_per_minute: p.maxPerMinute,
    ...(p.expiresAt !== undefined ? { expires_at: p.expiresAt } : {}),
    ...(p.note !== undefined ? { note: p.note } : {}),
    created_at: p.createdAt,
  };
}

/** A whole number within `limits`, or a ShapeError naming the field. */
function boundedInt(r: Reader, name: string, limits: { min: number; max: number }): number {
  const v = r.int(name);
  if (v < limits.min || v > limits.max) throw new ShapeError(`${r.path}.${name} is out of range`);
  return v;
}

function readLast(p: Reader): LastPolicy {
  const forNode = p.str('for');
  if (!isNodeId(forNode)) throw new ShapeError(`${p.path}.for is not a node id`);
  const description = p.str('description');
  if (Buffer.byteLength(description, 'utf8') > MAX_DESCRIPTION_BYTES) throw new ShapeError(`${p.path}.description is over ${MAX_DESCRIPTION_BYTES} bytes`);
  const out: LastPolicy = {
    kind: 'last',
    id: p.str('id'),
    for: forNode,
    description,
    invoiceExpirySeconds: boundedInt(p, 'invoice_expiry', LAST_LIMITS.invoiceExpirySeconds),
    maxUnpaid: boundedInt(p, 'max_unpaid', LAST_LIMITS.maxUnpaid),
    maxPerMinute: boundedInt(p, 'max_per_minute', LAST_LIMITS.maxPerMinute),
    createdAt: p.int('created_at'),
  };
  if (p.has('min_amount_msat')) out.minAmountMsat = p.msat('min_amount_msat');
  if (p.has('max_amount_msat')) out.maxAmountMsat = p.msat('max_amount_msat');
  const exp = p.optInt('expires_at');
  if (exp !== undefined) out.expiresAt = exp;
  const note = p.optStr('note');
  if (note !== undefined) out.note = note;
  return out;
}

/** The book as stored: amounts as strings, like the records; last-payee policies after the relay ones, marked `kind: "last"`. */
export function serializeBook(book: PolicyBook): string {
  return JSON.stringify({
    version: POLICY_VERSION,
    policies: [...book.policies.map((p) => ({
      id: p.id,
      ...(p.from !== undefined ? { from: p.from } : {}),
      ...(p.pull !== undefined ? { pull: p.pull } : {}),
      payout: shareJson(p.payout),
      fee_budget: shareJson(p.feeBudget),
      delay_budget: p.delayBudget,
      ...(p.passTo ? { pass_to: p.passTo } : {}),
      ...(p.minAmountMsat !== undefined ? { min_amount_msat: p.minAmountMsat.toString() } : {}),
      ...(p.maxAmountMsat !== undefined ? { max_amount_msat: p.maxAmountMsat.toString() } : {}),
      ...(p.expiresAt !== undefined ? { expires_at: p.expiresAt } : {}),
      ...(p.note !== undefined ? { note: p.note } : {}),
      created_at: p.createdAt,
      ...boundsJson(p.bounds),
    })), ...book.lastPolicies.map(lastJson)],
  });
}

/** Throws ShapeError naming the field at fault. */
export function parseBook(text: string): PolicyBook {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ShapeError('policies: not JSON');
  }
  if (!isObject(v)) throw new ShapeError('policies: not an object');
  const r = Reader.of(v, 'policies');
  const version = r.int('version');
  if (version !== POLICY_VERSION) throw new ShapeError(`policies: version ${version} is not one this rdv reads (${POLICY_VERSION}): upgrade rdv`);
  const entries = r.objects('policies');
  const lastPolicies: LastPolicy[] = [];
  const policies: Policy[] = [];
  for (const p of entries) {
    // No kind: a relay policy (books written before last-payee policies read unchanged).
    const kind = p.optStr('kind') ?? 'relay';
    if (kind === 'last') lastPolicies.push(readLast(p));
    else if (kind === 'relay') policies.push(readRelay(p));
    else throw new ShapeError(`${p.path}.kind "${kind}" is not one this rdv knows: upgrade rdv`);
  }
  return { version: 1, policies, lastPolicies };
}

/** A policy's next payee as stored: `from` (a node that passes back) or `pull` (an offer or address), exactly one. */
function readNext(p: Reader): { from: NodeId } | { pull: PullSource } {
  const pull = p.optObj('pull');
  if (p.has('from') === (pull !== undefined)) throw new ShapeError(`${p.path} must have exactly one of from and pull`);
  if (!pull) {
    const from = p.str('from');
    if (!isNodeId(from)) throw new ShapeError(`${p.path}.from is not a node id`);
    return { from };
  }
  return { pull: readSourceFields(pull) };
}

function readRelay(p: Reader): Policy {
  const out: Policy = { id: p.str('id'), ...readNext(p), payout: readShare(p, 'payout'), feeBudget: readShare(p, 'fee_budget'), delayBudget: p.int('delay_budget'), createdAt: p.int('created_at') };
  const to = p.optObj('pass_to');
  if (to) {
    const id = to.str('id');
    if (!isNodeId(id)) throw new ShapeError(`${to.path}.id is not a node id`);
    const host = to.optStr('host');
    const port = to.optInt('port');
    out.passTo = { id, ...(host !== undefined ? { host } : {}), ...(port !== undefined ? { port } : {}) };
  }
  if (p.has('min_amount_msat')) out.minAmountMsat = p.msat('min_amount_msat');
  if (p.has('max_amount_msat')) out.maxAmountMsat = p.msat('max_amount_msat');
  const exp = p.optInt('expires_at');
  if (exp !== undefined) out.expiresAt = exp;
  const note = p.optStr('note');
  if (note !== undefined) out.note = note;
  const bounds: Partial<PolicyBounds> = {};
  for (const [field, name] of Object.entries(BOUND_FIELDS) as Array<[keyof PolicyBounds, string]>) {
    const v = p.optInt(name);
    if (v === undefined) continue;
    const { min, max } = POLICY_BOUND_LIMITS[field];
    if (v < min || v > max) throw new ShapeError(`${p.path}.${name} is out of range`);
    bounds[field] = v;
  }
  if (Object.keys(bounds).length > 0) out.bounds = bounds;
  return out;
}

/** CLN's JSON convention: integer msat in `_msat` fields (bigints, written exactly by stringifyJson). */
export function policyToJson(p: Policy, now: number): Record<string, unknown> {
  const share = (s: Share): Record<string, unknown> => (s.kind === 'fixed' ? { amount_msat: s.msat } : { percent: formatShare(s).replace('%', ''), ppm: Number(s.ppm) });
  return {
    kind: 'relay',
    id: p.id,
    ...(p.from !== undefined ? { from: p.from } : {}),
    ...(p.pull !== undefined ? { pull: p.pull } : {}),
    payout: share(p.payout),
    fee_budget: share(p.feeBudget),
    delay_budget: p.delayBudget,
    ...(p.passTo ? { pass_to: p.passTo } : {}),
    ...(p.minAmountMsat !== undefined ? { min_amount_msat: p.minAmountMsat } : {}),
    ...(p.maxAmountMsat !== undefined ? { max_amount_msat: p.maxAmountMsat } : {}),
    ...(p.expiresAt !== undefined ? { expires_at: p.expiresAt } : {}),
    active: p.expiresAt === undefined || p.expiresAt > now,
    ...(p.note !== undefined ? { note: p.note } : {}),
    created_at: p.createdAt,
    // What applies, the defaults included: the book keeps only what the operator gave.
    ...boundsJson(policyBounds(p)),
  };
}

/** A last-payee policy for `rdv policy list --json` and `add --json`. */
export function lastPolicyToJson(p: LastPolicy, now: number): Record<string, unknown> {
  return {
    kind: 'last',
    id: p.id,
    for: p.for,
    ...(p.minAmountMsat !== undefined ? { min_amount_msat: p.minAmountMsat } : {}),
    ...(p.maxAmountMsat !== undefined ? { max_amount_msat: p.maxAmountMsat } : {}),
    description: p.description,
    invoice_expiry: p.invoiceExpirySeconds,
    max_unpaid: p.maxUnpaid,
    max_per_minute: p.maxPerMinute,
    ...(p.expiresAt !== undefined ? { expires_at: p.expiresAt } : {}),
    active: isActive(p, now),
    ...(p.note !== undefined ? { note: p.note } : {}),
    created_at: p.createdAt,
  };
}

/** Either kind, for JSON output. */
export function anyPolicyToJson(p: Policy | LastPolicy, now: number): Record<string, unknown> {
  return isLastPolicy(p) ? lastPolicyToJson(p, now) : policyToJson(p, now);
}
