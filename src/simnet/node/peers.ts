/**
 * A fake lightningd: serves the RPC calls rdv makes on its own unix socket,
 * with replies shaped like CLN v26.06's (see ../shared/cln-fixtures), hosts
 * plugins over stdio like lightningd (a hook chain; a dying plugin's pending
 * calls go to the next plugin in the chain or to lightningd's own handling,
 * and an important plugin's death then stops lightningd, as in CLN's
 * plugin_hook.c; held HTLCs are replayed at restart, under the channel's name
 * at that time, unless the channel is closing), and takes part in the
 * network's HTLC traffic as sender, forwarder and final node, with
 * lightningd's own final-hop checks (final-hop.ts).
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { msat } from '../chain/amount.js';
import { resignInvoice, type RouteHintHop } from '../chain/bolt11.js';
import { mppTimeout, unknownPaymentDetails } from '../chain/failure.js';
import type { NodeId } from '../chain/ids.js';
import { isObject } from '../chain/read.js';
import { Askrene } from './askrene.js';
import { Datastore } from './datastore.js';
import { bareUnknownPaymentDetails, finalIncorrectHtlcAmount, invalidOnionPayload, invoiceAccepts, localpayFailure, permanentChannelFailure, unknownNextPeer } from './final-hop.js';
import { helpReply } from './help.js';
import { decodeJson, InvoiceBook, invoiceJson, msatParam } from './invoices.js';
import { nodeKeyFromSeed } from './keys.js';
import { decodeHopPayload, encodeHopPayload, nextOnionHex, sharedSecretHex, type DecodedPayload } from './onion.js';
import { listPeerChannels } from './peer-channels.js';
import { Payer } from './payer.js';
import { PluginDiedError, PluginHost } from './plugin-host.js';
import { cheapestRoute } from './routing.js';
import { listChannelMoves, type ChannelMove, type NewChannelMove } from './moves.js';
import { RpcServer, SimRpcError } from './rpc-server.js';
import { sleep } from './sleep.js';
import type { HtlcOutcome, Incoming, NodeNetwork, PeerChannel } from './types.js';

export interface SimNodeOptions {
  name: string;
  dir: string;
  port: number;
  /** Load the network's plugin (bin/rdv) into this node. */
  plugin?: boolean;
  /** Load this executable instead of the network's plugin (e.g. a test plugin; set `guard: false`). */
  pluginPath?: string;
  /** Also load rdv-guard after it (default: when `plugin`). */
  guard?: boolean;
  /** Load them as important-plugin (lightningd stops when one dies). Default true. */
  important?: boolean;
  /** CLN version to report (to test the plugin's version check). */
  version?: string;
  /** Seconds before CLN fails an incomplete MPP set for its own invoice. */
  mppTimeoutMs?: number;
  /** lightningd's cltv-final: the fewest blocks a final HTLC may have left (18 on mainnet; CLN uses 10 on regtest). */
  cltvFinal?: number;
  /** lightningd runs with --developer: bad-parameter errors quote the token. */
  developer?: boolean;
}

const BUILTIN_PLUGINS = ['autoclean', 'chanbackup', 'bcli', 'commando', 'funder', 'topology', 'keysend', 'offers', 'pay', 'cln-xpay', 'cln-askrene', 'sql', 'bookkeeper'];

export interface LoadedPlugin {
  path: string;
  important: boolean;
  host: PluginHost | undefined;
}

interface MppSet {
  parts: Array<{ h: Incoming; resolve: (o: HtlcOutcome) => void }>;
  timer: NodeJS.Timeout | undefined;
  /** The first part's total_msat: every later part must say the same. */
  totalMsat: bigint;
  /** Sum of the parts' HTLC amounts (not their amt_to_forward), as htlc_set.c counts. */
  soFarMsat: bigint;
}

export class SimNode {
  readonly name: string;
  readonly id: NodeId;
  readonly privateKey: Buffer;
  readonly dir: string;
  readonly netDir: string;
  readonly socketPath: string;
  readonly port: number;
  readonly datastore = new Datastore();
  readonly invoices: InvoiceBook;
  readonly payer: Payer;
  readonly peers = new Set<NodeId>();
  readonly server: RpcServer;
  readonly version: string;
  /** Plugins in hook-chain order (rdv before rdv-guard). */
  readonly plugins: LoadedPlugin[] = [];
  up = false;
  /** How many times lightningd has started: an HTLC added by an earlier run that it never committed is lost. */
  starts = 0;
  /** Lines the plugin logged (and wrote to stderr). */
  readonly log: string[] = [];
  private upGate: Promise<void>;
  private openGate: () => void = () => undefined;
  private readonly mpp = new Map<string, MppSet>();
  /** Fault: hold payments to our invoices (a stalling payee) until releaseStalled(). */
  stallFinal = false;
  /** Fault: hold payments to our invoices for these hashes only, until releaseStalled(hash). */
  readonly stallHashes = new Set<string>();
  private stalled: Array<{ hash: string; release: () => void }> = [];
  private readonly mppTimeoutMs: number;
  readonly cltvFinal: number;
  readonly developer: boolean;
  /** askrene's layers, used by this node's xpay and getroutes. */
  readonly askrene: Askrene;

