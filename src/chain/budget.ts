import { formatAmount, msat, type Msat } from './amount.js';

/** Blocks kept between our outgoing HTLCs' expiry and our incoming ones' (CLN's cltv-delta). */
export const DEFAULT_SAFETY_MARGIN = 34;
/** Warn when our min_final_cltv passes this: wallets cap the total delay they accept. */
export const DEFAULT_CLTV_WARN = 432;
/** No HTLC may be locked for more than this (CLN's max-locktime-blocks). */
export const MAX_LOCKTIME_BLOCKS = 2016;
/** Room left in MAX_LOCKTIME_BLOCKS for the payer's route to the first payee. */
export const DEFAULT_ROUTE_ALLOWANCE = 144;
/** Extra blocks added to a suggested delay budget on top of route and margin. */
export const SUGGESTED_DELAY_SLACK = 6;
/** Blocks a relay lets xpay see found while it retries (after that, no new attempts). */
export const RETRY_BLOCKS = 2;
/**
 * Blocks a relay keeps between maxdelay and the safety margin: xpay puts each
 * attempt's expiry at blockheight + 1 + its route's delay, and blocks may be found
 * while it retries (RETRY_BLOCKS).
 */
export const BLOCK_ALLOWANCE = 1 + RETRY_BLOCKS;

export interface BudgetInput {
  downstreamMsat: Msat;
  downstreamMinFinalCltv: number;
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
  delayBudgetBlocks: number;
  safetyMarginBlocks: number;
  cltvWarnBlocks: number;
  routeAllowanceBlocks: number;
  /** Sum of CLTV deltas of the best known route downstream, when known. */
  routeDelayBlocks: number | undefined;
  /** Who set the downstream invoice, for messages ("Carol's invoice", or a node id). */
  downstreamName: string;
}

export interface BudgetPlan {
  amountMsat: Msat;
  minFinalCltv: number;
  /** Largest min_final_cltv we accept: MAX_LOCKTIME_BLOCKS - route allowance. */
  cltvLimit: number;
  warnings: string[];
}

export type BudgetProblem = { field: 'payout' | 'fee' | 'delay' | 'safety'; message: string };

/**
 * Our invoice's amount and min_final_cltv from the downstream invoice and our budgets,
 * with every consistency check. Pure.
 */
