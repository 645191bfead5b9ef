import { createRequire } from 'node:module';
import type * as Bolt11Lib from 'bolt11';
import { msat, type Msat } from './amount.js';
import { asNodeId, asPaymentHash, asPaymentSecret, type NodeId, type PaymentHash, type PaymentSecret } from './ids.js';
import { networksForPrefix, type NetworkName } from './network.js';
import { err, ok, type Result } from '../errors.js';

/** One hop of a BOLT 11 route hint ("r" field). */
export interface RouteHintHop {
  pubkey: NodeId;
  shortChannelId: string;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
}

/** A decoded BOLT 11 invoice, with the BOLT 11 defaults applied. */
export interface Invoice {
  bolt11: string;
  /** Currency prefix, e.g. "bcrt". */
  currency: string;
  networks: NetworkName[];
  amountMsat: Msat | undefined;
  paymentHash: PaymentHash;
  paymentSecret: PaymentSecret | undefined;
  /** The node whose key signed it. */
  payee: NodeId;
  /** Whether an explicit `n` field is present. */
  hasPayeeField: boolean;
  description: string | undefined;
  descriptionHash: string | undefined;
  createdAt: number;
  expirySeconds: number;
  expiresAt: number;
  minFinalCltv: number;
  routeHints: RouteHintHop[][];
  /** Feature bit numbers set in the `9` field. */
  featureBits: number[];
  /** Tags this decoder does not know (e.g. payment_metadata, 27). */
  unknownTagCodes: number[];
}

/** BOLT 11: "if the c field is not provided, use 18". */
export const DEFAULT_MIN_FINAL_CLTV = 18;
/** BOLT 11: "if the x field is not provided, the expiry is 3600 seconds". */
export const DEFAULT_EXPIRY_SECONDS = 3600;
/** What may be a BOLT 11 invoice, as text (before decoding): a bound for what a stranger sends. */
export const INVOICE_TEXT_RE = /^ln[a-z0-9]{1,7100}$/i;

export const FEATURE = {
  varOnionOptin: 8,
  paymentSecret: 14,
  basicMpp: 16,
  paymentMetadata: 48,
} as const;

/** Features rdv's node (CLN via xpay) knows how to pay. Unknown even bits are refused. */
const KNOWN_FEATURES = new Set<number>([8, 9, 14, 15, 16, 17, 48, 49]);

const SIGNET = { bech32: 'tbs', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };

const require = createRequire(import.meta.url);
let lib: typeof Bolt11Lib | undefined;
/** bolt11 pulls in bitcoinjs-lib and a secp256k1 implementation: load it only when needed. */
function bolt11Lib(): typeof Bolt11Lib {
  lib ??= require('bolt11') as typeof Bolt11Lib;
  return lib;
}

export function scidFromHex(hex: string): string {
  const n = BigInt(`0x${hex}`);
  return `${n >> 40n}x${(n >> 16n) & 0xffffffn}x${n & 0xffffn}`;
}

export function scidToHex(scid: string): string {
  const [block = '0', tx = '0', out = '0'] = scid.split('x');
  const n = (BigInt(block) << 40n) | (BigInt(tx) << 16n) | BigInt(out);
  return n.toString(16).padStart(16, '0');
}

type FeatureBitsObject = Record<string, unknown> & {
  word_length?: number;
  extra_bits?: { start_bit: number; bits: boolean[] };
};

const FEATURE_ORDER = [
  'option_data_loss_protect',
  'initial_routing_sync',
  'option_upfront_shutdown_script',
  'gossip_queries',
  'var_onion_optin',
  'gossip_queries_ex',
  'option_static_remotekey',
  'payment_secret',
  'basic_mpp',
  'option_support_large_channel',
];

function featureBitsOf(fb: FeatureBitsObject | undefined): number[] {
  if (!fb) return [];
  const bits: number[] = [];
  FEATURE_ORDER.forEach((name, i) => {
    const f = fb[name] as { required?: boolean; supported?: boolean } | undefined;
    if (f?.required) bits.push(2 * i);
    if (f?.supported) bits.push(2 * i + 1);
  });
  const extra = fb.extra_bits;
  if (extra) extra.bits.forEach((set, i) => set && bits.push(extra.start_bit + i));
  return bits.sort((a, b) => a - b);
}

