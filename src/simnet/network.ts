/**
 * An in-process Lightning network for tests, benchmarks and `rdv demo`: nodes
 * (fake lightningd, each with its own RPC socket and, optionally, the real
 * bin/rdv as its plugin), channels with balances, fees and CLTV deltas, blocks,
 * HTLCs moved hop by hop with latency, peer messages, and faults on demand.
 *
 * This file is the simnet's main file: SimNetwork owns the nodes and the
 * channels, moves HTLCs between them and keeps the ledger. Imports run one way,
 * down this list's floors (test/unit/import-cycles.test.ts fails on a circle):
 *   soak/            the chaos soak, run on this network
 *   network.ts       SimNetwork: nodes, channels, blocks, HTLCs hop by hop, messages, faults
 *   ledger.ts        every HTLC added, settled, failed or expired (what the soak audits)
 *   node.ts          SimNode, one fake lightningd: its state and its process's life cycle;
 *                    what it does is in node/, one room per concern (named in node.ts):
 *                    core.ts, plugins.ts, htlc-accepted.ts, forward.ts, receive.ts, rpc.ts,
 *                    info.ts, invoices.ts, payments.ts, peers.ts
 *   payer.ts         a node's xpay: routes, parts, retries, listsendpays
 *   peer-channels.ts a node's listpeerchannels reply
 *   types.ts         what the network and its nodes see of each other: NodeNetwork (which
 *                    SimNetwork implements; nodes reach the network only through it), Peer,
 *                    Incoming, HtlcOutcome, the options
 *   channel.ts       a channel: balances, policies, lightningd's names for it (scid, aliases)
 *   askrene.ts, routing.ts, onion.ts, invoices.ts, offers.ts, bolt12.ts, datastore.ts, moves.ts, final-hop.ts,
 *   help.ts, keys.ts, plugin-host.ts, rpc-server.ts, sleep.ts: one piece of lightningd (or of
 *                    its plugins) each, as their names say; they import none of the above
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeId } from '../chain/ids.js';
import type { HopPayload } from './onion.js';
import { SimNode, type SimNodeOptions } from './node.js';
import type { Edge } from './routing.js';
import type { DirectedChannel } from './askrene.js';
import { aliasFromCounter, DEFAULT_POLICY, SimChannel, type ChannelMint, type ChannelPolicy, type NodeRef } from './channel.js';
import { Ledger, type LedgerKind } from './ledger.js';
import { sleep } from './sleep.js';
import type { HtlcOutcome, Incoming, InvoiceRequest, InvoiceRequestAnswer, Latency, NetworkEvent, NetworkOptions, NodeNetwork } from './types.js';

export const NO_LATENCY: Latency = { hopAddMs: 0, hopSettleMs: 0, xpaySetupMs: 0, finalSettleMs: 0, messageMs: 0 };

/**
 * Calibrated to CLN v26.06.6 on regtest (DESIGN.md / issue 4): a plain xpay took a
 * median 165 ms over 2 hops and 192 ms over 3, so a hop costs ~27 ms (add and
 * settle) and the rest (~111 ms) is per payment, mostly at the paying and final nodes.
 */
export const REGTEST_LATENCY: Latency = { hopAddMs: 13, hopSettleMs: 14, xpaySetupMs: 6, finalSettleMs: 99, messageMs: 3 };

export { DEFAULT_POLICY, SimChannel, type ChannelPolicy, type ChannelState } from './channel.js';
export { sleep } from './sleep.js';
export type { HtlcOutcome, Incoming, Latency, NetworkEvent, NetworkOptions } from './types.js';

interface Pending {
  incoming: Incoming;
  to: SimNode;
  decided: boolean;
  settle: (o: HtlcOutcome) => void;
}

export class SimNetwork implements NodeNetwork {
  readonly nodes = new Map<string, SimNode>();
  readonly channels: Array<SimChannel<SimNode>> = [];
  readonly events: NetworkEvent[] = [];
  /** Every HTLC added, settled, failed or expired, per node and payment hash (ledger.ts). */
  readonly ledger = new Ledger();
  readonly latency: Latency;
  height: number;
  readonly dir: string;
  private readonly ownDir: boolean;
  private scidCounter = 0;
  private channelCounter = 0;
  private aliasCounter = 0;
  /** Fresh real scids (at the current height) and aliases for channels. */
  private readonly mint: ChannelMint = {
    realScid: () => {
      this.scidCounter++;
      return `${this.height - 6 + this.scidCounter}x${this.scidCounter}x0`;
    },
    alias: () => aliasFromCounter(++this.aliasCounter),
  };
  private portCounter = 19_846;
  /** HTLCs accepted by a node and not yet settled or failed. */
  private readonly pending = new Set<Pending>();
  /**
   * HTLCs settled or failed whose sender has not yet taken the outcome in: they
   * are still listed on their channel. lightningd marks its own payment part
   * complete or failed when the peer's removal is committed (RCVD_REMOVE_COMMIT,
   * peer_htlcs.c fulfill_our_htlc_out -> payment_succeeded) and drops the HTLC
   * from listpeerchannels only after the revocation (RCVD_REMOVE_ACK_REVOCATION,
   * remove_htlc_out): a part never shows pending with its HTLC gone.
   */
  private readonly removing = new Set<Pending>();
  /** Peer messages to drop (fault injection): the next `n` messages. */
  dropMessages = 0;

