/** Hop payloads as real BOLT 4 TLV bytes, so hook payloads look like lightningd's. */
import { createHash, randomBytes } from 'node:crypto';
import { readEncryptedData } from './bolt12.js';

/**
 * What one hop's onion payload says. xpay always sets `forwardMsat` and
 * `outgoingCltv`; a hand-made onion (test/helpers) may leave them out, and
 * then lightningd cannot decode it (common/onion_decode.c).
 */
export interface HopPayload {
  /** Next channel, for a hop that forwards. */
  nextScid?: string;
  forwardMsat?: bigint;
  outgoingCltv?: number;
  /** Final hop only (payment_data, TLV 8): both or neither. */
  totalMsat?: bigint;
  paymentSecret?: string;
  /** TLV 16, hex. lightningd passes it to the hook, then rejects it at a final hop. */
  paymentMetadata?: string;
  /**
   * A hop inside a blinded path (BOLT 4 route blinding): its
   * encrypted_recipient_data (TLV 10, the simulator's own, ./bolt12.ts) and,
   * at the introduction node, current_path_key (TLV 12). A forwarding hop's
   * next channel, amount and CLTV come from the encrypted data and the
   * incoming HTLC, not from the payload; the final hop's payload has
   * amt_to_forward, outgoing_cltv_value and total_amount_msat (TLV 18).
   */
  blinded?: { encryptedData: string; pathKey?: string };
}

/** A payload lightningd could decode (onion_decode succeeded). */
export interface DecodedPayload {
  nextScid: string | undefined;
  /** A blinded forwarding hop whose encrypted data names the next node, not a channel (onion.next_node_id). */
  nextNodeId?: string;
  forwardMsat: bigint;
  outgoingCltv: number;
  /** total_msat, or (final hop) amt_to_forward when payment_data is absent (BOLT 4). */
  totalMsat: bigint | undefined;
  paymentSecret: string | undefined;
  paymentMetadata: string | undefined;
  /** A blinded final hop: the path_id its encrypted data carries (what a BOLT 12 invoice checks instead of a payment_secret). */
  pathId?: string;
}

export type DecodeResult = { ok: true; payload: DecodedPayload } | { ok: false; failTlvType: number; failTlvPos: number; explanation: string };

export const TLV_AMT_TO_FORWARD = 2;
export const TLV_OUTGOING_CLTV_VALUE = 4;
export const TLV_SHORT_CHANNEL_ID = 6;
export const TLV_PAYMENT_DATA = 8;
export const TLV_PAYMENT_METADATA = 16;
export const TLV_ENCRYPTED_RECIPIENT_DATA = 10;
export const TLV_CURRENT_PATH_KEY = 12;
export const TLV_TOTAL_AMOUNT_MSAT = 18;

function truncated(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex === '0') return Buffer.alloc(0);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

export function bigsize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Read a bigsize at `off`: [value, bytes used], or undefined past the end. */
function readBigsize(buf: Buffer, off: number): [number, number] | undefined {
  const first = buf[off];
  if (first === undefined) return undefined;
  if (first < 0xfd) return [first, 1];
  if (first === 0xfd) return off + 3 <= buf.length ? [buf.readUInt16BE(off + 1), 3] : undefined;
  if (first === 0xfe) return off + 5 <= buf.length ? [buf.readUInt32BE(off + 1), 5] : undefined;
  return off + 9 <= buf.length ? [Number(buf.readBigUInt64BE(off + 1)), 9] : undefined;
}

function tlv(type: number, value: Buffer): Buffer {
  return Buffer.concat([bigsize(type), bigsize(value.length), value]);
}

function scidBytes(scid: string): Buffer {
  const [b = '0', t = '0', o = '0'] = scid.split('x');
  const buf = Buffer.alloc(8);
  buf.writeUIntBE(Number(b), 0, 3);
  buf.writeUIntBE(Number(t), 3, 3);
  buf.writeUInt16BE(Number(o), 6);
  return buf;
}

/** The length-prefixed TLV payload lightningd passes as onion.payload. */
export function encodeHopPayload(p: HopPayload): string {
  const recs: Buffer[] = [];
  if (p.forwardMsat !== undefined) recs.push(tlv(TLV_AMT_TO_FORWARD, truncated(p.forwardMsat)));
  if (p.outgoingCltv !== undefined) recs.push(tlv(TLV_OUTGOING_CLTV_VALUE, truncated(BigInt(p.outgoingCltv))));
  if (p.nextScid) recs.push(tlv(TLV_SHORT_CHANNEL_ID, scidBytes(p.nextScid)));
  if (p.paymentSecret !== undefined) {
    recs.push(tlv(TLV_PAYMENT_DATA, Buffer.concat([Buffer.from(p.paymentSecret, 'hex'), truncated(p.totalMsat ?? p.forwardMsat ?? 0n)])));
  }
  if (p.blinded) {
    recs.push(tlv(TLV_ENCRYPTED_RECIPIENT_DATA, Buffer.from(p.blinded.encryptedData, 'hex')));
    if (p.blinded.pathKey !== undefined) recs.push(tlv(TLV_CURRENT_PATH_KEY, Buffer.from(p.blinded.pathKey, 'hex')));
  }
  if (p.paymentMetadata !== undefined) recs.push(tlv(TLV_PAYMENT_METADATA, Buffer.from(p.paymentMetadata, 'hex')));
  if (p.blinded && p.totalMsat !== undefined) recs.push(tlv(TLV_TOTAL_AMOUNT_MSAT, truncated(p.totalMsat)));
  const body = Buffer.concat(recs);
  return Buffer.concat([bigsize(body.length), body]).toString('hex');
}

