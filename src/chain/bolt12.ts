/**
 * BOLT 12 downstream: a relay whose next payee has an offer fetches an invoice
 * for exactly the downstream amount (CLN's `fetchinvoice`), and pays it with
 * xpay. rdv never parses BOLT 12 strings itself: it reads them only through
 * CLN's `decode`, whose replies (doc/schemas/decode.json, v26.06) this file
 * turns into typed values, checks as a careful payer does (BOLT 12 "Invoices",
 * reader requirements), and prices: the fee and CLTV a blinded path adds.
 * Pure: no RPC, no clock (the caller passes `now`).
 */
import { msat, type Msat } from './amount.js';
import { shortHash, type NodeId, type PaymentHash } from './ids.js';
import type { NetworkName } from './network.js';
import { Reader, ShapeError } from './read.js';
import { err, ok, type Result } from '../errors.js';

/** BOLT 12: without `invoice_relative_expiry`, an invoice expires 7200 s after `invoice_created_at`. */
export const BOLT12_DEFAULT_RELATIVE_EXPIRY = 7200;

/**
 * Genesis block hashes as CLN's `decode` prints `offer_chains` and
 * `invreq_chain`: the 32 bytes in wire (internal) order, not the reversed
 * order block explorers show (plugins/offers.c json_add_chains uses
 * json_add_sha256). Seen on v26.06.6 regtest: see test/fixtures/bolt12/.
 */
export const CHAIN_HASH: Record<NetworkName, string> = {
  bitcoin: '6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000',
  testnet: '43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000',
  testnet4: '43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000',
  signet: 'f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000',
  regtest: '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f',
};

/** Where a blinded path starts: a node, or one end of a channel (BOLT 12 `sciddir_or_pubkey`). */
export type BlindedIntroduction = { kind: 'node'; nodeId: NodeId } | { kind: 'scid'; scid: string; dir: 0 | 1 };

/** What the recipient charges for its blinded path, aggregated over the path's hops (BOLT 4 `blinded_payinfo`). */
export interface BlindedPayinfo {
  feeBaseMsat: Msat;
  feePpm: number;
  /** Includes the recipient's own final CLTV (CLN: the hop's delta + cltv-final). */
  cltvExpiryDelta: number;
  htlcMinimumMsat: Msat;
  htlcMaximumMsat: Msat;
  /** Hex, as decode prints it ('' when none). */
  features: string;
}

/** One of an invoice's `invoice_paths`, with its payinfo. */
export interface Bolt12PaymentPath {
  introduction: BlindedIntroduction;
  /** Blinded hops after the introduction node (1 for CLN's paths). */
  hops: number;
  payinfo: BlindedPayinfo;
}

/** One of an offer's `offer_paths` (for onion messages: fetchinvoice uses them). */
export interface Bolt12OfferPath {
  introduction: BlindedIntroduction;
  /** The last hop's blinded_node_id: an offer without issuer_id is signed by it (BOLT 12). */
  finalBlindedNodeId: string;
}

/** The offer fields (types 1 to 79), as an offer and, echoed, an invoice carry them. */
export interface Bolt12OfferFields {
  offerId: string;
  issuerId: NodeId | undefined;
  /** The amount asked, when fixed and in bitcoin. */
  amountMsat: Msat | undefined;
  /** ISO 4217 code: the amount is in that currency, which rdv cannot price. */
  currency: string | undefined;
  description: string | undefined;
  issuer: string | undefined;
  /** Unix seconds. */
  absoluteExpiry: number | undefined;
  quantityMax: bigint | undefined;
  recurrence: boolean;
  paths: Bolt12OfferPath[] | undefined;
  /** Chain hashes (CHAIN_HASH's form); BOLT 12: absent means bitcoin only. */
  chains: string[];
  /** Hex ('' when none). */
  features: string;
}

export interface Bolt12Offer extends Bolt12OfferFields {
  /** The lno1... string. */
  text: string;
}