  constructor(readonly options: NetworkOptions = {}) {
    this.latency = options.latency ?? NO_LATENCY;
    this.height = options.blockheight ?? 110;
    this.ownDir = options.dir === undefined;
    // Short paths: unix socket paths are limited to ~107 bytes.
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rdv-sim-'));
  }

  async addNode(name: string, opts: Omit<SimNodeOptions, 'name' | 'dir' | 'port'> = {}): Promise<SimNode> {
    if (this.nodes.has(name)) throw new Error(`node ${name} exists`);
    const dir = join(this.dir, name);
    mkdirSync(join(dir, 'regtest'), { recursive: true });
    const node = new SimNode(this, { ...opts, name, dir, port: this.portCounter++ });
    this.nodes.set(name, node);
    await node.start();
    return node;
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  nodeById(id: string): SimNode | undefined {
    for (const n of this.nodes.values()) if (n.id === id) return n;
    return undefined;
  }

  /**
   * Open a channel funded by `a`; `pushMsat` goes to `b`. Announced unless
   * `private`. A `zeroConf` channel is usable at once but has no real scid
   * (each side names it by its local alias) until `channel.confirm()`.
   */
  openChannel(
    a: SimNode,
    b: SimNode,
    capacitySat: bigint,
    opts: { pushMsat?: bigint; private?: boolean; zeroConf?: boolean; policyA?: Partial<ChannelPolicy>; policyB?: Partial<ChannelPolicy> } = {},
  ): SimChannel<SimNode> {
    const scid = opts.zeroConf ? undefined : this.mint.realScid();
    const capacity = capacitySat * 1000n;
    const ch = new SimChannel(scid, a, b, capacity, opts.private ?? false, ++this.channelCounter, this.mint);
    const push = opts.pushMsat ?? 0n;
    ch.balance.set(a.id, capacity - push);
    ch.balance.set(b.id, push);
    ch.policy.set(a.id, { ...DEFAULT_POLICY, ...opts.policyA });
    ch.policy.set(b.id, { ...DEFAULT_POLICY, ...opts.policyB });
    this.channels.push(ch);
    a.peers.add(b.id);
    b.peers.add(a.id);
    return ch;
  }

  /** The channel any node calls `scid` (real, old public, or either side's alias). */
  channelByScid(scid: string): SimChannel<SimNode> | undefined {
    return this.channels.find((c) => c.anyName(scid));
  }

  /** The channel `node`'s lightningd finds by `scid`, like any_channel_by_scid: its real scid, an old public one, or its own local alias. */
  channelFor(node: NodeRef, scid: string): SimChannel<SimNode> | undefined {
    return this.channels.find((c) => c.knownAs(node, scid));
  }

  /** `node`'s channels with `peer`. */
  channelsBetween(node: NodeRef, peer: NodeRef): Array<SimChannel<SimNode>> {
    const peerId = typeof peer === 'string' ? peer : peer.id;
    return this.channels.filter((c) => c.has(node) && c.other(node).id === peerId);
  }

  /**
   * Routing graph as `viewer` sees it: announced channels (those with a real
   * scid), its own, and the hinted ones, each named as the forwarding side
   * knows it (real scid, else its local alias; a hinted one by the hint's
   * scid). Channels that cannot take HTLCs (closing) are not in the graph.
   * `isDisabled(from)`: askrene layers that disable a node drop its outgoing
   * directions (plugins/askrene/layer.c).
   */
  edges(viewer: NodeId, hinted: ReadonlyMap<string, ChannelPolicy & { from: NodeId }> = new Map(), isDisabled: (c: DirectedChannel) => boolean = () => false): Edge[] {
    const out: Edge[] = [];
    for (const ch of this.channels) {
      if (!ch.canAddHtlc()) continue;
      for (const [from, to] of [
        [ch.a, ch.b],
        [ch.b, ch.a],
      ] as const) {
        const hint = [...hinted].find(([scid, h]) => h.from === from.id && ch.knownAs(from, scid));
        const announced = !ch.isPrivate && ch.scid !== undefined;
        const names = [ch.scid, ch.localAlias(ch.a), ch.localAlias(ch.b)].filter((n): n is string => n !== undefined && n !== '');
        if (isDisabled({ from: from.id, announced, names, dir: from.id < to.id ? 0 : 1 })) continue;
        const visible = announced || from.id === viewer || to.id === viewer || hint !== undefined;
        if (!visible || !from.up || !to.up) continue;
        const policy = hint ? hint[1] : ch.policy.get(from.id);
        if (!policy) continue;
        const scid = hint ? hint[0] : ch.scidFor(from);
        out.push({ scid, from: from.id, to: to.id, spendableMsat: ch.spendable(from.id), feeBaseMsat: policy.feeBaseMsat, feePpm: policy.feePpm, cltvDelta: policy.cltvDelta });
      }
    }
    return out;
  }

  /**
   * Offer an HTLC over `channel` from `from`; resolves when it is settled or failed
   * back to `from`. Balances move as on a real channel: locked while pending.
   */
  /**
   * Offer an HTLC over `channel` and wait for its outcome. `ownPayment`: the
   * sender is paying (xpay's first hop), and lightningd has already registered
   * the part in listsendpays; if the sender dies before the HTLC is committed
   * (within the add latency), the HTLC is lost and the outcome never comes: the
   * part stays pending for ever (see Payer.startPart).
   */
  async sendHtlc(
    from: SimNode,
    channel: SimChannel<SimNode>,
    amountMsat: bigint,
    cltvExpiry: number,
    paymentHash: string,
    onion: HopPayload[],
    options: { ownPayment?: boolean; resolved?: (o: HtlcOutcome) => void } = {},
  ): Promise<HtlcOutcome> {
    const to = channel.other(from);
    const [payload, ...rest] = onion;
    const localFail = (code: string): HtlcOutcome => ({ ok: false, failureMessage: code, failingNode: from.id, failingScid: channel.scidFor(from) });
    if (!payload) return localFail('2002');
    // send_htlc_out (lightningd/peer_htlcs.c): a channel that is not normal takes no new HTLC.
    if (!channel.canAddHtlc()) return localFail('400a');
    if (!to.up || !from.up) return localFail('1007'); // temporary_channel_failure: peer offline
    if (channel.spendable(from.id) < amountMsat) return localFail('1007');
    channel.balance.set(from.id, (channel.balance.get(from.id) ?? 0n) - amountMsat);
    const incoming: Incoming = { channel, from, id: channel.takeHtlcId(from.id), amountMsat, cltvExpiry, paymentHash, payload, rest };
    const run = from.starts;
    const peerRun = to.starts;
    await sleep(this.latency.hopAddMs);
    if (options.ownPayment && (!from.up || from.starts !== run)) {
      // lightningd saves an HTLC it offers only as it sends the commitment that
      // carries it (peer_sending_commitsig), after the payment part is in its
      // database: killed in between, it restarts with the part pending and no
      // HTLC for it, and the peer drops the uncommitted update_add_htlc. Seen on
      // CLN v26.06.6 (soak --regtest: kill -9 just after injectpaymentonion).
      channel.balance.set(from.id, (channel.balance.get(from.id) ?? 0n) + amountMsat);
      this.event('htlc_lost', from.name, `HTLC for ${paymentHash.slice(0, 8)} lost: ${from.name}'s lightningd died before committing it`);
      return new Promise<HtlcOutcome>(() => undefined);
    }
    if (!to.up || to.starts !== peerRun) {
      // The peer went away before the HTLC was committed: lightningd fails it at once
      // (destroy_hout_subd_died: "Outgoing subdaemon died", temporary_channel_failure).
      channel.balance.set(from.id, (channel.balance.get(from.id) ?? 0n) + amountMsat);
      return localFail('1007');
    }
    let settle: (o: HtlcOutcome) => void = () => undefined;
    const decided = new Promise<HtlcOutcome>((resolve) => (settle = resolve));
    const p: Pending = { incoming, to, decided: false, settle: (o) => settle(o) };
    this.pending.add(p);
    this.record('add', p);
    to.acceptHtlc(incoming).then(
      (o) => this.decide(p, o),
      (e: unknown) => this.decide(p, { ok: false, failureMessage: '2002', failingNode: to.id, failingScid: undefined, ...{ detail: String(e) } }),
    );
    const outcome = await decided;
    try {
      await sleep(this.latency.hopSettleMs);
      if (outcome.ok) channel.balance.set(to.id, (channel.balance.get(to.id) ?? 0n) + amountMsat);
      else channel.balance.set(from.id, (channel.balance.get(from.id) ?? 0n) + amountMsat);
      // The sender takes the outcome in (its listsendpays) before the HTLC leaves the channel's list.
      options.resolved?.(outcome);
    } finally {
      this.removing.delete(p);
    }
    return outcome;
  }

  private decide(p: Pending, o: HtlcOutcome): void {
    if (p.decided) {
      this.event('late_resolution', p.to.name, `${o.ok ? 'resolved' : 'failed'} HTLC ${p.incoming.channel.label}/${p.incoming.id} after it had expired`);
      this.record(o.ok ? 'late_settle' : 'late_fail', p, o.ok ? undefined : o.failureMessage);
      return;
    }
    p.decided = true;
    this.removing.add(p);
    this.pending.delete(p);
    this.record(o.ok ? 'settle' : 'fail', p, o.ok ? undefined : o.failureMessage);
    p.settle(o);
  }

  private record(kind: LedgerKind, p: Pending, failureMessage?: string): void {
    const h = p.incoming;
    this.ledger.record({
      height: this.height,
      kind,
      paymentHash: h.paymentHash,
      from: h.from.name,
      to: p.to.name,
      channel: h.channel.label,
      channelId: h.channel.channelId,
      htlcId: h.id,
      amountMsat: h.amountMsat,
      cltvExpiry: h.cltvExpiry,
      ...(failureMessage !== undefined ? { failureMessage } : {}),
    });
  }

  /** Every HTLC accepted and not yet settled or failed, with the node holding it. */
  allHeld(): Array<{ incoming: Incoming; to: SimNode }> {
    return [...this.pending].map((p) => ({ incoming: p.incoming, to: p.to }));
  }

  /** HTLCs `node` holds now (accepted, not yet settled or failed). */
  heldBy(node: SimNode): Incoming[] {
    return [...this.pending].filter((p) => p.to === node).map((p) => p.incoming);
  }

  /** HTLCs on `channel` (added, and not yet removed: pending, or settled or failed and not yet taken in by the sender), each with the node it was offered to. */
  htlcsOn(channel: SimChannel): Array<{ incoming: Incoming; to: SimNode }> {
    return [...this.pending, ...this.removing].filter((p) => p.incoming.channel === channel).map((p) => ({ incoming: p.incoming, to: p.to }));
  }

  /** Mine blocks: notify plugins, and expire HTLCs whose cltv_expiry has passed (the upstream peer goes on chain). */
  async mine(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.height++;
      for (const p of [...this.pending]) {
        if (p.incoming.cltvExpiry <= this.height) {
          this.event('htlc_expired', p.to.name, `HTLC ${p.incoming.channel.label}/${p.incoming.id} (${p.incoming.amountMsat} msat) expired at block ${this.height} while held`);
          p.decided = true;
          this.removing.add(p);
          this.pending.delete(p);
          this.record('expire', p, '4015');
          p.settle({ ok: false, failureMessage: '4015', failingNode: p.to.id, failingScid: p.incoming.channel.scidFor(p.to) });
        }
      }
      const hash = randomBytes(32).toString('hex');
      for (const node of this.nodes.values()) node.onBlock(this.height, hash);
    }
  }

