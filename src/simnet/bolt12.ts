/**
 * The simulated lightningd's BOLT 12 strings and its `decode` of them.
 *
 * rdv never parses lno1.../lni1... strings itself: it reads them only through
 * lightningd's `decode` (src/chain/bolt12.ts reads the reply). So the
 * simulator encodes offers and invoices its own way: the real prefix, then
 * the bech32 characters of a JSON body (no checksum, like real BOLT 12
 * strings). Only this file reads them. What `decode` answers is CLN's shape
 * (doc/schemas/decode.json, as captured in test/fixtures/bolt12/).
 *
 * An invoice is signed by its node's key (ECDSA over sha256 of the body, where
 * CLN signs a BIP-340 merkle root): one changed character in the signature
 * makes `decode` fail with "Invalid signature", as it does for a real one.
 * Blinded paths carry `encrypted_recipient_data` that only the simulator
 * reads: the next channel and relay fees for the introduction node, the
 * path_id for the recipient (encryptedData / readEncryptedData).
 */
import { createECDH, createHash, ECDH, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { CHAIN_HASH } from '../chain/bolt12.js';
import type { NodeId } from '../chain/ids.js';
import { SimRpcError } from './rpc-server.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function toWords(bytes: Buffer): string {
  let acc = 0;
  let bits = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CHARSET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += CHARSET[(acc << (5 - bits)) & 31];
  return out;
}

function fromWords(text: string): Buffer | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const c of text) {
    const v = CHARSET.indexOf(c);
    if (v === -1) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

/** A blinded path's hop: what the simulator's encrypted_recipient_data says to the node that reads it. */
export interface EncryptedData {
  /** For a forwarding hop: the next node (CLN's paths name it, not a channel: the hook shows next_node_id). */
  nextNodeId?: NodeId;
  /** For a forwarding hop: its payment_relay (fees and CLTV delta it charges). */
  relay?: { cltvExpiryDelta: number; feeBaseMsat: string; feePpm: number };
  /** For the recipient: which invoice this path pays. */
  pathId?: string;
}

export const encryptedData = (d: EncryptedData): string => Buffer.from(JSON.stringify(d)).toString('hex');

export function readEncryptedData(hex: string): EncryptedData | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(hex, 'hex').toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as EncryptedData) : undefined;
  } catch {
    return undefined;
  }
}

export interface SimBlindedPath {
  first_node_id: NodeId;
  first_path_key: string;
  path: Array<{ blinded_node_id: string; encrypted_recipient_data: string }>;
}

export interface SimPayinfo {
  fee_base_msat: string;
  fee_proportional_millionths: number;
  cltv_expiry_delta: number;
  htlc_minimum_msat: string;
  htlc_maximum_msat: string;
  features: string;
}

/** The offer fields, as the simulator encodes them (amounts as decimal strings). */
export interface SimOfferBody {
  chains: string[];
  description: string;
  amount_msat?: string;
  issuer_id: NodeId;
  absolute_expiry?: number;
  paths?: SimBlindedPath[];
}

export interface SimInvoiceBody {
  offer: SimOfferBody;
  invreq: { metadata: string; payer_id: string; chain: string; amount_msat: string };
  paths: Array<SimBlindedPath & { payinfo: SimPayinfo }>;
  created_at: number;
  relative_expiry: number;
  payment_hash: string;
  amount_msat: string;
  features: string;
  node_id: NodeId;
}

export const offerIdOf = (o: SimOfferBody): string => createHash('sha256').update(JSON.stringify(o)).digest('hex');

export const encodeOffer = (o: SimOfferBody): string => `lno1${toWords(Buffer.from(JSON.stringify(o)))}`;

// --- keys: ECDSA over secp256k1 with node:crypto -------------------------------------------

const b64url = (b: Buffer): string => b.toString('base64url');

const uncompressed = (id: string): Buffer => Buffer.from(ECDH.convertKey(id, 'secp256k1', 'hex', 'hex', 'uncompressed') as string, 'hex');

function privateKeyObject(privateKey: Buffer): KeyObject {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(privateKey);
  const pub = ecdh.getPublicKey();
  return createPrivateKey({ key: { kty: 'EC', crv: 'secp256k1', d: b64url(privateKey), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33)) }, format: 'jwk' });
}

function publicKeyObject(id: string): KeyObject {
  const pub = uncompressed(id);
  return createPublicKey({ key: { kty: 'EC', crv: 'secp256k1', x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33)) }, format: 'jwk' });
}

/** The invoice string: its body and the issuing node's signature of it. */
export function encodeInvoice(body: SimInvoiceBody, privateKey: Buffer): string {
  const text = Buffer.from(JSON.stringify(body));
  const signature = sign('sha256', text, privateKeyObject(privateKey));
  // [u32 body length][body][signature]: the signature last, as CLN's TLV 240 is.
  const length = Buffer.alloc(4);
  length.writeUInt32BE(text.length);
  return `lni1${toWords(Buffer.concat([length, text, signature]))}`;
}