export interface Bolt12Invoice {
  /** The lni1... string. */
  text: string;
  /** decode's `valid`: the signature checks against invoice_node_id and nothing required is missing. */
  valid: boolean;
  /** decode's warning_* texts (why it is not valid). */
  warnings: string[];
  paymentHash: PaymentHash;
  amountMsat: Msat;
  /** Unix seconds. */
  createdAt: number;
  relativeExpirySeconds: number;
  /** createdAt + relativeExpirySeconds (7200 s by default). */
  expiresAt: number;
  /** invoice_node_id: the key that signed it, and whom the payment reaches. */
  nodeId: NodeId;
  /** The offer it answers, as echoed in the invoice. */
  offer: Bolt12OfferFields;
  /** invreq_amount_msat: what the payer asked for. */
  requestedMsat: Msat | undefined;
  payerId: string;
  paths: Bolt12PaymentPath[];
  /** invoice_features, hex ('' when none). */
  features: string;
  /** invreq_chain, else the offer's only chain, else bitcoin's (BOLT 12 defaults). */
  chain: string;
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_RE = /^0[23][0-9a-f]{64}$/;
const SCID_RE = /^\d{1,10}x\d{1,10}x\d{1,5}$/;

function introductionOf(p: Reader): BlindedIntroduction {
  if (p.has('first_node_id')) return { kind: 'node', nodeId: p.match<NodeId>('first_node_id', NODE_RE, 'a node id') };
  const scid = p.match('first_scid', SCID_RE, 'a short channel id (or first_node_id)');
  const dir = p.int('first_scid_dir');
  if (dir !== 0 && dir !== 1) throw new ShapeError(`${p.path}.first_scid_dir: expected 0 or 1`);
  return { kind: 'scid', scid, dir };
}

function blindedHops(p: Reader): Reader[] {
  const hops = p.objects('path');
  if (hops.length === 0) throw new ShapeError(`${p.path}.path: a blinded path with no hops`);
  for (const h of hops) h.str('blinded_node_id');
  return hops;
}

function readOfferFields(r: Reader): Bolt12OfferFields {
  const chains = r.has('offer_chains') ? r.strings('offer_chains') : [CHAIN_HASH.bitcoin];
  for (const c of chains) if (!HASH_RE.test(c)) throw new ShapeError(`${r.path}.offer_chains: expected chain hashes (64 hex digits)`);
  const features = r.optMatch('offer_features', HEX_RE, 'hex') ?? '';
  return {
    offerId: r.match('offer_id', HASH_RE, '64 hex digits'),
    issuerId: r.optMatch<NodeId>('offer_issuer_id', NODE_RE, 'a node id'),
    amountMsat: r.optMsat('offer_amount_msat'),
    currency: r.optStr('offer_currency'),
    description: r.optStr('offer_description'),
    issuer: r.optStr('offer_issuer'),
    absoluteExpiry: r.optInt('offer_absolute_expiry'),
    quantityMax: r.has('offer_quantity_max') ? r.bigint('offer_quantity_max') : undefined,
    recurrence: r.has('offer_recurrence'),
    paths: r.has('offer_paths')
      ? r.objects('offer_paths').map((p) => {
          const hops = blindedHops(p);
          return { introduction: introductionOf(p), finalBlindedNodeId: (hops.at(-1) as Reader).str('blinded_node_id') };
        })
      : undefined,
    chains,
    features,
  };
}

const warningsOf = (r: Reader): string[] =>
  Object.entries(r.value)
    .filter(([k, v]) => k.startsWith('warning_') && typeof v === 'string')
    .map(([k, v]) => `${k.slice('warning_'.length)}: ${String(v)}`);

/** Read a decode reply as `type`, or say why not. */
function readDecoded<T>(decoded: unknown, type: string, what: string, parse: (r: Reader) => T): Result<T> {
  try {
    const r = Reader.of(decoded, 'decode');
    const got = r.str('type');
    if (got !== type) return err(`that is not a BOLT 12 ${what}: decode says it is a ${got}`);
    return ok(parse(r));
  } catch (e) {
    if (e instanceof ShapeError) return err(`decode's reply for the ${what} cannot be read: ${e.message}`);
    throw e;
  }
}

/**
 * An offer from CLN's `decode` reply (`type` "bolt12 offer"). Refuses an
 * offer decode calls invalid (its warnings say why) and one with no way to
 * reach its issuer (no issuer_id and no paths).
 */
export function readBolt12Offer(decoded: unknown, text: string): Result<Bolt12Offer> {
  const read = readDecoded(decoded, 'bolt12 offer', 'offer', (r) => ({ valid: r.bool('valid'), warnings: warningsOf(r), fields: r }));
  if (!read.ok) return read;
  if (!read.value.valid) return err(`the offer is not valid (${read.value.warnings.join('; ') || 'decode says so'}): ask the payee for a new offer`);
  try {
    const fields = readOfferFields(read.value.fields);
    if (fields.issuerId === undefined && fields.paths === undefined) return err('the offer names no issuer and no path to it: ask the payee for a new offer');
    return ok({ text, ...fields });
  } catch (e) {
    if (e instanceof ShapeError) return err(`decode's reply for the offer cannot be read: ${e.message}`);
    throw e;
  }
}

/**
 * An invoice from CLN's `decode` reply (`type` "bolt12 invoice"). A reply
 * missing a field BOLT 12 requires is an error naming it (with decode's
 * warnings); a complete one with `valid` false is read as such, and
 * checkBolt12Downstream refuses it. (CLN v26.06 does not even answer for a
 * bad signature: decode fails with "Invalid signature".)
 */
export function readBolt12Invoice(decoded: unknown, text: string): Result<Bolt12Invoice> {
  return readDecoded(decoded, 'bolt12 invoice', 'invoice', (r) => {
    const valid = r.bool('valid');
    const warnings = warningsOf(r);
    const need = (key: string): void => {
      if (!r.has(key)) throw new ShapeError(`${r.path}.${key}: missing${warnings.length > 0 ? ` (${warnings.join('; ')})` : ''}`);
    };
    for (const key of ['invoice_payment_hash', 'invoice_amount_msat', 'invoice_created_at', 'invoice_node_id', 'invoice_paths', 'offer_id']) need(key);
    const createdAt = r.int('invoice_created_at');
    const relativeExpirySeconds = r.optInt('invoice_relative_expiry') ?? BOLT12_DEFAULT_RELATIVE_EXPIRY;
    const offer = readOfferFields(r);
    const invreqChain = r.optMatch('invreq_chain', HASH_RE, 'a chain hash');
    const paths = r.objects('invoice_paths').map((p): Bolt12PaymentPath => {
      const pi = p.obj('payinfo');
      return {
        introduction: introductionOf(p),
        hops: blindedHops(p).length,
        payinfo: {
          feeBaseMsat: pi.msat('fee_base_msat'),
          feePpm: pi.int('fee_proportional_millionths'),
          cltvExpiryDelta: pi.int('cltv_expiry_delta'),
          htlcMinimumMsat: pi.msat('htlc_minimum_msat'),
          htlcMaximumMsat: pi.msat('htlc_maximum_msat'),
          features: pi.optMatch('features', HEX_RE, 'hex') ?? '',
        },
      };
    });
    return {
      text,
      valid,
      warnings,
      paymentHash: r.match<PaymentHash>('invoice_payment_hash', HASH_RE, '64 hex digits'),
      amountMsat: r.msat('invoice_amount_msat'),
      createdAt,
      relativeExpirySeconds,
      expiresAt: createdAt + relativeExpirySeconds,
      nodeId: r.match<NodeId>('invoice_node_id', NODE_RE, 'a node id'),
      offer,
      requestedMsat: r.optMsat('invreq_amount_msat'),
      payerId: r.str('invreq_payer_id'),
      paths,
      features: r.optMatch('invoice_features', HEX_RE, 'hex') ?? '',
      chain: invreqChain ?? (offer.chains.length === 1 ? (offer.chains[0] as string) : CHAIN_HASH.bitcoin),
    };
  });
}

// --- features ------------------------------------------------------------------------

/** Feature bits set in a hex bitfield (bit 0 is the last byte's lowest bit). */
export function featureBitsOf(hex: string): number[] {
  const bytes = Buffer.from(hex, 'hex');
  const bits: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[bytes.length - 1 - i] ?? 0;
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) bits.push(i * 8 + b);
  }
  return bits;
}

