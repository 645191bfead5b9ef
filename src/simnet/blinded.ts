/**
 * xpay through a BOLT 12 invoice's blinded paths (plugins/xpay/xpay.c): each
 * path is a fake channel from its introduction node to a fake node, priced by
 * the payinfo (add_blindedpath); routing ends at that fake node with final_cltv
 * 0; a part's onion carries plain hops to the introduction node, then each
 * blinded hop's encrypted_recipient_data (create_onion,
 * append_blinded_payloads). Payer (./payer.ts) calls these with what they
 * need: the network (through NodeNetwork only), its node, the route.
 */
import type { NodeId } from '../chain/ids.js';
import { readEncryptedData } from './bolt12.js';
import type { HopPayload } from './onion.js';
import { splitRoutes, type Edge, type Route } from './routing.js';
import type { HtlcOutcome, NodeNetwork, Peer, PeerChannel } from './types.js';

/**
 * A BOLT 12 invoice's blinded path, as xpay routes it (plugins/xpay/xpay.c
 * add_blindedpath): a channel from the introduction node to a fake node,
 * charging the payinfo's fees and CLTV delta; past the introduction node the
 * onion carries each hop's encrypted_recipient_data.
 */
export interface BlindedRoute {
  intro: NodeId;
  pathKey: string;
  encrypted: string[];
  feeBaseMsat: bigint;
  feePpm: bigint;
  cltvDelta: number;
  htlcMaximumMsat: bigint;
}

/** xpay's "can-never-exist fake key" for the end of blinded paths. */
export const FAKE_NODE = `02${'00'.repeat(32)}` as NodeId;
/** xpay names the blinded path i's fake channel by scid i (block 0, impossible on chain). */
const fakeScid = (i: number): string => `0x0x${i}`;

/**
 * What a part really sends: the first HTLC's amount, except when this node is
 * the blinded path's introduction node, where the path's fee (counted against
 * maxfee all the same) stays with it (listsendpays' amount_sent_msat on v26.06.6).
 */
export const onWire = (route: Route): bigint => (route.hops[0]?.to === FAKE_NODE ? route.deliveredMsat : route.sentMsat);

/** xpay's fake channels for a BOLT 12 invoice's paths: introduction node -> FAKE_NODE, priced by the payinfo. */
export function blindedEdges(blinded: readonly BlindedRoute[]): Edge[] {
  return blinded.map((b, i) => ({ scid: fakeScid(i), from: b.intro, to: FAKE_NODE, spendableMsat: b.htlcMaximumMsat, feeBaseMsat: b.feeBaseMsat, feePpm: b.feePpm, cltvDelta: b.cltvDelta }));
}

/**
 * Routes from `self` to FAKE_NODE with final_cltv 0. A path whose
 * introduction node is `self` starts with its fake channel, which is still
 * priced (the introduction node's relay fee and delta are in the onion it
 * reads), so routing's source-is-free rule must not apply to it: such a route
 * is built here.
 */
export function routeBlinded(edges: Edge[], self: NodeId, amount: bigint, exclude: ReadonlySet<string>): Route[] | undefined {
  const mine = edges.filter((e) => e.to === FAKE_NODE && e.from === self && !exclude.has(e.scid) && e.spendableMsat >= amount);
  for (const e of mine) {
    const fee = e.feeBaseMsat + (amount * e.feePpm) / 1_000_000n;
    return [{ hops: [{ scid: e.scid, from: e.from, to: FAKE_NODE, amountMsat: amount, delay: 0, cltvDelta: e.cltvDelta }], sentMsat: amount + fee, deliveredMsat: amount, totalDelay: e.cltvDelta }];
  }
  const others = edges.filter((e) => !(e.to === FAKE_NODE && e.from === self));
  return splitRoutes(others, self, FAKE_NODE, amount, 0, exclude);
}

/**
 * A part through a blinded path (xpay.c create_onion, append_blinded_payloads):
 * plain hops to the introduction node, then one payload per blinded hop,
 * each its encrypted_recipient_data (the first with the path key), the last
 * with amt_to_forward, total_amount_msat and outgoing_cltv_value at the
 * height + 1 (xpay's final_cltv is 0 for blinded paths). When this node is
 * the introduction node, it reads its own hop as lightningd does and sends
 * the first HTLC inside the path.
 */
export function sendBlindedPart(net: NodeNetwork, node: Peer, route: Route, hash: string, total: bigint, blinded: readonly BlindedRoute[], resolved: (o: HtlcOutcome) => void): Promise<HtlcOutcome> {
  const base = net.height + 1;
  const fakeAt = route.hops.findIndex((h) => h.to === FAKE_NODE);
  const fakeHop = route.hops[fakeAt];
  const path = fakeHop ? blinded[Number(fakeHop.scid.split('x')[2])] : undefined;
  const fail = (): Promise<HtlcOutcome> => Promise.resolve({ ok: false, failureMessage: '2002', failingNode: node.id, failingScid: undefined });
  if (!fakeHop || !path) return fail();
  const inside: HopPayload[] = path.encrypted.map((encryptedData, i) =>
    i === path.encrypted.length - 1
      ? { forwardMsat: fakeHop.amountMsat, outgoingCltv: base, totalMsat: total, blinded: { encryptedData, ...(i === 0 ? { pathKey: path.pathKey } : {}) } }
      : { blinded: { encryptedData, ...(i === 0 ? { pathKey: path.pathKey } : {}) } },
  );
  const plain = route.hops.slice(0, fakeAt);
  if (plain.length > 0) {
    const payloads: HopPayload[] = plain.slice(0, -1).map((_hop, i) => {
      const next = plain[i + 1] as (typeof plain)[number];
      return { nextScid: next.scid, forwardMsat: next.amountMsat, outgoingCltv: base + next.delay };
    });
    const first = plain[0] as (typeof plain)[number];
    const channel = net.channelFor(node, first.scid);
    if (!channel) return fail();
    return net.sendHtlc(node, channel, first.amountMsat, base + first.delay, hash, [...payloads, ...inside], { ownPayment: true, resolved });
  }
  // We are the introduction node: injectpaymentonion reads our own hop (onion_decode) and sends
  // the path's first HTLC. Seen on v26.06.6 (test/fixtures/bolt12/README.md): it carries the
  // amount itself (the path's fee stays with us) and height + 1 + the payinfo's whole delta.
  const enc = readEncryptedData(path.encrypted[0] ?? '');
  const [, ...rest] = inside;
  if (!enc?.nextNodeId || !enc.relay || rest.length === 0) return fail();
  const ppm = BigInt(enc.relay.feePpm);
  const forward = ((route.sentMsat - BigInt(enc.relay.feeBaseMsat)) * 1_000_000n + 1_000_000n + ppm - 1n) / (1_000_000n + ppm);
  const channel = channelToPeer(node, net, enc.nextNodeId, forward);
  if (!channel) return Promise.resolve({ ok: false, failureMessage: '1007', failingNode: node.id, failingScid: fakeHop.scid });
  return net.sendHtlc(node, channel, forward, base + route.totalDelay, hash, rest, { ownPayment: true, resolved });
}

/** The channel to `peer` with the most to spend that can carry `amount` (lightningd's best_channel). */
function channelToPeer(node: Peer, net: NodeNetwork, peer: NodeId, amount: bigint): PeerChannel | undefined {
  let best: PeerChannel | undefined;
  for (const c of net.channelsBetween(node, peer)) {
    if (!c.canAddHtlc() || c.spendable(node.id) < amount) continue;
    if (!best || c.spendable(node.id) > best.spendable(node.id)) best = c;
  }
  return best;
}