  /** Deliver a peer message after the message latency (unless a drop fault is armed). */
  deliverMessage(from: SimNode, to: SimNode, msgHex: string): void {
    if (this.dropMessages > 0) {
      this.dropMessages--;
      this.event('message_dropped', from.name, `message to ${to.name} dropped`);
      return;
    }
    void sleep(this.latency.messageMs).then(() => to.receiveMessage(from.id, msgHex));
  }

  /**
   * fetchinvoice's round trip of onion messages. CLN routes them over the
   * gossip graph or connects to the issuer directly; here a chain of connected
   * peers, each running, must lead from `from` to the issuer, else
   * `unreachable`. An issuer that is down (and so not reachable) answers
   * nothing: `timeout` after `timeoutSeconds`, as fetchinvoice's own timeout.
   */
  async requestInvoice(from: SimNode, issuer: NodeId, request: InvoiceRequest, timeoutSeconds: number): Promise<InvoiceRequestAnswer> {
    const to = this.nodeById(issuer);
    if (!to) return { kind: 'unreachable' };
    if (!to.up) {
      await sleep(timeoutSeconds * 1000);
      return { kind: 'timeout' };
    }
    if (!this.messagePath(from, to)) return { kind: 'unreachable' };
    await sleep(this.latency.messageMs * 2);
    return to.answerInvoiceRequest(request);
  }

  /** A chain of connected, running peers from `a` to `b`. */
  private messagePath(a: SimNode, b: SimNode): boolean {
    const seen = new Set<NodeId>([a.id]);
    const queue: SimNode[] = [a];
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      if (n === b) return true;
      for (const id of n.peers) {
        const p = this.nodeById(id);
        if (p?.up && !seen.has(p.id)) {
          seen.add(p.id);
          queue.push(p);
        }
      }
    }
    return false;
  }

  event(type: NetworkEvent['type'], node: string, detail: string): void {
    this.events.push({ at: Date.now(), type, node, detail });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
