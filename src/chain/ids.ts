import { createHash } from 'node:crypto';

/** 32-byte payment hash, lower-case hex. */
export type PaymentHash = string & { readonly __kind: 'payment_hash' };
/** 32-byte preimage, lower-case hex. */
export type Preimage = string & { readonly __kind: 'preimage' };
/** 32-byte payment secret, lower-case hex. */
export type PaymentSecret = string & { readonly __kind: 'payment_secret' };
/** 33-byte compressed public key of a node, lower-case hex. */
export type NodeId = string & { readonly __kind: 'node_id' };
/** Short channel id "BLOCKxTXxOUT". */
export type Scid = string & { readonly __kind: 'scid' };

const HEX32 = /^[0-9a-f]{64}$/;
const NODE_ID = /^0[23][0-9a-f]{64}$/;
const SCID = /^\d{1,10}x\d{1,10}x\d{1,5}$/;

export const isHex32 = (s: string): boolean => HEX32.test(s);
export const isNodeId = (s: string): s is NodeId => NODE_ID.test(s);
export const isScid = (s: string): s is Scid => SCID.test(s);

export function asPaymentHash(s: string): PaymentHash | undefined {
  const v = s.toLowerCase();
  return HEX32.test(v) ? (v as PaymentHash) : undefined;
}
export function asPreimage(s: string): Preimage | undefined {
  const v = s.toLowerCase();
  return HEX32.test(v) ? (v as Preimage) : undefined;
}
export function asPaymentSecret(s: string): PaymentSecret | undefined {
  const v = s.toLowerCase();
  return HEX32.test(v) ? (v as PaymentSecret) : undefined;
}
export function asNodeId(s: string): NodeId | undefined {
  const v = s.toLowerCase();
  return NODE_ID.test(v) ? (v as NodeId) : undefined;
}

/** sha256(preimage) == hash: lightningd does not check a payment_key, so we must. */
export function preimageMatches(preimage: Preimage, hash: PaymentHash): boolean {
  return createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') === hash;
}

/** A short form for tables and logs: first 8 hex digits. */
export const shortHash = (h: string): string => h.slice(0, 8);
