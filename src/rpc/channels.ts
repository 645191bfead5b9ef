/**
 * The channel_id behind each name lightningd gives a channel in htlc_accepted
 * (its real scid, or its local alias until it has one; a splice gives it a new
 * scid). Learned from listpeerchannels and kept: an old name keeps pointing at
 * the same channel, which is what a part recorded under it needs.
 */
import type { ChannelNames, LightningNode } from './node.js';

/** After a name listpeerchannels did not know, do not ask again for it for this long. */
const MISS_TTL_MS = 10_000;
/** How long a node found not to be a channel peer is taken as such without asking again. */
const PEER_REFRESH_MS = 10_000;
const PEER_MISSES = 4_096;
/** Channel states that no longer make a peer a channel peer. */
const CLOSED = new Set(['CLOSINGD_COMPLETE', 'AWAITING_UNILATERAL', 'FUNDING_SPEND_SEEN', 'ONCHAIN', 'CLOSED']);

export class ChannelIds {
  private readonly byName = new Map<string, ChannelNames>();
  private readonly misses = new Map<string, number>();
  private readonly peers = new Set<string>();
  /** Nodes found not to be channel peers, and when (bounded). */
  private readonly peerMisses = new Map<string, number>();
  private refreshing: Promise<boolean> | undefined;

  constructor(
    private readonly node: LightningNode,
    private readonly log: (message: string) => void,
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  /** The channel lightningd calls `name`, asking lightningd if it is new to us; undefined if lightningd does not know it either (or could not say). */
  async lookup(name: string): Promise<ChannelNames | undefined> {
    const r = await this.resolve(name);
    return r === 'failed' ? undefined : r;
  }

  /**
   * Like lookup, but 'failed' when listpeerchannels did not answer: then the
   * caller must not take the channel for unknown (a part named only by its scid
   * may be mistaken for a look-alike on another channel; see parts.ts).
   */
  async resolve(name: string): Promise<ChannelNames | undefined | 'failed'> {
    const known = this.byName.get(name);
    if (known) return known;
    const missedAt = this.misses.get(name);
    if (missedAt !== undefined && this.nowMs() - missedAt < MISS_TTL_MS) return undefined;
    // A refresh already running may have asked before this channel existed: then ask once more.
    const joined = this.refreshing !== undefined;
    let answered = await this.refresh();
    if (joined && !this.byName.has(name)) answered = await this.refresh();
    const found = this.byName.get(name);
    if (found) return found;
    if (!answered) return 'failed';
    this.misses.set(name, this.nowMs());
    return undefined;
  }

  /**
   * Do we have a channel (open, opening or closing) with `peer`? A node found not
   * to be one is not asked about again for 10 s, so a stream of messages from a
   * stranger costs one listpeerchannels now and then, not one each.
   */
  async isPeer(peer: string): Promise<boolean> {
    if (this.peers.has(peer)) return true;
    const checkedAt = this.peerMisses.get(peer);
    if (checkedAt !== undefined && this.nowMs() - checkedAt < PEER_REFRESH_MS) return false;
    await this.refresh();
    if (this.peers.has(peer)) return true;
    this.peerMisses.delete(peer);
    this.peerMisses.set(peer, this.nowMs());
    if (this.peerMisses.size > PEER_MISSES) {
      const oldest = this.peerMisses.keys().next().value;
      if (oldest !== undefined) this.peerMisses.delete(oldest);
    }
    return false;
  }

  /** Every channel lightningd lists now (asks it). */
  async all(): Promise<ChannelNames[]> {
    const channels = await this.node.listPeerChannels();
    for (const c of channels) for (const name of [c.scid, c.localAlias]) if (name !== undefined) this.byName.set(name, c);
    return channels;
  }

  /** A channel with `peer` that was normal when we last looked, without asking lightningd (the one learned last). */
  cachedWith(peer: string): ChannelNames | undefined {
    let found: ChannelNames | undefined;
    for (const c of this.byName.values()) if (c.peerId === peer && c.state === 'CHANNELD_NORMAL' && (c.scid ?? c.localAlias) !== undefined) found = c;
    return found;
  }

  /** What we last learned of the channel behind `name`, without asking lightningd. */
  cached(name: string): ChannelNames | undefined {
    return this.byName.get(name);
  }

  /** Read listpeerchannels again (one call at a time; concurrent callers share it). Never throws: false if it did not answer. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const channels = await this.node.listPeerChannels();
        this.peers.clear();
        for (const c of channels) {
          if (!CLOSED.has(c.state)) this.peers.add(c.peerId);
          for (const name of [c.scid, c.localAlias]) {
            if (name === undefined) continue;
            this.byName.set(name, c);
            this.misses.delete(name);
          }
        }
        return true;
      } catch (e) {
        this.log(`listpeerchannels failed (${(e as Error).message})`);
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
