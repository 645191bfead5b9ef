/**
 * The shadow walk's gossip (src/relay/runner/gossip-cache.ts): one listchannels
 * per node per ten minutes, a hub's thousands of channels kept as a fair sample
 * of 64, and no more than 256 nodes kept.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeId } from '../../src/chain/ids.js';
import type { GossipChannel } from '../../src/rpc/node/channels.js';
import { GOSSIP_CACHE_LIMITS, GossipCache } from '../../src/relay/runner/gossip-cache.js';

const node = (i: number): NodeId => `02${i.toString(16).padStart(64, '0')}` as NodeId;
const channels = (n: number): GossipChannel[] => Array.from({ length: n }, (_, i) => ({ destination: node(10_000 + i), delay: i }));

/** A cache over a gossip that answers `count(node)` channels and counts what it was asked. */
function world(count: (n: NodeId) => number | undefined, random: () => number = Math.random) {
  const asked: NodeId[] = [];
  let now = 1_800_000_000;
  const cache = new GossipCache(
    async (n) => {
      asked.push(n);
      const c = count(n);
      return c === undefined ? undefined : channels(c);
    },
    () => now,
    random,
  );
  return { cache, asked, later: (s: number) => (now += s) };
}

describe("the shadow walk's gossip cache", () => {
  test('Carol asked twice within ten minutes: one listchannels; after ten minutes, asked again', async () => {
    const w = world(() => 2);
    assert.equal((await w.cache.channelsOf(node(1)))?.length, 2);
    w.later(GOSSIP_CACHE_LIMITS.TTL_SECONDS - 1);
    await w.cache.channelsOf(node(1));
    assert.deepEqual(w.asked, [node(1)]);
    w.later(1);
    await w.cache.channelsOf(node(1));
    assert.deepEqual(w.asked, [node(1), node(1)]);
  });

  test('a hub with 2,000 channels is kept as 64 distinct ones of them, each as likely as any other', async () => {
    const w = world(() => 2_000);
    const seen = new Map<number, number>();
    for (let round = 0; round < 200; round++) {
      const got = (await w.cache.channelsOf(node(round))) ?? [];
      assert.equal(got.length, GOSSIP_CACHE_LIMITS.SAMPLE);
      assert.equal(new Set(got.map((c) => c.delay)).size, got.length, 'no channel twice');
      for (const c of got) seen.set(c.delay, (seen.get(c.delay) ?? 0) + 1);
    }
    // 200 x 64 picks over 2,000 channels: 6.4 each on average; every channel seen, none far over.
    const counts = [...seen.values()];
    assert.ok(seen.size > 1_950, `${seen.size} of 2,000 channels ever picked`);
    assert.ok(Math.max(...counts) < 25, `a channel picked ${Math.max(...counts)} times`);
    const firstHalf = [...seen].filter(([d]) => d < 1_000).reduce((s, [, n]) => s + n, 0);
    assert.ok(firstHalf > 5_800 && firstHalf < 7_000, `${firstHalf} of 12,800 picks from the first half`);
  });

  test('ten relays walk through Carol at once: one listchannels, and all ten get its answer', async () => {
    const asked: NodeId[] = [];
    let answer: (c: GossipChannel[]) => void = () => undefined;
    const cache = new GossipCache(
      (n) => {
        asked.push(n);
        return new Promise((resolve) => (answer = resolve));
      },
      () => 1_800_000_000,
      Math.random,
    );
    const walks = Array.from({ length: 10 }, () => cache.channelsOf(node(1)));
    answer(channels(3));
    const got = await Promise.all(walks);
    assert.deepEqual(asked, [node(1)]);
    assert.ok(got.every((c) => c?.length === 3));
    await cache.channelsOf(node(1));
    assert.deepEqual(asked, [node(1)], 'then kept');
  });

  test('gossip that cannot say is not kept: asked again next time', async () => {
    const w = world(() => undefined);
    assert.equal(await w.cache.channelsOf(node(1)), undefined);
    assert.equal(await w.cache.channelsOf(node(1)), undefined);
    assert.deepEqual(w.asked, [node(1), node(1)]);
    assert.equal(w.cache.size, 0);
  });

  test('no more than 256 nodes are kept: the one fetched longest ago goes first', async () => {
    const w = world(() => 1);
    for (let i = 0; i <= GOSSIP_CACHE_LIMITS.NODES; i++) await w.cache.channelsOf(node(i));
    assert.equal(w.cache.size, GOSSIP_CACHE_LIMITS.NODES);
    w.asked.length = 0;
    await w.cache.channelsOf(node(GOSSIP_CACHE_LIMITS.NODES));
    await w.cache.channelsOf(node(1));
    assert.deepEqual(w.asked, [], 'the newest and the second oldest are kept');
    await w.cache.channelsOf(node(0));
    assert.deepEqual(w.asked, [node(0)], 'the oldest went');
  });
});
