/**
 * Which incoming HTLC is which, across restarts.
 *
 * lightningd names the channel of an incoming HTLC by its real short_channel_id,
 * or by its local alias until it has one (zero-conf and JIT channels), and a
 * splice gives it a new scid (lightningd/peer_htlcs.c, channel_scid_or_local_alias).
 * So `scid/id` is not a stable name: a part gathered under an alias comes back
 * under the real scid. The channel_id never changes, so a part is named
 * `channel_id/htlc_id` when the runner could map the scid to a channel_id
 * (listpeerchannels lists both), else `scid/htlc_id`. Records written by rdv
 * 0.1.0 have no channel_id: their parts are matched by scid, or by what never
 * changes in a replayed HTLC (htlc id, amount, cltv_expiry, peer). Pure.
 */
import type { Msat } from './amount.js';
import type { NodeId } from './ids.js';

/** What names one incoming HTLC. */
export interface PartIdentity {
  /** How lightningd named the channel when the HTLC arrived (real scid or local alias). */
  scid: string;
  /** The HTLC's id on that channel (from the peer's side; never changes). */
  id: string;
  /** The channel's permanent id, when known (not in records written by rdv 0.1.0). */
  channelId?: string | undefined;
  /** The upstream peer, when known. */
  peerId?: NodeId | undefined;
  amountMsat: Msat;
  cltvExpiry: number;
}

/** The key rdv uses for a part: `channel_id/id` when the channel is known, else `scid/id`. */
export function partKey(p: { scid: string; id: string; channelId?: string | undefined }): string {
  return p.channelId ? `${p.channelId}/${p.id}` : `${p.scid}/${p.id}`;
}

/** Every key a part may have been recorded under (a claim list may hold either). */
export function keysOf(p: { scid: string; id: string; channelId?: string | undefined }): string[] {
  return p.channelId ? [`${p.channelId}/${p.id}`, `${p.scid}/${p.id}`] : [`${p.scid}/${p.id}`];
}

/** Is `claimed` (a list of keys) naming this part? */
export function isClaimed(p: PartIdentity, claimed: readonly string[]): boolean {
  return keysOf(p).some((k) => claimed.includes(k));
}

/** Same htlc id, amount and cltv_expiry (and peer, when both are known): a renamed channel's HTLC. */
export function looselySame(recorded: PartIdentity, incoming: PartIdentity): boolean {
  if (recorded.id !== incoming.id || recorded.amountMsat !== incoming.amountMsat || recorded.cltvExpiry !== incoming.cltvExpiry) return false;
  return !recorded.peerId || !incoming.peerId || recorded.peerId === incoming.peerId;
}

/** The same HTLC by its channel: channel_id when both know it, else the scid lightningd named it by. */
export function exactlySame(recorded: PartIdentity, incoming: PartIdentity): boolean {
  if (recorded.id !== incoming.id) return false;
  if (recorded.channelId && incoming.channelId) return recorded.channelId === incoming.channelId;
  return recorded.scid === incoming.scid;
}

/** A renamed channel's HTLC, where the channels cannot be compared (one side has no channel_id). */
export function renamed(recorded: PartIdentity, incoming: PartIdentity): boolean {
  if (recorded.channelId && incoming.channelId) return false;
  return looselySame(recorded, incoming);
}

/**
 * The index of the recorded part `incoming` is, skipping parts already matched
 * to another held HTLC (`taken`), or -1. Exact matches win over loose ones.
 */
export function matchRecorded(recorded: readonly PartIdentity[], taken: ReadonlySet<number>, incoming: PartIdentity): number {
  let loose = -1;
  for (let i = 0; i < recorded.length; i++) {
    const r = recorded[i];
    if (!r || taken.has(i)) continue;
    if (exactlySame(r, incoming)) return i;
    if (loose < 0 && renamed(r, incoming)) loose = i;
  }
  return loose;
}

/**
 * Pair held HTLCs with recorded parts, one to one. Exact matches first, so an
 * HTLC that merely looks like a recorded one (same htlc id, amount and expiry
 * on another channel) never takes the place of the real replay. Then the loose
 * ones, as a maximum matching (augmenting paths), trying matches whose peer is
 * known to be the same before those whose peer is unknown: a greedy pass could
 * give a recorded part to the wrong look-alike and leave the real one unpaired.
 * Returns, for each recorded part, the index of the held HTLC that is it (or -1).
 */
export function pairParts(recorded: readonly PartIdentity[], held: readonly PartIdentity[]): number[] {
  const pairing = recorded.map(() => -1);
  const exact = new Set<number>();
  for (let i = 0; i < recorded.length; i++) {
    const r = recorded[i];
    if (!r) continue;
    const h = held.findIndex((p, j) => !exact.has(j) && exactlySame(r, p));
    if (h >= 0) {
      pairing[i] = h;
      exact.add(h);
    }
  }
  const samePeer = (r: PartIdentity, h: PartIdentity): boolean => r.peerId !== undefined && r.peerId === h.peerId;
  const candidates = recorded.map((r, i) =>
    (pairing[i] ?? -1) >= 0
      ? []
      : held
          .map((h, j) => ({ h, j }))
          .filter(({ h, j }) => !exact.has(j) && renamed(r, h))
          .sort((a, b) => Number(samePeer(r, b.h)) - Number(samePeer(r, a.h)))
          .map(({ j }) => j),
  );
  const owner = new Map<number, number>();
  const augment = (i: number, seen: Set<number>): boolean => {
    for (const j of candidates[i] ?? []) {
      if (seen.has(j)) continue;
      seen.add(j);
      const current = owner.get(j);
      if (current === undefined || augment(current, seen)) {
        owner.set(j, i);
        pairing[i] = j;
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < recorded.length; i++) if ((pairing[i] ?? -1) < 0) augment(i, new Set());
  return pairing;
}
