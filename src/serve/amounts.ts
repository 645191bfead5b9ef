/**
 * The amounts a Lightning Address offers (LUD-06 minSendable/maxSendable) and
 * the `amount` a wallet asks for. A request asks the chain for an invoice of
 * exactly the asked amount; the plugin's arithmetic (src/chain/policy/asked.ts
 * downstreamForAsked) decides which amounts a policy serves, so the amounts
 * offered are exactly its askedBounds, within rdv serve's own
 * --min-sendable/--max-sendable: every amount offered is one the chain's first
 * payee accepts. Pure.
 */
import { formatAmount, MAX_MSAT, msat, type Msat } from '../chain/amount.js';
import { askedBounds } from '../chain/policy/asked.js';
import type { Policy } from '../chain/policy/policy.js';
import { err, ok, type Result } from '../errors.js';

export interface SendableBounds {
  minMsat: Msat;
  maxMsat: Msat;
}

/**
 * The invoice amounts a request through `p` can be answered with, within `caps`;
 * or why none can (the policy's bounds leave no amount, or they and the caps do
 * not meet). Whether `p` applies now (its expiry) is the caller's: see viaPolicy.
 */
export function sendableBounds(p: Policy, caps: SendableBounds): Result<SendableBounds> {
  const { minAskedMsat, maxAskedMsat } = askedBounds(p);
  const highest = maxAskedMsat ?? MAX_MSAT;
  if (highest < minAskedMsat) return err(`policy ${p.id}'s bounds and shares leave no amount it can be asked for (see rdv policy list)`);
  const minMsat = minAskedMsat > caps.minMsat ? minAskedMsat : caps.minMsat;
  const maxMsat = highest < caps.maxMsat ? highest : caps.maxMsat;
  if (minMsat > maxMsat) {
    return err(`policy ${p.id} takes invoice amounts from ${formatAmount(minAskedMsat)} to ${formatAmount(highest)}, outside --min-sendable/--max-sendable (${formatAmount(caps.minMsat)} to ${formatAmount(caps.maxMsat)})`);
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