/** Feature bits required (even) but not known to us. */
export function unknownRequiredFeatures(inv: Invoice): number[] {
  return inv.featureBits.filter((b) => b % 2 === 0 && !KNOWN_FEATURES.has(b) && !KNOWN_FEATURES.has(b + 1));
}

export function hasFeature(inv: Invoice, evenBit: number): boolean {
  return inv.featureBits.includes(evenBit) || inv.featureBits.includes(evenBit + 1);
}

/** Strip a `lightning:` URI prefix and whitespace; BOLT 11 strings are case-insensitive. */
export function normaliseBolt11(text: string): string {
  return text.trim().replace(/^lightning:/i, '').toLowerCase();
}

/**
 * Decode and verify (bech32 checksum, signature recovery) a BOLT 11 invoice.
 * Returns a one-line reason on failure; never throws for bad input.
 */
export function decodeBolt11(text: string): Result<Invoice> {
  const bolt11 = normaliseBolt11(text);
  if (bolt11 === '') return err('the invoice is empty');
  // Bech32 (BIP 173) is all lower or all upper case: lower-casing a mixed-case
  // string would hide a mistyped letter, so it is refused, as BOLT 11's test vectors require.
  const asGiven = text.trim().replace(/^lightning:/i, '');
  if (asGiven !== bolt11 && asGiven !== bolt11.toUpperCase()) {
    return err('not a valid BOLT 11 invoice: it mixes upper and lower case (copy it again exactly)');
  }
  if (!bolt11.startsWith('ln')) return err('not a BOLT 11 invoice: it should start with "ln"');
  if (bolt11.length > 7089) return err('the invoice is too long to be a BOLT 11 invoice');
  const prefixMatch = /^ln([a-z]+?)(\d*[munp]?)1[02-9ac-hj-np-z]+$/.exec(bolt11);
  if (!prefixMatch) return err('not a BOLT 11 invoice: malformed or truncated bech32 string');
  const currency = prefixMatch[1] ?? '';
  const networks = networksForPrefix(currency);
  if (networks.length === 0) return err(`unknown currency prefix "ln${currency}"`);
  let decoded: ReturnType<typeof Bolt11Lib.decode>;
  try {
    decoded = bolt11Lib().decode(bolt11, currency === 'tbs' ? SIGNET : undefined);
  } catch (e) {
    return err(`not a valid BOLT 11 invoice: ${describeDecodeError(e)}`);
  }
  const tags = decoded.tagsObject;
  const paymentHash = tags.payment_hash ? asPaymentHash(tags.payment_hash) : undefined;
  if (!paymentHash) return err('the invoice has no payment hash');
  const payee = asNodeId(decoded.payeeNodeKey ?? '');
  if (!payee) return err('the invoice signature does not give a node id');
  const secret = tags.payment_secret ? asPaymentSecret(tags.payment_secret) : undefined;
  const createdAt = decoded.timestamp ?? 0;
  const expirySeconds = tags.expire_time ?? DEFAULT_EXPIRY_SECONDS;
  const routeHints: RouteHintHop[][] = decoded.tags
    .filter((t) => t.tagName === 'routing_info')
    .map((t) =>
      (t.data as Array<Record<string, unknown>>).map((hop) => ({
        pubkey: (asNodeId(String(hop.pubkey)) ?? String(hop.pubkey)) as NodeId,
        shortChannelId: scidFromHex(String(hop.short_channel_id)),
        feeBaseMsat: Number(hop.fee_base_msat),
        feeProportionalMillionths: Number(hop.fee_proportional_millionths),
        cltvExpiryDelta: Number(hop.cltv_expiry_delta),
      })),
    );
  const unknownTagCodes = (tags.unknownTags ?? []).map((t) => t.tagCode);
  return ok({
    bolt11,
    currency,
    networks,
    amountMsat: decoded.millisatoshis ? msat(BigInt(decoded.millisatoshis)) : undefined,
    paymentHash,
    paymentSecret: secret,
    payee,
    hasPayeeField: tags.payee_node_key !== undefined,
    description: tags.description,
    descriptionHash: tags.purpose_commit_hash,
    createdAt,
    expirySeconds,
    expiresAt: createdAt + expirySeconds,
    minFinalCltv: tags.min_final_cltv_expiry ?? DEFAULT_MIN_FINAL_CLTV,
    routeHints,
    featureBits: featureBitsOf(tags.feature_bits as FeatureBitsObject | undefined),
    unknownTagCodes,
  });
}

function describeDecodeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/checksum/i.test(message)) return 'bad checksum (a character is wrong or missing)';
  // bolt11 says "Public key could not be recover" when no key fits the signature.
  if (/Signature|recover/i.test(message)) return 'bad signature';
  return message.replace(/\.$/, '');
}

/** What rdv puts in an invoice before the node signs it. */
export interface InvoiceFields {
  currency: string;
  amountMsat: Msat;
  paymentHash: PaymentHash;
  paymentSecret: PaymentSecret;
  description: string | undefined;
  descriptionHash: string | undefined;
  createdAt: number;
  expirySeconds: number;
  minFinalCltv: number;
  routeHints: RouteHintHop[][];
}

/**
 * Encode an invoice with these fields, signed by a throwaway key (the node's
 * `signinvoice` replaces the signature). It has no `n` field, so the signer is the payee.
 * Features: var_onion_optin and payment_secret required, basic_mpp supported.
 */
export function encodeInvoice(fields: InvoiceFields, throwawayKey: Buffer): string {
  const tags: Array<{ tagName: string; data: unknown }> = [
    { tagName: 'payment_hash', data: fields.paymentHash },
    { tagName: 'payment_secret', data: fields.paymentSecret },
  ];
  if (fields.descriptionHash !== undefined) tags.push({ tagName: 'purpose_commit_hash', data: fields.descriptionHash });
  else tags.push({ tagName: 'description', data: fields.description ?? '' });
  tags.push({ tagName: 'expire_time', data: fields.expirySeconds });
  tags.push({ tagName: 'min_final_cltv_expiry', data: fields.minFinalCltv });
  for (const route of fields.routeHints) {
    tags.push({
      tagName: 'routing_info',
      data: route.map((hop) => ({
        pubkey: hop.pubkey,
        short_channel_id: scidToHex(hop.shortChannelId),
        fee_base_msat: hop.feeBaseMsat,
        fee_proportional_millionths: hop.feeProportionalMillionths,
        cltv_expiry_delta: hop.cltvExpiryDelta,
      })),
    });
  }
  tags.push({
    tagName: 'feature_bits',
    data: {
      word_length: 4,
      var_onion_optin: { required: true, supported: false },
      payment_secret: { required: true, supported: false },
      basic_mpp: { required: false, supported: true },
    },
  });
  const network = networkObject(fields.currency);
  const bolt11 = bolt11Lib();
  const unsigned = bolt11.encode(
    {
      network,
      millisatoshis: fields.amountMsat.toString(),
      timestamp: fields.createdAt,
      tags: tags as Bolt11Lib.PaymentRequestObject['tags'],
    },
    false,
  );
  const signed = bolt11.sign(unsigned, throwawayKey);
  if (!signed.paymentRequest) throw new Error('bolt11 encoder returned no payment request');
  return signed.paymentRequest;
}

/**
 * Replace the signature of an invoice, keeping every tag and the timestamp, as
 * CLN's `signinvoice` does (used by the simulated node).
 */
export function resignInvoice(bolt11Text: string, privateKey: Buffer): string {
  const bolt11 = bolt11Lib();
  const text = normaliseBolt11(bolt11Text);
  const decoded = bolt11.decode(text, text.startsWith('lntbs') ? SIGNET : undefined);
  const reEncoded = bolt11.encode(
    {
      network: decoded.network,
      millisatoshis: decoded.millisatoshis ?? null,
      timestamp: decoded.timestamp,
      tags: decoded.tags,
    },
    false,
  );
  const signed = bolt11.sign(reEncoded, privateKey);
  if (!signed.paymentRequest) throw new Error('bolt11 signer returned no payment request');
  return signed.paymentRequest;
}

function networkObject(currency: string): { bech32: string; pubKeyHash: number; scriptHash: number; validWitnessVersions: number[] } {
  return currency === 'bc'
    ? { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] }
    : { bech32: currency, pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
}
