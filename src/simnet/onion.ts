/** Hop payloads as real BOLT 4 TLV bytes, so hook payloads look like lightningd's. */
import { randomBytes } from 'node:crypto';

export interface HopPayload {
  /** Next channel, for a hop that forwards. */
  nextScid?: string;
  forwardMsat: bigint;
  outgoingCltv: number;
  /** Final hop only. */
  totalMsat?: bigint;
  paymentSecret?: string;
}

function truncated(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex === '0') return Buffer.alloc(0);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

function bigsize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfd;
  b.writeUInt16BE(n, 1);
  return b;
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
  const recs = [tlv(2, truncated(p.forwardMsat)), tlv(4, truncated(BigInt(p.outgoingCltv)))];
  if (p.nextScid) recs.push(tlv(6, scidBytes(p.nextScid)));
  if (p.paymentSecret !== undefined) {
    recs.push(tlv(8, Buffer.concat([Buffer.from(p.paymentSecret, 'hex'), truncated(p.totalMsat ?? p.forwardMsat)])));
  }
  const body = Buffer.concat(recs);
  return Buffer.concat([bigsize(body.length), body]).toString('hex');
}

/** A stand-in for the next onion (1366 bytes, as on the wire). */
const NEXT_ONION = randomBytes(1366).toString('hex');
export const nextOnionHex = (): string => NEXT_ONION;
export const sharedSecretHex = (): string => randomBytes(32).toString('hex');