export function planBudget(input: BudgetInput): { plan: BudgetPlan } | { problem: BudgetProblem } {
  const {
    downstreamMsat,
    downstreamMinFinalCltv,
    payoutMsat,
    feeBudgetMsat,
    delayBudgetBlocks: delay,
    safetyMarginBlocks: safety,
  } = input;
  if (payoutMsat <= 0n) return { problem: { field: 'payout', message: 'payout must be positive' } };
  if (feeBudgetMsat < 0n) return { problem: { field: 'fee', message: 'fee budget cannot be negative' } };
  if (feeBudgetMsat > downstreamMsat) {
    return {
      problem: {
        field: 'fee',
        message: `fee budget ${formatAmount(feeBudgetMsat)} is more than the downstream amount ${formatAmount(downstreamMsat)}: lower it`,
      },
    };
  }
  if (!Number.isInteger(safety) || safety < 6 || safety > 1000) {
    return { problem: { field: 'safety', message: 'safety margin must be a whole number of blocks from 6 to 1000' } };
  }
  if (!Number.isInteger(delay) || delay < 0) {
    return { problem: { field: 'delay', message: 'delay budget must be a whole number of blocks' } };
  }
  if (delay <= safety + BLOCK_ALLOWANCE) {
    return {
      problem: {
        field: 'delay',
        message: `delay budget ${delay} blocks does not exceed the safety margin (${safety}) plus ${BLOCK_ALLOWANCE} blocks for xpay's retries: it must cover those plus the route's CLTV deltas; raise it to at least ${safety + BLOCK_ALLOWANCE + 1}`,
      },
    };
  }
  const cltvLimit = MAX_LOCKTIME_BLOCKS - input.routeAllowanceBlocks;
  const minFinalCltv = downstreamMinFinalCltv + delay;
  if (minFinalCltv > cltvLimit) {
    const room = cltvLimit - downstreamMinFinalCltv;
    const message =
      room > safety + BLOCK_ALLOWANCE
        ? `min_final_cltv would be ${minFinalCltv} blocks, over the limit of ${cltvLimit} (${MAX_LOCKTIME_BLOCKS} minus ${input.routeAllowanceBlocks} for the payer's route): lower your delay budget to at most ${room}`
        : `${input.downstreamName} already asks for min_final_cltv ${downstreamMinFinalCltv} blocks, leaving no room under the limit of ${cltvLimit}: ask them to lower their delay budget`;
    return { problem: { field: 'delay', message } };
  }
  const warnings: string[] = [];
  if (minFinalCltv > input.cltvWarnBlocks) {
    warnings.push(
      `min_final_cltv ${minFinalCltv} blocks is over ${input.cltvWarnBlocks}: some wallets refuse to lock funds that long; consider a smaller delay budget${
        downstreamMinFinalCltv > input.cltvWarnBlocks / 2 ? ` (${input.downstreamName} already asks for ${downstreamMinFinalCltv})` : ''
      }`,
    );
  }
  if (input.routeDelayBlocks !== undefined && input.routeDelayBlocks > routeDelayRoom(delay, safety)) {
    warnings.push(
      `delay budget ${delay} blocks is less than the safety margin (${safety}), xpay's ${BLOCK_ALLOWANCE} blocks and the current route's CLTV deltas (${input.routeDelayBlocks}): the relay may have to fail payments back`,
    );
  }
  if (feeBudgetMsat * 20n > downstreamMsat) {
    warnings.push(`fee budget ${formatAmount(feeBudgetMsat)} is more than 5% of the downstream amount`);
  }
  return {
    plan: { amountMsat: msat(downstreamMsat + payoutMsat + feeBudgetMsat), minFinalCltv, cltvLimit, warnings },
  };
}

/** The CLTV deltas a route downstream may add under this delay budget: what the safety margin and xpay's allowance leave. */
export function routeDelayRoom(delayBudgetBlocks: number, safetyMarginBlocks: number): number {
  return delayBudgetBlocks - safetyMarginBlocks - BLOCK_ALLOWANCE;
}

/** A route estimate: what it costs and how much CLTV it needs to reach the downstream payee. */
export interface RouteEstimate {
  feeMsat: Msat;
  delayBlocks: number;
}

/** Suggested fee budget: twice the route fee plus 1 sat (routes change), at least 1 sat. */
export function suggestFeeBudget(route: RouteEstimate | undefined, downstreamMsat: Msat): Msat {
  if (!route) {
    // No route known: 0.5% plus 1 sat, a common routing budget.
    return msat(downstreamMsat / 200n + 1_000n);
  }
  return msat(route.feeMsat * 2n + 1_000n);
}

/** Suggested delay budget: route CLTV deltas + safety margin + xpay's allowance + a little slack. */
export function suggestDelayBudget(route: RouteEstimate | undefined, safetyMarginBlocks: number): number {
  const routeDelay = route?.delayBlocks ?? 40;
  return routeDelay + safetyMarginBlocks + BLOCK_ALLOWANCE + SUGGESTED_DELAY_SLACK;
}

/**
 * The maxdelay a relay may give xpay: blocks until our earliest incoming HTLC expires,
 * minus `reserveBlocks` (the safety margin and xpay's block allowance). Negative or
 * too small means "do not pay".
 */
export function outgoingMaxDelay(earliestIncomingExpiry: number, blockheight: number, reserveBlocks: number): number {
  return earliestIncomingExpiry - blockheight - reserveBlocks;
}
