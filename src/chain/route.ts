/** Route cost from an invoice's route hints, for fee and delay suggestions. Pure. */
import { msat, type Msat } from './amount.js';
import type { RouteHintHop } from './bolt11.js';
import type { RouteEstimate } from './budget.js';
import type { NodeId } from './ids.js';

export interface HintLeg extends RouteEstimate {
  /** Where the hinted part starts: we still need a route from us to here (none if it is us). */
  entry: NodeId;
  /** Amount that must reach `entry`. */
  entryAmountMsat: Msat;
}

/**
 * For each hinted route, what its hops cost to deliver `amount` to the payee. A
 * hop we run ourselves costs nothing (we are the sender there), so a hint that
 * passes through us starts at us. Cheapest first.
 */
export function hintLegs(hints: RouteHintHop[][], us: NodeId, amount: Msat): HintLeg[] {
  const legs: HintLeg[] = [];
  for (const route of hints) {
    const ours = route.findIndex((h) => h.pubkey === us);
    const charged = ours === -1 ? route : route.slice(ours + 1);
    const entry = ours === -1 ? route[0]?.pubkey : us;
    if (entry === undefined) continue;
    let amt = amount as bigint;
    let delay = 0;
    for (let i = charged.length - 1; i >= 0; i--) {
      const hop = charged[i];
      if (!hop) continue;
      amt += BigInt(hop.feeBaseMsat) + (amt * BigInt(hop.feeProportionalMillionths)) / 1_000_000n;
      delay += hop.cltvExpiryDelta;
    }
    legs.push({ entry, entryAmountMsat: msat(amt), feeMsat: msat(amt - amount), delayBlocks: delay });
  }
  return legs.sort((a, b) => (a.feeMsat < b.feeMsat ? -1 : a.feeMsat > b.feeMsat ? 1 : a.delayBlocks - b.delayBlocks));
}

/** Join a route to the hint's entry with the hinted leg. */
export function addLegs(toEntry: RouteEstimate, leg: RouteEstimate): RouteEstimate {
  return { feeMsat: msat(toEntry.feeMsat + leg.feeMsat), delayBlocks: toEntry.delayBlocks + leg.delayBlocks };
}
