/**
 * Typed wrappers for the lightningd calls rdv makes. Replies are validated where
 * they enter (a wrong shape is an error naming the field); CLN error objects
 * become rdv errors here, or typed outcomes where the caller must decide.
 *
 * LightningNode is the one entry point: callers are handed a node (a socket to
 * lightningd, or to a fake one in tests) and import it, and the reply types,
 * from here. Each method is one line handing `this.rpc` to a function in
 * src/rpc/node/, one file per thing a reader comes looking for: the code, its
 * TSDoc and its reply types are there. The rooms import only call.ts:
 *   node/call.ts      call, read, readIfAnswered: CLN errors and wrong shapes become RdvErrors
 *   node/info.ts      getinfo (and the version check), a config value, the chain's tip, hasCommand
 *   node/invoices.ts  invoice, signinvoice, listinvoices, delinvoice, CLN's decode
 *   node/offers.ts    BOLT 12: CLN's decode of an offer or an invoice, fetchinvoice
 *   node/datastore.ts rdv's records' store: compare-and-swap writes, list, delete at a generation
 *   node/payments.ts  getroutes' routes and their estimate, xpay (never throws; definite or not, ended or lost), listsendpays
 *   node/sendpay.ts   the first attempt onward: decode's secret, sendpay and waitsendpay (never throw)
 *   node/layers.ts    askrene layers: create, disable our node and channels in one, list, remove
 *   node/channels.ts  peers (connect, custom messages), our channels and their funds, aliases, channel moves
 *   node/plugins.ts   plugin list, important-plugin, an rdv plugin's state, plugin start
 */
import type { ChannelFunds } from '../chain/node-facts.js';
import type { NodeId, PaymentHash } from '../chain/ids.js';
import type { FoundRoute } from '../chain/first-attempt.js';
import type { OutgoingPart, PayResult } from '../chain/relay/types.js';
import { ReconnectingRpc, RpcClient, type Rpc } from './client.js';
import { call } from './node/call.js';
import * as info from './node/info.js';
import * as invoices from './node/invoices.js';
import * as offers from './node/offers.js';
import * as datastore from './node/datastore.js';
import * as payments from './node/payments.js';
import * as sendpays from './node/sendpay.js';
import * as layers from './node/layers.js';
import * as channels from './node/channels.js';
import * as plugins from './node/plugins.js';

