/**
 * Paying: what a route to a payee would cost (askrene's getroutes), xpay, which
 * never throws but says whether a failure is definite and whether its command
 * is over, and listsendpays, the per-part truth about a hash's payments (rule 5).
 */
import type { Msat } from '../../chain/amount.js';
import type { FoundRoute } from '../../chain/first-attempt.js';
import type { NodeId, PaymentHash, Preimage } from '../../chain/ids.js';
import { Reader, ShapeError } from '../../chain/read.js';
import type { OutgoingPart, PayResult } from '../../chain/relay/types.js';
import { RpcError, type Rpc } from '../client.js';
import { HASH_RE, NODE_RE, read } from './call.js';

export interface RouteSummary {
  /** Fee over all parts: amount sent minus amount delivered. */
  feeMsat: Msat;
  /** Largest CLTV needed at the first hop, minus final_cltv: the route's CLTV deltas. */
  delayBlocks: number;
  hops: number;
}

/** What estimateRoute and findRoutes ask askrene for. */
export interface RouteQuery {
  source: NodeId;
  destination: NodeId;
  amountMsat: Msat;
  finalCltv: number;
  maxfeeMsat: Msat;
}

/** What xpay is asked to pay, and within which budgets. */
export interface XpayRequest {
  invstring: string;
  maxfeeMsat: Msat;
  maxdelay: number;
  retryForSeconds: number;
  layers?: string[];
}

/**
 * xpay's result, and whether its command is over. `xpayEnded` is false when rdv
 * lost the call (the connection dropped, the xpay plugin died, lightningd is
 * stopping): xpay may still be running inside lightningd, routing with its layers.
 */
export type XpayResult = PayResult & { xpayEnded: boolean };

/** An xpay call that failed: did an answer come from xpay (or lightningd refusing the call), or was the call lost? */
function xpayEndedWith(e: unknown): boolean {
  return e instanceof RpcError && e.code !== -4 /* the plugin died: its getroutes may still run */ && e.code !== -5 /* lightningd stopping */;
}

/** Maps an xpay error to a PayResult: only a failure reported by xpay itself is definite. */
export function classifyPayError(e: unknown): PayResult {
  if (e instanceof RpcError) {
    const indefinite =
      e.code === -3 /* plugin error, e.g. "still in progress" */ ||
      e.code === -4 /* plugin terminated */ ||
      e.code === -5 /* lightningd shutting down */ ||
      e.code === 200 /* PAY_IN_PROGRESS */ ||
      e.code === 219 /* already paid: take the preimage from listsendpays */;
    return { ok: false, definite: !indefinite, message: `${e.rpcMessage} (code ${e.code})` };
  }
  return { ok: false, definite: false, message: e instanceof Error ? e.message : String(e) };
}

/**
 * askrene's routes for the whole amount, as xpay's first getroutes asks (its
 * layers for our channels, ours free), hop by hop as askrene gives them; or
 * undefined for none (no route, askrene missing, a reply rdv cannot read).
 */
export async function findRoutes(rpc: Rpc, p: RouteQuery): Promise<FoundRoute[] | undefined> {
  try {
    const result = await rpc.call('getroutes', {
      source: p.source,
      destination: p.destination,
      amount_msat: p.amountMsat,
      layers: ['auto.localchans', 'auto.sourcefree'],
      maxfee_msat: p.maxfeeMsat,
      final_cltv: p.finalCltv,
    });
    return Reader.of(result, 'getroutes')
      .objects('routes')
      .map((route) => ({
        amountMsat: route.msat('amount_msat'),
        path: route.objects('path').map((h) => ({
          shortChannelIdDir: h.str('short_channel_id_dir'),
          nodeIdOut: h.match<NodeId>('node_id_out', NODE_RE, 'a node id'),
          amountInMsat: h.msat('amount_in_msat'),
          amountOutMsat: h.msat('amount_out_msat'),
          cltvIn: h.int('cltv_in'),
          cltvOut: h.int('cltv_out'),
        })),
      }));
  } catch (e) {
    if (e instanceof RpcError || e instanceof ShapeError) return undefined;
    throw e;
  }
}

/** Cost and CLTV of the best route askrene finds (findRoutes), or undefined when there is none. */
export async function estimateRoute(rpc: Rpc, p: RouteQuery): Promise<RouteSummary | undefined> {
  const routes = await findRoutes(rpc, p);
  if (!routes || routes.length === 0) return undefined;
  let sent = 0n;
  let delivered = 0n;
  let delay = 0;
  let hops = 0;
  for (const route of routes) {
    const first = route.path[0];
    const last = route.path.at(-1);
    if (!first || !last) continue;
    sent += first.amountInMsat;
    delivered += route.amountMsat;
    // The last hop's cltv_out is the final_cltv asked for.
    delay = Math.max(delay, first.cltvIn - last.cltvOut);
    hops = Math.max(hops, route.path.length);
  }
  return { feeMsat: (sent - delivered) as Msat, delayBlocks: delay, hops };
}

/**
 * xpay, never throwing: the result says whether the failure is definite, and
 * whether xpay's command is over (see XpayResult). `layers`: askrene layers for its routes.
 */
export async function xpay(rpc: Rpc, p: XpayRequest): Promise<XpayResult> {
  let result: unknown;
  try {
    result = await rpc.call('xpay', { invstring: p.invstring, maxfee: p.maxfeeMsat, maxdelay: p.maxdelay, retry_for: p.retryForSeconds, layers: p.layers });
  } catch (e) {
    return { ...classifyPayError(e), xpayEnded: xpayEndedWith(e) };
  }
  try {
    const r = Reader.of(result, 'xpay');
    return {
      ok: true,
      preimage: r.match<Preimage>('payment_preimage', HASH_RE, 'a preimage'),
      amountSentMsat: r.msat('amount_sent_msat'),
      xpayEnded: true,
    };
  } catch (e) {
    // xpay answered (success, in a shape rdv does not read): its command is over.
    return { ok: false, definite: false, message: e instanceof Error ? e.message : String(e), xpayEnded: true };
  }
}

/** Per-part outgoing payments for a hash (rule 5), from listsendpays. */
export function listsendpays(rpc: Rpc, paymentHash: PaymentHash): Promise<OutgoingPart[]> {
  return read(rpc, 'listsendpays', { payment_hash: paymentHash }, (r) =>
    r.objects('payments').map((p) => {
      const status = p.str('status');
      if (status !== 'pending' && status !== 'complete' && status !== 'failed') throw new ShapeError(`${p.path}.status: unknown status ${status}`);
      const createdIndex = p.optInt('created_index');
      return {
        status,
        preimage: p.optMatch<Preimage>('payment_preimage', HASH_RE, 'a preimage'),
        amountSentMsat: p.optMsat('amount_sent_msat') ?? (0n as Msat),
        ...(createdIndex !== undefined ? { createdIndex } : {}),
      };
    }),
  );
}

/** The sendpays created index now (`wait sendpays created 0` answers at once): the last part lightningd registered. */
export function sendpaysCreatedIndex(rpc: Rpc): Promise<number> {
  return read(rpc, 'wait', { subsystem: 'sendpays', indexname: 'created', nextvalue: 0 }, (r) => r.int('created'));
}
