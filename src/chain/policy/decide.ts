/**
 * The decision for one pass-back under a policy: its payout and budgets for the
 * downstream amount, whether its --from node is within the policy's bounds now
 * (admitJoin: open relays, joins a minute, deliveries, the description), and whether a
 * route fits the budgets.
 */
import { formatAmount, msat, type Msat } from '../amount.js';
import { routeDelayRoom, type RouteEstimate } from '../budget.js';
import { shortHash, type NodeId } from '../ids.js';
import { err, ok, type Result } from '../../errors.js';
import type { LastRecord, RelayRecord } from '../record.js';
import { type LastPolicy, type Policy, MAX_DELIVERIES, RATE_WINDOW_MS, isLastPolicy, policyBounds, shareOf, formatShare } from './policy.js';

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

/**
 * A wrap's budgets (lnproxy's API, rdv serve --wrap): with `routingMsat`, our
 * invoice is exactly the original amount plus routing_msat, as lnproxy's clients
 * check, so the policy's payout comes out of it and the rest is the fee budget;
 * without it, the policy's own `values`. Or why routing_msat is too little.
 */
export function wrapValues(values: PolicyValues, downstreamMsat: Msat, routingMsat: Msat | undefined): Result<PolicyValues> {
  if (routingMsat === undefined) return ok(values);
  const payout = values.payoutMsat;
  if (routingMsat <= payout) {
    return err(`routing_msat ${routingMsat} does not cover this relay's fee of ${formatAmount(payout)} for ${formatAmount(downstreamMsat)}: ask with more than ${payout} msat`);
  }
  return ok({ ...values, feeBudgetMsat: msat(routingMsat - payout) });
}

/** Why a last-payee policy does not answer a request for `askedMsat` (its bounds, both included), or undefined. */
export function lastAmountProblem(p: LastPolicy, askedMsat: Msat): string | undefined {
  if (p.minAmountMsat !== undefined && askedMsat < p.minAmountMsat) return `${formatAmount(askedMsat)} is under policy ${p.id}'s minimum of ${formatAmount(p.minAmountMsat)}`;
  if (p.maxAmountMsat !== undefined && askedMsat > p.maxAmountMsat) return `${formatAmount(askedMsat)} is over policy ${p.id}'s maximum of ${formatAmount(p.maxAmountMsat)}`;
  return undefined;
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
 * join reaches a policy (a pass-back, or an invoice request, which a last-payee
 * policy answers with an invoice of its own) comes through here. The amounts and
 * the route are checked after (policyValues, routeProblem). `delivers`: our
 * invoice then goes to --pass-to (a pass-back's join does; a request's answer is
 * its delivery).
 */
export function admitJoin(p: Policy | LastPolicy, load: PolicyLoad, nowMs: number, delivers = !isLastPolicy(p) && p.passTo !== undefined): Result<void> {
  const last = isLastPolicy(p);
  const maxOpen = last ? p.maxUnpaid : policyBounds(p).maxOpen;
  const maxPerMinute = last ? p.maxPerMinute : policyBounds(p).maxPerMinute;
  if (load.open >= maxOpen) {
    return err(
      last
        ? `${load.open} invoices it made are unpaid, its limit (--max-unpaid ${maxOpen}): try again when one is paid or expires`
        : `${load.open} relays it joined are open and unpaid, its limit (--max-open ${maxOpen}): try again when one is paid or expires`,
    );
  }
  const recent = joinsInWindow(load.recentJoinsMs, nowMs);
  if (recent.length >= maxPerMinute) {
    const freeAt = Math.min(...recent) + RATE_WINDOW_MS;
    return err(`${recent.length} ${last ? 'requests' : 'joins'} began in the last minute, its limit (--max-per-minute ${maxPerMinute}): try again in ${Math.max(1, Math.ceil((freeAt - nowMs) / 1000))} s`);
  }
  if (delivers && load.deliveries >= MAX_DELIVERIES) {
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

/**
 * Invoices a last-payee policy made that may still be paid: its records whose
 * invoice has not expired at `now` (Unix seconds) and is not known to be paid.
 */
export function unpaidMadeBy(records: Iterable<LastRecord>, policyId: string, now: number, paid: ReadonlySet<string>): LastRecord[] {
  const out: LastRecord[] = [];
  for (const r of records) if (r.policy === policyId && r.expiresAt > now && !paid.has(r.paymentHash)) out.push(r);
  return out;
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
