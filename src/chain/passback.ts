/**
 * The pass-back peer message: a payee hands its invoice to the previous payee's node.
 *
 * Lightning message type 0x8a01 (odd, in the custom range, so peers without rdv
 * ignore it), then a BOLT 1 TLV stream (bigsize type and length, strictly
 * increasing types, unknown even types refused, unknown odd types ignored):
 *   0  version  u8 = 1
 *   2  kind     u8: 1 = invoice, 2 = ack, 3 = request
 *   4  bolt11   utf8 (kind invoice)
 *   6  payment_hash 32 bytes (kind ack of an invoice)
 *   7  note     utf8, at most 200 bytes (optional)
 *   9  accepted u8: 1 stored, 0 refused (kind ack)
 *   11 reason   utf8, at most 200 bytes (optional, kind ack)
 *   12 request_id 16 bytes (kind request; on an invoice, the request it answers;
 *               on an ack instead of the payment hash, the request it refuses)
 *   14 amount_msat tu64 (kind request: what the answering node's invoice must carry)
 *   16 deadline u32, Unix seconds (kind request: the asker stops waiting then)
 *   18 hops     u8 (kind request: nodes it may still travel past the receiver)
 * An rdv without requests refuses kind 3 (and types 12 to 18, which are even): the
 * asker's request then simply runs out of time.
 */
import { MAX_MSAT, msat, type Msat } from './amount.js';
import { assertNever, err, ok, type Result } from '../errors.js';

export const PASSBACK_MSG_TYPE = 0x8a01;
export const PASSBACK_VERSION = 1;
/** Whole message, type included. A bolt11 with several route hints fits easily. */
export const MAX_PASSBACK_BYTES = 4096;
const MAX_TEXT_BYTES = 200;

/** A request id: 16 random bytes, as 32 hex digits. */
export const REQUEST_ID_BYTES = 16;
/** Even types this rdv reads: any other even type is a field it would misread by ignoring. */
const KNOWN_EVEN = [0, 2, 4, 6, 12, 14, 16, 18];

/** Ask the receiver for an invoice of exactly `amountMsat` (it answers with an `invoice` naming `requestId`, or a `request-ack` refusing it). */
export interface InvoiceRequest {
  kind: 'request';
  requestId: string;
  amountMsat: Msat;
  /** Unix seconds: the asker stops waiting then. */
  deadline: number;
  /** Nodes the request may still travel past the receiver (0: the receiver answers from its own node). */
  hops: number;
}

export type PassbackMessage =
  | { kind: 'invoice'; bolt11: string; note?: string; requestId?: string }
  | { kind: 'ack'; paymentHash: string; accepted: boolean; reason?: string }
  /** Wire kind 2 (ack) naming a request instead of a payment hash: the request refused, and why. */
  | { kind: 'request-ack'; requestId: string; accepted: boolean; reason?: string }
  | InvoiceRequest;

