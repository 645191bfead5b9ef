/**
 * Forwarding an HTLC no plugin claimed, as lightningd does: the outgoing
 * channel chosen by the onion's short_channel_id (calc_forwarding_channel,
 * best_channel), then the HTLC offered over it.
 */
import { unknownNextPeer } from '../final-hop.js';
import type { DecodedPayload } from '../onion.js';
import type { NodeId } from '../../chain/ids.js';
import type { HtlcOutcome, Incoming, PeerChannel } from '../types.js';
import type { NodeCore } from './core.js';

/**
 * calc_forwarding_channel: the channel our lightningd knows by `scid`
 * (real, old public, or our local alias), then best_channel: of our
 * channels to that peer that can take HTLCs and charge the same fees, the
 * one with the most to spend.
 */
export function forwardChannel(node: NodeCore, scid: string): PeerChannel | undefined {
  const named = node.net.channelFor(node, scid);
  if (!named) return undefined;
  const policy = named.policy.get(node.id);
  let best = named;
  let bestSpendable = 0n;
  for (const c of node.net.channelsBetween(node, named.other(node))) {
    const p = c.policy.get(node.id);
    if (!c.canAddHtlc() || p?.feeBaseMsat !== policy?.feeBaseMsat || p?.feePpm !== policy?.feePpm) continue;
    if (c.spendable(node.id) > bestSpendable) {
      best = c;
      bestSpendable = c.spendable(node.id);
    }
  }
  return best;
}

/** best_channel to a peer (a blinded hop names the next node, not a channel): of those that can take the HTLC, the one with the most to spend. */
export function channelToPeer(node: NodeCore, peer: string, amountMsat: bigint): PeerChannel | undefined {
  let best: PeerChannel | undefined;
  for (const c of node.net.channelsBetween(node, peer as NodeId)) {
    if (!c.canAddHtlc() || c.spendable(node.id) < amountMsat) continue;
    if (!best || c.spendable(node.id) > best.spendable(node.id)) best = c;
  }
  return best;
}

/** The channel an HTLC goes on: named by the onion's scid, or the best one to the node a blinded hop names. */
export function nextChannel(node: NodeCore, p: DecodedPayload): PeerChannel | undefined {
  if (p.nextScid) return forwardChannel(node, p.nextScid);
  return p.nextNodeId ? channelToPeer(node, p.nextNodeId, p.forwardMsat) : undefined;
}

/** Offer the HTLC onward over the chosen channel and wait for its outcome (unknown_next_peer when there is none). */
export async function forward(node: NodeCore, h: Incoming, p: DecodedPayload): Promise<HtlcOutcome> {
  const next = nextChannel(node, p);
  if (!next || !next.canAddHtlc()) return { ok: false, failureMessage: unknownNextPeer(), failingNode: node.id, failingScid: h.channel.scidFor(node) };
  return node.net.sendHtlc(node, next, p.forwardMsat, p.outgoingCltv, h.paymentHash, h.rest);
}