/**
 * Bits rdv's node (CLN's xpay) knows in an invoice, offer or payinfo: basic_mpp
 * (16/17) in invoice_features (xpay reads it to decide on MPP). BOLT 12: an
 * unknown even bit means "you must understand this to pay": refuse.
 */
const KNOWN_BOLT12_BITS = new Set([16, 17]);

/** Required (even) bits set in `hex` that rdv's node does not know. */
export function unknownEvenBits(hex: string): number[] {
  return featureBitsOf(hex).filter((b) => b % 2 === 0 && !KNOWN_BOLT12_BITS.has(b));
}

/** basic_mpp offered (either bit): xpay may split the payment over several paths. */
export const allowsMpp = (inv: Bolt12Invoice): boolean => featureBitsOf(inv.features).some((b) => b === 16 || b === 17);

// --- fees and CLTV through blinded paths ----------------------------------------------------

/**
 * What a blinded path charges to deliver `amountMsat`: fee_base_msat +
 * floor(amount * fee_proportional_millionths / 1,000,000). xpay adds each path
 * as a channel from its introduction node (plugins/xpay/xpay.c
 * add_blindedpath), so askrene prices it like any channel, with
 * amount_msat_fee (common/amount.c), which rounds down; the introduction node
 * then forwards ceil((in - base) * 1e6 / (1e6 + ppm)) (common/onion_decode.c),
 * which is exactly `amountMsat` again. So this is the fee to budget, to the msat.
 */