function bigsize(n: number): Buffer {
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

function readBigsize(buf: Buffer, at: number): { value: number; next: number } | undefined {
  const first = buf[at];
  if (first === undefined) return undefined;
  if (first < 0xfd) return { value: first, next: at + 1 };
  if (first === 0xfd) {
    if (at + 3 > buf.length) return undefined;
    const v = buf.readUInt16BE(at + 1);
    return v < 0xfd ? undefined : { value: v, next: at + 3 };
  }
  if (first === 0xfe) {
    if (at + 5 > buf.length) return undefined;
    const v = buf.readUInt32BE(at + 1);
    return v <= 0xffff ? undefined : { value: v, next: at + 5 };
  }
  return undefined; // 8-byte lengths are never valid in a message this small
}

/** At most `maxBytes` of the UTF-8 of `text`, cut between characters (the limit is in bytes, not characters). */
function utf8Prefix(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  let end = Math.min(bytes.length, maxBytes);
  while (end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // do not split a character
  return bytes.subarray(0, end);
}

/** A request id as its 16 bytes; anything else is a bug of the caller. */
function requestIdBytes(id: string): Buffer {
  if (!isRequestId(id)) throw new Error(`request id ${JSON.stringify(id)} is not ${REQUEST_ID_BYTES} bytes of hex`);
  return Buffer.from(id, 'hex');
}

/** 32 lower-case hex digits. */
export function isRequestId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/** BOLT 1 tu64: big-endian, no leading zero bytes (0 is no bytes at all). */
function tu64(n: bigint): Buffer {
  const hex = n === 0n ? '' : n.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

function readTu64(b: Buffer): bigint | undefined {
  if (b.length > 8 || (b.length > 0 && b[0] === 0)) return undefined;
  return b.length === 0 ? 0n : BigInt(`0x${b.toString('hex')}`);
}

function record(type: number, value: Buffer): Buffer {
  return Buffer.concat([bigsize(type), bigsize(value.length), value]);
}

/** Encode as the hex `msg` for sendcustommsg (type included, no length prefix). */
export function encodePassback(m: PassbackMessage): string {
  const type = Buffer.alloc(2);
  type.writeUInt16BE(PASSBACK_MSG_TYPE);
  const recs: Buffer[] = [record(0, Buffer.from([PASSBACK_VERSION]))];
  switch (m.kind) {
    case 'invoice':
      recs.push(record(2, Buffer.from([1])), record(4, Buffer.from(m.bolt11, 'utf8')));
      if (m.note !== undefined) {
        const note = Buffer.from(m.note, 'utf8');
        // The receiver refuses longer notes; the CLI checks first, this guards every other caller.
        if (note.length > MAX_TEXT_BYTES) throw new Error(`note of ${note.length} bytes is over ${MAX_TEXT_BYTES}`);
        recs.push(record(7, note));
      }
      if (m.requestId !== undefined) recs.push(record(12, requestIdBytes(m.requestId)));
      break;
    case 'ack':
    case 'request-ack':
      recs.push(record(2, Buffer.from([2])));
      if (m.kind === 'ack') recs.push(record(6, Buffer.from(m.paymentHash, 'hex')));
      recs.push(record(9, Buffer.from([m.accepted ? 1 : 0])));
      if (m.reason !== undefined) recs.push(record(11, utf8Prefix(m.reason, MAX_TEXT_BYTES)));
      if (m.kind === 'request-ack') recs.push(record(12, requestIdBytes(m.requestId)));
      break;
    case 'request': {
      if (m.amountMsat <= 0n || m.amountMsat > MAX_MSAT) throw new Error(`request amount ${m.amountMsat} msat is out of range`);
      if (!Number.isInteger(m.deadline) || m.deadline < 0 || m.deadline > 0xffff_ffff) throw new Error(`request deadline ${m.deadline} is not a u32`);
      if (!Number.isInteger(m.hops) || m.hops < 0 || m.hops > 0xff) throw new Error(`request hops ${m.hops} is not a u8`);
      const deadline = Buffer.alloc(4);
      deadline.writeUInt32BE(m.deadline);
      recs.push(record(2, Buffer.from([3])), record(12, requestIdBytes(m.requestId)), record(14, tu64(m.amountMsat)), record(16, deadline), record(18, Buffer.from([m.hops])));
      break;
    }
    default:
      return assertNever(m, 'pass-back message kind');
  }
  const out = Buffer.concat([type, ...recs]);
  if (out.length > MAX_PASSBACK_BYTES) throw new Error(`pass-back message of ${out.length} bytes is over ${MAX_PASSBACK_BYTES}`);
  return out.toString('hex');
}

/** Is this custommsg payload (hex, type first) one of ours? Cheap: looks at 2 bytes. */
export function isPassbackPayload(payloadHex: string): boolean {
  return payloadHex.slice(0, 4).toLowerCase() === PASSBACK_MSG_TYPE.toString(16).padStart(4, '0');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a payload we know is ours. Never throws; says what is wrong. */
export function decodePassback(payloadHex: string): Result<PassbackMessage> {
  if (payloadHex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(payloadHex)) return err('payload is not hex');
  const buf = Buffer.from(payloadHex, 'hex');
  if (buf.length > MAX_PASSBACK_BYTES) return err(`message of ${buf.length} bytes is over the ${MAX_PASSBACK_BYTES}-byte limit`);
  if (buf.length < 2 || buf.readUInt16BE(0) !== PASSBACK_MSG_TYPE) return err('not a pass-back message');
  const fields = new Map<number, Buffer>();
  let at = 2;
  let lastType = -1;
  while (at < buf.length) {
    const t = readBigsize(buf, at);
    if (!t) return err('truncated or non-minimal TLV type');
    const l = readBigsize(buf, t.next);
    if (!l) return err('truncated or non-minimal TLV length');
    if (t.value <= lastType) return err('TLV types are not strictly increasing');
    if (l.next + l.value > buf.length) return err(`TLV ${t.value} is truncated`);
    fields.set(t.value, buf.subarray(l.next, l.next + l.value));
    lastType = t.value;
    at = l.next + l.value;
  }
  for (const type of fields.keys()) {
    if (type % 2 === 0 && !KNOWN_EVEN.includes(type)) return err(`unknown required field ${type}: the sender runs a newer rdv`);
  }
  const requestIdField = (): Result<string | undefined> => {
    const b = fields.get(12);
    if (b === undefined) return ok(undefined);
    if (b.length !== REQUEST_ID_BYTES) return err(`request id of ${b.length} bytes, not ${REQUEST_ID_BYTES}`);
    return ok(b.toString('hex'));
  };
  const version = fields.get(0);
  if (!version || version.length !== 1) return err('no version field');
  if (version[0] !== PASSBACK_VERSION) return err(`version ${version[0]} is not supported: upgrade rdv`);
  const kind = fields.get(2);
  if (!kind || kind.length !== 1) return err('no kind field');
  const text = (type: number): Result<string | undefined> => {
    const b = fields.get(type);
    if (b === undefined) return ok(undefined);
    if (b.length > MAX_TEXT_BYTES) return err(`field ${type} is longer than ${MAX_TEXT_BYTES} bytes`);
    try {
      return ok(utf8.decode(b));
    } catch {
      return err(`field ${type} is not UTF-8`);
    }
  };
  if (kind[0] === 1) {
    const b = fields.get(4);
    if (!b || b.length === 0) return err('invoice message without a bolt11');
    let bolt11: string;
    try {
      bolt11 = utf8.decode(b);
    } catch {
      return err('bolt11 is not UTF-8');
    }
    const note = text(7);
    if (!note.ok) return note;
    const id = requestIdField();
    if (!id.ok) return id;
    return ok({ kind: 'invoice', bolt11, ...(note.value === undefined ? {} : { note: note.value }), ...(id.value === undefined ? {} : { requestId: id.value }) });
  }
  if (kind[0] === 2) {
    const hash = fields.get(6);
    const id = requestIdField();
    if (!id.ok) return id;
    if (hash !== undefined && id.value !== undefined) return err('ack names both a payment hash and a request');
    const accepted = fields.get(9);
    if (!accepted || accepted.length !== 1) return err('ack without an accepted field');
    const reason = text(11);
    if (!reason.ok) return reason;
    const why = reason.value === undefined ? {} : { reason: reason.value };
    if (id.value !== undefined) return ok({ kind: 'request-ack', requestId: id.value, accepted: accepted[0] === 1, ...why });
    if (!hash || hash.length !== 32) return err('ack without a 32-byte payment hash');
    return ok({ kind: 'ack', paymentHash: hash.toString('hex'), accepted: accepted[0] === 1, ...why });
  }
  if (kind[0] === 3) {
    const id = requestIdField();
    if (!id.ok) return id;
    if (id.value === undefined) return err('request without a request id');
    const amount = fields.get(14);
    const amountMsat = amount === undefined ? undefined : readTu64(amount);
    if (amountMsat === undefined) return err(amount === undefined ? 'request without an amount' : 'request amount is not a minimal tu64 of at most 8 bytes');
    if (amountMsat === 0n) return err('request for 0 msat');
    if (amountMsat > MAX_MSAT) return err('request amount is over 21 million BTC');
    const deadline = fields.get(16);
    if (!deadline || deadline.length !== 4) return err('request without a 4-byte deadline');
    const hops = fields.get(18);
    if (!hops || hops.length !== 1) return err('request without a 1-byte hop budget');
    return ok({ kind: 'request', requestId: id.value, amountMsat: msat(amountMsat), deadline: deadline.readUInt32BE(0), hops: hops[0] ?? 0 });
  }
  return err(`unknown message kind ${kind[0]}`);
}