export { isSupportedVersion, MIN_CLN_VERSION, MIN_CLN_VERSION_TEXT, parseClnVersion } from '../chain/cln-version.js';
export type { ChannelFunds, NodeAddress } from '../chain/node-facts.js';
export type { NodeInfo } from './node/info.js';
export type { DecodedInvoice, InvoiceRequest, InvoiceStatus, NewInvoice } from './node/invoices.js';
export type { FetchInvoiceProblem, FetchInvoiceRequest } from './node/offers.js';
export type { DatastoreEntry, DatastoreWrite } from './node/datastore.js';
export { classifyPayError, type RouteQuery, type RouteSummary, type XpayRequest, type XpayResult } from './node/payments.js';
export type { ChannelCredit, ChannelMovesPage, ChannelNames } from './node/channels.js';
export type { PluginState } from './node/plugins.js';

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
  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return call(this.rpc, method, params);
  }

  // --- what lightningd is and offers (node/info.ts) ----------------------

  getinfo(): Promise<info.NodeInfo> {
    return info.getinfo(this.rpc);
  }
  checkedInfo(): Promise<info.NodeInfo> {
    return info.checkedInfo(this.rpc);
  }
  configInt(name: string): Promise<number | undefined> {
    return info.configInt(this.rpc, name);
  }
  chainTip(): Promise<number | undefined> {
    return info.chainTip(this.rpc);
  }
  hasCommand(name: string): Promise<boolean> {
    return info.hasCommand(this.rpc, name);
  }

  // --- invoices and signing (node/invoices.ts) ---------------------------

  invoice(p: invoices.InvoiceRequest): Promise<invoices.NewInvoice> {
    return invoices.invoice(this.rpc, p);
  }
  delinvoice(label: string, status: 'unpaid' | 'paid' | 'expired'): Promise<void> {
    return invoices.delinvoice(this.rpc, label, status);
  }
  listinvoices(filter: { label?: string; paymentHash?: string }): Promise<invoices.InvoiceStatus[]> {
    return invoices.listinvoices(this.rpc, filter);
  }
  signinvoice(invstring: string): Promise<string> {
    return invoices.signinvoice(this.rpc, invstring);
  }
  decode(bolt11: string): Promise<invoices.DecodedInvoice> {
    return invoices.decode(this.rpc, bolt11);
  }

  // --- BOLT 12 (node/offers.ts) --------------------------------------------

  decodeOffer(text: string): ReturnType<typeof offers.decodeOffer> {
    return offers.decodeOffer(this.rpc, text);
  }
  decodeBolt12Invoice(text: string): ReturnType<typeof offers.decodeBolt12Invoice> {
    return offers.decodeBolt12Invoice(this.rpc, text);
  }
  fetchinvoice(p: offers.FetchInvoiceRequest): ReturnType<typeof offers.fetchinvoice> {
    return offers.fetchinvoice(this.rpc, p);
  }

  // --- datastore (node/datastore.ts) -------------------------------------

  datastoreCreate(key: string[], value: string): Promise<datastore.DatastoreWrite> {
    return datastore.datastoreCreate(this.rpc, key, value);
  }
  datastoreReplace(key: string[], value: string, generation: number): Promise<datastore.DatastoreWrite> {
    return datastore.datastoreReplace(this.rpc, key, value, generation);
  }
  datastoreUpsert(key: string[], value: string): Promise<datastore.DatastoreWrite> {
    return datastore.datastoreUpsert(this.rpc, key, value);
  }
  listdatastore(key: string[]): Promise<datastore.DatastoreEntry[]> {
    return datastore.listdatastore(this.rpc, key);
  }
  deldatastore(key: string[]): Promise<boolean> {
    return datastore.deldatastore(this.rpc, key);
  }
  deldatastoreAt(key: string[], generation: number): Promise<'deleted' | 'changed' | 'missing'> {
    return datastore.deldatastoreAt(this.rpc, key, generation);
  }

  // --- routes and payments (node/payments.ts) ----------------------------

  estimateRoute(p: payments.RouteQuery): Promise<payments.RouteSummary | undefined> {
    return payments.estimateRoute(this.rpc, p);
  }
  xpay(p: payments.XpayRequest): Promise<payments.XpayResult> {
    return payments.xpay(this.rpc, p);
  }
  listsendpays(paymentHash: PaymentHash): Promise<OutgoingPart[]> {
    return payments.listsendpays(this.rpc, paymentHash);
  }
  sendpaysCreatedIndex(): Promise<number> {
    return payments.sendpaysCreatedIndex(this.rpc);
  }

  // --- the first attempt by sendpay (node/sendpay.ts) --------------------

  sendpayInvoice(bolt11: string): Promise<sendpays.SendpayInvoice | undefined> {
    return sendpays.sendpayInvoice(this.rpc, bolt11);
  }
  findRoutes(p: payments.RouteQuery): Promise<FoundRoute[] | undefined> {
    return payments.findRoutes(this.rpc, p);
  }
  gossipChannelsFrom(source: NodeId): Promise<channels.GossipChannel[] | undefined> {
    return channels.gossipChannelsFrom(this.rpc, source);
  }
  sendpay(p: sendpays.SendpayRequest): Promise<sendpays.SendpayStart> {
    return sendpays.sendpay(this.rpc, p);
  }
  waitsendpay(paymentHash: PaymentHash, groupid: bigint): Promise<PayResult> {
    return sendpays.waitsendpay(this.rpc, paymentHash, groupid);
  }

  // --- askrene layers (node/layers.ts) -----------------------------------

  createLayer(layer: string): Promise<void> {
    return layers.createLayer(this.rpc, layer);
  }
  removeLayer(layer: string): Promise<boolean> {
    return layers.removeLayer(this.rpc, layer);
  }
  disableNode(layer: string, node: NodeId): Promise<void> {
    return layers.disableNode(this.rpc, layer, node);
  }
  disableChannel(layer: string, shortChannelIdDir: string): Promise<void> {
    return layers.disableChannel(this.rpc, layer, shortChannelIdDir);
  }
  listLayers(): Promise<string[]> {
    return layers.listLayers(this.rpc);
  }

  // --- peers and channels (node/channels.ts) -----------------------------

  connect(id: string, host?: string, port?: number): Promise<NodeId> {
    return channels.connect(this.rpc, id, host, port);
  }
  isConnected(id: NodeId): Promise<boolean> {
    return channels.isConnected(this.rpc, id);
  }
  sendcustommsg(nodeId: NodeId, msgHex: string): Promise<void> {
    return channels.sendcustommsg(this.rpc, nodeId, msgHex);
  }
  listPeerChannels(): Promise<channels.ChannelNames[]> {
    return channels.listPeerChannels(this.rpc);
  }
  channelFunds(): Promise<ChannelFunds[]> {
    return channels.channelFunds(this.rpc);
  }
  nodeAlias(id: NodeId): Promise<string | undefined> {
    return channels.nodeAlias(this.rpc, id);
  }
  channelMovesPage(start: number, limit: number): Promise<channels.ChannelMovesPage | undefined> {
    return channels.channelMovesPage(this.rpc, start, limit);
  }
  outgoingHtlcHashes(): Promise<Set<string>> {
    return channels.outgoingHtlcHashes(this.rpc);
  }

  // --- plugins (node/plugins.ts) -----------------------------------------

  listPlugins(): Promise<Array<{ path: string; active: boolean }>> {
    return plugins.listPlugins(this.rpc);
  }
  importantPlugins(): Promise<string[]> {
    return plugins.importantPlugins(this.rpc);
  }
  pluginState(matches: (path: string) => boolean): Promise<plugins.PluginState> {
    return plugins.pluginState(this.rpc, matches);
  }
  startPlugin(path: string): Promise<void> {
    return plugins.startPlugin(this.rpc, path);
  }
}
