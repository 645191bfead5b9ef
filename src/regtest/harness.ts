/**
 * A real regtest network for end-to-end tests and `rdv demo --regtest`: one
 * bitcoind and named lightningd nodes, all on 127.0.0.1, all under one temp dir
 * (short, so the unix socket paths stay far below the ~100 byte limit).
 *
 *   const net = await Regtest.start({ binaries, nodes: [{ name: 'alice' }, { name: 'bob' }] });
 *   if (!net.ok) ...; const rt = net.value;
 *   await rt.fund(['alice']); await rt.openChannels([{ from: 'alice', to: 'bob', amountSat: 500_000 }]);
 *   ...; await rt.stop();
 *
 * stop() stops every process it started, by PID: lightningd `stop`, then
 * `bitcoin-cli stop`, then SIGKILL for anything left, then removes the temp dir.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from '../chain/read.js';
import { err, ok, type Result } from '../errors.js';
import type { Binaries } from './binaries.js';
import { Bitcoind } from './bitcoind.js';
import { RegtestNode, type NodeOptions } from './lightningd.js';
import { freePort, poll } from './process.js';
import { confirmedOutputs, gossipDirections, listPeerChannels, newAddress } from './queries.js';

export interface RegtestOptions {
  binaries: Binaries;
  nodes: NodeOptions[];
  /** bin/rdv to load as the plugin (default: this package's). */
  rdvPath?: string;
  /** Keep the temp dir (logs, databases) after stop(). */
  keep?: boolean;
  /** bitcoind and the nodes keep running after this process exits (rdv demo --regtest --keep). */
  outlive?: boolean;
}

export interface ChannelSpec {
  from: string;
  to: string;
  amountSat: number;
  /** Public (announced) unless false. */
  announce?: boolean;
  pushMsat?: number;
}

export interface Channel {
  from: string;
  to: string;
  scid: string;
  channelId: string;
}

/** A zero-conf channel as openZeroConf leaves it: no real scid yet (unless a block came). */
export interface ZeroConfChannel {
  from: string;
  to: string;
  channelId: string;
  /** fundchannel's channel_type names (e.g. zeroconf/even). */
  channelType: string[];
  /** Each side's own local alias for the channel. */
  fromAlias: string;
  toAlias: string;
  scid: string | undefined;
}

/** bin/rdv of this package: dist/src/regtest/harness.js -> ../../../bin/rdv. */
export function defaultRdvPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'rdv');
}

