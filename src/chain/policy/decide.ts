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
import { MIN_EXPIRY_SECONDS } from './invoice.js';
import { KEY_ROOT, type RelayRecord } from './record.js';

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
  /** What its joins may cost this node: absent fields (a book written before them) take DEFAULT_POLICY_BOUNDS. */
  bounds?: Partial<PolicyBounds>;
}

/**
 * What a policy's --from node can make this node do. Each join costs a record, an
 * entry the plugin keeps in memory and reads at every start, a look per block, a
 * route query, a signature over a description the sender chose, and a delivery of
 * our invoice: without bounds, one peer could make unlimited relays that live as
 * long as its invoices say (years).
 */
export interface PolicyBounds {
  /** Relays joined by the policy that are open (unpaid, unexpired) at once. */
  maxOpen: number;
  /** Joins begun in any 60 seconds. */
  maxPerMinute: number;
  /** Our invoice's life at most, in seconds (less when the downstream invoice expires sooner). */
  maxInvoiceLifeSeconds: number;
  /** The downstream invoice's description, which our node signs too, in UTF-8 bytes. */
  maxDescriptionBytes: number;
}

/**
 * A marketplace's day: a hundred checkouts awaiting payment, one every two seconds
 * at peak, an hour to pay, a product line for a description.
 */
export const DEFAULT_POLICY_BOUNDS: PolicyBounds = { maxOpen: 100, maxPerMinute: 30, maxInvoiceLifeSeconds: 3_600, maxDescriptionBytes: 200 };
/** What the options accept. BOLT 11 allows 639 bytes of description. */
export const POLICY_BOUND_LIMITS = {
  maxOpen: { min: 1, max: 10_000 },
  maxPerMinute: { min: 1, max: 1_000 },
  maxInvoiceLifeSeconds: { min: MIN_EXPIRY_SECONDS, max: 30 * 86_400 },
  maxDescriptionBytes: { min: 0, max: 639 },
} as const satisfies Record<keyof PolicyBounds, { min: number; max: number }>;
/** Deliveries of our invoices to --pass-to running at once, across the plugin: each holds a peer connection and a wait of up to 10 s. */
export const MAX_DELIVERIES = 8;
/** The window of --max-per-minute. */
const RATE_WINDOW_MS = 60_000;

/** The bounds that apply to a policy: its own, the defaults for the rest. */
export function policyBounds(p: Policy): PolicyBounds {
  return { ...DEFAULT_POLICY_BOUNDS, ...p.bounds };
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
  maxOpen?: string;
  maxPerMinute?: string;
  maxInvoiceLife?: string;
  maxDescription?: string;
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
  const bounds = parseBounds(input);
  if (!bounds.ok) return bounds;
  if (Object.keys(bounds.value).length > 0) policy.bounds = bounds.value;
  // A fixed fee budget over a fixed maximum amount would be refused by every join.
  if (policy.feeBudget.kind === 'fixed' && policy.maxAmountMsat !== undefined && policy.feeBudget.msat > policy.maxAmountMsat) {
    return err(`--fee-budget ${formatAmount(policy.feeBudget.msat)} is more than --max-amount: rdv join refuses a fee budget above the downstream amount`);
  }
  return ok(policy);
}

/** A whole number within `range`, for the options that take a count. */
function parseCount(text: string, flag: string, range: { min: number; max: number }): Result<number> {
  const m = /^\s*(\d{1,9})\s*$/.exec(text);
  if (!m) return err(`${flag} "${text}" is not a whole number`);
  const n = Number(m[1]);
  if (n < range.min || n > range.max) return err(`${flag} ${n} is out of range: give ${range.min} to ${range.max}`);
  return ok(n);
}

