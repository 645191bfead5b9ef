/**
 * Keys, node ids and invoices for the pure domain tests: Carol (last payee) makes
 * a 100,003 sat invoice; Bob relays it; Mallory is someone else. Real BOLT 11
 * strings, encoded and signed with src/chain/bolt11.ts and test keys.
 */
import { createECDH } from 'node:crypto';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { decodeBolt11, encodeInvoice, type Invoice, type InvoiceFields } from '../../src/chain/bolt11.js';
import type { NodeId, PaymentHash, PaymentSecret } from '../../src/chain/ids.js';

/** Unix seconds "now" in these tests (the day the CLN fixtures were captured). */
export const NOW = 1_795_620_807;

export const CAROL_KEY = Buffer.from('c3'.repeat(32), 'hex');
export const BOB_KEY = Buffer.from('b5'.repeat(32), 'hex');
export const MALLORY_KEY = Buffer.from('e7'.repeat(32), 'hex');

/** The compressed public key (node id) of a private key. */
export function nodeIdOf(key: Buffer): NodeId {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(key);
  return ecdh.getPublicKey('hex', 'compressed') as NodeId;
}

export const CAROL = nodeIdOf(CAROL_KEY);
export const BOB = nodeIdOf(BOB_KEY);
export const MALLORY = nodeIdOf(MALLORY_KEY);

export const HASH = '9f'.repeat(32) as PaymentHash;
export const CAROL_SECRET = '5c'.repeat(32) as PaymentSecret;
export const BOB_SECRET = '5b'.repeat(32) as PaymentSecret;

/** Carol's invoice fields: 100,003 sat, made 101 s ago, lives 7,201 s, min_final_cltv 19. */
export function carolFields(over: Partial<InvoiceFields> = {}): InvoiceFields {
  return {
    currency: 'bcrt',
    amountMsat: msat(100_003_000n),
    paymentHash: HASH,
    paymentSecret: CAROL_SECRET,
    description: "Carol's 100,003 sat",
    descriptionHash: undefined,
    createdAt: NOW - 101,
    expirySeconds: 7_201,
    minFinalCltv: 19,
    routeHints: [],
    ...over,
  };
}

/** Decode a string the test built; fails the test if it does not decode. */
export function decoded(bolt11: string): Invoice {
  const r = decodeBolt11(bolt11);
  if (!r.ok) assert.fail(`test invoice does not decode: ${r.error}`);
  return r.value;
}

/** Carol's invoice, signed by `key` (Carol's by default), decoded. */
export function carolInvoice(over: Partial<InvoiceFields> = {}, key: Buffer = CAROL_KEY): Invoice {
  return decoded(encodeInvoice(carolFields(over), key));
}
