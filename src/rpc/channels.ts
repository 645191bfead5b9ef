/**
 * The channel_id behind each name lightningd gives a channel in htlc_accepted
 * (its real scid, or its local alias until it has one; a splice gives it a new
 * scid). Learned from listpeerchannels and kept: an old name keeps pointing at
 * the same channel, which is what a part recorded under it needs.
 */
import type { ChannelNames, LightningNode } from './node.js';

/** After a name listpeerchannels did not know, do not ask again for it for this long. */
const MISS_TTL_MS = 10_000;

export class ChannelIds {
  private readonly byName = new Map<string, ChannelNames>();
  private readonly misses = new Map<string, number>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly node: LightningNode,
    private readonly log: (message: string) => void,
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  /** The channel lightningd calls `name`, asking lightningd if it is new to us; undefined if lightningd does not know it either. */
  async lookup(name: string): Promise<ChannelNames | undefined> {
    const known = this.byName.get(name);
    if (known) return known;
    const missedAt = this.misses.get(name);
    if (missedAt !== undefined && this.nowMs() - missedAt < MISS_TTL_MS) return undefined;
    // A refresh already running may have asked before this channel existed: then ask once more.
    const joined = this.refreshing !== undefined;
    await this.refresh();
    if (joined && !this.byName.has(name)) await this.refresh();
    const found = this.byName.get(name);
    if (!found) this.misses.set(name, this.nowMs());
    return found;
  }

  /** What we last learned of the channel behind `name`, without asking lightningd. */
  cached(name: string): ChannelNames | undefined {
    return this.byName.get(name);
  }

  /** Read listpeerchannels again (one call at a time; concurrent callers share it). Never throws. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        for (const c of await this.node.listPeerChannels()) {
          for (const name of [c.scid, c.localAlias]) {
            if (name === undefined) continue;
            this.byName.set(name, c);
            this.misses.delete(name);
          }
        }
      } catch (e) {
        this.log(`listpeerchannels failed (${(e as Error).message}): parts on unknown channels are named by scid`);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
