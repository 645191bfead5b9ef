/**
 * The few lightningd reads the harness and the e2e tests need beyond rdv's own
 * wrappers (src/rpc/node.ts): funds, channels, HTLCs, gossip. Parsed with the
 * same Reader, so a changed reply shape fails here, naming the field.
 */
import type { Msat } from '../chain/amount.js';
import { Reader } from '../chain/read.js';
import type { LightningNode } from '../rpc/node.js';

export interface PeerChannel {
  peerId: string;
  state: string;
  channelId: string;
  scid: string | undefined;
  private: boolean;
  toUsMsat: Msat | undefined;
  totalMsat: Msat | undefined;
  spendableMsat: Msat | undefined;
  /** HTLCs in the channel right now, either direction. */
  htlcs: number;
  /** We have the peer's channel_update (fees, CLTV delta): needed for route hints in our invoices. */
  remoteUpdate: boolean;
  /** Our local alias for the channel (what lightningd calls it until it has a real scid). */
  localAlias: string | undefined;
  /** Incoming HTLCs we fulfilled over the channel's life: count and total. */
  inPaymentsFulfilled: number | undefined;
  inFulfilledMsat: Msat | undefined;
  channelType: string[] | undefined;
}

export async function listPeerChannels(node: LightningNode, peerId?: string): Promise<PeerChannel[]> {
  const result = await node.call('listpeerchannels', peerId === undefined ? {} : { id: peerId });
  return Reader.of(result, 'listpeerchannels')
    .objects('channels')
    .map((c) => ({
      peerId: c.str('peer_id'),
      state: c.str('state'),
      channelId: c.str('channel_id'),
      scid: c.optStr('short_channel_id'),
      private: c.optBool('private') ?? false,
      toUsMsat: c.optMsat('to_us_msat'),
      totalMsat: c.optMsat('total_msat'),
      spendableMsat: c.optMsat('spendable_msat'),
      htlcs: c.has('htlcs') ? c.arr('htlcs').length : 0,
      remoteUpdate: c.optObj('updates')?.has('remote') ?? false,
      localAlias: c.optObj('alias')?.optStr('local'),
      inPaymentsFulfilled: c.optInt('in_payments_fulfilled'),
      inFulfilledMsat: c.optMsat('in_fulfilled_msat'),
      channelType: c.optObj('channel_type')?.has('names') ? c.obj('channel_type').arr('names').map(String) : undefined,
    }));
}

/** Outputs in the node's on-chain wallet with status confirmed. */
export async function confirmedOutputs(node: LightningNode): Promise<number> {
  const result = await node.call('listfunds', {});
  return Reader.of(result, 'listfunds')
    .objects('outputs')
    .filter((o) => o.str('status') === 'confirmed' && !(o.optBool('reserved') ?? false)).length;
}

export async function newAddress(node: LightningNode): Promise<string> {
  const r = Reader.of(await node.call('newaddr', {}), 'newaddr');
  return r.optStr('bech32') ?? r.str('p2tr');
}

/** Directions of a channel this node's gossip knows (2 when both sides announced their policy). */
export async function gossipDirections(node: LightningNode, scid: string): Promise<number> {
  const result = await node.call('listchannels', { short_channel_id: scid });
  return Reader.of(result, 'listchannels').objects('channels').length;
}

export interface HtlcEntry {
  scid: string;
  id: string;
  direction: string;
  state: string;
  paymentHash: string;
  amountMsat: Msat;
  /** The HTLC's cltv_expiry (absolute block height). */
  expiry: number;
}

/** `listhtlcs` (every HTLC the node ever had in a channel it still has, with its current state and expiry). */
export async function listHtlcs(node: LightningNode): Promise<HtlcEntry[]> {
  const result = await node.call('listhtlcs', {});
  return Reader.of(result, 'listhtlcs')
    .objects('htlcs')
    .map((h) => ({
      scid: h.optStr('short_channel_id') ?? '',
      id: h.bigint('id').toString(),
      direction: h.str('direction'),
      state: h.str('state'),
      paymentHash: h.str('payment_hash'),
      amountMsat: h.msat('amount_msat'),
      expiry: h.int('expiry'),
    }));
}

/** HTLCs still in a channel (listpeerchannels), over all channels. */
export async function htlcsInChannels(node: LightningNode): Promise<number> {
  return (await listPeerChannels(node)).reduce((n, c) => n + c.htlcs, 0);
}
