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
 *
 * SimNode is this file: the node's state, and its process's life cycle (start,
 * crash, clean stop, restart, a plugin killed). What it does is in node/, one
 * room per concern; the rooms reach the node through node/core.ts's NodeCore
 * (never this file), and the network through ../types.ts's NodeNetwork:
 *   node/core.ts           NodeCore (what the rooms reach of their node), LoadedPlugin, Methods
 *   node/plugins.ts        plugin hosting: launch, a death's consequences, the hook chain (callHook);
 *                          the `plugin`, `help` and `listconfigs` commands and the plugins' own methods
 *   node/htlc-accepted.ts  an HTLC arrives: the htlc_accepted hook (its params at each call), a
 *                          plugin's resolve checked, then lightningd's own handling
 *   node/forward.ts        forwarding: the outgoing channel (calc_forwarding_channel, best_channel)
 *   node/receive.ts        the final hop for our invoices: MPP sets, their timeout, the stall fault
 *   node/rpc.ts            the RPC dispatch: overrides, built-in commands, plugin methods, unknown
 *   node/info.ts           getinfo, getchaininfo, waitblockheight
 *   node/invoices.ts       invoice (and its route hints), listinvoices, delinvoice, signinvoice, decode
 *   node/offers.ts         BOLT 12: offer, disableoffer, listoffers, fetchinvoice, and the issuer's answer
 *   node/payments.ts       xpay, listsendpays, wait, getroutes, askrene's layers
 *   node/peers.ts          connect, listpeers, listnodes, listpeerchannels, listchannelmoves;
 *                          peer messages both ways (sendcustommsg, the custommsg hook)
 * Beside them in src/simnet: payer.ts (the simulated xpay), peer-channels.ts
 * (listpeerchannels' reply), askrene.ts, invoices.ts, datastore.ts, moves.ts,
 * final-hop.ts (lightningd's final-hop checks), plugin-host.ts, rpc-server.ts.
 */
import { basename, dirname, join } from 'node:path';
import type { NodeId } from '../chain/ids.js';
import { Askrene } from './askrene.js';
import { Datastore } from './datastore.js';
import { InvoiceBook } from './invoices.js';
import { nodeKeyFromSeed } from './keys.js';
import type { ChannelMove, NewChannelMove } from './moves.js';
import { Payer } from './payer.js';
import type { PluginHost } from './plugin-host.js';
import { RpcServer } from './rpc-server.js';
import { sleep } from './sleep.js';
import type { HtlcOutcome, Incoming, InvoiceRequest, InvoiceRequestAnswer, NodeNetwork } from './types.js';
import type { HookOptions, LoadedPlugin, Methods, NodeCore } from './node/core.js';
import { acceptHtlc, hookParams } from './node/htlc-accepted.js';
import { receiveMessage } from './node/peers.js';
import { callHook, launch } from './node/plugins.js';
import { answerInvoiceRequest } from './node/offers.js';
import type { SimOffer } from './offers.js';
import { FinalHop } from './node/receive.js';
import { builtinMethods, dispatch } from './node/rpc.js';

export type { LoadedPlugin } from './node/core.js';

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

export class SimNode implements NodeCore {
  readonly name: string;
  readonly id: NodeId;
  readonly privateKey: Buffer;
  readonly dir: string;
  readonly netDir: string;
  readonly socketPath: string;
  readonly port: number;
  readonly datastore = new Datastore();
  readonly invoices: InvoiceBook;
  readonly offers = new Map<string, SimOffer>();
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
  /** Fault: hold payments to our invoices (a stalling payee) until releaseStalled(). */
  stallFinal = false;
  /** Fault: hold payments to our invoices for these hashes only, until releaseStalled(hash). */
  readonly stallHashes = new Set<string>();
  private readonly finalHop: FinalHop;
  readonly cltvFinal: number;
  readonly developer: boolean;
  /** askrene's layers, used by this node's xpay and getroutes. */
  readonly askrene: Askrene;
  /** lightningd's built-in commands (node/rpc.ts). */
  private readonly builtins: Methods;

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
    this.finalHop = new FinalHop(this, opts.mppTimeoutMs ?? net.options.mppTimeoutMs ?? 60_000);
    this.cltvFinal = opts.cltvFinal ?? 18;
    this.developer = opts.developer ?? false;
    this.askrene = new Askrene(() => this.developer);
    this.invoices = new InvoiceBook(this.privateKey, 'bcrt');
    this.payer = new Payer(this, net);
    this.builtins = builtinMethods(this);
    this.server = new RpcServer(this.socketPath, (method, params) => dispatch(this, this.builtins, this.overrides, method, params));
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
    for (const p of this.plugins) await launch(this, p, true);
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
    this.finalHop.stop();
  }

  /** Resolves once lightningd is running (at once if it is). */
  waitUp(): Promise<void> {
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

  // --- HTLCs (node/htlc-accepted.ts, node/forward.ts, node/receive.ts) -------------

  /** An HTLC arrives: the htlc_accepted hook's chain, then lightningd's own handling (node/htlc-accepted.ts). */
  acceptHtlc(h: Incoming): Promise<HtlcOutcome> {
    return acceptHtlc(this, this.finalHop, h);
  }

  /** Call a hook like lightningd, each plugin in the chain in turn (node/plugins.ts callHook). */
  callHook(name: string, params: () => Record<string, unknown>, opts: HookOptions = {}): Promise<Record<string, unknown>> {
    return callHook(this, name, params, opts);
  }

  /** The htlc_accepted hook's params for `h`, as lightningd builds them now (node/htlc-accepted.ts). */
  hookParams(h: Incoming): Record<string, unknown> {
    return hookParams(this, h);
  }

  /** Let stalled payments to our invoices settle: all of them, or those for `hash` (and stop stalling it). */
  releaseStalled(hash?: string): void {
    if (hash === undefined) {
      this.stallFinal = false;
      this.stallHashes.clear();
    } else this.stallHashes.delete(hash);
    this.finalHop.release(hash);
  }

  /** Hashes of complete payments to our invoices that a stall holds now. */
  stalledHashes(): string[] {
    return this.finalHop.stalledHashes();
  }

  // --- BOLT 12 (node/offers.ts) -----------------------------------------------------

  /** An invoice request to one of our offers arrives (the network's requestInvoice). */
  answerInvoiceRequest(req: InvoiceRequest): InvoiceRequestAnswer {
    return answerInvoiceRequest(this, req);
  }

  // --- peer messages (node/peers.ts) -----------------------------------------------

  receiveMessage(from: NodeId, msgHex: string): Promise<void> {
    return receiveMessage(this, from, msgHex);
  }

  // --- RPC (node/rpc.ts and the rooms it names) --------------------------------------

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
}
