/**
 * What the simulated network and its nodes see of each other. The network
 * (network.ts) owns the nodes and the channels and implements NodeNetwork; a
 * node (node.ts and its rooms in node/), its xpay (payer.ts) and its
 * listpeerchannels (peer-channels.ts) reach the network only through
 * NodeNetwork, and see other nodes only as Peers. So no module a node is made
 * of imports network.ts, and the simnet has no import circle
 * (test/unit/import-cycles.test.ts keeps it so).
 */
import type { NodeId } from '../chain/ids.js';
import type { DirectedChannel } from './askrene.js';
import type { ChannelPolicy, NodeRef, SimChannel } from './channel.js';
import type { HopPayload } from './onion.js';
import type { Edge } from './routing.js';

export interface Latency {
  /** Per hop, adding an HTLC (update_add + commitment dance). */
  hopAddMs: number;
  /** Per hop, settling or failing it back. */
  hopSettleMs: number;
  /** Once per xpay call: route finding and onion building. */
  xpaySetupMs: number;
  /** At a final node before it settles an invoice (CLN commits to its database). */
  finalSettleMs: number;
  /** A peer message. */
  messageMs: number;
}

export interface NetworkOptions {
  latency?: Latency;
  blockheight?: number;
  /** Where node directories and sockets go (a fresh temp dir by default). */
  dir?: string;
  /** The plugin executable nodes load (bin/rdv). */
  pluginPath?: string;
  /** Passed to every rdv plugin: rdv-mpp-timeout etc. */
  pluginOptions?: Record<string, unknown>;
  /** Passed to every rdv-guard plugin: rdv-guard-quiet. */
  guardOptions?: Record<string, unknown>;
  /** CLN's own MPP timeout for its invoices. */
  mppTimeoutMs?: number;
  /** Plugin log lines and stderr, for debugging. */
  onLog?: (node: string, line: string) => void;
}

export type HtlcOutcome =
  | { ok: true; preimage: string }
  | { ok: false; failureMessage: string; failingNode: NodeId; failingScid: string | undefined };

export interface NetworkEvent {
  at: number;
  type: 'htlc_expired' | 'wrong_preimage' | 'late_resolution' | 'message_dropped' | 'plugin_died' | 'node_restarted' | 'late_part' | 'htlc_lost';
  node: string;
  detail: string;
}

/** Another node as a node sees it: who it is, whether its lightningd runs, where it listens, its peers. */
export interface Peer {
  readonly id: NodeId;
  readonly name: string;
  readonly up: boolean;
  readonly port: number;
  readonly peers: Set<NodeId>;
}

/** A channel as a node sees it: its ends are peers. */
export type PeerChannel = SimChannel<Peer>;

/** An HTLC offered to a node. */
export interface Incoming {
  channel: PeerChannel;
  from: Peer;
  id: bigint;
  amountMsat: bigint;
  cltvExpiry: number;
  paymentHash: string;
  payload: HopPayload;
  rest: HopPayload[];
  /** Set while the receiving lightningd waits for a plugin's htlc_accepted answer (listpeerchannels `status`). */
  status?: string;
  /** The onion's shared secret, fixed per HTLC like lightningd's. */
  sharedSecret?: string;
  /** Inside a blinded path: the path key update_add_htlc carried (fixed per HTLC). */
  pathKey?: string;
}

/** An invoice request to an offer (what CLN sends by onion message), as the simulator passes it to the issuer. */
export interface InvoiceRequest {
  /** The offer's string. */
  offer: string;
  amountMsat: bigint;
  payerId: string;
  metadata: string;
}

/** The issuer's answer (an invoice, or an invoice_error), or why none came. */
export type InvoiceRequestAnswer = { kind: 'invoice'; invoice: string } | { kind: 'error'; message: string } | { kind: 'unreachable' } | { kind: 'timeout' };

/**
 * The network as its nodes reach it. The nodes and channels a node hands back
 * (`from`, `channel`, `to`) are those the network handed it: itself, and the
 * channels and peers it found here.
 */
export interface NodeNetwork {
  readonly options: NetworkOptions;
  readonly latency: Latency;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, Peer>;
  readonly channels: readonly PeerChannel[];
  nodeById(id: string): Peer | undefined;
  /** The channel `node`'s lightningd finds by `scid` (real, old public, or its own local alias). */
  channelFor(node: NodeRef, scid: string): PeerChannel | undefined;
  /** `node`'s channels with `peer`. */
  channelsBetween(node: NodeRef, peer: NodeRef): PeerChannel[];
  /** The routing graph as `viewer` sees it (SimNetwork.edges). */
  edges(viewer: NodeId, hinted?: ReadonlyMap<string, ChannelPolicy & { from: NodeId }>, isDisabled?: (c: DirectedChannel) => boolean): Edge[];
  /** Offer an HTLC over `channel` from `from` and wait for its outcome (SimNetwork.sendHtlc). */
  sendHtlc(from: Peer, channel: PeerChannel, amountMsat: bigint, cltvExpiry: number, paymentHash: string, onion: HopPayload[], options?: { ownPayment?: boolean; resolved?: (o: HtlcOutcome) => void }): Promise<HtlcOutcome>;
  /** HTLCs pending on `channel`, each with the node it was offered to. */
  htlcsOn(channel: PeerChannel): Array<{ incoming: Incoming; to: Peer }>;
  /** Deliver a peer message after the message latency (unless a drop fault is armed). */
  deliverMessage(from: Peer, to: Peer, msgHex: string): void;
  /**
   * fetchinvoice's onion messages: the request to the issuer and its answer,
   * if a chain of connected peers leads there (SimNetwork.requestInvoice).
   */
  requestInvoice(from: Peer, issuer: NodeId, request: InvoiceRequest, timeoutSeconds: number): Promise<InvoiceRequestAnswer>;
  event(type: NetworkEvent['type'], node: string, detail: string): void;
}
