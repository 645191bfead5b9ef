/**
 * Peers and channels as a node's RPC shows them: connect, listpeers, listnodes
 * (gossip), listpeerchannels (../peer-channels.ts), listchannelmoves
 * (../moves.ts); and peer messages both ways: sendcustommsg out, the
 * custommsg hook for a message in.
 */
import { isNodeId, type NodeId } from '../../chain/ids.js';
import { listChannelMoves } from '../moves.js';
import { listPeerChannels } from '../peer-channels.js';
import { SimRpcError } from '../rpc-server.js';
import type { Method, Methods, NodeCore } from './core.js';

/** connect, listpeers, listnodes, listchannels (by source), listpeerchannels, listchannelmoves and sendcustommsg, answered for `node`. */
export function peerMethods(node: NodeCore): Methods {
  return new Map<string, Method>([
    ['connect', (params) => connect(node, params)],
    [
      'listpeers',
      (params) => {
        const ids = [...node.peers].filter((p) => params.id === undefined || p === params.id);
        return {
          peers: ids.map((id) => ({
            id,
            connected: node.net.nodeById(id)?.up ?? false,
            num_channels: node.net.channels.filter((c) => c.has(node) && c.has(id)).length,
            netaddr: [`127.0.0.1:${node.net.nodeById(id)?.port ?? 0}`],
            features: '800898880a8a59a1',
          })),
        };
      },
    ],
    [
      'listnodes',
      (params) => {
        // Gossip: a node with an announced channel has announced itself (alias, color,
        // addresses); one seen only in channels has just its id; others are unknown.
        const wanted = typeof params.id === 'string' ? [params.id] : [...node.net.nodes.values()].map((n) => n.id as string);
        const nodes = wanted.flatMap((id) => {
          const n = node.net.nodeById(id);
          if (!n) return [];
          const announced = node.net.channels.some((c) => !c.isPrivate && c.has(n));
          if (!announced) return [];
          return [{ nodeid: n.id, alias: n.name, color: n.id.slice(2, 8), last_timestamp: 1_795_620_000, features: '808898880a8a59a1', addresses: [{ type: 'ipv4', address: '127.0.0.1', port: n.port }] }];
        });
        return { nodes };
      },
    ],
    ['listchannels', (params) => listChannels(node, params)],
    ['listpeerchannels', (params) => listPeerChannels(node.net, node, params)],
    // wallet_save_channel_mvt: kept in lightningd's database, so across restarts.
    ['listchannelmoves', (params) => ({ channelmoves: listChannelMoves(node.channelMoves, params) })],
    [
      'sendcustommsg',
      (params) => {
        const to = typeof params.node_id === 'string' ? node.net.nodeById(params.node_id) : undefined;
        if (!to || !node.peers.has(to.id) || !to.up) throw new SimRpcError(-1, 'Peer is not connected');
        if (typeof params.msg !== 'string' || !/^([0-9a-f]{2}){2,}$/i.test(params.msg)) throw new SimRpcError(-32602, 'msg: should be hex');
        const type = Number.parseInt(params.msg.slice(0, 4), 16);
        if (type < 32768 && type % 2 === 0) throw new SimRpcError(-32602, `Cannot send messages of type ${type} (internally handled)`);
        node.net.deliverMessage(node, to, params.msg.toLowerCase());
        return { status: 'Message sent to connectd for delivery' };
      },
    ],
  ]);
}

/** A peer's message arrives: the custommsg hook's chain sees it, if lightningd runs and the sender is a peer. */
export async function receiveMessage(node: NodeCore, from: NodeId, msgHex: string): Promise<void> {
  if (!node.up || !node.peers.has(from)) return;
  await node.callHook('custommsg', () => ({ payload: msgHex, peer_id: from })).catch(() => undefined);
}

/**
 * listchannels source=…: gossip's channels of one node, each in the direction
 * leaving it (gossipd's view: announced channels only, as
 * rpc-listchannels-source.json shows; the node's own unannounced ones are left out).
 */
function listChannels(node: NodeCore, params: Record<string, unknown>): Record<string, unknown> {
  const source = params.source;
  if (typeof source !== 'string' || !isNodeId(source)) throw new SimRpcError(-32602, `source: should be a node id: invalid token '${JSON.stringify(source)}'`);
  const channels = node.net.channels.flatMap((c) => {
    const scid = c.scid;
    if (c.isPrivate || scid === undefined || !c.has(source)) return [];
    const from = c.a.id === source ? c.a : c.b;
    const to = c.other(from.id);
    const policy = c.policy.get(from.id);
    if (!policy) return [];
    // channel_flags' bit 0 is the direction; no other bit is set (not disabled).
    const direction = from.id < to.id ? 0 : 1;
    return [
      {
        source,
        destination: to.id,
        short_channel_id: scid,
        direction,
        public: true,
        amount_msat: c.capacityMsat,
        message_flags: 1,
        channel_flags: direction,
        active: c.state === 'CHANNELD_NORMAL' && from.up && to.up,
        last_update: 1_795_620_000,
        base_fee_millisatoshi: policy.feeBaseMsat,
        fee_per_millionth: policy.feePpm,
        delay: policy.cltvDelta,
        htlc_minimum_msat: 0,
        htlc_maximum_msat: (c.capacityMsat * 99n) / 100n,
        features: '',
      },
    ];
  });
  return { channels };
}

function connect(node: NodeCore, params: Record<string, unknown>): Record<string, unknown> {
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
  const peer = node.net.nodeById(idText);
  if (!isNodeId(idText)) throw new SimRpcError(-32602, `id: should be a node id: invalid token '"${idText}"'`);
  if (host !== undefined) {
    if (!peer || !peer.up || host !== '127.0.0.1' || (port ?? 19846) !== peer.port) {
      throw new SimRpcError(401, `All addresses failed: 127.0.0.1:${port ?? 19846}: Connection establishment: Connection refused. `);
    }
  } else if (!peer || !peer.up || !node.net.channels.some((c) => !c.isPrivate && c.has(peer))) {
    throw new SimRpcError(400, 'Unable to connect, no address known for peer');
  }
  node.peers.add(peer.id);
  peer.peers.add(node.id);
  return { id: peer.id, features: '800898880a8a59a1', direction: 'out', address: { type: 'ipv4', address: '127.0.0.1', port: peer.port } };
}
