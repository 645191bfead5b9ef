/** Typed views of the hook payloads lightningd sends (doc/schemas/hook/). */
import type { NodeId, PaymentHash, PaymentSecret } from '../chain/ids.js';
import { Reader, type JsonObject } from '../chain/read.js';
import type { IncomingPart } from '../chain/relay.js';

const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;

export interface HtlcAccepted {
  paymentHash: PaymentHash;
  /** No next hop in the onion: we are the final destination. */
  isFinalHop: boolean;
  part: IncomingPart;
}

/** Parse an htlc_accepted call. Throws ShapeError on a payload we cannot read. */
export function parseHtlcAccepted(params: JsonObject): HtlcAccepted {
  const r = new Reader(params, 'htlc_accepted');
  const onion = r.obj('onion');
  const htlc = r.obj('htlc');
  const cltvExpiry = htlc.int('cltv_expiry');
  const relative = htlc.int('cltv_expiry_relative');
  const isFinalHop = !onion.has('short_channel_id') && !onion.has('next_node_id') && !r.has('forward_to');
  return {
    paymentHash: htlc.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
    isFinalHop,
    part: {
      scid: htlc.str('short_channel_id'),
      id: htlc.bigint('id').toString(),
      amountMsat: htlc.msat('amount_msat'),
      cltvExpiry,
      // DESIGN.md: cltv_expiry - cltv_expiry_relative is the current block height.
      height: cltvExpiry - relative,
      paymentSecret: onion.optMatch<PaymentSecret>('payment_secret', HASH_RE, 'a payment secret'),
      totalMsat: onion.optMsat('total_msat'),
      forwardMsat: onion.optMsat('forward_msat'),
      outgoingCltv: onion.optInt('outgoing_cltv_value'),
    },
  };
}

export interface CustomMsg {
  peerId: NodeId;
  /** type (2 bytes) + body, hex. */
  payload: string;
}

export function parseCustomMsg(params: JsonObject): CustomMsg {
  const r = new Reader(params, 'custommsg');
  return {
    peerId: r.match<NodeId>('peer_id', NODE_RE, 'a node id'),
    payload: r.match('payload', /^([0-9a-f]{2})*$/i, 'hex').toLowerCase(),
  };
}