export function blindedPathFeeMsat(payinfo: BlindedPayinfo, amountMsat: Msat): Msat {
  return msat(payinfo.feeBaseMsat + (amountMsat * BigInt(payinfo.feePpm)) / 1_000_000n);
}

/**
 * The paths xpay may use to deliver `amountMsat`: those whose payinfo has no
 * unknown even feature bit (BOLT 12: MUST NOT use them; xpay skips them) and
 * whose htlc_minimum allows a part of at most the amount; without MPP a
 * single part must carry it all, so htlc_maximum must allow the whole amount.
 */
export function usablePaths(inv: Bolt12Invoice, amountMsat: Msat): Bolt12PaymentPath[] {
  const mpp = allowsMpp(inv);
  return inv.paths.filter(
    (p) => unknownEvenBits(p.payinfo.features).length === 0 && p.payinfo.htlcMinimumMsat <= amountMsat && (mpp || p.payinfo.htlcMaximumMsat >= amountMsat),
  );
}

/** What paying a BOLT 12 invoice adds beyond the route to the path's start. */
export interface Bolt12PathCosts {
  /**
   * The BOLT 11 min_final_cltv equivalent for the relay's delay budget and
   * maxdelay: the LARGEST cltv_expiry_delta among the usable paths. xpay pays
   * a BOLT 12 invoice with final_cltv 0 through a channel to a fake node whose
   * delta is the payinfo's (xpay.c: "we just know the cltv we use to enter
   * the final hop"), so a part's CLTV is (route to the introduction node) +
   * that delta. xpay picks the path (by fee and probability), and with MPP
   * may use several at once: only the largest delta bounds every part. Our
   * BOLT 11 invoice's min_final_cltv (downstream + delay budget) then
   * promises the payer enough for any path, and maxdelay >= this is the
   * same test as for BOLT 11 (rule 6). The smallest delta would be unsafe:
   * a part through another path could need more blocks than the budget
   * counted, eating into the safety margin or making xpay fail on delay.
   */
  minFinalCltv: number;
  /** Fee of the cheapest usable path for the amount: the least the fee budget must cover beyond the route to it. */
  minFeeMsat: Msat;
  /** Fee of the dearest usable path: what xpay may spend at worst, beyond the route to it. */
  maxFeeMsat: Msat;
  paths: Bolt12PaymentPath[];
}

