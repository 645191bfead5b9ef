/** The policy book as stored: one versioned datastore entry (add and remove are one compare-and-swap write each), its JSON, and finding a sender's policy. */
import { isNodeId, type NodeId } from '../ids.js';
import { isObject, Reader, ShapeError } from '../read.js';
import { err, ok, type Result } from '../../errors.js';
import { POLICY_VERSION, MAX_POLICIES, PPM, type Share, type Policy, type PolicyBounds, POLICY_BOUND_LIMITS, policyBounds, type PolicyBook, formatShare } from './policy.js';

/** Add to the book: one policy per --from node (which one would apply is then never a question). */
export function addPolicy(book: PolicyBook, policy: Policy): Result<PolicyBook> {
  const same = book.policies.find((p) => p.from === policy.from);
  if (same) return err(`policy ${same.id} already joins pass-backs from ${policy.from}: remove it first (rdv policy remove ${same.id})`);
  // Ids are random: two alike would make rdv policy remove take both.
  if (book.policies.some((p) => p.id === policy.id)) return err(`there is a policy ${policy.id} already: try again (ids are random)`);
  if (book.policies.length >= MAX_POLICIES) return err(`there are ${MAX_POLICIES} policies already: remove some first`);
  return ok({ version: 1, policies: [...book.policies, policy] });
}

export function removePolicy(book: PolicyBook, id: string): Result<{ book: PolicyBook; removed: Policy }> {
  const removed = book.policies.find((p) => p.id === id);
  if (!removed) return err(`no policy ${id}: see rdv policy list`);
  return ok({ book: { version: 1, policies: book.policies.filter((p) => p.id !== id) }, removed });
}

/** The policy for pass-backs from this node, if one applies now. */
export function policyFor(book: PolicyBook, from: NodeId, now: number): Policy | undefined {
  const p = book.policies.find((x) => x.from === from);
  return p && (p.expiresAt === undefined || p.expiresAt > now) ? p : undefined;
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

/** The book as stored: amounts as strings, like the records. */
export function serializeBook(book: PolicyBook): string {
  return JSON.stringify({
    version: POLICY_VERSION,
    policies: book.policies.map((p) => ({
      id: p.id,
      from: p.from,
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
    })),
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
  const policies = r.objects('policies').map((p): Policy => {
    const from = p.str('from');
    if (!isNodeId(from)) throw new ShapeError(`${p.path}.from is not a node id`);
    const out: Policy = { id: p.str('id'), from, payout: readShare(p, 'payout'), feeBudget: readShare(p, 'fee_budget'), delayBudget: p.int('delay_budget'), createdAt: p.int('created_at') };
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
  });
  return { version: 1, policies };
}

/** CLN's JSON convention: integer msat in `_msat` fields (bigints, written exactly by stringifyJson). */
export function policyToJson(p: Policy, now: number): Record<string, unknown> {
  const share = (s: Share): Record<string, unknown> => (s.kind === 'fixed' ? { amount_msat: s.msat } : { percent: formatShare(s).replace('%', ''), ppm: Number(s.ppm) });
  return {
    id: p.id,
    from: p.from,
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