export class Regtest {
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly bitcoind: Bitcoind,
    readonly nodes: readonly RegtestNode[],
    private readonly keep: boolean,
  ) {}

  /**
   * Start bitcoind (with 101 blocks mined) and every node. Errors are values:
   * a failed start has stopped whatever it had started.
   */
  static async start(options: RegtestOptions): Promise<Result<Regtest>> {
    const names = options.nodes.map((n) => n.name);
    const bad = names.find((n, i) => !/^[a-z][a-z0-9-]{0,15}$/.test(n) || names.indexOf(n) !== i);
    if (bad !== undefined) return err(`node name "${bad}" is not a short lowercase name, or is used twice`);
    const rdvPath = options.rdvPath ?? defaultRdvPath();
    if (options.nodes.some((n) => (n.rdv ?? 'important') !== 'none') && !existsSync(rdvPath)) {
      return err(`no rdv executable at ${rdvPath}: build first (npx tsc -p .)`);
    }
    // mkdtemp under os.tmpdir() keeps <dir>/<name>/regtest/lightning-rpc short.
    const dir = mkdtempSync(join(tmpdir(), 'rdv-rt-'));
    let bitcoind: Bitcoind;
    try {
      bitcoind = await Bitcoind.start({ bitcoind: options.binaries.bitcoind, bitcoinCli: options.binaries.bitcoinCli, dir: join(dir, 'bitcoin'), outlive: options.outlive ?? false });
    } catch (e) {
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
      return err(`bitcoind did not start: ${(e as Error).message}`);
    }
    const nodes: RegtestNode[] = [];
    for (const spec of options.nodes) {
      nodes.push(
        new RegtestNode(
          { lightningd: options.binaries.lightningd, bitcoinCli: options.binaries.bitcoinCli, bitcoind, rdvPath, dir: join(dir, spec.name), port: await freePort(), outlive: options.outlive ?? false },
          spec,
        ),
      );
    }
    const rt = new Regtest(dir, bitcoind, nodes, options.keep ?? false);
    let failure: unknown;
    try {
      await bitcoind.mine(101);
      // Let every start finish (or fail) before stopping anything: a half-started node cannot be stopped by RPC.
      const started = await Promise.allSettled(nodes.map((n) => n.start()));
      // A port taken between freePort and lightningd's bind (suites start networks side by side): once more on a new port.
      const again = await Promise.allSettled(
        nodes.map(async (n, i) => {
          const r = started[i];
          if (r?.status !== 'rejected') return;
          if (!/already in use|failed to bind|could not bind/i.test(String((r.reason as Error)?.message ?? r.reason))) throw r.reason;
          n.usePort(await freePort());
          await n.start();
        }),
      );
      failure = again.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    } catch (e) {
      failure = e;
    }
    if (failure !== undefined) {
      await rt.stop();
      const why = failure instanceof Error ? failure.message : String(failure);
      return err(`the regtest network did not start: ${why}${options.keep ? ` (logs in ${dir})` : ''}`);
    }
    return ok(rt);
  }

  node(name: string): RegtestNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node named ${name} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  private pick(nodes: ReadonlyArray<string | RegtestNode> | undefined): RegtestNode[] {
    if (nodes === undefined) return this.nodes.filter((n) => n.isRunning());
    return nodes.map((n) => (typeof n === 'string' ? this.node(n) : n));
  }

  /** Mine `n` blocks; by default wait until every running node has seen them. */
  async mine(n: number, options: { sync?: boolean } = {}): Promise<number> {
    const height = await this.bitcoind.mine(n);
    if (options.sync !== false) await this.sync(height);
    return height;
  }

  /** Wait until every running node is at bitcoind's height (or `height`). */
  async sync(height?: number): Promise<void> {
    const h = height ?? (await this.bitcoind.blockCount());
    await Promise.all(this.pick(undefined).map((node) => node.waitSynced(h)));
  }

  /** Give each node `utxos` confirmed outputs of `btc` each (one transaction, one block). */
  async fund(nodes: ReadonlyArray<string | RegtestNode>, options: { btc?: number; utxos?: number } = {}): Promise<void> {
    const btc = options.btc ?? 0.1;
    const utxos = options.utxos ?? 2;
    const targets = this.pick(nodes);
    const before = new Map<RegtestNode, number>();
    const outputs: Record<string, number> = {};
    for (const node of targets) {
      before.set(node, await confirmedOutputs(node.rpc));
      for (let i = 0; i < utxos; i++) outputs[await newAddress(node.rpc)] = btc;
    }
    await this.bitcoind.sendMany(outputs);
    await this.mine(1);
    await Promise.all(
      targets.map((node) =>
        poll(`${node.name}'s ${utxos} new confirmed outputs`, async () => ((await confirmedOutputs(node.rpc)) >= (before.get(node) ?? 0) + utxos ? true : undefined), 30_000),
      ),
    );
  }

  /** Connect `from` to `to` over 127.0.0.1. */
  async connect(from: string | RegtestNode, to: string | RegtestNode): Promise<void> {
    const [a, b] = this.pick([from, to]);
    if (!a || !b) throw new Error('connect needs two nodes');
    await a.rpc.connect(b.id, '127.0.0.1', b.port);
  }

  /**
   * Open channels (each funder needs a confirmed output per channel), mine
   * `confirmations` blocks (6 by default: enough to announce), and wait until
   * every channel is CHANNELD_NORMAL on both sides. With `gossipTo`, also wait
   * until those nodes' gossip has both directions of every public channel.
   */
  async openChannels(specs: ChannelSpec[], options: { confirmations?: number; gossipTo?: ReadonlyArray<string | RegtestNode> } = {}): Promise<Channel[]> {
    const opened: Array<{ spec: ChannelSpec; channelId: string }> = [];
    for (const spec of specs) {
      const { channelId } = await this.fundChannel(spec, { announce: spec.announce ?? true });
      opened.push({ spec, channelId });
    }
    await this.mine(options.confirmations ?? 6);
    const channels: Channel[] = [];
    for (const { spec, channelId } of opened) {
      const scid = await this.waitChannelNormal(spec.from, spec.to, channelId);
      channels.push({ from: spec.from, to: spec.to, scid, channelId });
    }
    if (options.gossipTo !== undefined) {
      const publicScids = channels.filter((c) => specs.find((s) => s.from === c.from && s.to === c.to)?.announce !== false).map((c) => c.scid);
      await this.waitGossip(options.gossipTo, publicScids);
    }
    return channels;
  }

  /** Connect `spec.from` to `spec.to` and fund a channel between them (nothing mined). */
  private async fundChannel(spec: Omit<ChannelSpec, 'announce'>, options: { announce: boolean; mindepth?: number }): Promise<{ a: RegtestNode; b: RegtestNode; channelId: string; channelType: string[] }> {
    const [a, b] = this.pick([spec.from, spec.to]);
    if (!a || !b) throw new Error('a channel needs two nodes');
    await a.rpc.connect(b.id, '127.0.0.1', b.port);
    const result = await a.rpc.call('fundchannel', {
      id: b.id,
      amount: spec.amountSat,
      ...options,
      ...(spec.pushMsat !== undefined ? { push_msat: spec.pushMsat } : {}),
    });
    const r = Reader.of(result, 'fundchannel');
    return { a, b, channelId: r.str('channel_id'), channelType: r.optObj('channel_type')?.arr('names').map(String) ?? [] };
  }

  /**
   * Open a zero-conf channel (`fundchannel ... mindepth=0`, as CLN's
   * tests/test_opening.py test_zeroconf_open does). The peer must accept it as
   * zero-conf: its openchannel hook answers `mindepth: 0` (see
   * test/e2e/fixtures/zeroconf-plugin.mjs). Nothing is mined: the funding
   * transaction stays in the mempool and the channel is named by its local
   * aliases until it confirms. Waits until both sides are CHANNELD_NORMAL and
   * have each other's channel_update; returns both sides' local alias.
   */
  async openZeroConf(spec: Omit<ChannelSpec, 'announce'> & { announce?: boolean }, timeoutMs = 60_000): Promise<ZeroConfChannel> {
    const { a, b, channelId, channelType } = await this.fundChannel(spec, { announce: spec.announce ?? false, mindepth: 0 });
    return poll(
      `zero-conf channel ${a.name}-${b.name} CHANNELD_NORMAL`,
      async () => {
        const mine = (await listPeerChannels(a.rpc, b.id)).find((c) => c.channelId === channelId);
        const theirs = (await listPeerChannels(b.rpc, a.id)).find((c) => c.channelId === channelId);
        if (mine?.state !== 'CHANNELD_NORMAL' || theirs?.state !== 'CHANNELD_NORMAL') return undefined;
        if (!mine.remoteUpdate || !theirs.remoteUpdate || mine.localAlias === undefined || theirs.localAlias === undefined) return undefined;
        return { from: a.name, to: b.name, channelId, channelType, fromAlias: mine.localAlias, toAlias: theirs.localAlias, scid: mine.scid };
      },
      timeoutMs,
    );
  }

  /**
   * Wait until the channel is CHANNELD_NORMAL on both sides and each side has the
   * other's channel_update (without it, an invoice has no route hint for an
   * unannounced channel and payers fail with "Unknown destination node");
   * returns its short channel id.
   */
  async waitChannelNormal(from: string | RegtestNode, to: string | RegtestNode, channelId: string, timeoutMs = 60_000): Promise<string> {
    const [a, b] = this.pick([from, to]);
    if (!a || !b) throw new Error('a channel needs two nodes');
    return poll(
      `channel ${a.name}-${b.name} CHANNELD_NORMAL`,
      async () => {
        const mine = (await listPeerChannels(a.rpc, b.id)).find((c) => c.channelId === channelId);
        const theirs = (await listPeerChannels(b.rpc, a.id)).find((c) => c.channelId === channelId);
        if (mine?.state !== 'CHANNELD_NORMAL' || theirs?.state !== 'CHANNELD_NORMAL' || mine.scid === undefined) return undefined;
        if (!mine.remoteUpdate || !theirs.remoteUpdate) return undefined;
        return mine.scid;
      },
      timeoutMs,
    );
  }

  /** Wait until each observer's gossip (listchannels) has both directions of each channel. */
  async waitGossip(observers: ReadonlyArray<string | RegtestNode>, scids: string[], timeoutMs = 60_000): Promise<void> {
    for (const node of this.pick(observers)) {
      for (const scid of scids) {
        await poll(`${node.name} to learn ${scid} from gossip`, async () => ((await gossipDirections(node.rpc, scid)) >= 2 ? true : undefined), timeoutMs, 200);
      }
    }
  }

  /** Stop the node's lightningd with RPC `stop` and start it again with the same arguments. */
  async restart(name: string | RegtestNode): Promise<void> {
    const [node] = this.pick([name]);
    if (!node) throw new Error('restart needs a node');
    await node.restart();
  }

  /** SIGKILL the node's rdv plugin; returns the PID killed. */
  async killPlugin(name: string | RegtestNode): Promise<number> {
    const [node] = this.pick([name]);
    if (!node) throw new Error('killPlugin needs a node');
    return node.killRdvPlugin();
  }

  /** Every PID this network has running now (lightningd and bitcoind). */
  pids(): number[] {
    const out = this.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
    if (this.bitcoind.isRunning()) out.push(this.bitcoind.pid);
    return out;
  }

  /**
   * Stop everything this network started: each lightningd (RPC stop, SIGKILL after
   * a grace period), then bitcoind (`bitcoin-cli stop`, then SIGKILL); remove the
   * temp dir unless `keep`. Safe to call twice.
   */
  /** Leave bitcoind and the nodes running and let go of them, so this process can exit (outlive). */
  detach(): void {
    this.stopped = true;
    for (const n of this.nodes) n.detach();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
    await this.bitcoind.stop().catch(() => undefined);
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
