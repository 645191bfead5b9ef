/**
 * Route finding for the simulated network: cheapest path by amount at the
 * source (fees compound backwards from the payee), with balances, and a
 * widest-path split for payments no single path can carry (as xpay splits).
 */
import type { NodeId } from '../chain/ids.js';

export interface Edge {
  scid: string;
  from: NodeId;
  to: NodeId;
  /** What `from` can send over this channel now. */
  spendableMsat: bigint;
  feeBaseMsat: bigint;
  feePpm: bigint;
  cltvDelta: number;
}

export interface Hop {
  scid: string;
  from: NodeId;
  to: NodeId;
  /** HTLC amount on this channel (what `to` receives). */
  amountMsat: bigint;
  /** HTLC cltv_expiry offset (relative to the final's min) on this channel. */
  delay: number;
  cltvDelta: number;
}

export interface Route {
  hops: Hop[];
  /** Amount the source sends (first hop amount). */
  sentMsat: bigint;
  deliveredMsat: bigint;
  /** Sum of CLTV deltas charged on the way, plus the final min_final_cltv. */
  totalDelay: number;
}

const fee = (e: Edge, amount: bigint): bigint => e.feeBaseMsat + (amount * e.feePpm) / 1_000_000n;

/**
 * Cheapest route delivering `amount` from `source` to `target`, with `finalCltv`
 * blocks for the target. The source charges itself nothing.
 */
export function cheapestRoute(edges: Edge[], source: NodeId, target: NodeId, amount: bigint, finalCltv: number, exclude: ReadonlySet<string> = new Set()): Route | undefined {
  // Backward Dijkstra: state at node v = amount v must receive, and delay from v on.
  const best = new Map<NodeId, { amount: bigint; delay: number; next: Edge | undefined }>();
  best.set(target, { amount, delay: finalCltv, next: undefined });
  const done = new Set<NodeId>();
  const incoming = new Map<NodeId, Edge[]>();
  for (const e of edges) {
    if (exclude.has(e.scid) || e.spendableMsat <= 0n) continue;
    const list = incoming.get(e.to) ?? [];
    list.push(e);
    incoming.set(e.to, list);
  }
  for (;;) {
    let v: NodeId | undefined;
    let vs: { amount: bigint; delay: number; next: Edge | undefined } | undefined;
    for (const [node, s] of best) {
      if (done.has(node)) continue;
      if (!vs || s.amount < vs.amount || (s.amount === vs.amount && s.delay < vs.delay)) {
        v = node;
        vs = s;
      }
    }
    if (v === undefined || vs === undefined) return undefined;
    if (v === source) break;
    done.add(v);
    for (const e of incoming.get(v) ?? []) {
      if (done.has(e.from)) continue;
      if (e.spendableMsat < vs.amount) continue;
      // The HTLC on e carries vs.amount; e.from needs that plus its fee (unless it is the source).
      const isSource = e.from === source;
      const need = isSource ? vs.amount : vs.amount + fee(e, vs.amount);
      const delay = isSource ? vs.delay : vs.delay + e.cltvDelta;
      const cur = best.get(e.from);
      if (!cur || need < cur.amount || (need === cur.amount && delay < cur.delay)) best.set(e.from, { amount: need, delay, next: e });
    }
  }
  const hops: Hop[] = [];
  let at: NodeId = source;
  let guard = 0;
  while (at !== target && guard++ < 64) {
    const s = best.get(at);
    const e = s?.next;
    if (!e) return undefined;
    const after = best.get(e.to);
    if (!after) return undefined;
    hops.push({ scid: e.scid, from: e.from, to: e.to, amountMsat: after.amount, delay: after.delay, cltvDelta: e.cltvDelta });
    at = e.to;
  }
  const first = hops[0];
  if (!first) return undefined;
  const src = best.get(source);
  return { hops, sentMsat: first.amountMsat, deliveredMsat: amount, totalDelay: src?.delay ?? finalCltv };
}

/**
 * Split `amount` over several routes when no single one carries it: take the
 * cheapest route that can carry the most, reserve its balances, repeat.
 */
export function splitRoutes(edges: Edge[], source: NodeId, target: NodeId, amount: bigint, finalCltv: number, exclude: ReadonlySet<string>, maxParts = 16): Route[] | undefined {
  const whole = cheapestRoute(edges, source, target, amount, finalCltv, exclude);
  if (whole) return [whole];
  const balances = new Map(edges.map((e) => [`${e.scid}/${e.from}`, e.spendableMsat]));
  const view = (): Edge[] => edges.map((e) => ({ ...e, spendableMsat: balances.get(`${e.scid}/${e.from}`) ?? 0n }));
  const routes: Route[] = [];
  let remaining = amount;
  while (remaining > 0n && routes.length < maxParts) {
    // Largest part some route can carry: binary search on the amount.
    let lo = 1n;
    let hi = remaining;
    let found: Route | undefined;
    const g = view();
    while (lo <= hi) {
      const mid = (lo + hi) / 2n;
      const r = cheapestRoute(g, source, target, mid, finalCltv, exclude);
      if (r) {
        found = r;
        lo = mid + 1n;
      } else hi = mid - 1n;
    }
    if (!found) return undefined;
    routes.push(found);
    remaining -= found.deliveredMsat;
    for (const h of found.hops) {
      const k = `${h.scid}/${h.from}`;
      balances.set(k, (balances.get(k) ?? 0n) - h.amountMsat);
    }
  }
  return remaining === 0n ? routes : undefined;
}