/** The CLTV and fee paying `amountMsat` through the invoice's usable paths adds, or why it cannot be paid. */
export function bolt12PathCosts(inv: Bolt12Invoice, amountMsat: Msat): Result<Bolt12PathCosts> {
  const paths = usablePaths(inv, amountMsat);
  if (paths.length === 0) {
    return err(
      inv.paths.length === 0
        ? 'the invoice has no payment paths: fetch a new invoice from the offer'
        : `none of the invoice's ${inv.paths.length} payment path(s) can carry ${amountMsat} msat (features or htlc limits): ask the payee for another offer`,
    );
  }
  const fees = paths.map((p) => blindedPathFeeMsat(p.payinfo, amountMsat));
  return ok({
    minFinalCltv: Math.max(...paths.map((p) => p.payinfo.cltvExpiryDelta)),
    minFeeMsat: msat(fees.reduce((a, b) => (b < a ? b : a))),
    maxFeeMsat: msat(fees.reduce((a, b) => (b > a ? b : a))),
    paths,
  });
}

// --- checks -------------------------------------------------------------------------------

/** Shortest life an invoice may have left beyond the margin (as for BOLT 11: invoice.ts MIN_EXPIRY_SECONDS). */
const MIN_REMAINING_SECONDS = 60;

const when = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

const chainName = (hash: string): string => (Object.entries(CHAIN_HASH).find(([, h]) => h === hash)?.[0] ?? `chain ${shortHash(hash)}…`);

export interface Bolt12OfferContext {
  network: NetworkName;
  /** The amount the relay will ask for. */
  wantMsat: Msat;
  /** Unix seconds. */
  now: number;
}

/**
 * Whether rdv can fetch an invoice for exactly `wantMsat` from this offer, or
 * why not (one line, says what to do). A fixed amount above the one wanted is
 * refused (the issuer would refuse less); below it is allowed, as BOLT 12
 * lets a payer pay more than the offer's amount.
 */
export function checkBolt12Offer(offer: Bolt12Offer, ctx: Bolt12OfferContext): string | undefined {
  if (!offer.chains.includes(CHAIN_HASH[ctx.network])) {
    return `the offer is for ${offer.chains.map(chainName).join('/')} but this node runs on ${ctx.network}: use an offer from the same network`;
  }
  if (offer.currency !== undefined) return `the offer is priced in ${offer.currency}, which rdv cannot convert: ask the payee for an offer in bitcoin (or with any amount)`;
  if (offer.absoluteExpiry !== undefined && offer.absoluteExpiry <= ctx.now) return `the offer expired at ${when(offer.absoluteExpiry)}: ask the payee for a new one`;
  if (offer.quantityMax !== undefined) return 'the offer sells by quantity and rdv asks for an amount only: ask the payee for an offer without quantity';
  if (offer.recurrence) return 'the offer is recurring (a subscription) and rdv pays single invoices only: ask the payee for a one-off offer';
  const unknown = unknownEvenBits(offer.features);
  if (unknown.length > 0) return `the offer requires features this node does not know (bits ${unknown.join(', ')}): ask the payee for a plain offer`;
  if (offer.amountMsat !== undefined && offer.amountMsat > ctx.wantMsat) {
    return `the offer asks for ${offer.amountMsat} msat, more than the ${ctx.wantMsat} msat the chain passes on: raise the amount asked, or use another offer`;
  }
  return undefined;
}

