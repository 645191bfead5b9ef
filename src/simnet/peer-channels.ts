/**
 * listpeerchannels as lightningd answers it (lightningd/peer_control.c
 * json_listpeerchannels / json_add_channel), shaped like
 * test/fixtures/cln-v26.06/rpc-listpeerchannels.json. Fields that would need
 * real transactions (psbt, close_to, scratch_txid, last_tx_fee_msat) are left out.
 */
import { SimRpcError } from './rpc-server.js';
import type { NodeNetwork, Peer, PeerChannel } from './types.js';

const U64_MAX = 18_446_744_073_709_551_615n;
const SCID_RE = /^\d+x\d+x\d+$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;
const HASH_RE = /^[0-9a-f]{64}$/;

/** The channels `node` lists for these params: all, or those of peer `id`, or the one `short_channel_id` (real or local alias) or `channel_id` names. */
export function listPeerChannels(net: NodeNetwork, node: Peer, params: Record<string, unknown>): Record<string, unknown> {
  const { id, short_channel_id: scid, channel_id: cid } = params;
  if (id !== undefined && (typeof id !== 'string' || !NODE_RE.test(id))) throw new SimRpcError(-32602, 'id: should be a node id: invalid token (see logs for details)');
  if (scid !== undefined && (typeof scid !== 'string' || !SCID_RE.test(scid))) {
    throw new SimRpcError(-32602, 'short_channel_id: should be a short_channel_id of form NxNxN: invalid token (see logs for details)');
  }
  if (cid !== undefined && (typeof cid !== 'string' || !HASH_RE.test(cid))) throw new SimRpcError(-32602, 'channel_id: should be a channel_id: invalid token (see logs for details)');
  if ([id, scid, cid].filter((x) => x !== undefined).length > 1) throw new SimRpcError(-32602, 'Must not specify more than one of short_channel_id, channel_id or id');
  const mine = net.channels.filter((c) => c.has(node));
  let chosen: PeerChannel[];
  if (typeof id === 'string') chosen = mine.filter((c) => c.other(node).id === id);
  // any_channel_by_scid with privacy_leak_ok: the real scid, an old public one, or this node's local alias.
  else if (typeof scid === 'string') chosen = mine.filter((c) => c.knownAs(node, scid)).slice(0, 1);
  else if (typeof cid === 'string') chosen = mine.filter((c) => c.channelId === cid);
  else chosen = mine;
  return { channels: chosen.map((c) => channelJson(net, node, c)) };
}

