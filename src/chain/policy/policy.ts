/**
 * Relay policies (`rdv policy`): "when <node> passes back an invoice, join it with
 * these budgets and pass ours on to <node>"; the same policy answers that node's
 * invoice requests (on-demand chains) by asking the next payee. Last-payee policies
 * (`rdv policy add --last --for <node>`) answer a node's requests with a normal
 * invoice. Pure. This file is the vocabulary: a policy, its shares (fixed or a
 * percentage of the downstream amount) and its bounds (what its --from node, or the
 * node a last-payee policy is for, may make us do). The rest, by what a reader comes for:
 *   input.ts   what the operator types (rdv policy add), checked before the node is asked
 *   book.ts    the stored book: one versioned datastore entry, written by compare-and-swap
 *   decide.ts  the decision for one pass-back: its values, its bounds (admitJoin), its route
 *   asked.ts   a request's arithmetic: the downstream amount for an invoice of exactly the asked amount
 * The join itself is the same code as `rdv join`'s (src/rpc/join-relay.ts).
 */
import { formatAmount, msat, type Msat } from '../amount.js';
import { shortHash, type NodeId } from '../ids.js';
import { MIN_EXPIRY_SECONDS } from '../invoice.js';
import { KEY_ROOT, type DownstreamSource } from '../record.js';

/** The whole book is one entry: add and remove are one compare-and-swap write each. */
export const POLICY_KEY: readonly string[] = [...KEY_ROOT, 'policies'];
export const POLICY_VERSION = 1;
/** A book larger than this is refused when added to: each pass-back reads it. */
export const MAX_POLICIES = 200;
export const MAX_NOTE_BYTES = 200;
/** Parts per million: 2% = 20 000 ppm, 0.25% = 2 500 ppm. */
export const PPM = 1_000_000n;

/** A fixed amount, or a share of the downstream amount (rounded down to the msat). */
export type Share = { kind: 'fixed'; msat: Msat } | { kind: 'percent'; ppm: bigint };

export interface PassTo {
  id: NodeId;
  host?: string;
  port?: number;
}

/**
 * A next payee that runs no rdv: its invoice is pulled for the exact downstream
 * amount, from a BOLT 12 offer (CLN's fetchinvoice) or a Lightning Address
 * (LUD-16, then LUD-06), when a request reaches the policy.
 */
export type PullSource = DownstreamSource;

export interface Policy {
  id: string;
  /** The node whose pass-backs this policy joins (the next payee), and asks for invoices; absent when the next payee is pulled from (`pull`). */
  from?: NodeId;
  /** Instead of --from: the next payee's offer or Lightning Address, pulled from on a request. */
  pull?: PullSource;
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
export const RATE_WINDOW_MS = 60_000;

/** The bounds that apply to a policy: its own, the defaults for the rest. */
export function policyBounds(p: Policy): PolicyBounds {
  return { ...DEFAULT_POLICY_BOUNDS, ...p.bounds };
}

/**
 * A last payee's policy: "when <node> asks for an invoice, make a normal one for
 * the amount it asks, within these bounds". Stored in the same book with `kind: "last"`.
 */
export interface LastPolicy {
  kind: 'last';
  id: string;
  /** The node whose requests it answers (the payee before us). */
  for: NodeId;
  /** Bounds on the amount asked (our invoice's). */
  minAmountMsat?: Msat;
  maxAmountMsat?: Msat;
  /** Our invoices' description. */
  description: string;
  /** Our invoices' life, in seconds. */
  invoiceExpirySeconds: number;
  /** Invoices it made that are unpaid and unexpired at once; more requests are refused. */
  maxUnpaid: number;
  /** Requests it answers in any 60 seconds. */
  maxPerMinute: number;
  /** Unix seconds after which it answers nothing. */
  expiresAt?: number;
  note?: string;
  createdAt: number;
}

/** A last-payee policy's defaults: an hour to pay, and the bounds of a relay policy. */
export const DEFAULT_LAST_EXPIRY_SECONDS = 3_600;
/** What its options accept. */
export const LAST_LIMITS = {
  invoiceExpirySeconds: { min: MIN_EXPIRY_SECONDS, max: 30 * 86_400 },
  maxUnpaid: { min: 1, max: 10_000 },
  maxPerMinute: { min: 1, max: 1_000 },
} as const;
/** BOLT 11 allows 639 bytes of description. */
export const MAX_DESCRIPTION_BYTES = 639;

export interface PolicyBook {
  version: 1;
  /** Relay policies, in the order they were added. */
  policies: Policy[];
  /** Last-payee policies, in the order they were added. */
  lastPolicies: LastPolicy[];
}

export const EMPTY_BOOK: PolicyBook = { version: 1, policies: [], lastPolicies: [] };

export const isLastPolicy = (p: Policy | LastPolicy): p is LastPolicy => 'kind' in p && p.kind === 'last';

/** The most characters of an offer or address a policy keeps: as a record keeps them (src/chain/record-downstream.ts). */
export { MAX_ADDRESS_TEXT as MAX_ADDRESS_CHARS, MAX_OFFER_TEXT as MAX_OFFER_CHARS } from '../record-downstream.js';

/** The next payee, as an operator reads it: its node id, `address name@domain` or `offer lno1…`. */
export function nextPayeeText(p: Pick<Policy, 'from' | 'pull'>, short = false): string {
  if (p.pull?.kind === 'address') return `address ${p.pull.address}`;
  if (p.pull?.kind === 'offer') return `offer ${short ? `${p.pull.offer.slice(0, 12)}…` : p.pull.offer}`;
  const id = p.from ?? '?';
  return short ? `${shortHash(id)}…` : id;
}

/** Is a policy in force at `now` (Unix seconds)? */
export const isActive = (p: { expiresAt?: number }, now: number): boolean => p.expiresAt === undefined || p.expiresAt > now;

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