export interface Bolt12DownstreamContext {
  /** The offer the invoice was fetched from. */
  offer: Bolt12Offer;
  /** The amount asked (fetchinvoice amount_msat): the invoice must be for exactly this. */
  wantMsat: Msat;
  network: NetworkName;
  ourNodeId: NodeId;
  /** Unix seconds. */
  now: number;
  expiryMarginSeconds: number;
  /** We already have an rdv record or a node invoice for this hash. */
  hashInUse: boolean;
}

/**
 * Why a fetched BOLT 12 invoice cannot be joined, or undefined. One line,
 * says what to do. The checks are BOLT 12's for a payer reading an invoice it
 * requested (valid signature, answers that offer, signed by its issuer, amount
 * as requested, unexpired, known features, paths present) and the relay's own
 * (our chain, exactly the amount asked, not our own node, a hash not in use).
 */
export function checkBolt12Downstream(inv: Bolt12Invoice, ctx: Bolt12DownstreamContext): string | undefined {
  const who = `the payee (${shortHash(inv.nodeId)}…)`;
  if (!inv.valid) return `the invoice is not validly signed (${inv.warnings.join('; ') || 'decode says it is not valid'}): fetch a new invoice from the offer`;
  if (inv.offer.offerId !== ctx.offer.offerId) {
    return `the invoice answers another offer (${shortHash(inv.offer.offerId)}…) than the one asked (${shortHash(ctx.offer.offerId)}…): fetch again from the offer`;
  }
  // BOLT 12: the invoice must be signed by offer_issuer_id, else by the final blinded node of an offer path.
  const issuer = ctx.offer.issuerId;
  if (issuer !== undefined ? inv.nodeId !== issuer : !(ctx.offer.paths ?? []).some((p) => p.finalBlindedNodeId === inv.nodeId)) {
    return `the invoice is signed by ${shortHash(inv.nodeId)}…, not by the offer's issuer: do not pay it; fetch again from the offer`;
  }
  if (inv.chain !== CHAIN_HASH[ctx.network]) return `the invoice is for ${chainName(inv.chain)} but this node runs on ${ctx.network}: use an offer from the same network`;
  if (inv.amountMsat !== ctx.wantMsat || (inv.requestedMsat !== undefined && inv.requestedMsat !== ctx.wantMsat)) {
    return `the invoice is for ${inv.amountMsat} msat, not the ${ctx.wantMsat} msat asked: refuse it and fetch again for the exact amount`;
  }
  if (inv.nodeId === ctx.ourNodeId) return "the invoice is payable to this node itself: the offer must be the next payee's, not your own";
  if (inv.expiresAt <= ctx.now) return `the invoice expired at ${when(inv.expiresAt)}: fetch a new one from the offer`;
  const remaining = inv.expiresAt - ctx.now;
  if (remaining < ctx.expiryMarginSeconds + MIN_REMAINING_SECONDS) {
    return `the invoice expires in ${remaining} s, too soon to relay (rdv needs ${ctx.expiryMarginSeconds + MIN_REMAINING_SECONDS} s): fetch a new one from the offer`;
  }
  if (ctx.hashInUse) return `this node already has a record or invoice for payment hash ${inv.paymentHash}: it was joined before (see rdv status ${shortHash(inv.paymentHash)})`;
  const unknown = [...unknownEvenBits(inv.features), ...unknownEvenBits(inv.offer.features)];
  if (unknown.length > 0) return `the invoice requires features this node cannot pay (bits ${unknown.join(', ')}): ask ${who} for a plain offer`;
  const costs = bolt12PathCosts(inv, ctx.wantMsat);
  if (!costs.ok) return costs.error;
  return undefined;
}
