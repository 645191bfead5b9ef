/**
 * What a simulated node's rooms (the other files of src/simnet/node/) may reach
 * of their node: NodeCore, which SimNode (../node.ts) implements, the plugins
 * it loads (LoadedPlugin), and the shape of a room's RPC methods (Methods).
 * The rooms import this file, never node.ts.
 */
import type { Askrene } from '../askrene.js';
import type { Datastore } from '../datastore.js';
import type { InvoiceBook } from '../invoices.js';
import type { ChannelMove, NewChannelMove } from '../moves.js';
import type { Payer } from '../payer.js';
import type { PluginHost } from '../plugin-host.js';
import type { Incoming, NodeNetwork, Peer } from '../types.js';
import type { SimOffer } from '../offers.js';

/** One RPC method: its reply, or a SimRpcError thrown (the reply may be a promise). */
export type Method = (params: Record<string, unknown>) => unknown;

/** The RPC methods a room answers, by name. */
export type Methods = Map<string, Method>;

/** How a hook call may be answered before the chain (`gate`), and who is being waited for (`onCall`). */
export interface HookOptions {
  gate?: () => Record<string, unknown> | undefined;
  onCall?: (plugin: string) => void;
}

export interface LoadedPlugin {
  path: string;
  important: boolean;
  host: PluginHost | undefined;
}

export interface NodeCore extends Peer {
  readonly net: NodeNetwork;
  readonly privateKey: Buffer;
  /** lightningd's network directory (<dir>/regtest): its RPC socket and the plugins' working directory. */
  readonly netDir: string;
  readonly version: string;
  readonly cltvFinal: number;
  readonly developer: boolean;
  /** Plugins in hook-chain order (rdv before rdv-guard). */
  readonly plugins: LoadedPlugin[];
  /** Lines the plugins logged (and wrote to stderr). */
  readonly log: string[];
  readonly datastore: Datastore;
  readonly invoices: InvoiceBook;
  /** Our BOLT 12 offers, by offer_id. */
  readonly offers: Map<string, SimOffer>;
  readonly payer: Payer;
  /** How many times lightningd has started (a command running across a restart died with it). */
  readonly starts: number;
  readonly askrene: Askrene;
  readonly channelMoves: readonly ChannelMove[];
  readonly missingCommands: ReadonlySet<string>;
  /** Fault: hold payments to our invoices (a stalling payee). */
  readonly stallFinal: boolean;
  /** Fault: hold payments to our invoices for these hashes only. */
  readonly stallHashes: ReadonlySet<string>;
  addChannelMove(m: NewChannelMove): void;
  /**
   * Call a hook along the plugin chain (plugins.ts callHook). The rooms call it,
   * and hookParams, through the node: a test may wrap the node's own.
   */
  callHook(name: string, params: () => Record<string, unknown>, opts?: HookOptions): Promise<Record<string, unknown>>;
  /** The htlc_accepted hook's params for `h` at this moment (htlc-accepted.ts hookParams). */
  hookParams(h: Incoming): Record<string, unknown>;
  /** Send a notification to every plugin subscribed to the topic. */
  notify(topic: string, params: Record<string, unknown>): void;
  /** Resolves once lightningd is running (at once if it is). */
  waitUp(): Promise<void>;
  /** lightningd stops (as when an important plugin dies). */
  crash(): Promise<void>;
}
