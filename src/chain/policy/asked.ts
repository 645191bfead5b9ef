/**
 * A request's arithmetic (on-demand chains): the asker names the amount our invoice
 * must carry, and the policy's shares are of the downstream amount D. So D comes
 * from the asked amount: D + payout(D) + fee budget(D) = asked, a division when a
 * share is a percentage, rounded down to the msat; what the rounding leaves goes to
 * our payout, so our invoice is the asked amount exactly (LUD-06 wallets check it).
 * Pure.
 *
 * By example (DESIGN.md): asked 108,690,000 msat, payout 2%, fee budget 0.5%:
 * D = 108,690,000 / 1.025 = 106,039,024.39 -> 106,039,024 msat; 2% of it is
 * 2,120,780 msat, 0.5% is 530,195 msat; 1 msat is left, so the payout is 2,120,781.
 */
import { formatAmount, msat, type Msat } from '../amount.js';
import { err, ok, type Result } from '../../errors.js';
import { PPM, shareOf, formatShare, type Policy, type Share } from './policy.js';

/** What a request for an asked amount makes of a policy's shares: their sum is the asked amount, to the msat. */
export interface AskedSplit {
  /** What we ask the next payee's invoice to carry. */
  downstreamMsat: Msat;
  /** The policy's payout of D, plus the rounding remainder. */
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
}

const fixedOf = (s: Share): bigint => (s.kind === 'fixed' ? s.msat : 0n);
const ppmOf = (s: Share): bigint => (s.kind === 'percent' ? s.ppm : 0n);

/** The policy's fixed shares, and its percentages together, in ppm. */
function shares(p: Policy): { fixedMsat: bigint; ppm: bigint } {
  return { fixedMsat: fixedOf(p.payout) + fixedOf(p.feeBudget), ppm: ppmOf(p.payout) + ppmOf(p.feeBudget) };
}

/**
 * The downstream amount D for an invoice of exactly `askedMsat` under `policy`,
 * with its payout (the rounding remainder included) and fee budget; or why the
 * policy cannot serve that amount (too small to leave anything, a payout that
 * rounds to nothing, D outside the policy's bounds). Expiry is the caller's: a
 * policy is found only while it applies.
 */
export function downstreamForAsked(policy: Policy, askedMsat: Msat): Result<AskedSplit> {
  const { fixedMsat, ppm } = shares(policy);
  const asked = formatAmount(askedMsat);
  if (askedMsat <= fixedMsat) {
    return err(`${asked} leaves nothing for the next payee after policy ${policy.id}'s fixed shares of ${formatAmount(msat(fixedMsat))}: ask for more`);
  }
  const downstreamMsat = msat(((askedMsat - fixedMsat) * PPM) / (PPM + ppm));
  if (downstreamMsat <= 0n) return err(`${asked} is too small to leave anything for the next payee under policy ${policy.id}: ask for more`);
  const payoutShare = shareOf(policy.payout, downstreamMsat);
  const feeBudgetMsat = shareOf(policy.feeBudget, downstreamMsat);
  if (payoutShare <= 0n) return err(`policy ${policy.id}'s payout of ${formatShare(policy.payout)} of ${formatAmount(downstreamMsat)} rounds down to nothing: ask for more`);
  const left = `${asked} leaves ${formatAmount(downstreamMsat)} for the next payee`;
  if (policy.minAmountMsat !== undefined && downstreamMsat < policy.minAmountMsat) return err(`${left}, under policy ${policy.id}'s minimum of ${formatAmount(policy.minAmountMsat)}`);
  if (policy.maxAmountMsat !== undefined && downstreamMsat > policy.maxAmountMsat) return err(`${left}, over policy ${policy.id}'s maximum of ${formatAmount(policy.maxAmountMsat)}`);
  if (feeBudgetMsat > downstreamMsat) return err(`${left}, less than policy ${policy.id}'s fee budget of ${formatAmount(feeBudgetMsat)}: ask for more`);
  const remainder = askedMsat - downstreamMsat - payoutShare - feeBudgetMsat;
  // (asked - fixed) / (1 + ppm) rounded down, and each share rounded down: never over the asked amount.
  if (remainder < 0n) throw new Error(`bug: ${askedMsat} msat split into more than itself`);
  return ok({ downstreamMsat, payoutMsat: msat(payoutShare + remainder), feeBudgetMsat });
}

/**
 * The amounts our invoice may be asked for under `policy`: the least for which
 * downstreamForAsked leaves D within the policy's minimum (and a payout of at least
 * 1 msat, and D no less than a fixed fee budget), and the most within its maximum
 * (undefined: no maximum). What `rdv serve` offers as LNURL min/maxSendable.
 */
export function askedBounds(policy: Policy): { minAskedMsat: Msat; maxAskedMsat: Msat | undefined } {
  const { fixedMsat, ppm } = shares(policy);
  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
  let minD = policy.minAmountMsat ?? 1n;
  if (policy.payout.kind === 'percent' && policy.payout.ppm > 0n) minD = bigMax(minD, ceilDiv(PPM, policy.payout.ppm));
  if (policy.feeBudget.kind === 'fixed') minD = bigMax(minD, policy.feeBudget.msat);
  // D = floor((asked - fixed) * PPM / (PPM + ppm)) >= minD  <=>  asked >= fixed + ceil(minD * (PPM + ppm) / PPM).
  const minAskedMsat = msat(fixedMsat + ceilDiv(minD * (PPM + ppm), PPM));
  // D <= maxD  <=>  (asked - fixed) * PPM < (maxD + 1) * (PPM + ppm).
  const maxAskedMsat = policy.maxAmountMsat === undefined ? undefined : msat(fixedMsat + ceilDiv((policy.maxAmountMsat + 1n) * (PPM + ppm), PPM) - 1n);
  return { minAskedMsat, maxAskedMsat };
}

const bigMax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
