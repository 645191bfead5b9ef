/**
 * The first attempt onward by sendpay (src/chain/first-attempt.ts): planned
 * while "gathered" is written (lightningd's decode for the invoice's secret;
 * the route: one hop when the next payee is our channel peer, else askrene's
 * getroutes), sent once the machine says pay. Its
 * answer is either the attempt's end (a preimage, or a failure rdv cannot call
 * definite: rule 5 then reads listsendpays) or "xpay next": nothing was sent,
 * or lightningd says the part failed and no HTLC of it is left.
 */
import { firstRoute, type FoundRoute } from '../../chain/first-attempt.js';
import type { Msat } from '../../chain/amount.js';
import type { NodeId, PaymentHash } from '../../chain/ids.js';
import { downstreamInvoiceKind } from '../../chain/record.js';
import type { RelayRecord } from '../../chain/record.js';
import type { Effect, PayResult } from '../../chain/relay/types.js';
import type { ChannelIds } from '../../rpc/channels.js';
import type { FirstPlan, RunnerDeps } from './entry.js';
import { GossipCache } from './gossip-cache.js';

export class FirstAttempts {
  private readonly gossip: GossipCache;
  private readonly random: () => number;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly channels: ChannelIds,
  ) {
    this.random = deps.random ?? Math.random;
    this.gossip = new GossipCache((node) => deps.node.gossipChannelsFrom(node), () => deps.clock.now(), this.random);
  }

  /** Ask what the attempt needs, for a BOLT 11 downstream invoice (xpay pays BOLT 12 ones); undefined when it cannot be had. */
  plan(record: RelayRecord): Promise<FirstPlan | undefined> | undefined {
    if (downstreamInvoiceKind(record.downstreamInvoice) !== 'bolt11') return undefined;
    const { node, selfId } = this.deps;
    const invoice = node.sendpayInvoice(record.downstreamInvoice);
    // The next payee is our channel peer (as payees who pass invoices back often are): one
    // hop over our channel, no fee, and no getroutes (askrene reads listpeerchannels, every
    // HTLC in flight, for each one). lightningd picks the best channel with the peer.
    const direct = this.channels.cachedWith(record.downstreamPayee);
    const routes = direct ? Promise.resolve([directRoute(direct.scid ?? direct.localAlias ?? '', direct.direction ?? 0, record.downstreamPayee, record.downstreamAmountMsat, record.downstreamMinFinalCltv)]) : node.findRoutes({ source: selfId, destination: record.downstreamPayee, amountMsat: record.downstreamAmountMsat, finalCltv: record.downstreamMinFinalCltv, maxfeeMsat: record.feeBudgetMsat });
    // Over one hop too, as xpay does: the payee's final HTLC then often has blocks to spare
    // beyond its invoice's final CLTV (10 on regtest, 18 on mainnet) if we and it lose touch.
    const shadow = this.shadowWalk(record.downstreamPayee);
    return Promise.all([invoice, routes, shadow]).then(
      ([i, r, s]) => (i && r ? { invoice: i, routes: r, shadow: s } : undefined),
      (e: unknown) => {
        this.deps.log('debug', `${record.paymentHash.slice(0, 8)}: no first attempt by sendpay (${(e as Error).message})`);
        return undefined;
      },
    );
  }

  /** Send the attempt; its end, or undefined when xpay is to pay (nothing of this attempt can still succeed). */
  async send(record: RelayRecord, pay: Extract<Effect, { type: 'pay' }>, plan: FirstPlan): Promise<PayResult | undefined> {
    const { node, log } = this.deps;
    const label = record.paymentHash.slice(0, 8);
    const route = firstRoute(plan.routes, { payee: record.downstreamPayee, amountMsat: record.downstreamAmountMsat, maxfeeMsat: pay.maxfeeMsat, maxdelay: pay.maxdelay, shadow: plan.shadow });
    if (!route.ok) {
      log('debug', `${label}: xpay pays: ${route.error}`);
      return undefined;
    }
    const hash = record.paymentHash as PaymentHash;
    const start = await node.sendpay({ hops: route.value.hops, paymentHash: hash, amountMsat: record.downstreamAmountMsat, invoice: plan.invoice, bolt11: pay.invstring });
    if (!start.sent) {
      const { sent: _, ...result } = start;
      if (result.ok || !result.definite) return result;
      log('info', `${label}: sendpay refused (${result.message}): xpay pays`);
      return undefined;
    }
    log('debug', `${label}: first attempt sent by sendpay: ${route.value.hops.length} hop(s), fee ${route.value.feeMsat} msat, delay ${route.value.delay} (shadow ${route.value.shadow})`);
    const result = await node.waitsendpay(hash, start.groupid);
    if (result.ok || !result.definite) return result;
    log('info', `${label}: the first attempt failed (${result.message}): xpay pays`);
    return undefined;
  }

  /**
   * BOLT 7's random walk from the payee, as xpay takes it for its shadow CLTV
   * (add_cltv_shadow): before each of up to three steps a coin flip, then a
   * channel gossip knows (gossip-cache.ts), picked at random. Its CLTV deltas,
   * in order; what gossip cannot say ends the walk.
   */
  private async shadowWalk(payee: NodeId): Promise<number[]> {
    const deltas: number[] = [];
    let at = payee;
    for (let step = 0; step < 3 && this.random() >= 0.5; step++) {
      const channels = await this.gossip.channelsOf(at).catch(() => undefined);
      const channel = channels?.[Math.floor(this.random() * channels.length)];
      if (!channel) break;
      deltas.push(channel.delay);
      at = channel.destination;
    }
    return deltas;
  }
}

/** One hop over our own channel to the payee: what getroutes gives for it under auto.sourcefree. */
function directRoute(channel: string, direction: number, payee: RelayRecord['downstreamPayee'], amountMsat: Msat, finalCltv: number): FoundRoute {
  return { amountMsat, path: [{ shortChannelIdDir: `${channel}/${direction}`, nodeIdOut: payee, amountInMsat: amountMsat, amountOutMsat: amountMsat, cltvIn: finalCltv, cltvOut: finalCltv }] };
}
