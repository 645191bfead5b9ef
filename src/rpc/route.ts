/** The route check of `rdv join`, shared with `rdv doctor`: what paying the next payee costs from our node now. */
import type { Msat } from '../chain/amount.js';
import type { Invoice } from '../chain/bolt11.js';
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
