/**
 * Typed wrappers for the lightningd calls rdv makes. Replies are validated where
 * they enter (a wrong shape is an error naming the field); CLN error objects
 * become rdv errors here, or typed outcomes where the caller must decide.
 */
import type { Msat } from '../chain/amount.js';
import { isSupportedVersion, MIN_CLN_VERSION_TEXT } from '../chain/cln-version.js';
import type { NodeId, PaymentHash, Preimage } from '../chain/ids.js';
import { isNetworkName, type NetworkName } from '../chain/network.js';
import type { ChannelFunds, NodeAddress } from '../chain/node-facts.js';
import { Reader, ShapeError } from '../chain/read.js';
import type { OutgoingPart, PayResult } from '../chain/relay.js';
import { RdvError } from '../errors.js';
import { ReconnectingRpc, RpcClient, RpcError, type Rpc } from './client.js';

export { isSupportedVersion, MIN_CLN_VERSION, MIN_CLN_VERSION_TEXT, parseClnVersion } from '../chain/cln-version.js';
export type { ChannelFunds, NodeAddress } from '../chain/node-facts.js';

const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;

export interface NodeInfo {
  id: NodeId;
  alias: string;
  version: string;
  blockheight: number;
  network: NetworkName;
  /** What we announce to the world (getinfo `address`). */
  addresses: NodeAddress[];
  /** Where we listen (getinfo `binding`). */
  bindings: NodeAddress[];
}

export interface InvoiceStatus {
  label: string;
  status: 'unpaid' | 'paid' | 'expired';
  paymentHash: PaymentHash;
  amountMsat: Msat | undefined;
  amountReceivedMsat: Msat | undefined;
  paidAt: number | undefined;
  expiresAt: number;
}

export interface DatastoreEntry {
  key: string[];
  generation: number | undefined;
  string: string | undefined;
}

export interface RouteSummary {
  /** Fee over all parts: amount sent minus amount delivered. */
  feeMsat: Msat;
  /** Largest CLTV needed at the first hop, minus final_cltv: the route's CLTV deltas. */
  delayBlocks: number;
  hops: number;
}

/** How lightningd names one of our channels. */
export interface ChannelNames {
  channelId: string;
  peerId: NodeId;
  state: string;
  scid: string | undefined;
  localAlias: string | undefined;
  /** Our side of the channel (0 when our node id is the lesser), for short_channel_id_dir. */
  direction: number | undefined;
}

/** An "invoice" credit among lightningd's channel moves: an incoming HTLC it settled for us. */
export interface ChannelCredit {
  createdIndex: number;
  paymentHash: string;
  channelId: string;
  amountMsat: Msat;
}

/** What one listchannelmoves page held (channelMovesPage). */
export interface ChannelMovesPage {
  moves: number;
  /** created_index of the page's last move; undefined for an empty page. */
  lastIndex: number | undefined;
  credits: ChannelCredit[];
}

export type DatastoreWrite = { ok: true; generation: number } | { ok: false; reason: 'exists' | 'wrong-generation' | 'missing' };

export interface PluginState {
  loaded: boolean;
  active: boolean;
  path: string | undefined;
  important: boolean;
}

/**
 * xpay's result, and whether its command is over. `xpayEnded` is false when rdv
 * lost the call (the connection dropped, the xpay plugin died, lightningd is
 * stopping): xpay may still be running inside lightningd, routing with its layers.
 */
export type XpayResult = PayResult & { xpayEnded: boolean };

/** An xpay call that failed: did an answer come from xpay (or lightningd refusing the call), or was the call lost? */
function xpayEndedWith(e: unknown): boolean {
  return e instanceof RpcError && e.code !== -4 /* the plugin died: its getroutes may still run */ && e.code !== -5 /* lightningd stopping */;
}

/** Maps an xpay error to a PayResult: only a failure reported by xpay itself is definite. */
export function classifyPayError(e: unknown): PayResult {
  if (e instanceof RpcError) {
    const indefinite =
      e.code === -3 /* plugin error, e.g. "still in progress" */ ||
      e.code === -4 /* plugin terminated */ ||
      e.code === -5 /* lightningd shutting down */ ||
      e.code === 200 /* PAY_IN_PROGRESS */ ||
      e.code === 219 /* already paid: take the preimage from listsendpays */;
    return { ok: false, definite: !indefinite, message: `${e.rpcMessage} (code ${e.code})` };
  }
  return { ok: false, definite: false, message: e instanceof Error ? e.message : String(e) };
}

