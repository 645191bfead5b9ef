/**
 * BOLT 4 final-hop payloads written by hand, for createonion: a length-prefixed
 * TLV stream (bigsize length, then records in increasing type order). Each field
 * may be left out or given a wrong value, which is the point: the e2e probes
 * send payloads no wallet would.
 *
 *   type 2  amt_to_forward        tu64
 *   type 4  outgoing_cltv_value   tu32
 *   type 8  payment_data          32-byte payment_secret, tu64 total_msat
 *   type 16 payment_metadata      bytes
 */

export interface FinalHopFields {
  amtToForward?: bigint;
  outgoingCltv?: number;
  /** payment_data: both or neither. */
  paymentSecret?: string;
  totalMsat?: bigint;
  paymentMetadata?: string;
}

/** A truncated unsigned integer (tu64/tu32): big-endian, no leading zero bytes; 0 is empty. */
export function truncatedUint(n: bigint): Buffer {
  if (n < 0n) throw new RangeError('negative');
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

function record(type: number, value: Buffer): Buffer {
  return Buffer.concat([bigsize(type), bigsize(value.length), value]);
}

/** The hex payload for one createonion hop (length-prefixed, as createonion requires). */
export function finalHopPayload(f: FinalHopFields): string {
  const recs: Buffer[] = [];
  if (f.amtToForward !== undefined) recs.push(record(2, truncatedUint(f.amtToForward)));
  if (f.outgoingCltv !== undefined) recs.push(record(4, truncatedUint(BigInt(f.outgoingCltv))));
  if ((f.paymentSecret === undefined) !== (f.totalMsat === undefined)) throw new Error('payment_data needs both the secret and total_msat');
  if (f.paymentSecret !== undefined && f.totalMsat !== undefined) {
    const secret = Buffer.from(f.paymentSecret, 'hex');
    if (secret.length !== 32) throw new Error('a payment secret is 32 bytes');
    recs.push(record(8, Buffer.concat([secret, truncatedUint(f.totalMsat)])));
  }
  if (f.paymentMetadata !== undefined) recs.push(record(16, Buffer.from(f.paymentMetadata, 'hex')));
  const body = Buffer.concat(recs);
  return Buffer.concat([bigsize(body.length), body]).toString('hex');
}
