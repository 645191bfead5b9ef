/** Typed views of the hook payloads lightningd sends (doc/schemas/hook/). */
import type { NodeId, PaymentHash, PaymentSecret } from '../chain/ids.js';
import { Reader, type JsonObject } from '../chain/read.js';
import type { IncomingPart } from '../chain/relay/types.js';

const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;

export interface HtlcAccepted {
  paymentHash: PaymentHash;
  /** No next hop in the onion: we are the final destination. */
  isFinalHop: boolean;
  /**
   * lightningd decoded the hop payload (`onion.type` is set). When it could not,
   * it still calls the hook, then fails the HTLC itself with invalid_onion_payload
   * (htlc_accepted_hook_final): such an HTLC is never ours.
   */
  decoded: boolean;
  /** The payload is a blinded path's (encrypted_recipient_data or current_path_key): rdv's invoices never use one. */
  blinded: boolean;
  /** The channel as lightningd named it (real scid or local alias); `part.channelId` is filled in by the runner. */
  part: IncomingPart;
}

/** BOLT 4 TLV types of a blinded hop: encrypted_recipient_data, current_path_key. */
const BLINDED_TLVS = new Set([10n, 12n]);

/** Parse an htlc_accepted call. Throws ShapeError on a payload we cannot read. */
export function parseHtlcAccepted(params: JsonObject): HtlcAccepted {
  const r = new Reader(params, 'htlc_accepted');
  const onion = r.obj('onion');
  const htlc = r.obj('htlc');
  const cltvExpiry = htlc.int('cltv_expiry');
  const relative = htlc.int('cltv_expiry_relative');
  const isFinalHop = !onion.has('short_channel_id') && !onion.has('next_node_id') && !r.has('forward_to');
  const payload = onion.optMatch('payload', /^([0-9a-fA-F]{2})*$/, 'hex');
  return {
    paymentHash: htlc.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
    isFinalHop,
    decoded: onion.has('type'),
    blinded: payload !== undefined && tlvTypes(payload).some((t) => BLINDED_TLVS.has(t)),
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
      paymentMetadata: onion.optMatch('payment_metadata', /^([0-9a-fA-F]{2})*$/, 'hex'),
      peerId: r.optMatch<NodeId>('peer_id', NODE_RE, 'a node id'),
    },
  };
}

/** The TLV types in a length-prefixed hop payload (as lightningd passes `onion.payload`); [] if it does not parse. */
export function tlvTypes(payloadHex: string): bigint[] {
  const buf = Buffer.from(payloadHex, 'hex');
  const types: bigint[] = [];
  let at = 0;
  const bigsize = (): bigint | undefined => {
    const first = buf[at];
    if (first === undefined) return undefined;
    const width = first < 0xfd ? 0 : first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    if (at + 1 + width > buf.length) return undefined;
    const value = width === 0 ? BigInt(first) : BigInt(`0x${buf.subarray(at + 1, at + 1 + width).toString('hex')}`);
    at += 1 + width;
    return value;
  };
  const length = bigsize();
  if (length === undefined || BigInt(buf.length - at) !== length) return [];
  while (at < buf.length) {
    const type = bigsize();
    const len = bigsize();
    if (type === undefined || len === undefined || BigInt(buf.length - at) < len) return [];
    types.push(type);
    at += Number(len);
  }
  return types;
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
