/**
 * Channels and peers: connecting and sending a peer message, our channels under
 * every name lightningd gives them in a hook, what each can send and receive, a
 * node's alias, and lightningd's channel moves (what it settled for us).
 */
import type { Msat } from '../../chain/amount.js';
import type { NodeId } from '../../chain/ids.js';
import type { ChannelFunds } from '../../chain/node-facts.js';
import { Reader, ShapeError } from '../../chain/read.js';
import { RpcError, type Rpc } from '../client.js';
import { call, HASH_RE, NODE_RE, read, readIfAnswered } from './call.js';

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

// --- peers and messages ------------------------------------------------

export async function connect(rpc: Rpc, id: string, host?: string, port?: number): Promise<NodeId> {
  return read(rpc, 'connect', { id, host, port }, (r) => r.match<NodeId>('id', NODE_RE, 'a node id'));
}

export async function isConnected(rpc: Rpc, id: NodeId): Promise<boolean> {
  const peers = await read(rpc, 'listpeers', { id }, (r) => r.objects('peers').map((p) => p.optBool('connected') ?? false));
  return peers.some(Boolean);
}

export async function sendcustommsg(rpc: Rpc, nodeId: NodeId, msgHex: string): Promise<void> {
  await call(rpc, 'sendcustommsg', { node_id: nodeId, msg: msgHex });
}

// --- channels ----------------------------------------------------------

/** Our channels, with every name lightningd may give one in a hook (real scid, local alias). */
export function listPeerChannels(rpc: Rpc): Promise<ChannelNames[]> {
  return read(rpc, 'listpeerchannels', {}, (r) =>
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
export function channelFunds(rpc: Rpc): Promise<ChannelFunds[]> {
  return read(rpc, 'listpeerchannels', {}, (r) =>
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
export async function nodeAlias(rpc: Rpc, id: NodeId): Promise<string | undefined> {
  const alias = await readIfAnswered(rpc, 'listnodes', { id }, (r) => r.objects('nodes')[0]?.optStr('alias'));
  return alias === '' ? undefined : alias;
}

/** A channel gossip says a node has: where it goes, and the CLTV delta the node asks on it. */
export interface GossipChannel {
  destination: NodeId;
  delay: number;
}

/** The channels gossip says `source` has (listchannels source=…), or undefined when lightningd does not say. */
export async function gossipChannelsFrom(rpc: Rpc, source: NodeId): Promise<GossipChannel[] | undefined> {
  return readIfAnswered(rpc, 'listchannels', { source }, (r) =>
    r.objects('channels').map((c) => ({ destination: c.match<NodeId>('destination', NODE_RE, 'a node id'), delay: c.int('delay') })),
  );
}

/**
 * One page of lightningd's channel moves: those with created_index >= `start`, at
 * most `limit` (listchannelmoves index=created). Gives how many moves the page
 * held, the last one's created_index, and its "invoice" credits: each incoming
 * HTLC lightningd fulfilled for us, which it writes only once the HTLC is
 * irrevocably settled. undefined on a CLN without listchannelmoves (before
 * v25.09) or whose reply rdv does not understand. Throws if the call is lost.
 */
export async function channelMovesPage(rpc: Rpc, start: number, limit: number): Promise<ChannelMovesPage | undefined> {
  let result: unknown;
  try {
    result = await rpc.call('listchannelmoves', { index: 'created', start, limit });
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

/** Payment hashes of the HTLCs we have offered that are in a channel now (listpeerchannels, direction out). */
export function outgoingHtlcHashes(rpc: Rpc): Promise<Set<string>> {
  return read(rpc, 'listpeerchannels', {}, (r) => new Set(r.objects('channels').flatMap((c) => c.optObjects('htlcs').filter((h) => h.str('direction') === 'out').map((h) => h.str('payment_hash')))));
}