/** The bounds the operator gave (the others stay absent: the defaults apply). */
function parseBounds(input: PolicyInput): Result<Partial<PolicyBounds>> {
  const out: Partial<PolicyBounds> = {};
  const L = POLICY_BOUND_LIMITS;
  for (const [flag, text, field] of [['--max-open', input.maxOpen, 'maxOpen'], ['--max-per-minute', input.maxPerMinute, 'maxPerMinute'], ['--max-description', input.maxDescription, 'maxDescriptionBytes']] as const) {
    if (text === undefined) continue;
    const n = parseCount(text, flag, L[field]);
    if (!n.ok) return n;
    out[field] = n.value;
  }
  if (input.maxInvoiceLife !== undefined) {
    const d = parseDuration(input.maxInvoiceLife, '--max-invoice-life');
    if (!d.ok) return d;
    const { min, max } = L.maxInvoiceLifeSeconds;
    if (d.value < min || d.value > max) return err(`--max-invoice-life ${input.maxInvoiceLife.trim()} is out of range: give ${min} s to ${max / 86_400}d`);
    out.maxInvoiceLifeSeconds = d.value;
  }
  return ok(out);
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

/** What the plugin counts for one policy when a join by it is asked for. */
export interface PolicyLoad {
  /** Relays the policy joined that are open and unexpired, and its joins under way. */
  open: number;
  /** When its recent joins began (ms); those more than a minute old count for nothing. */
  recentJoinsMs: readonly number[];
  /** Deliveries of our invoices to --pass-to running now, across the plugin. */
  deliveries: number;
}

/** The joins of `recentJoinsMs` within the last minute at `nowMs`. */
export function joinsInWindow(recentJoinsMs: readonly number[], nowMs: number): number[] {
  return recentJoinsMs.filter((t) => t > nowMs - RATE_WINDOW_MS);
}

/**
 * May a join by `p` begin now, with this load? Ok, or why not, in words for the
 * sender. Checked before anything is asked of the node or written; every way a
 * join reaches a policy (a pass-back now, a request on demand later) comes through
 * here. The amounts and the route are checked after (policyValues, routeProblem).
 */
export function admitJoin(p: Policy, load: PolicyLoad, nowMs: number): Result<void> {
  const b = policyBounds(p);
  if (load.open >= b.maxOpen) {
    return err(`${load.open} relays it joined are open and unpaid, its limit (--max-open ${b.maxOpen}): try again when one is paid or expires`);
  }
  const recent = joinsInWindow(load.recentJoinsMs, nowMs);
  if (recent.length >= b.maxPerMinute) {
    const freeAt = Math.min(...recent) + RATE_WINDOW_MS;
    return err(`${recent.length} joins began in the last minute, its limit (--max-per-minute ${b.maxPerMinute}): try again in ${Math.max(1, Math.ceil((freeAt - nowMs) / 1000))} s`);
  }
  if (p.passTo !== undefined && load.deliveries >= MAX_DELIVERIES) {
    return err(`${load.deliveries} invoices are being passed on already, the most at once: try again in a few seconds`);
  }
  return ok(undefined);
}

/**
 * Why the downstream invoice's description is more than `p` lets the sender make
 * our node sign (our invoice carries the same description), or undefined. A
 * description hash is 32 bytes, whatever it commits to.
 */
export function descriptionProblem(p: Policy, description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  const bytes = Buffer.byteLength(description, 'utf8');
  const limit = policyBounds(p).maxDescriptionBytes;
  if (bytes <= limit) return undefined;
  return `the invoice's description is ${bytes} bytes, over the policy's limit of ${limit} (--max-description): pass back one with a shorter description`;
}

/** Relays joined by policy `policyId` that are open and whose invoice has not expired at `now` (Unix seconds). */
export function openJoinedBy(records: Iterable<RelayRecord>, policyId: string, now: number): number {
  let n = 0;
  for (const r of records) if (r.policy === policyId && r.state === 'open' && r.expiresAt > now) n++;
  return n;
}

/** Our invoice's life at most for a join by `p`: planOurInvoice makes it shorter still when the downstream one expires sooner. */
export function invoiceLifeCap(p: Policy): number {
  return policyBounds(p).maxInvoiceLifeSeconds;
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