function readAddress(a: Reader): NodeAddress {
  return { type: a.str('type'), address: a.optStr('address') ?? a.optStr('socket'), port: a.optInt('port') };
}

export class LightningNode {
  constructor(readonly rpc: Rpc) {}

  /**
   * `reconnect`: a plugin's connection, made again whenever lightningd's socket drops (see ReconnectingRpc).
   * `connectTimeoutMs`: give up connecting after this long (default 1000 ms).
   */
  static async connect(socketPath: string, idPrefix = 'rdv', options: { reconnect?: boolean; connectTimeoutMs?: number } = {}): Promise<LightningNode> {
    if (options.reconnect) return new LightningNode(await ReconnectingRpc.connect(socketPath, { idPrefix }));
    return new LightningNode(await RpcClient.connect(socketPath, { idPrefix, ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }) }));
  }

  close(): void {
    this.rpc.close();
  }

  /** Call and turn any CLN error into a `failed` RdvError naming the call. */
  async call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    try {
      return await this.rpc.call(method, params);
    } catch (e) {
      if (e instanceof RpcError) {
        throw new RdvError('failed', `lightningd refused ${method}: ${e.rpcMessage}`, { cause: e });
      }
      throw e;
    }
  }

  private async read<T>(method: string, params: Record<string, unknown>, parse: (r: Reader) => T): Promise<T> {
    const result = await this.call(method, params);
    try {
      return parse(Reader.of(result, method));
    } catch (e) {
      if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Like read, but undefined when lightningd refuses the call or answers in an unexpected shape: for facts rdv can do without. */
  private async readIfAnswered<T>(method: string, params: Record<string, unknown>, parse: (r: Reader) => T | undefined): Promise<T | undefined> {
    try {
      return parse(Reader.of(await this.rpc.call(method, params), method));
    } catch (e) {
      if (e instanceof RpcError || e instanceof ShapeError) return undefined;
      throw e;
    }
  }

  getinfo(): Promise<NodeInfo> {
    return this.read('getinfo', {}, (r) => {
      const network = r.str('network');
      if (!isNetworkName(network)) throw new ShapeError(`getinfo.network: unknown network ${network}`);
      return {
        id: r.match<NodeId>('id', NODE_RE, 'a node id'),
        alias: r.optStr('alias') ?? '',
        version: r.str('version'),
        blockheight: r.int('blockheight'),
        network,
        addresses: r.optObjects('address').map(readAddress),
        bindings: r.optObjects('binding').map(readAddress),
      };
    });
  }

  /** getinfo, refusing a CLN older than MIN_CLN_VERSION. */
  async checkedInfo(): Promise<NodeInfo> {
    const info = await this.getinfo();
    if (!isSupportedVersion(info.version)) {
      throw new RdvError('failed', `this node runs Core Lightning ${info.version}; rdv needs ${MIN_CLN_VERSION_TEXT} or newer (signinvoice, xpay maxdelay, decode): upgrade lightningd`);
    }
    return info;
  }

  /** CLN's `invoice`; `warnings` are its warning_* texts (e.g. route hints it left out). */
  invoice(p: { amountMsat: Msat; label: string; description: string; expiry?: number; cltv?: number }): Promise<{ paymentHash: PaymentHash; bolt11: string; expiresAt: number; warnings: string[] }> {
    return this.read('invoice', { amount_msat: p.amountMsat, label: p.label, description: p.description, expiry: p.expiry, cltv: p.cltv }, (r) => ({
      paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
      bolt11: r.str('bolt11'),
      expiresAt: r.int('expires_at'),
      warnings: Object.entries(r.value)
        .filter(([k, v]) => k.startsWith('warning_') && typeof v === 'string')
        .map(([, v]) => String(v)),
    }));
  }

  async delinvoice(label: string, status: 'unpaid' | 'paid' | 'expired'): Promise<void> {
    await this.call('delinvoice', { label, status });
  }

  listinvoices(filter: { label?: string; paymentHash?: string }): Promise<InvoiceStatus[]> {
    return this.read('listinvoices', { label: filter.label, payment_hash: filter.paymentHash }, (r) =>
      r.objects('invoices').map((i) => {
        const status = i.str('status');
        if (status !== 'unpaid' && status !== 'paid' && status !== 'expired') throw new ShapeError(`${i.path}.status: unknown status ${status}`);
        return {
          label: i.str('label'),
          status,
          paymentHash: i.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
          amountMsat: i.optMsat('amount_msat'),
          amountReceivedMsat: i.optMsat('amount_received_msat'),
          paidAt: i.optInt('paid_at'),
          expiresAt: i.int('expires_at'),
        };
      }),
    );
  }

  signinvoice(invstring: string): Promise<string> {
    return this.read('signinvoice', { invstring }, (r) => r.str('bolt11'));
  }

  /** The fields of CLN's own `decode` that rdv cross-checks. */
  decode(bolt11: string): Promise<{ valid: boolean; payee: string | undefined; paymentHash: string | undefined; amountMsat: Msat | undefined; minFinalCltv: number | undefined; paymentSecret: string | undefined; currency: string | undefined }> {
    return this.read('decode', { string: bolt11 }, (r) => ({
      valid: r.optBool('valid') ?? false,
      payee: r.optStr('payee'),
      paymentHash: r.optStr('payment_hash'),
      amountMsat: r.optMsat('amount_msat'),
      minFinalCltv: r.optInt('min_final_cltv_expiry'),
      paymentSecret: r.optStr('payment_secret'),
      currency: r.optStr('currency'),
    }));
  }

  // --- datastore ---------------------------------------------------------

  private async datastoreWrite(params: Record<string, unknown>): Promise<DatastoreWrite> {
    try {
      const result = await this.rpc.call('datastore', params);
      return { ok: true, generation: Reader.of(result, 'datastore').int('generation') };
    } catch (e) {
      if (e instanceof RpcError) {
        if (e.code === 1202) return { ok: false, reason: 'exists' };
        if (e.code === 1204) return { ok: false, reason: 'wrong-generation' };
        if (e.code === 1200 || e.code === 1203) return { ok: false, reason: 'missing' };
        throw new RdvError('failed', `lightningd refused datastore: ${e.rpcMessage}`, { cause: e });
      }
      if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
      throw e;
    }
  }

  datastoreCreate(key: string[], value: string): Promise<DatastoreWrite> {
    return this.datastoreWrite({ key, string: value, mode: 'must-create' });
  }

  datastoreReplace(key: string[], value: string, generation: number): Promise<DatastoreWrite> {
    return this.datastoreWrite({ key, string: value, mode: 'must-replace', generation });
  }

  datastoreUpsert(key: string[], value: string): Promise<DatastoreWrite> {
    return this.datastoreWrite({ key, string: value, mode: 'create-or-replace' });
  }

  /** Entries one level below `key` (or the entry at `key`). */
  listdatastore(key: string[]): Promise<DatastoreEntry[]> {
    return this.read('listdatastore', { key }, (r) =>
      r.objects('datastore').map((d) => ({ key: d.strings('key'), generation: d.optInt('generation'), string: d.optStr('string') })),
    );
  }

  async deldatastore(key: string[]): Promise<boolean> {
    try {
      await this.rpc.call('deldatastore', { key });
      return true;
    } catch (e) {
      if (e instanceof RpcError && e.code === 1200) return false;
      if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused deldatastore: ${e.rpcMessage}`, { cause: e });
      throw e;
    }
  }

  /**
   * Delete `key` only if it is still at `generation` (lightningd's deldatastore
   * checks it): 'changed' when someone wrote it meanwhile, 'missing' when it is gone.
   */
  async deldatastoreAt(key: string[], generation: number): Promise<'deleted' | 'changed' | 'missing'> {
    try {
      await this.rpc.call('deldatastore', { key, generation });
      return 'deleted';
    } catch (e) {
      if (e instanceof RpcError && e.code === 1200) return 'missing';
      if (e instanceof RpcError && e.code === 1201) return 'changed';
      if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused deldatastore: ${e.rpcMessage}`, { cause: e });
      throw e;
    }
  }

  // --- peers and messages ------------------------------------------------

  async connect(id: string, host?: string, port?: number): Promise<NodeId> {
    return this.read('connect', { id, host, port }, (r) => r.match<NodeId>('id', NODE_RE, 'a node id'));
  }

  async isConnected(id: NodeId): Promise<boolean> {
    const peers = await this.read('listpeers', { id }, (r) => r.objects('peers').map((p) => p.optBool('connected') ?? false));
    return peers.some(Boolean);
  }

  async sendcustommsg(nodeId: NodeId, msgHex: string): Promise<void> {
    await this.call('sendcustommsg', { node_id: nodeId, msg: msgHex });
  }

  // --- routes and payments -----------------------------------------------

  /** Cost and CLTV of the best route askrene finds, or undefined when there is none. */
  async estimateRoute(p: { source: NodeId; destination: NodeId; amountMsat: Msat; finalCltv: number; maxfeeMsat: Msat }): Promise<RouteSummary | undefined> {
    let result: unknown;
    try {
      result = await this.rpc.call('getroutes', {
        source: p.source,
        destination: p.destination,
        amount_msat: p.amountMsat,
        layers: ['auto.localchans', 'auto.sourcefree'],
        maxfee_msat: p.maxfeeMsat,
        final_cltv: p.finalCltv,
      });
    } catch (e) {
      if (e instanceof RpcError) return undefined; // no route, or askrene missing
      throw e;
    }
    try {
      const routes = Reader.of(result, 'getroutes').objects('routes');
      if (routes.length === 0) return undefined;
      let sent = 0n;
      let delivered = 0n;
      let delay = 0;
      let hops = 0;
      for (const route of routes) {
        const path = route.objects('path');
        const first = path[0];
        if (!first) continue;
        sent += first.msat('amount_in_msat');
        delivered += route.msat('amount_msat');
        delay = Math.max(delay, first.int('cltv_in') - route.int('final_cltv'));
        hops = Math.max(hops, path.length);
      }
      return { feeMsat: (sent - delivered) as Msat, delayBlocks: delay, hops };
    } catch (e) {
      if (e instanceof ShapeError) return undefined;
      throw e;
    }
  }

  /**
   * xpay, never throwing: the result says whether the failure is definite, and
   * whether xpay's command is over (see XpayResult). `layers`: askrene layers for its routes.
   */
  async xpay(p: { invstring: string; maxfeeMsat: Msat; maxdelay: number; retryForSeconds: number; layers?: string[] }): Promise<XpayResult> {
    let result: unknown;
    try {
      result = await this.rpc.call('xpay', { invstring: p.invstring, maxfee: p.maxfeeMsat, maxdelay: p.maxdelay, retry_for: p.retryForSeconds, layers: p.layers });
    } catch (e) {
      return { ...classifyPayError(e), xpayEnded: xpayEndedWith(e) };
    }
    try {
      const r = Reader.of(result, 'xpay');
      return {
        ok: true,
        preimage: r.match<Preimage>('payment_preimage', HASH_RE, 'a preimage'),
        amountSentMsat: r.msat('amount_sent_msat'),
        xpayEnded: true,
      };
    } catch (e) {
      // xpay answered (success, in a shape rdv does not read): its command is over.
      return { ok: false, definite: false, message: e instanceof Error ? e.message : String(e), xpayEnded: true };
    }
  }

  // --- askrene layers (rdv's handle on xpay's routing) ---------------------

  /** A fresh, non-persistent layer. Throws a `failed` RdvError if askrene refuses (e.g. it exists). */
  async createLayer(layer: string): Promise<void> {
    await this.call('askrene-create-layer', { layer });
  }

  /** Remove a layer; false if there was none. */
  async removeLayer(layer: string): Promise<boolean> {
    try {
      await this.rpc.call('askrene-remove-layer', { layer });
      return true;
    } catch (e) {
      if (e instanceof RpcError) return false;
      throw e;
    }
  }

  /** Routes using `layer` leave `node`'s channels in gossip out. */
  async disableNode(layer: string, node: NodeId): Promise<void> {
    await this.call('askrene-disable-node', { layer, node });
  }

  /** Routes using `layer` do not use this channel direction ("scid/dir", a real scid or an alias). */
  async disableChannel(layer: string, shortChannelIdDir: string): Promise<void> {
    await this.call('askrene-update-channel', { layer, short_channel_id_dir: shortChannelIdDir, enabled: false });
  }

  /** Names of askrene's layers. */
  listLayers(): Promise<string[]> {
    return this.read('askrene-listlayers', {}, (r) => r.objects('layers').map((l) => l.str('layer')));
  }

  // --- channels ----------------------------------------------------------

  /** Our channels, with every name lightningd may give one in a hook (real scid, local alias). */
  listPeerChannels(): Promise<ChannelNames[]> {
    return this.read('listpeerchannels', {}, (r) =>
      r.objects('channels').map((c) => {
        const alias = c.optObj('alias');
        return {
          channelId: c.match('channel_id', HASH_RE, 'a channel id'),
          peerId: c.match<NodeId>('peer_id', NODE_RE, 'a node id'),
          state: c.str('state'),
          scid: c.optStr('short_channel_id'),
          localAlias: alias?.optStr('local'),
          direction: c.optInt('direction'),
        };
      }),
    );
  }

  /** What each channel can send and receive now. */
  channelFunds(): Promise<ChannelFunds[]> {
    return this.read('listpeerchannels', {}, (r) =>
      r.objects('channels').map((c) => ({
        peerId: c.match<NodeId>('peer_id', NODE_RE, 'a node id'),
        state: c.str('state'),
        peerConnected: c.optBool('peer_connected') ?? false,
        spendableMsat: c.optMsat('spendable_msat') ?? (0n as Msat),
        receivableMsat: c.optMsat('receivable_msat') ?? (0n as Msat),
      })),
    );
  }

  /** A node's alias from gossip, or undefined when it has announced none (or is unknown). */
  async nodeAlias(id: NodeId): Promise<string | undefined> {
    const alias = await this.readIfAnswered('listnodes', { id }, (r) => r.objects('nodes')[0]?.optStr('alias'));
    return alias === '' ? undefined : alias;
  }

  /**
   * The chain's tip as the bitcoin backend knows it (bcli's getchaininfo
   * headercount), or undefined. After a restart lightningd re-processes recent
   * blocks one by one, so its own blockheight (getinfo, block_added, hook
   * heights) lags the tip for a while; xpay counts from the headercount.
   */
  chainTip(): Promise<number | undefined> {
    return this.readIfAnswered('getchaininfo', { last_height: 0 }, (r) => r.optInt('headercount'));
  }

  /**
   * One page of lightningd's channel moves: those with created_index >= `start`, at
   * most `limit` (listchannelmoves index=created). Gives how many moves the page
   * held, the last one's created_index, and its "invoice" credits: each incoming
   * HTLC lightningd fulfilled for us, which it writes only once the HTLC is
   * irrevocably settled. undefined on a CLN without listchannelmoves (before
   * v25.09) or whose reply rdv does not understand. Throws if the call is lost.
   */
  async channelMovesPage(start: number, limit: number): Promise<ChannelMovesPage | undefined> {
    let result: unknown;
    try {
      result = await this.rpc.call('listchannelmoves', { index: 'created', start, limit });
    } catch (e) {
      if (e instanceof RpcError) return undefined;
      throw e;
    }
    try {
      const moves = Reader.of(result, 'listchannelmoves').objects('channelmoves');
      const credits: ChannelCredit[] = [];
      let lastIndex: number | undefined;
      for (const m of moves) {
        const index = m.int('created_index');
        // A lightningd that ignored start would have the scan read its first page forever.
        if (index < start || (lastIndex !== undefined && index <= lastIndex)) throw new ShapeError(`${m.path}.created_index: ${index} is not after ${lastIndex ?? start - 1}`);
        lastIndex = index;
        if (m.str('primary_tag') !== 'invoice') continue;
        const paymentHash = m.optStr('payment_hash');
        const amountMsat = m.msat('credit_msat');
        if (paymentHash === undefined || amountMsat === 0n) continue;
        credits.push({ createdIndex: lastIndex, paymentHash, channelId: m.str('account_id'), amountMsat });
      }
      return { moves: moves.length, lastIndex, credits };
    } catch (e) {
      if (e instanceof ShapeError) return undefined;
      throw e;
    }
  }

  /** A numeric config value (e.g. cltv-final), or undefined if lightningd does not say. */
  configInt(name: string): Promise<number | undefined> {
    return this.readIfAnswered('listconfigs', { config: name }, (r) => r.optObj('configs')?.optObj(name)?.optInt('value_int'));
  }

  /** Per-part outgoing payments for a hash (rule 5), from listsendpays. */
  listsendpays(paymentHash: PaymentHash): Promise<OutgoingPart[]> {
    return this.read('listsendpays', { payment_hash: paymentHash }, (r) =>
      r.objects('payments').map((p) => {
        const status = p.str('status');
        if (status !== 'pending' && status !== 'complete' && status !== 'failed') throw new ShapeError(`${p.path}.status: unknown status ${status}`);
        const createdIndex = p.optInt('created_index');
        return {
          status,
          preimage: p.optMatch<Preimage>('payment_preimage', HASH_RE, 'a preimage'),
          amountSentMsat: p.optMsat('amount_sent_msat') ?? (0n as Msat),
          ...(createdIndex !== undefined ? { createdIndex } : {}),
        };
      }),
    );
  }

  /** The sendpays created index now (`wait sendpays created 0` answers at once): the last part lightningd registered. */
  sendpaysCreatedIndex(): Promise<number> {
    return this.read('wait', { subsystem: 'sendpays', indexname: 'created', nextvalue: 0 }, (r) => r.int('created'));
  }

  /** Payment hashes of the HTLCs we have offered that are in a channel now (listpeerchannels, direction out). */
  outgoingHtlcHashes(): Promise<Set<string>> {
    return this.read('listpeerchannels', {}, (r) => new Set(r.objects('channels').flatMap((c) => c.optObjects('htlcs').filter((h) => h.str('direction') === 'out').map((h) => h.str('payment_hash')))));
  }

  // --- plugins -----------------------------------------------------------

  /** `plugin list`: each plugin's path (as lightningd resolved it), in the order lightningd loaded them. */
  listPlugins(): Promise<Array<{ path: string; active: boolean }>> {
    return this.read('plugin', { subcommand: 'list' }, (r) => r.objects('plugins').map((p) => ({ path: p.str('name'), active: p.optBool('active') ?? false })));
  }

  /** The important-plugin values of lightningd's config (as written there); none if lightningd does not say. */
  async importantPlugins(): Promise<string[]> {
    return (await this.readIfAnswered('listconfigs', { config: 'important-plugin' }, (r) => {
      const entry = r.optObj('configs')?.optObj('important-plugin');
      return entry?.has('values_str') ? entry.strings('values_str') : [];
    })) ?? [];
  }

  /** Is an rdv plugin loaded (by name), and was it given as important-plugin? */
  async pluginState(matches: (path: string) => boolean): Promise<PluginState> {
    const found = (await this.listPlugins()).find((p) => matches(p.path));
    const important = (await this.importantPlugins().catch(() => [])).some((v) => matches(v));
    return { loaded: found !== undefined, active: found?.active ?? false, path: found?.path, important };
  }

  /** Does lightningd offer this RPC command (`help command=...`)? false for an unknown, deprecated or developer-only one. */
  async hasCommand(name: string): Promise<boolean> {
    try {
      Reader.of(await this.rpc.call('help', { command: name }), 'help').objects('help');
      return true;
    } catch (e) {
      if (e instanceof RpcError && e.code === -32601) return false;
      if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused help: ${e.rpcMessage}`, { cause: e });
      if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
      throw e;
    }
  }

  async startPlugin(path: string): Promise<void> {
    await this.call('plugin', { subcommand: 'start', plugin: path });
  }
}