function channelJson(net: NodeNetwork, node: Peer, c: PeerChannel): Record<string, unknown> {
  const peer = c.other(node);
  const connected = node.up && peer.up && node.peers.has(peer.id);
  const local = c.policy.get(node.id);
  const remote = c.policy.get(peer.id);
  const htlcs = net.htlcsOn(c);
  const outgoing = htlcs.filter((x) => x.incoming.from === node);
  const incoming = htlcs.filter((x) => x.to === node);
  const sum = (xs: typeof htlcs): bigint => xs.reduce((s, x) => s + x.incoming.amountMsat, 0n);
  const toUs = (c.balance.get(node.id) ?? 0n) + sum(outgoing);
  const reserve = c.capacityMsat / 100n;
  const spendable = c.spendable(node.id) > reserve ? c.spendable(node.id) - reserve : 0n;
  const theirs = c.balance.get(peer.id) ?? 0n;
  const receivable = c.canAddHtlc() && theirs > reserve ? theirs - reserve : 0n;
  const update = (p: typeof local): Record<string, unknown> => ({
    htlc_minimum_msat: 0,
    htlc_maximum_msat: (c.capacityMsat * 99n) / 100n,
    cltv_expiry_delta: p?.cltvDelta ?? 34,
    fee_base_msat: p?.feeBaseMsat ?? 1000n,
    fee_proportional_millionths: p?.feePpm ?? 10n,
  });
  const out: Record<string, unknown> = {
    peer_id: peer.id,
    peer_connected: connected,
    ...(connected ? { reestablished: true } : {}),
    channel_type: { bits: [12, 22], names: ['static_remotekey/even', 'anchors/even'] },
    updates: { local: update(local), remote: update(remote) },
    last_stable_connection: c.openedAt,
    state: c.state,
    lost_state: false,
    feerate: { perkw: 1255, perkb: 5020 },
    owner: c.canAddHtlc() || c.state === 'CHANNELD_SHUTTING_DOWN' ? 'channeld' : 'onchaind',
  };
  if (c.scid !== undefined) out.short_channel_id = c.scid;
  // node_id_idx: direction 0 when our id sorts first.
  out.direction = node.id < peer.id ? 0 : 1;
  out.channel_id = c.channelId;
  out.funding_txid = c.fundingTxid;
  out.funding_outnum = 0;
  out.private = c.isPrivate;
  out.opener = c.opener === node.id ? 'local' : 'remote';
  out.alias = { local: c.localAlias(node), remote: c.remoteAlias(node) };
  out.features = ['option_static_remotekey', 'option_anchors'];
  const funded = c.opener === node.id;
  out.funding = { local_funds_msat: funded ? c.capacityMsat : 0n, remote_funds_msat: funded ? 0n : c.capacityMsat, pushed_msat: 0 };
  Object.assign(out, {
    to_us_msat: toUs,
    min_to_us_msat: toUs,
    max_to_us_msat: funded ? c.capacityMsat : toUs,
    total_msat: c.capacityMsat,
    fee_base_msat: local?.feeBaseMsat ?? 1000n,
    fee_proportional_millionths: local?.feePpm ?? 10n,
    dust_limit_msat: 546_000,
    their_max_htlc_value_in_flight_msat: U64_MAX,
    our_max_htlc_value_in_flight_msat: U64_MAX,
    their_reserve_msat: reserve,
    our_reserve_msat: reserve,
    spendable_msat: spendable,
    receivable_msat: receivable,
    minimum_htlc_in_msat: 0,
    minimum_htlc_out_msat: 0,
    maximum_htlc_out_msat: (c.capacityMsat * 99n) / 100n,
    their_to_self_delay: 6,
    our_to_self_delay: 6,
    max_accepted_htlcs: 483,
    state_changes: [
      { timestamp: new Date(c.openedAt * 1000).toISOString(), old_state: 'CHANNELD_AWAITING_LOCKIN', new_state: 'CHANNELD_NORMAL', cause: 'user', message: 'Lockin complete' },
    ],
    status: [`${c.state}:Channel ready for use.`],
    in_payments_offered: incoming.length,
    in_offered_msat: sum(incoming),
    in_payments_fulfilled: 0,
    in_fulfilled_msat: 0,
    out_payments_offered: outgoing.length,
    out_offered_msat: sum(outgoing),
    out_payments_fulfilled: 0,
    out_fulfilled_msat: 0,
    htlcs: [
      // json_add_htlcs: incoming ones first. An incoming HTLC lightningd has
      // committed to sits in RCVD_ADD_ACK_REVOCATION (with `status` while a
      // plugin's hook holds it); an outgoing one in SENT_ADD_ACK_REVOCATION.
      ...incoming.map((x) => ({
        direction: 'in',
        id: x.incoming.id,
        amount_msat: x.incoming.amountMsat,
        expiry: x.incoming.cltvExpiry,
        payment_hash: x.incoming.paymentHash,
        state: 'RCVD_ADD_ACK_REVOCATION',
        ...(x.incoming.status !== undefined ? { status: x.incoming.status } : {}),
      })),
      ...outgoing.map((x) => ({
        direction: 'out',
        id: x.incoming.id,
        amount_msat: x.incoming.amountMsat,
        expiry: x.incoming.cltvExpiry,
        payment_hash: x.incoming.paymentHash,
        state: 'SENT_ADD_ACK_REVOCATION',
      })),
    ],
  });
  return out;
}