/** A random 33-byte key, for path keys and payer ids (nobody checks them in the simulator). */
export const randomKey = (): string => `02${randomBytes(32).toString('hex')}`;

export type Decoded = { kind: 'offer'; offer: SimOfferBody; offerId: string } | { kind: 'invoice'; invoice: SimInvoiceBody; offerId: string; signature: string; valid: boolean };

/** Read a string this simulator made; undefined for anything else. */
export function decodeSimBolt12(text: string): Decoded | undefined {
  const m = /^(lno|lni)1([a-z0-9]+)$/.exec(text.trim().replace(/^lightning:/i, '').toLowerCase());
  if (!m?.[2]) return undefined;
  const bytes = fromWords(m[2]);
  if (!bytes) return undefined;
  try {
    if (m[1] === 'lno') {
      const offer = JSON.parse(bytes.toString('utf8')) as SimOfferBody;
      return { kind: 'offer', offer, offerId: offerIdOf(offer) };
    }
    if (bytes.length < 4) return undefined;
    const body = bytes.subarray(4, 4 + bytes.readUInt32BE(0));
    const signature = bytes.subarray(4 + body.length);
    const invoice = JSON.parse(body.toString('utf8')) as SimInvoiceBody;
    let valid = false;
    try {
      valid = verify('sha256', body, publicKeyObject(invoice.node_id), signature);
    } catch {
      valid = false;
    }
    return { kind: 'invoice', invoice, offerId: offerIdOf(invoice.offer), signature: signature.toString('hex'), valid };
  } catch {
    return undefined;
  }
}

/** As CLN's decode refuses a string it cannot read. */
export function unparsable(text: string): SimRpcError {
  return new SimRpcError(-32602, `string: Bad bech32 string: invalid token '${JSON.stringify(text)}'`);
}

/** As CLN's decode refuses an invoice whose signature does not check (it does not answer `valid: false`). */
export function badSignature(text: string): SimRpcError {
  return new SimRpcError(-32602, `string: Invalid signature: invalid token '${JSON.stringify(text)}'`);
}

// --- decode replies, CLN's shape ------------------------------------------------------------------

const pathJson = (p: SimBlindedPath): Record<string, unknown> => ({ first_node_id: p.first_node_id, first_path_key: p.first_path_key, path: p.path });

function offerFields(offerId: string, o: SimOfferBody): Record<string, unknown> {
  return {
    offer_id: offerId,
    ...(o.chains.length === 1 && o.chains[0] === CHAIN_HASH.bitcoin ? {} : { offer_chains: o.chains }),
    ...(o.amount_msat !== undefined ? { offer_amount_msat: BigInt(o.amount_msat) } : {}),
    offer_description: o.description,
    ...(o.absolute_expiry !== undefined ? { offer_absolute_expiry: o.absolute_expiry } : {}),
    ...(o.paths !== undefined ? { offer_paths: o.paths.map(pathJson) } : {}),
    offer_issuer_id: o.issuer_id,
  };
}

/** CLN's `decode` of a string this simulator made (an invoice with a bad signature is refused before: badSignature). */
export function decodeJson(d: Decoded): Record<string, unknown> {
  if (d.kind === 'offer') return { type: 'bolt12 offer', ...offerFields(d.offerId, d.offer), valid: true };
  const inv = d.invoice;
  return {
    type: 'bolt12 invoice',
    ...offerFields(d.offerId, inv.offer),
    invreq_metadata: inv.invreq.metadata,
    invreq_payer_id: inv.invreq.payer_id,
    invreq_chain: inv.invreq.chain,
    invreq_amount_msat: BigInt(inv.invreq.amount_msat),
    invoice_paths: inv.paths.map((p) => ({
      first_node_id: p.first_node_id,
      first_path_key: p.first_path_key,
      payinfo: {
        fee_base_msat: BigInt(p.payinfo.fee_base_msat),
        fee_proportional_millionths: p.payinfo.fee_proportional_millionths,
        cltv_expiry_delta: p.payinfo.cltv_expiry_delta,
        htlc_minimum_msat: BigInt(p.payinfo.htlc_minimum_msat),
        htlc_maximum_msat: BigInt(p.payinfo.htlc_maximum_msat),
        features: p.payinfo.features,
      },
      path: p.path,
    })),
    invoice_created_at: inv.created_at,
    invoice_relative_expiry: inv.relative_expiry,
    invoice_payment_hash: inv.payment_hash,
    invoice_amount_msat: BigInt(inv.amount_msat),
    invoice_features: inv.features,
    invoice_node_id: inv.node_id,
    signature: d.signature.slice(0, 128).padEnd(128, '0'),
    valid: true,
  };
}
