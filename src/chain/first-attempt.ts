/**
 * The first attempt onward without xpay: a route askrene found while "gathered"
 * was being written, sent by lightningd's `sendpay` the moment the record is
 * durable. It skips what xpay does before its first HTLC (the plugin hop, the
 * invoice's decode and preapproval, getroutes, askrene-reserve, the onion in
 * the plugin): about 3 ms a relay on regtest (bench/latency.bench.ts's
 * relay-turnaround). xpay stays for everything else: a failed first attempt,
 * a later attempt, a payment askrene splits, a BOLT 12 invoice. Pure.
 */
import type { Msat } from './amount.js';
import type { NodeId } from './ids.js';
import { err, ok, type Result } from '../errors.js';

/** One hop of a getroutes route, as askrene gives it (v26.06 names). */
export interface FoundHop {
  shortChannelIdDir: string;
  nodeIdOut: NodeId;
  amountInMsat: Msat;
  amountOutMsat: Msat;
  cltvIn: number;
  cltvOut: number;
}

export interface FoundRoute {
  /** Delivered to the destination. */
  amountMsat: Msat;
  path: FoundHop[];
}

/** One hop as sendpay takes it: the node at the end of the hop, the amount it receives and the CLTV delta above the height it expects. */
export interface SendpayHop {
  id: NodeId;
  channel: string;
  direction: 0 | 1;
  amount_msat: Msat;
  delay: number;
}

export interface FirstRoute {
  hops: SendpayHop[];
  feeMsat: Msat;
  /** The CLTV delta of our HTLC: lightningd sends it at its height + 1 + delay, as xpay does. */
  delay: number;
  /** Of that delay, the blocks the shadow walk added (shadowBlocks). */
  shadow: number;
}

const SCID_DIR = /^(\d+x\d+x\d+)\/([01])$/;

/**
 * The route to send the whole amount along, or why xpay must pay instead:
 * askrene split the amount, the route does not end at the payee, the amounts
 * and CLTVs of its hops do not join up, or it is over the fee budget or the
 * maxdelay rdv computed for this attempt (rule 6).
 */
export function firstRoute(
  routes: readonly FoundRoute[],
  o: { payee: NodeId; amountMsat: Msat; maxfeeMsat: Msat; maxdelay: number; shadow?: readonly number[] },
): Result<FirstRoute> {
  if (routes.length !== 1) return err(`askrene split the payment in ${routes.length} routes`);
  const route = routes[0];
  const first = route?.path[0];
  const last = route?.path.at(-1);
  if (!route || !first || !last) return err('askrene gave an empty route');
  if (route.amountMsat !== o.amountMsat || last.amountOutMsat !== o.amountMsat) return err('the route does not deliver the invoice amount');
  if (last.nodeIdOut !== o.payee) return err('the route does not end at the payee');
  const hops: SendpayHop[] = [];
  for (const [i, hop] of route.path.entries()) {
    const next = route.path[i + 1];
    if (next && (next.amountInMsat !== hop.amountOutMsat || next.cltvIn !== hop.cltvOut)) return err(`hop ${i + 1} does not join the next`);
    const m = SCID_DIR.exec(hop.shortChannelIdDir);
    if (!m) return err(`hop ${i + 1}: ${hop.shortChannelIdDir} is not a short_channel_id_dir`);
    hops.push({ id: hop.nodeIdOut, channel: m[1] ?? '', direction: m[2] === '1' ? 1 : 0, amount_msat: hop.amountOutMsat, delay: hop.cltvOut });
  }
  const sent = hops[0]?.amount_msat ?? o.amountMsat;
  const feeMsat = (sent - o.amountMsat) as Msat;
  const delay = hops[0]?.delay ?? 0;
  if (feeMsat > o.maxfeeMsat) return err(`the route costs ${feeMsat} msat, over the fee budget of ${o.maxfeeMsat}`);
  if (delay > o.maxdelay) return err(`the route needs ${delay} blocks, over the maxdelay of ${o.maxdelay}`);
  const extra = shadowBlocks(o.shadow ?? [], o.maxdelay - delay);
  return ok({ hops: hops.map((h) => ({ ...h, delay: h.delay + extra })), feeMsat, delay: delay + extra, shadow: extra });
}

/**
 * BOLT 7's shadow route extension, as xpay adds it (add_cltv_shadow): the CLTV
 * deltas of a short random walk from the payee, added to every hop, so that a
 * node on the route cannot tell from the HTLC's expiry that the next node is
 * the payee (and the payee's HTLC has blocks to spare past its final CLTV).
 * Taken in the walk's order until one would go past the blocks spare (xpay
 * stops there too); none when there is no walk.
 */
export function shadowBlocks(walk: readonly number[], spare: number): number {
  let extra = 0;
  for (const delta of walk) {
    if (!Number.isSafeInteger(delta) || delta < 0 || extra + delta > spare) break;
    extra += delta;
  }
  return extra;
}
