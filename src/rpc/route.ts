/** The route check of `rdv join`, shared with `rdv doctor`: what paying the next payee costs from our node now. */
import type { Msat } from '../chain/amount.js';
import type { Invoice } from '../chain/bolt11.js';
import { blindedPathFeeMsat, usablePaths, type Bolt12Invoice } from '../chain/bolt12.js';
import { msat } from '../chain/amount.js';
import type { RouteEstimate } from '../chain/budget.js';
import type { NodeId } from '../chain/ids.js';
import { addLegs, hintLegs } from '../chain/route.js';
import type { LightningNode } from './node.js';

/**
 * Best guess of what paying the downstream invoice costs in fees and CLTV from
 * our node: a route askrene finds to the payee, else one to the entry of one of
 * the invoice's route hints plus the hinted leg. Undefined when there is none.
 * Read-only (askrene getroutes).
 */
export async function estimateRoute(node: LightningNode, us: NodeId, inv: Invoice, amount: Msat): Promise<RouteEstimate | undefined> {
  const maxfeeMsat = (amount / 10n + 10_000n) as Msat;
  const direct = await node.estimateRoute({ source: us, destination: inv.payee, amountMsat: amount, finalCltv: inv.minFinalCltv, maxfeeMsat });
  if (direct) return direct;
  for (const leg of hintLegs(inv.routeHints, us, amount)) {
    if (leg.entry === us) return leg;
    const toEntry = await node.estimateRoute({
      source: us,
      destination: leg.entry,
      amountMsat: leg.entryAmountMsat,
      finalCltv: inv.minFinalCltv + leg.delayBlocks,
      maxfeeMsat,
    });
    if (toEntry) return addLegs(toEntry, leg);
  }
  return undefined;
}

/**
 * The same for a BOLT 12 invoice: a route to the start of one of its blinded
 * paths (cheapest path first), plus that path's fee. The delay is the route's
 * to the path's start: the path's own cltv_expiry_delta is the downstream
 * min_final_cltv equivalent (bolt12PathCosts), counted apart as for BOLT 11.
 * A path that starts at a channel end (first_scid) is skipped: xpay resolves
 * it from gossip; this estimate does not. Read-only.
 */
export async function estimateBolt12Route(node: LightningNode, us: NodeId, inv: Bolt12Invoice, amount: Msat): Promise<RouteEstimate | undefined> {
  const maxfeeMsat = (amount / 10n + 10_000n) as Msat;
  const paths = usablePaths(inv, amount)
    .map((p) => ({ p, feeMsat: blindedPathFeeMsat(p.payinfo, amount) }))
    .sort((a, b) => (a.feeMsat < b.feeMsat ? -1 : a.feeMsat > b.feeMsat ? 1 : 0));
  for (const { p, feeMsat } of paths) {
    if (p.introduction.kind !== 'node') continue;
    const leg: RouteEstimate = { feeMsat, delayBlocks: 0 };
    if (p.introduction.nodeId === us) return leg;
    const toEntry = await node.estimateRoute({ source: us, destination: p.introduction.nodeId, amountMsat: msat(amount + feeMsat), finalCltv: p.payinfo.cltvExpiryDelta, maxfeeMsat });
    if (toEntry) return addLegs(toEntry, leg);
  }
  return undefined;
}
