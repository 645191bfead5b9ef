/**
 * A record's downstream invoice and where it came from, as stored: a BOLT 11
 * invoice in downstream_bolt11 or a BOLT 12 one in downstream_bolt12 (exactly
 * one), and downstream_source, the offer or Lightning Address rdv pulled it
 * from. The same source shape is a policy's `pull` (src/chain/policy/book.ts).
 */
import { assertNever } from '../errors.js';
import { ShapeError, type JsonObject, type Reader } from './read.js';

/**
 * Where rdv fetched a downstream invoice from: a BOLT 12 offer (lno1...) or a
 * Lightning Address (name@domain). Absent when a peer passed the invoice back
 * or it was given to `rdv join --invoice`.
 */
export type DownstreamSource = { kind: 'offer'; offer: string } | { kind: 'address'; address: string };

/** BOLT 12 invoices start with lni1 (case-insensitive, as bech32); anything else is BOLT 11. */
export function downstreamInvoiceKind(text: string): 'bolt11' | 'bolt12' {
  return /^lni1/i.test(text) ? 'bolt12' : 'bolt11';
}

/**
 * Bounds on a stored downstream_source, checked when a record is read: the
 * datastore is ours, but a record is the one thing the plugin reads at every
 * start, so a corrupt one must not make it hold a megabyte per hash. An offer
 * with a few blinded paths is under 2,000 characters; LUD-16 addresses are
 * e-mail-like (RFC 5321: 254 at most).
 */
export const MAX_OFFER_TEXT = 8_192;
export const MAX_ADDRESS_TEXT = 320;
/** An offer's text: lno1 and bech32's characters (no checksum in BOLT 12). */
export const OFFER_RE = /^lno1[02-9ac-hj-np-z]+$/i;
const ADDRESS_RE = /^[^\s@\p{Cc}]{1,256}@[^\s@\p{Cc}]{1,256}$/u;

export function sourceToJson(s: DownstreamSource): JsonObject {
  switch (s.kind) {
    case 'offer':
      return { kind: 'offer', offer: s.offer };
    case 'address':
      return { kind: 'address', address: s.address };
    default:
      return assertNever(s, 'downstream source');
  }
}

/**
 * Exactly one of downstream_bolt11 (every record before BOLT 12, still read)
 * and downstream_bolt12, each holding its own kind, so that writing it back
 * picks the same field.
 */
export function readDownstreamInvoice(r: Reader): string {
  const b11 = r.has('downstream_bolt11');
  const b12 = r.has('downstream_bolt12');
  if (b11 && b12) throw new ShapeError(`${r.path}: both downstream_bolt11 and downstream_bolt12: a record has one downstream invoice`);
  if (b12) {
    const text = r.str('downstream_bolt12');
    if (downstreamInvoiceKind(text) !== 'bolt12') throw new ShapeError(`${r.path}.downstream_bolt12: expected a BOLT 12 invoice (lni1...)`);
    return text;
  }
  const text = r.str('downstream_bolt11');
  if (downstreamInvoiceKind(text) !== 'bolt11') throw new ShapeError(`${r.path}.downstream_bolt11: a BOLT 12 invoice (lni1...) belongs in downstream_bolt12`);
  return text;
}

export function readSource(r: Reader): DownstreamSource | undefined {
  const s = r.optObj('downstream_source');
  return s === undefined ? undefined : readSourceFields(s);
}

/** An offer or address as stored (a record's downstream_source, a policy's pull), bounded. Throws ShapeError. */
export function readSourceFields(s: Reader): DownstreamSource {
  const kind = s.str('kind');
  if (kind === 'offer') {
    const offer = s.str('offer');
    if (offer.length > MAX_OFFER_TEXT || !OFFER_RE.test(offer)) throw new ShapeError(`${s.path}.offer: expected a BOLT 12 offer (lno1..., at most ${MAX_OFFER_TEXT} characters)`);
    return { kind, offer };
  }
  if (kind === 'address') {
    const address = s.str('address');
    if (address.length > MAX_ADDRESS_TEXT || !ADDRESS_RE.test(address)) throw new ShapeError(`${s.path}.address: expected a Lightning Address (name@domain, at most ${MAX_ADDRESS_TEXT} characters)`);
    return { kind, address };
  }
  throw new ShapeError(`${s.path}.kind: expected "offer" or "address", got ${JSON.stringify(kind)}`);
}

