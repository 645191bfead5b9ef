/**
 * LUD-21 verify tokens: the unguessable part of a verify URL, stored in the
 * node's datastore at ["rdv","v1","serve",<token>] with the payment hash it
 * answers for, so a restart of rdv serve keeps every URL it gave out. Only the
 * token leads to a hash: whoever knows just the payment hash (every routing
 * node does) learns nothing, and never the preimage (the payer's proof). Pure.
 */
import { KEY_ROOT } from '../chain/record.js';
import { Reader, ShapeError } from '../chain/read.js';
import { parseJson } from '../chain/json.js';
import type { PaymentHash } from '../chain/ids.js';

export const TOKEN_VERSION = 1;
/** 16 random bytes, hex. */
export const TOKEN_BYTES = 16;
const TOKEN_RE = /^[0-9a-f]{32}$/;
const HASH_RE = /^[0-9a-f]{64}$/;

export const SERVE_KEY: readonly string[] = [...KEY_ROOT, 'serve'];
export const tokenKey = (token: string): string[] => [...SERVE_KEY, token];
export const isToken = (s: string): boolean => TOKEN_RE.test(s);

export interface VerifyEntry {
  version: 1;
  /** The Lightning Address name the invoice was made for: its verify URL names it. */
  name: string;
  paymentHash: PaymentHash;
  /** The invoice handed out (LUD-21 answers it as `pr`). */
  bolt11: string;
  createdAt: number;
  /** The entry may be removed after this (the invoice's expiry plus --verify-keep). */
  expiresAt: number;
}

export function serializeEntry(e: VerifyEntry): string {
  return JSON.stringify({ version: e.version, name: e.name, payment_hash: e.paymentHash, bolt11: e.bolt11, created_at: e.createdAt, expires_at: e.expiresAt });
}

/** Throws ShapeError naming the field. */
export function parseEntry(text: string, where = 'verify token'): VerifyEntry {
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch {
    throw new ShapeError(`${where}: not JSON`);
  }
  const r = Reader.of(parsed, where);
  if (r.int('version') !== TOKEN_VERSION) throw new ShapeError(`${where}: version ${r.int('version')} is not ${TOKEN_VERSION}`);
  return {
    version: 1,
    name: r.str('name'),
    paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, '64 hex digits'),
    bolt11: r.str('bolt11'),
    createdAt: r.int('created_at'),
    expiresAt: r.int('expires_at'),
  };
}

/** The entry for an invoice made now that expires at `invoiceExpiresAt`. */
export function newEntry(name: string, paymentHash: PaymentHash, bolt11: string, invoiceExpiresAt: number, now: number, keepSeconds: number): VerifyEntry {
  return { version: 1, name, paymentHash, bolt11, createdAt: now, expiresAt: invoiceExpiresAt + keepSeconds };
}

/** Has this entry outlived its use (pruned, and no longer answered)? */
export const entryExpired = (e: VerifyEntry, now: number): boolean => e.expiresAt <= now;
