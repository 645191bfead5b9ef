/**
 * The channels gossip gives for a node (listchannels source=…), kept a while for
 * the shadow walk: a relay paying the same next payee again asks nothing, and a
 * hub's thousands of channels cost one reply per TTL, not one per payment. Each
 * node keeps at most SAMPLE of its channels, picked at random when fetched (the
 * walk takes one at random anyway), and at most NODES nodes are kept.
 */
import type { NodeId } from '../../chain/ids.js';
import type { GossipChannel } from '../../rpc/node/channels.js';

const TTL_SECONDS = 600;
const SAMPLE = 64;
const NODES = 256;

export class GossipCache {
  private readonly entries = new Map<NodeId, { at: number; channels: GossipChannel[] }>();
  /** Asked and not yet answered: relays that walk through the same node at once share one reply. */
  private readonly asking = new Map<NodeId, Promise<GossipChannel[] | undefined>>();

  constructor(
    private readonly fetch: (node: NodeId) => Promise<GossipChannel[] | undefined>,
    /** Unix seconds. */
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  /** The node's channels (a sample of them), or undefined when gossip cannot say (not kept: asked again next time). */
  channelsOf(node: NodeId): Promise<GossipChannel[] | undefined> {
    const kept = this.entries.get(node);
    if (kept && this.now() - kept.at < TTL_SECONDS) return Promise.resolve(kept.channels);
    let asked = this.asking.get(node);
    if (!asked) {
      asked = this.fetchAndKeep(node).finally(() => this.asking.delete(node));
      this.asking.set(node, asked);
    }
    return asked;
  }

  private async fetchAndKeep(node: NodeId): Promise<GossipChannel[] | undefined> {
    const channels = await this.fetch(node);
    if (!channels) return undefined;
    const sample = this.sample(channels);
    this.entries.delete(node);
    this.entries.set(node, { at: this.now(), channels: sample });
    // A Map iterates in insertion order: the first key is the one fetched longest ago.
    const oldest = this.entries.keys().next();
    if (this.entries.size > NODES && !oldest.done) this.entries.delete(oldest.value);
    return sample;
  }

  get size(): number {
    return this.entries.size;
  }

  /** At most SAMPLE of `channels`, each as likely as any other (a partial Fisher-Yates shuffle). */
  private sample(channels: GossipChannel[]): GossipChannel[] {
    if (channels.length <= SAMPLE) return channels;
    const pool = [...channels];
    for (let i = 0; i < SAMPLE; i++) {
      const j = i + Math.floor(this.random() * (pool.length - i));
      const picked = pool[j] as GossipChannel;
      pool[j] = pool[i] as GossipChannel;
      pool[i] = picked;
    }
    return pool.slice(0, SAMPLE);
  }
}

export const GOSSIP_CACHE_LIMITS = { TTL_SECONDS, SAMPLE, NODES } as const;