/**
 * tlv_field_offset (wire/tlvstream.c) as onion_decode calls it: on the raw
 * payload INCLUDING its length prefix, so the walk starts by reading that
 * prefix as a type. Returns the byte offset of the first record of `type`, or
 * the payload length when there is none.
 */
export function tlvFieldOffset(raw: Buffer, type: number): number {
  let off = 0;
  while (off < raw.length) {
    const t = readBigsize(raw, off);
    if (!t) break;
    const l = readBigsize(raw, off + t[1]);
    if (!l) break;
    if (t[0] === type) return off;
    const next = off + t[1] + l[1] + l[0];
    if (next > raw.length) break;
    off = next;
  }
  return raw.length;
}

/**
 * lightningd's reading of a (non-blinded) hop payload, in onion_decode's
 * order: amt_to_forward and outgoing_cltv_value must be there, and a
 * forwarding hop needs short_channel_id. A failure names the missing TLV and
 * its offset, for invalid_onion_payload.
 */
export function decodeHopPayload(p: HopPayload, final: boolean, incoming?: { amountMsat: bigint; cltvExpiry: number }): DecodeResult {
  const raw = Buffer.from(encodeHopPayload(p), 'hex');
  const fail = (type: number, explanation: string): DecodeResult => ({ ok: false, failTlvType: type, failTlvPos: tlvFieldOffset(raw, type), explanation });
  if (p.blinded) return decodeBlinded(p, p.blinded.encryptedData, final, incoming, fail);
  if (p.forwardMsat === undefined) return fail(TLV_AMT_TO_FORWARD, 'missing amt_to_forward');
  if (p.outgoingCltv === undefined) return fail(TLV_OUTGOING_CLTV_VALUE, 'missing outgoing_cltv_value');
  if (!final && !p.nextScid) return fail(TLV_SHORT_CHANNEL_ID, 'missing short_channel_id');
  const hasData = p.paymentSecret !== undefined;
  return {
    ok: true,
    payload: {
      nextScid: final ? undefined : p.nextScid,
      forwardMsat: p.forwardMsat,
      outgoingCltv: p.outgoingCltv,
      // payment_data sets total_msat at any hop; a final hop without it treats total as amt_to_forward.
      totalMsat: hasData ? (p.totalMsat ?? p.forwardMsat) : final ? p.forwardMsat : undefined,
      paymentSecret: p.paymentSecret,
      paymentMetadata: p.paymentMetadata,
    },
  };
}

/**
 * A blinded hop, as onion_decode (common/onion_decode.c) reads it: a
 * forwarding hop takes its next channel and payment_relay from the encrypted
 * data and works out what to forward from the incoming HTLC,
 * amt_to_forward = ceil((amount - fee_base) * 1e6 / (1e6 + ppm)),
 * outgoing_cltv = cltv_expiry - cltv_expiry_delta; the final hop reads
 * amt_to_forward, outgoing_cltv_value and total_amount_msat from the payload
 * and its path_id from the encrypted data.
 */
function decodeBlinded(
  p: HopPayload,
  encrypted: string,
  final: boolean,
  incoming: { amountMsat: bigint; cltvExpiry: number } | undefined,
  fail: (type: number, explanation: string) => DecodeResult,
): DecodeResult {
  const enc = readEncryptedData(encrypted);
  if (!enc) return fail(TLV_ENCRYPTED_RECIPIENT_DATA, 'cannot decrypt encrypted_recipient_data');
  if (final) {
    if (p.forwardMsat === undefined) return fail(TLV_AMT_TO_FORWARD, 'missing amt_to_forward');
    if (p.outgoingCltv === undefined) return fail(TLV_OUTGOING_CLTV_VALUE, 'missing outgoing_cltv_value');
    if (p.totalMsat === undefined) return fail(TLV_TOTAL_AMOUNT_MSAT, 'missing total_amount_msat');
    // lightningd derives a payment_secret for a blinded payment (the hook shows it, with total_msat).
    const secret = createHash('sha256').update(`blinded:${enc.pathId ?? ''}`).digest('hex');
    return { ok: true, payload: { nextScid: undefined, forwardMsat: p.forwardMsat, outgoingCltv: p.outgoingCltv, totalMsat: p.totalMsat, paymentSecret: secret, paymentMetadata: undefined, pathId: enc.pathId ?? '' } };
  }
  if (enc.nextNodeId === undefined || enc.relay === undefined || !incoming) return fail(TLV_ENCRYPTED_RECIPIENT_DATA, 'no next hop in encrypted_recipient_data');
  const base = BigInt(enc.relay.feeBaseMsat);
  const ppm = BigInt(enc.relay.feePpm);
  const over = incoming.amountMsat - base;
  if (over < 0n) return fail(TLV_ENCRYPTED_RECIPIENT_DATA, 'amount below the payment_relay fee');
  const forwardMsat = (over * 1_000_000n + 1_000_000n + ppm - 1n) / (1_000_000n + ppm);
  return {
    ok: true,
    payload: { nextScid: undefined, nextNodeId: enc.nextNodeId, forwardMsat, outgoingCltv: incoming.cltvExpiry - enc.relay.cltvExpiryDelta, totalMsat: undefined, paymentSecret: undefined, paymentMetadata: undefined },
  };
}

/** A stand-in for the next onion (1366 bytes, as on the wire). */
const NEXT_ONION = randomBytes(1366).toString('hex');
export const nextOnionHex = (): string => NEXT_ONION;
export const sharedSecretHex = (): string => randomBytes(32).toString('hex');