  constructor(
    readonly net: NodeNetwork,
    opts: SimNodeOptions,
  ) {
    this.name = opts.name;
    const key = nodeKeyFromSeed(opts.name);
    this.id = key.id;
    this.privateKey = key.privateKey;
    this.dir = opts.dir;
    this.netDir = join(opts.dir, 'regtest');
    this.socketPath = join(this.netDir, 'lightning-rpc');
    this.port = opts.port;
    this.version = opts.version ?? 'v26.06.6';
    const important = opts.important ?? true;
    const rdvPath = opts.pluginPath ?? net.options.pluginPath;
    if (opts.plugin && rdvPath) {
      this.plugins.push({ path: rdvPath, important, host: undefined });
      if (opts.guard ?? true) this.plugins.push({ path: join(dirname(rdvPath), 'rdv-guard'), important, host: undefined });
    }
    this.mppTimeoutMs = opts.mppTimeoutMs ?? net.options.mppTimeoutMs ?? 60_000;
    this.cltvFinal = opts.cltvFinal ?? 18;
    this.developer = opts.developer ?? false;
    this.askrene = new Askrene(() => this.developer);
    this.invoices = new InvoiceBook(this.privateKey, 'bcrt');
    this.payer = new Payer(this, net);
    this.server = new RpcServer(this.socketPath, (method, params) => this.dispatch(method, params));
    this.upGate = new Promise((resolve) => (this.openGate = resolve));
  }

  // --- life cycle --------------------------------------------------------------

