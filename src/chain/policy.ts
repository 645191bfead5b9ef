/**
 * Relay policies (`rdv policy`): "when <node> passes back an invoice, join it with
 * these budgets and pass ours on to <node>". Pure: parsing what the operator types,
 * the stored book (one versioned datastore entry, written by compare-and-swap), and
 * the decision for one pass-back. The join itself is the same code as `rdv join`'s
 * (src/rpc/join-relay.ts).
 */
import { formatAmount, msat, parseAmount, type Msat } from './amount.js';
import { BLOCK_ALLOWANCE, DEFAULT_SAFETY_MARGIN, routeDelayRoom, type RouteEstimate } from './budget.js';
import { isNodeId, shortHash, type NodeId } from './ids.js';
import { isObject, Reader, ShapeError } from './read.js';
import { parseBlocks, parseDuration } from './units.js';
import { err, ok, type Result } from '../errors.js';
import { KEY_ROOT } from './record.js';

/** The whole book is one entry: add and remove are one compare-and-swap write each. */
export const POLICY_KEY: readonly string[] = [...KEY_ROOT, 'policies'];
export const POLICY_VERSION = 1;
/** A book larger than this is refused when added to: each pass-back reads it. */
export const MAX_POLICIES = 200;
const MAX_NOTE_BYTES = 200;
/** Parts per million: 2% = 20 000 ppm, 0.25% = 2 500 ppm. */
const PPM = 1_000_000n;

/** A fixed amount, or a share of the downstream amount (rounded down to the msat). */
export type Share = { kind: 'fixed'; msat: Msat } | { kind: 'percent'; ppm: bigint };

export interface PassTo {
  id: NodeId;
  host?: string;
  port?: number;
}

export interface Policy {
  id: string;
  /** The node whose pass-backs this policy joins (the next payee). */
  from: NodeId;
  payout: Share;
  feeBudget: Share;
  delayBudget: number;
  /** Where our own invoice goes once joined (the previous payee, or the payer's node). */
  passTo?: PassTo;
  /** Bounds on the downstream amount (what the next payee asks). */
  minAmountMsat?: Msat;
  maxAmountMsat?: Msat;
  /** Unix seconds after which the policy joins nothing. */
  expiresAt?: number;
  note?: string;
  createdAt: number;
}

export interface PolicyBook {
  version: 1;
  policies: Policy[];
}

export const EMPTY_BOOK: PolicyBook = { version: 1, policies: [] };

/** "2%", "0.25%" or an amount ("5000sat"). */
export function parseShare(text: string, flag: string, options: { allowZero?: boolean } = {}): Result<Share> {
  const t = text.trim();
  // Any number of digits, so that "150%" and "1000%" are both "more than 100%", not "not a percentage".
  const pct = /^(\d+)(?:\.(\d{1,4}))?\s*%$/.exec(t);
  if (pct) {
    const whole = (pct[1] ?? '0').replace(/^0+(?=\d)/, '');
    const ppm = whole.length > 3 ? PPM + 1n : BigInt(whole) * 10_000n + BigInt((pct[2] ?? '').padEnd(4, '0'));
    if (ppm > PPM) return err(`${flag} ${t} is more than 100%`);
    if (ppm === 0n && !options.allowZero) return err(`${flag} ${t} is zero`);
    return ok({ kind: 'percent', ppm });
  }
  if (t.includes('%')) return err(`${flag} "${t}" is not a percentage: use e.g. 2% or 0.25% (at most 4 decimals)`);
  const a = parseAmount(t, { allowZero: options.allowZero ?? false });
  if (!a.ok) return err(`${flag}: ${a.error}`);
  return ok({ kind: 'fixed', msat: a.value });
}

/** The share in msat of a downstream amount (a percentage is rounded down). */
export function shareOf(share: Share, downstreamMsat: Msat): Msat {
  return share.kind === 'fixed' ? share.msat : msat((downstreamMsat * share.ppm) / PPM);
}

