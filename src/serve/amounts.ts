/**
 * The amounts a Lightning Address offers (LUD-06 minSendable/maxSendable) and
 * the `amount` a wallet asks for. A request asks the chain for an invoice of
 * exactly the asked amount A; the first payee's policy turns it into the
 * downstream amount D with D + payout(D) + fee budget(D) = A, so the amounts
 * offered are the policy's D bounds mapped through its shares (a larger D
 * always makes a larger invoice), within rdv serve's own --min/--max-sendable. Pure.
 */
import { formatAmount, MAX_MSAT, msat, type Msat } from '../chain/amount.js';
import { PPM, shareOf, type Policy } from '../chain/policy/policy.js';
import { err, ok, type Result } from '../errors.js';

export interface SendableBounds {
  minMsat: Msat;
  maxMsat: Msat;
}

/** What our invoice comes to for a downstream amount D under this policy's shares. */
export function invoiceAmountFor(p: Policy, downstreamMsat: Msat): Msat {
  return msat(downstreamMsat + shareOf(p.payout, downstreamMsat) + shareOf(p.feeBudget, downstreamMsat));
}

/** The smallest D whose payout is at least 1 msat (a policy refuses a payout that rounds to nothing). */
function smallestPaidDownstream(p: Policy): Msat {
  if (p.payout.kind === 'fixed' || p.payout.ppm === 0n) return msat(1n);
  return msat((PPM + p.payout.ppm - 1n) / p.payout.ppm);
}

/**
 * The invoice amounts a request through `p` can be answered with now, within
 * `caps`; or why none can (the policy expired, or its bounds and the caps do not meet).
 */
export function sendableBounds(p: Policy, caps: SendableBounds, now: number): Result<SendableBounds> {
  if (p.expiresAt !== undefined && p.expiresAt <= now) return err(`policy ${p.id} has expired`);
  const lowD = p.minAmountMsat !== undefined && p.minAmountMsat > smallestPaidDownstream(p) ? p.minAmountMsat : smallestPaidDownstream(p);
  const lowest = invoiceAmountFor(p, lowD);
  const highest = p.maxAmountMsat === undefined ? MAX_MSAT : invoiceAmountFor(p, p.maxAmountMsat);
  const minMsat = lowest > caps.minMsat ? lowest : caps.minMsat;
  const maxMsat = highest < caps.maxMsat ? highest : caps.maxMsat;
  if (minMsat > maxMsat) {
    return err(`policy ${p.id} takes invoice amounts from ${formatAmount(lowest)} to ${formatAmount(highest)}, outside --min-sendable/--max-sendable (${formatAmount(caps.minMsat)} to ${formatAmount(caps.maxMsat)})`);
  }
  return ok({ minMsat, maxMsat });
}

/**
 * LUD-06's `amount` query parameter: millisatoshis as a decimal integer, within
 * the bounds offered. The reason is for the wallet's user.
 */
export function parseAskedAmount(text: string | undefined, bounds: SendableBounds): Result<Msat> {
  if (text === undefined || text === '') return err('amount is missing: give the amount in millisatoshis, e.g. ?amount=100000');
  if (!/^\d{1,19}$/.test(text)) return err('amount must be a whole number of millisatoshis');
  const asked = BigInt(text);
  if (asked < bounds.minMsat) return err(`amount ${asked} msat is below the minimum of ${bounds.minMsat} msat`);
  if (asked > bounds.maxMsat) return err(`amount ${asked} msat is above the maximum of ${bounds.maxMsat} msat`);
  return ok(msat(asked));
}