  /** Start, stop and crash one at a time, like a process that is either running or not. */
  private lifecycle: Promise<void> = Promise.resolve();
  private serially(fn: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(fn);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  /** Start (or restart) lightningd: RPC socket, plugins (startup), then replays of held HTLCs. */
  start(): Promise<void> {
    return this.serially(() => this.doStart());
  }

  private async doStart(): Promise<void> {
    if (this.up) return;
    this.askrene.restart();
    await this.server.start();
    for (const p of this.plugins) await this.launch(p, true);
    this.starts++;
    this.up = true;
    this.openGate();
  }

  /** lightningd stops: plugins are killed, RPC connections drop, xpay commands die; held HTLCs stay held. */
  crash(): Promise<void> {
    return this.serially(() => this.doCrash());
  }

  private async doCrash(): Promise<void> {
    if (!this.up) return;
    this.up = false;
    this.upGate = new Promise((resolve) => (this.openGate = resolve));
    this.payer.abortAll();
    await this.server.stop();
    for (const p of this.plugins) {
      if (p.host?.alive) {
        p.host.kill('SIGKILL');
        await p.host.exited;
      }
    }
  }

  /**
   * A clean stop, like `lightning-cli stop` (lightningd.c main, shutdown_plugins):
   * no new RPC connection (those open are served until the plugins are gone),
   * hook answers no longer awaited (held HTLCs stay held and are replayed at the
   * next start), plugins get the `shutdown` notification and `graceMs` to exit
   * (30 s in CLN), then are killed.
   */
  stopCleanly(graceMs = 2_000): Promise<void> {
    return this.serially(async () => {
      if (!this.up) return;
      this.up = false;
      this.upGate = new Promise((resolve) => (this.openGate = resolve));
      this.payer.abortAll();
      // jsonrpc_stop_listening: open connections (the plugins') are still served while they shut down.
      this.server.stopListening();
      const alive = this.plugins.map((p) => p.host).filter((h): h is PluginHost => h?.alive === true);
      for (const h of alive) if (h.subscribes('shutdown')) h.notify('shutdown', {});
      await Promise.race([Promise.all(alive.map((h) => h.exited)), sleep(graceMs)]);
      for (const h of alive) {
        if (h.alive) {
          h.kill('SIGKILL');
          await h.exited;
        }
      }
      // jsonrpc_stop_all.
      await this.server.stop();
    });
  }

  /** stopCleanly() then start(). */
  async restartCleanly(graceMs?: number): Promise<void> {
    await this.stopCleanly(graceMs);
    this.net.event('node_restarted', this.name, 'lightningd stopped cleanly and restarted');
    await this.start();
  }

  async restart(): Promise<void> {
    await this.crash();
    this.net.event('node_restarted', this.name, 'lightningd restarted');
    await this.start();
  }

  /** The rdv plugin's host (the first plugin), if loaded. */
  get plugin(): PluginHost | undefined {
    return this.plugins[0]?.host;
  }

  /** kill -9 a plugin (rdv by default). An important one takes lightningd down; start() brings it back. */
  async killPlugin(name = 'rdv'): Promise<void> {
    const p = this.plugins.find((x) => basename(x.path) === name);
    if (!p?.host?.alive) return;
    p.host.kill('SIGKILL');
    await p.host.exited;
    await this.lifecycle;
  }

  async stop(): Promise<void> {
    await this.crash();
    for (const set of this.mpp.values()) if (set.timer) clearTimeout(set.timer);
  }

  private async launch(p: LoadedPlugin, startup: boolean): Promise<void> {
    const host = await PluginHost.start({
      path: p.path,
      netDir: this.netDir,
      rpcFile: 'lightning-rpc',
      network: 'regtest',
      startup,
      options: basename(p.path) === 'rdv' ? (this.net.options.pluginOptions ?? {}) : (this.net.options.guardOptions ?? {}),
      onStderr: (line) => {
        this.log.push(`${basename(p.path)}: ${line}`);
        this.net.options.onLog?.(this.name, `${basename(p.path)}: ${line}`);
      },
    });
    p.host = host;
    if (host.disabled !== undefined) {
      p.important = false;
      this.log.push(`${basename(p.path)}: disabled itself at init: ${host.disabled}`);
      return;
    }
    void host.exited.then(() => this.onPluginExit(p, host));
  }

  /** A plugin exited: if lightningd is running and it was important, lightningd stops. */
  private onPluginExit(p: LoadedPlugin, host: PluginHost): void {
    if (p.host !== host || !this.up) return;
    this.net.event('plugin_died', this.name, `${basename(p.path)} died${p.important ? ': important plugin, lightningd stops' : ''}`);
    if (p.important) void this.crash();
  }

  private waitUp(): Promise<void> {
    return this.up ? Promise.resolve() : this.upGate;
  }

  onBlock(height: number, hash: string): void {
    this.invoices.refreshExpiry(Math.floor(Date.now() / 1000));
    this.notify('block_added', { block_added: { hash, height } });
  }

  /** Send a notification to every plugin subscribed to the topic (as lightningd does). */
  notify(topic: string, params: Record<string, unknown>): void {
    if (!this.up) return;
    for (const p of this.plugins) if (p.host?.alive && p.host.subscribes(topic)) p.host.notify(topic, params);
  }

  // --- HTLCs ---------------------------------------------------------------------

  /**
   * An HTLC arrives: plugin hook first (held until it answers), then
   * lightningd's own handling. Like peer_accepted_htlc (lightningd/peer_htlcs.c),
   * at first sight and again at each replay after a restart (htlcs_resubmit),
   * an HTLC on a channel that can no longer add HTLCs (shutting down, closing,
   * on chain) is failed with permanent_channel_failure without calling the
   * hook: a part held across a restart whose channel went on chain meanwhile
   * is never replayed, and lightningd can no longer fulfill it.
   */
  async acceptHtlc(h: Incoming): Promise<HtlcOutcome> {
    const final = h.rest.length === 0;
    const decoded = decodeHopPayload(h.payload, final);
    const fail = (failureMessage: string, failingScid?: string): HtlcOutcome => ({ ok: false, failureMessage, failingNode: this.id, failingScid });
    let r: Record<string, unknown>;
    try {
      r = await this.callHook('htlc_accepted', () => this.hookParams(h), {
        gate: () => (h.channel.canAddHtlc() ? undefined : { result: 'fail', failure_message: permanentChannelFailure() }),
        onCall: (plugin) => (h.status = `Waiting for the htlc_accepted hook of plugin ${plugin}`),
      });
    } finally {
      h.status = undefined;
    }
    if (r.result === 'resolve' && typeof r.payment_key === 'string') {
      // htlc_accepted_hook_try_resolve: lightningd checks the key and fails the HTLC with a bare 0x400f if it is wrong.
      if (createHash('sha256').update(Buffer.from(r.payment_key, 'hex')).digest('hex') !== h.paymentHash) {
        this.net.event('wrong_preimage', this.name, `HTLC ${h.channel.label}/${h.id} resolved with a wrong preimage: lightningd failed it`);
        return fail(bareUnknownPaymentDetails());
      }
      // A plugin's resolve is we_filled: lightningd logs an "invoice" channel move once it settles.
      this.addChannelMove({ account_id: h.channel.channelId, credit_msat: h.amountMsat, debit_msat: 0n, primary_tag: 'invoice', payment_hash: h.paymentHash });
      return { ok: true, preimage: r.payment_key };
    }
    if (r.result === 'fail') return fail(typeof r.failure_message === 'string' ? r.failure_message : '2002');
    // htlc_accepted_hook_final: only now does an undecodable payload fail.
    if (!decoded.ok) return fail(invalidOnionPayload(decoded.failTlvType, decoded.failTlvPos));
    return final ? this.receiveFinal(h, decoded.payload) : this.forward(h, decoded.payload);
  }

  /**
   * Call a hook like lightningd: each plugin in the chain in turn until one
   * answers something other than `continue`. When a plugin dies with a call
   * pending, the call goes on to the next plugin in the chain, or to
   * lightningd's own handling (CLN plugin_hook.c) — unless lightningd itself
   * went down, in which case the HTLC is still held and is replayed once the
   * node is back. No plugin, or none with this hook: `continue`. `gate` runs
   * before the chain at first and at each replay, and may answer instead of it;
   * `onCall` says which plugin is being waited for.
   */
  async callHook(
    name: string,
    params: () => Record<string, unknown>,
    opts: { gate?: () => Record<string, unknown> | undefined; onCall?: (plugin: string) => void } = {},
  ): Promise<Record<string, unknown>> {
    replay: for (;;) {
      await this.waitUp();
      const gated = opts.gate?.();
      if (gated) return gated;
      for (const p of this.plugins) {
        const host = p.host;
        if (!host?.alive || !host.hasHook(name)) continue;
        let reply: unknown;
        try {
          opts.onCall?.(basename(p.path));
          reply = await host.request(name, params());
        } catch (e) {
          if (!(e instanceof PluginDiedError)) throw e;
          if (!this.up) continue replay;
          continue;
        }
        // An answer that comes while lightningd is down (stopping: shutdown_plugins
        // clears pending requests) is lost: the HTLC is replayed at the next start.
        if (!this.up) continue replay;
        const r = isObject(reply) ? reply : { result: 'continue' };
        if (r.result !== 'continue') return r;
      }
      if (!this.up) continue replay;
      return { result: 'continue' };
    }
  }

  /**
   * htlc_accepted_hook_serialize: built at each call, so a replayed HTLC shows
   * the channel's name at that moment (channel_scid_or_local_alias: the real
   * scid, else this node's local alias). An undecodable payload gets only
   * `payload`, `next_onion` and `shared_secret` in `onion`.
   */
  hookParams(h: Incoming): Record<string, unknown> {
    const decoded = decodeHopPayload(h.payload, h.rest.length === 0);
    const onion: Record<string, unknown> = { payload: encodeHopPayload(h.payload) };
    if (decoded.ok) {
      const p = decoded.payload;
      onion.type = 'tlv';
      if (p.nextScid) onion.short_channel_id = p.nextScid;
      onion.forward_msat = p.forwardMsat;
      onion.outgoing_cltv_value = p.outgoingCltv;
      if (p.paymentSecret !== undefined) {
        onion.total_msat = p.totalMsat;
        onion.payment_secret = p.paymentSecret;
      }
      if (p.paymentMetadata !== undefined) onion.payment_metadata = p.paymentMetadata;
    }
    onion.next_onion = nextOnionHex();
    onion.shared_secret = (h.sharedSecret ??= sharedSecretHex());
    const params: Record<string, unknown> = { peer_id: h.from.id, onion };
    if (decoded.ok && decoded.payload.nextScid) {
      const next = this.forwardChannel(decoded.payload.nextScid);
      if (next) params.forward_to = next.channelId;
    }
    params.htlc = {
      short_channel_id: h.channel.scidFor(this),
      id: h.id,
      amount_msat: h.amountMsat,
      cltv_expiry: h.cltvExpiry,
      cltv_expiry_relative: h.cltvExpiry - this.net.height,
      payment_hash: h.paymentHash,
    };
    return params;
  }

  /**
   * calc_forwarding_channel: the channel our lightningd knows by `scid`
   * (real, old public, or our local alias), then best_channel: of our
   * channels to that peer that can take HTLCs and charge the same fees, the
   * one with the most to spend.
   */
  private forwardChannel(scid: string): PeerChannel | undefined {
    const named = this.net.channelFor(this, scid);
    if (!named) return undefined;
    const policy = named.policy.get(this.id);
    let best = named;
    let bestSpendable = 0n;
    for (const c of this.net.channelsBetween(this, named.other(this))) {
      const p = c.policy.get(this.id);
      if (!c.canAddHtlc() || p?.feeBaseMsat !== policy?.feeBaseMsat || p?.feePpm !== policy?.feePpm) continue;
      if (c.spendable(this.id) > bestSpendable) {
        best = c;
        bestSpendable = c.spendable(this.id);
      }
    }
    return best;
  }

  private async forward(h: Incoming, p: DecodedPayload): Promise<HtlcOutcome> {
    const next = p.nextScid ? this.forwardChannel(p.nextScid) : undefined;
    if (!next || !next.canAddHtlc()) return { ok: false, failureMessage: unknownNextPeer(), failingNode: this.id, failingScid: h.channel.scidFor(this) };
    return this.net.sendHtlc(this, next, p.forwardMsat, p.outgoingCltv, h.paymentHash, h.rest);
  }

  /**
   * lightningd's own final-hop handling (no plugin claimed the HTLC):
   * handle_localpay's checks, then htlc_set_add: an invoice of ours, MPP
   * gathering by total_msat, all parts failed together on a mismatched total
   * or on timeout.
   */
  private receiveFinal(h: Incoming, p: DecodedPayload): Promise<HtlcOutcome> {
    const height = this.net.height;
    const fail = (failureMessage: string): Promise<HtlcOutcome> => Promise.resolve({ ok: false, failureMessage, failingNode: this.id, failingScid: undefined });
    const local = localpayFailure(h, p, height, this.cltvFinal);
    if (local) return fail(local);
    const inv = this.invoices.byHash(h.paymentHash);
    if (!invoiceAccepts(inv, p, Math.floor(Date.now() / 1000))) return fail(unknownPaymentDetails(msat(h.amountMsat), height));
    const total = p.totalMsat ?? p.forwardMsat;
    return new Promise((resolve) => {
      let set = this.mpp.get(h.paymentHash);
      if (!set) {
        set = { parts: [], timer: undefined, totalMsat: total, soFarMsat: 0n };
        this.mpp.set(h.paymentHash, set);
      }
      const thisSet = set;
      thisSet.parts.push({ h, resolve });
      const failSet = (message: (part: Incoming) => string): void => {
        if (thisSet.timer) clearTimeout(thisSet.timer);
        this.mpp.delete(h.paymentHash);
        for (const part of thisSet.parts) part.resolve({ ok: false, failureMessage: message(part.h), failingNode: this.id, failingScid: undefined });
      };
      // htlc_set_add: every part must carry the set's total_msat.
      if (total !== thisSet.totalMsat) {
        failSet(() => finalIncorrectHtlcAmount(h.amountMsat));
        return;
      }
      thisSet.soFarMsat += h.amountMsat;
      thisSet.timer ??= setTimeout(() => failSet(() => mppTimeout()), this.mppTimeoutMs);
      if (thisSet.soFarMsat < total) return;
      clearTimeout(thisSet.timer);
      this.mpp.delete(h.paymentHash);
      void sleep(this.net.latency.finalSettleMs)
        .then(() => (this.stallFinal || this.stallHashes.has(h.paymentHash) ? new Promise<void>((release) => this.stalled.push({ hash: h.paymentHash, release })) : undefined))
        .then(() => {
          this.invoices.markPaid(inv, msat(thisSet.soFarMsat), Math.floor(Date.now() / 1000));
          for (const part of thisSet.parts) part.resolve({ ok: true, preimage: inv.preimage });
        });
    });
  }

  /** Let stalled payments to our invoices settle: all of them, or those for `hash` (and stop stalling it). */
  releaseStalled(hash?: string): void {
    if (hash === undefined) {
      this.stallFinal = false;
      this.stallHashes.clear();
    } else this.stallHashes.delete(hash);
    const go = this.stalled.filter((s) => hash === undefined || s.hash === hash);
    this.stalled = this.stalled.filter((s) => !go.includes(s));
    for (const s of go) s.release();
  }

  /** Hashes of complete payments to our invoices that a stall holds now. */
  stalledHashes(): string[] {
    return this.stalled.map((s) => s.hash);
  }

  // --- peer messages -------------------------------------------------------------

  async receiveMessage(from: NodeId, msgHex: string): Promise<void> {
    if (!this.up || !this.peers.has(from)) return;
    await this.callHook('custommsg', () => ({ payload: msgHex, peer_id: from })).catch(() => undefined);
  }

  // --- RPC -------------------------------------------------------------------------

  /**
   * Route hints as CLN's invoice makes them (lightningd/routehint.c), for the
   * channels a payer cannot find in gossip: unannounced ones and announced
   * ones still without a real scid (zero-conf). The hint names the channel as
   * the peer knows it: our remote alias (the peer's local alias) for those,
   * the real scid otherwise. Only channels that can take HTLCs, with the peer
   * online.
   */
  private routeHints(): RouteHintHop[][] {
    return this.net.channels
      .filter((c) => c.has(this) && c.enabled && c.canAddHtlc() && c.other(this).up && (c.isPrivate || c.scid === undefined))
      .map((c) => {
        const peer = c.other(this);
        const policy = c.policy.get(peer.id);
        return [
          {
            pubkey: peer.id,
            shortChannelId: c.isPrivate || c.scid === undefined ? c.remoteAlias(this) : c.scid,
            feeBaseMsat: Number(policy?.feeBaseMsat ?? 1000n),
            feeProportionalMillionths: Number(policy?.feePpm ?? 10n),
            cltvExpiryDelta: policy?.cltvDelta ?? 34,
          },
        ];
      });
  }

  /**
   * lightningd's channel moves (listchannelmoves), oldest first, as the wallet's
   * channel_moves table keeps them: an "invoice" credit for each incoming HTLC a
   * plugin resolved, an "invoice" debit (with part_id and the u64 group_id) for each
   * part of our own payments that completed. Tests may add their own (addChannelMove).
   */
  readonly channelMoves: ChannelMove[] = [];

  /** Append a move: its created_index is the next one (1-based), its timestamp now. */
  addChannelMove(m: NewChannelMove): void {
    const last = this.channelMoves.at(-1);
    this.channelMoves.push({ created_index: (last?.created_index ?? 0) + 1, timestamp: Math.floor(Date.now() / 1000), fees_msat: 0n, ...m });
  }

  /** Built-in commands this lightningd does not offer (as with disable-plugin=cln-xpay): `help` says so. */
  readonly missingCommands = new Set<string>();

  /** Test hooks: replace an RPC method's answer (e.g. a scripted xpay). */
  readonly overrides = new Map<string, (params: Record<string, unknown>) => Promise<unknown>>();

  private async dispatch(method: string, params: Record<string, unknown>): Promise<unknown> {
    const now = Math.floor(Date.now() / 1000);
    const override = this.overrides.get(method);
    if (override) return override(params);
    switch (method) {
      case 'getinfo':
        return {
          id: this.id,
          alias: this.name,
          color: this.id.slice(2, 8),
          num_peers: this.peers.size,
          num_pending_channels: 0,
          num_active_channels: this.net.channels.filter((c) => c.has(this)).length,
          num_inactive_channels: 0,
          address: [],
          binding: [{ type: 'ipv4', address: '127.0.0.1', port: this.port }],
          version: this.version,
          blockheight: this.net.height,
          network: 'regtest',
          fees_collected_msat: 0,
          'lightning-dir': this.netDir,
          our_features: { init: '800898880a8a59a1', node: '808898880a8a59a1', channel: '', invoice: '02000002024100' },
        };
      case 'invoice': {
        if (typeof params.label !== 'string' && typeof params.label !== 'number') throw new SimRpcError(-32602, 'label: missing');
        if (typeof params.description !== 'string') throw new SimRpcError(-32602, 'description: missing');
        const inv = this.invoices.create({
          amountMsat: msatParam(params.amount_msat, 'amount_msat'),
          label: String(params.label),
          description: params.description,
          expiry: typeof params.expiry === 'number' ? params.expiry : 604_800,
          cltv: typeof params.cltv === 'number' ? params.cltv : this.cltvFinal,
          now,
          routeHints: this.routeHints(),
        });
        return { payment_hash: inv.paymentHash, expires_at: inv.expiresAt, bolt11: inv.bolt11, payment_secret: inv.paymentSecret, created_index: inv.createdIndex };
      }
      case 'listinvoices': {
        this.invoices.refreshExpiry(now);
        const list = this.invoices.all().filter(
          (i) => (params.label === undefined || i.label === String(params.label)) && (params.payment_hash === undefined || i.paymentHash === params.payment_hash),
        );
        return { invoices: list.map(invoiceJson) };
      }
      case 'delinvoice':
        return invoiceJson(this.invoices.delete(String(params.label), String(params.status)));
      case 'signinvoice': {
        if (typeof params.invstring !== 'string') throw new SimRpcError(-32602, 'invstring: missing');
        try {
          return { bolt11: resignInvoice(params.invstring, this.privateKey) };
        } catch (e) {
          throw new SimRpcError(-32602, `invstring: Unparsable invoice: ${(e as Error).message}`);
        }
      }
      case 'decode':
        if (typeof params.string !== 'string') throw new SimRpcError(-32602, 'string: missing');
        return decodeJson(params.string);
      case 'decodepay':
        throw new SimRpcError(-32601, "Unknown command 'decodepay'");
      case 'datastore':
        return this.datastore.datastore(params);
      case 'listdatastore':
        return this.datastore.listdatastore(params);
      case 'deldatastore':
        return this.datastore.deldatastore(params);
      case 'xpay':
        return this.payer.xpay(params);
      case 'listsendpays':
        return this.payer.listsendpays(params);
      case 'wait':
        return this.payer.wait(params);
      case 'getroutes':
        return this.getroutes(params);
      case 'askrene-create-layer':
        return this.askrene.createLayer(params);
      case 'askrene-remove-layer':
        return this.askrene.removeLayer(params);
      case 'askrene-disable-node':
        return this.askrene.disableNode(params);
      case 'askrene-update-channel':
        return this.askrene.updateChannel(params);
      case 'askrene-listlayers':
        return this.askrene.listLayers(params);
      case 'askrene-age':
        return this.askrene.age(params);
      case 'listpeerchannels':
        return listPeerChannels(this.net, this, params);
      case 'getroute':
        throw new SimRpcError(-32601, 'Command "getroute" is deprecated');
      case 'connect':
        return this.connect(params);
      case 'listpeers': {
        const ids = [...this.peers].filter((p) => params.id === undefined || p === params.id);
        return {
          peers: ids.map((id) => ({
            id,
            connected: this.net.nodeById(id)?.up ?? false,
            num_channels: this.net.channels.filter((c) => c.has(this) && c.has(id)).length,
            netaddr: [`127.0.0.1:${this.net.nodeById(id)?.port ?? 0}`],
            features: '800898880a8a59a1',
          })),
        };
      }
      case 'sendcustommsg': {
        const to = typeof params.node_id === 'string' ? this.net.nodeById(params.node_id) : undefined;
        if (!to || !this.peers.has(to.id) || !to.up) throw new SimRpcError(-1, 'Peer is not connected');
        if (typeof params.msg !== 'string' || !/^([0-9a-f]{2}){2,}$/i.test(params.msg)) throw new SimRpcError(-32602, 'msg: should be hex');
        const type = Number.parseInt(params.msg.slice(0, 4), 16);
        if (type < 32768 && type % 2 === 0) throw new SimRpcError(-32602, `Cannot send messages of type ${type} (internally handled)`);
        this.net.deliverMessage(this, to, params.msg.toLowerCase());
        return { status: 'Message sent to connectd for delivery' };
      }
      case 'listchannelmoves':
        // wallet_save_channel_mvt: kept in lightningd's database, so across restarts.
        return { channelmoves: listChannelMoves(this.channelMoves, params) };
      case 'getchaininfo':
        // bcli's answer: what bitcoind knows, even while lightningd catches up.
        return { chain: 'regtest', headercount: this.net.height, blockcount: this.net.height, ibd: false };
      case 'listnodes': {
        // Gossip: a node with an announced channel has announced itself (alias, color,
        // addresses); one seen only in channels has just its id; others are unknown.
        const wanted = typeof params.id === 'string' ? [params.id] : [...this.net.nodes.values()].map((n) => n.id as string);
        const nodes = wanted.flatMap((id) => {
          const n = this.net.nodeById(id);
          if (!n) return [];
          const announced = this.net.channels.some((c) => !c.isPrivate && c.has(n));
          if (!announced) return [];
          return [{ nodeid: n.id, alias: n.name, color: n.id.slice(2, 8), last_timestamp: 1_795_620_000, features: '808898880a8a59a1', addresses: [{ type: 'ipv4', address: '127.0.0.1', port: n.port }] }];
        });
        return { nodes };
      }
      case 'waitblockheight': {
        const target = Number(params.blockheight);
        const deadline = Date.now() + Number(params.timeout ?? 60) * 1000;
        while (this.net.height < target) {
          if (Date.now() >= deadline) throw new SimRpcError(2000, 'Timed out.');
          await sleep(20);
        }
        return { blockheight: this.net.height };
      }
      case 'plugin':
        return this.pluginCommand(params);
      case 'help': {
        const methods = new Map(this.plugins.flatMap((p) => (p.host?.alive ? p.host.methods.map((m) => [m.name, m.usage] as const) : [])));
        return helpReply(params, methods, this.missingCommands);
      }
      case 'listconfigs': {
        const configs: Record<string, unknown> = {};
        const alive = this.plugins.filter((p) => p.host?.alive);
        const important = alive.filter((p) => p.important).map((p) => p.path);
        const plain = alive.filter((p) => !p.important).map((p) => p.path);
        if (important.length > 0 && (params.config === undefined || params.config === 'important-plugin')) {
          configs['important-plugin'] = { values_str: important, sources: important.map(() => 'cmdline') };
        }
        if (plain.length > 0 && (params.config === undefined || params.config === 'plugin')) {
          configs.plugin = { values_str: plain, sources: plain.map(() => 'cmdline') };
        }
        return { configs };
      }
      default: {
        const plugin = this.plugins.find((p) => p.host?.alive && p.host.hasMethod(method))?.host;
        if (plugin) {
          try {
            return await plugin.request(method, params, undefined, 'cli');
          } catch (e) {
            const code = isObject(e) && typeof (e as { code?: unknown }).code === 'number' ? (e as unknown as { code: number }).code : -3;
            throw new SimRpcError(code, (e as Error).message);
          }
        }
        throw new SimRpcError(-32601, `Unknown command '${method}'`);
      }
    }
  }

  private connect(params: Record<string, unknown>): Record<string, unknown> {
    let idText = typeof params.id === 'string' ? params.id : '';
    let host = typeof params.host === 'string' ? params.host : undefined;
    let port = typeof params.port === 'number' ? params.port : undefined;
    const at = idText.indexOf('@');
    if (at >= 0) {
      const addr = idText.slice(at + 1);
      idText = idText.slice(0, at);
      const colon = addr.lastIndexOf(':');
      host = colon >= 0 ? addr.slice(0, colon) : addr;
      port = colon >= 0 ? Number(addr.slice(colon + 1)) : 19846;
    }
    const peer = this.net.nodeById(idText);
    if (!/^0[23][0-9a-f]{64}$/.test(idText)) throw new SimRpcError(-32602, `id: should be a node id: invalid token '"${idText}"'`);
    if (host !== undefined) {
      if (!peer || !peer.up || host !== '127.0.0.1' || (port ?? 19846) !== peer.port) {
        throw new SimRpcError(401, `All addresses failed: 127.0.0.1:${port ?? 19846}: Connection establishment: Connection refused. `);
      }
    } else if (!peer || !peer.up || !this.net.channels.some((c) => !c.isPrivate && c.has(peer))) {
      throw new SimRpcError(400, 'Unable to connect, no address known for peer');
    }
    this.peers.add(peer.id);
    peer.peers.add(this.id);
    return { id: peer.id, features: '800898880a8a59a1', direction: 'out', address: { type: 'ipv4', address: '127.0.0.1', port: peer.port } };
  }

  private getroutes(params: Record<string, unknown>): Record<string, unknown> {
    const source = String(params.source);
    const destination = String(params.destination);
    const amount = msatParam(params.amount_msat, 'amount_msat');
    const finalCltv = Number(params.final_cltv ?? 18);
    if (params.layers === undefined) throw new SimRpcError(-32602, 'missing required parameter: layers');
    const layers = this.askrene.checkLayerNames(params.layers);
    const sourceFree = layers.includes('auto.sourcefree');
    const edges = this.net.edges(this.id, new Map(), (c) => this.askrene.isDisabled(layers, c)).map((e) => (sourceFree && e.from === source ? { ...e, feeBaseMsat: 0n, feePpm: 0n, cltvDelta: 0 } : e));
    const route = cheapestRoute(edges, source as NodeId, destination as NodeId, amount, finalCltv);
    const maxfee = params.maxfee_msat === undefined ? undefined : msatParam(params.maxfee_msat, 'maxfee_msat');
    if (!route || (maxfee !== undefined && route.sentMsat - route.deliveredMsat > maxfee)) {
      throw new SimRpcError(205, `We could not find a usable set of paths: no path from ${source.slice(0, 8)} to ${destination.slice(0, 8)}`);
    }
    // askrene charges each channel's fee on that channel: amount_in includes this hop's fee.
    const path = route.hops.map((hop, i) => {
      const next = route.hops[i + 1];
      const out = next ? next.amountMsat : hop.amountMsat;
      const cltvOut = next ? next.delay : finalCltv;
      return {
        short_channel_id_dir: `${hop.scid}/${hop.from < hop.to ? 0 : 1}`,
        node_id_in: hop.from,
        node_id_out: hop.to,
        amount_in_msat: i === 0 ? route.sentMsat : hop.amountMsat,
        amount_out_msat: out,
        cltv_in: i === 0 ? route.totalDelay : hop.delay,
        cltv_out: cltvOut,
      };
    });
    return { probability_ppm: 998_333, routes: [{ probability_ppm: 998_333, amount_msat: amount, final_cltv: finalCltv, path }] };
  }

  private async pluginCommand(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const list = (): Record<string, unknown>[] => [
      ...BUILTIN_PLUGINS.map((p) => ({ name: `/usr/local/libexec/c-lightning/plugins/${p}`, active: true, dynamic: !['bcli', 'topology', 'keysend', 'commando'].includes(p) })),
      ...this.plugins.filter((p) => p.host?.alive).map((p) => ({ name: p.path, active: true, dynamic: true })),
    ];
    const find = (name: string): LoadedPlugin | undefined => this.plugins.find((p) => p.path === name || basename(p.path) === basename(name));
    switch (params.subcommand) {
      case 'list':
        return { command: 'list', plugins: list() };
      case 'start': {
        const path = String(params.plugin ?? '');
        const existing = find(path);
        if (existing?.host?.alive) throw new SimRpcError(-32602, `${path}: already registered`);
        const p: LoadedPlugin = existing ?? { path, important: false, host: undefined };
        p.important = false;
        if (!existing) {
          // rdv-guard goes after rdv in the chain, as its hook registration asks.
          if (basename(path) === 'rdv') this.plugins.unshift(p);
          else this.plugins.push(p);
        }
        await this.launch(p, false);
        return { command: 'start', plugins: list() };
      }
      case 'stop': {
        const name = String(params.plugin ?? '');
        const p = find(name);
        if (!p?.host?.alive) throw new SimRpcError(-32602, `Could not find plugin ${name}`);
        // `plugin stop` does not stop lightningd, even for an important plugin.
        const host = p.host;
        p.host = undefined;
        host.notify('shutdown', {});
        await Promise.race([host.exited, sleep(2000)]);
        host.kill();
        await host.exited;
        return { command: 'stop', result: `Successfully stopped ${basename(p.path)}.` };
      }
      default:
        throw new SimRpcError(-32602, 'subcommand: unknown');
    }
  }
}