export function formatShare(share: Share): string {
  if (share.kind === 'fixed') return formatAmount(share.msat);
  const whole = share.ppm / 10_000n;
  const frac = (share.ppm % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''}%`;
}

/** What `rdv policy add` was given, as text. */
export interface PolicyInput {
  from: string;
  payout: string;
  feeBudget: string;
  delayBudget: string;
  passTo?: string;
  maxAmount?: string;
  minAmount?: string;
  expires?: string;
  note?: string;
}

/** "id", "id@host", "id@host:port", "id@[::1]:port": --pass-to, and rdv pass-back's --to. */
export function parsePassTo(text: string, flag = '--pass-to'): Result<PassTo> {
  const m = /^([0-9a-fA-F]{66})(?:@(\[[^\]]+\]|[^:@\s]+)(?::(\d{1,5}))?)?$/.exec(text.trim());
  const id = m?.[1]?.toLowerCase();
  if (!m || !id || !isNodeId(id)) return err(`${flag} "${text}" is not a node id (66 hex digits), optionally with @host[:port]`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return err(`${flag}: port ${m[3]} is out of range`);
  const host = m[2]?.replace(/^\[|\]$/g, '');
  return ok({ id, ...(host !== undefined ? { host } : {}), ...(port !== undefined ? { port } : {}) });
}

/**
 * A new policy from what the operator typed, or why it can never be met. `self`
 * is this node (a policy from or to itself is a mistake); undefined checks
 * everything else, so a command can refuse bad input before it reaches the node.
 * `now` dates it.
 */
export function newPolicy(input: PolicyInput, ctx: { id: string; self: NodeId | undefined; now: number; safetyMargin?: number }): Result<Policy> {
  const from = input.from.trim().toLowerCase();
  if (!isNodeId(from)) return err(`--from "${input.from}" is not a node id (66 hex digits)`);
  if (from === ctx.self) return err('--from is this node itself: give the next payee\'s node id');
  const payout = parseShare(input.payout, '--payout');
  if (!payout.ok) return payout;
  const fee = parseShare(input.feeBudget, '--fee-budget', { allowZero: true });
  if (!fee.ok) return fee;
  const delay = parseBlocks(input.delayBudget, '--delay-budget');
  if (!delay.ok) return delay;
  const safety = ctx.safetyMargin ?? DEFAULT_SAFETY_MARGIN;
  if (delay.value <= safety + BLOCK_ALLOWANCE) {
    return err(`--delay-budget ${delay.value} can never be met: it must exceed the safety margin (${safety}) plus ${BLOCK_ALLOWANCE} blocks for xpay's retries, and cover the route's CLTV deltas too; give at least ${safety + BLOCK_ALLOWANCE + 1}`);
  }
  const policy: Policy = { id: ctx.id, from, payout: payout.value, feeBudget: fee.value, delayBudget: delay.value, createdAt: ctx.now };
  if (input.passTo !== undefined) {
    const to = parsePassTo(input.passTo);
    if (!to.ok) return to;
    if (to.value.id === ctx.self) return err('--pass-to is this node itself: give the previous payee\'s (or the payer\'s) node id');
    if (to.value.id === from) return err('--pass-to is the --from node: our invoice goes to the payee before us, not back to the next one');
    policy.passTo = to.value;
  }
  for (const [flag, text, field] of [['--min-amount', input.minAmount, 'minAmountMsat'], ['--max-amount', input.maxAmount, 'maxAmountMsat']] as const) {
    if (text === undefined) continue;
    const a = parseAmount(text);
    if (!a.ok) return err(`${flag}: ${a.error}`);
    policy[field] = a.value;
  }
  if (policy.minAmountMsat !== undefined && policy.maxAmountMsat !== undefined && policy.minAmountMsat > policy.maxAmountMsat) {
    return err(`--min-amount ${formatAmount(policy.minAmountMsat)} is more than --max-amount ${formatAmount(policy.maxAmountMsat)}: no pass-back could meet the policy`);
  }
  if (input.expires !== undefined) {
    const d = parseDuration(input.expires, '--expires');
    if (!d.ok) return d;
    if (d.value <= 0) return err('--expires must be a positive duration, e.g. 30d');
    policy.expiresAt = ctx.now + d.value;
  }
  if (input.note !== undefined) {
    if (Buffer.byteLength(input.note) > MAX_NOTE_BYTES) return err(`--note is longer than ${MAX_NOTE_BYTES} bytes`);
    policy.note = input.note;
  }
  // A fixed fee budget over a fixed maximum amount would be refused by every join.
  if (policy.feeBudget.kind === 'fixed' && policy.maxAmountMsat !== undefined && policy.feeBudget.msat > policy.maxAmountMsat) {
    return err(`--fee-budget ${formatAmount(policy.feeBudget.msat)} is more than --max-amount: rdv join refuses a fee budget above the downstream amount`);
  }
  return ok(policy);
}

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

export interface PolicyValues {
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
  delayBudget: number;
}

/**
 * The budgets this policy gives a pass-back of `downstreamMsat`, or why it does not
 * apply (the checks rdv join makes come after, on these values).
 */
export function policyValues(p: Policy, downstreamMsat: Msat | undefined, now: number): Result<PolicyValues> {
  if (p.expiresAt !== undefined && p.expiresAt <= now) return err(`policy ${p.id} expired`);
  if (downstreamMsat === undefined) return err(`policy ${p.id} joins only invoices with an amount`);
  if (p.minAmountMsat !== undefined && downstreamMsat < p.minAmountMsat) {
    return err(`${formatAmount(downstreamMsat)} is under policy ${p.id}'s minimum of ${formatAmount(p.minAmountMsat)}`);
  }
  if (p.maxAmountMsat !== undefined && downstreamMsat > p.maxAmountMsat) {
    return err(`${formatAmount(downstreamMsat)} is over policy ${p.id}'s maximum of ${formatAmount(p.maxAmountMsat)}`);
  }
  const payoutMsat = shareOf(p.payout, downstreamMsat);
  if (payoutMsat <= 0n) return err(`policy ${p.id}'s payout of ${formatShare(p.payout)} of ${formatAmount(downstreamMsat)} rounds down to nothing`);
  return ok({ payoutMsat, feeBudgetMsat: shareOf(p.feeBudget, downstreamMsat), delayBudget: p.delayBudget });
}

/** Why a route now does not fit the budgets, or undefined: rdv join warns, a policy refuses. */
export function routeProblem(route: RouteEstimate | undefined, v: PolicyValues, safetyMargin: number, payee: NodeId): string | undefined {
  if (!route) return `no route to the next payee (${shortHash(payee)}…) is known now`;
  if (route.feeMsat > v.feeBudgetMsat) return `the route to the next payee costs ${formatAmount(route.feeMsat)} in fees, over the fee budget of ${formatAmount(v.feeBudgetMsat)}`;
  const room = routeDelayRoom(v.delayBudget, safetyMargin);
  if (route.delayBlocks > room) return `the route to the next payee needs ${route.delayBlocks} blocks of CLTV, more than the ${room} the delay budget of ${v.delayBudget} leaves after the safety margin`;
  return undefined;
}

// --- stored form ---------------------------------------------------------------

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
  };
}
