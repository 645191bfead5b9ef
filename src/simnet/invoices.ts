/** A simulated node's own invoices (CLN `invoice`, `listinvoices`, `delinvoice`, `decode` shapes). */
import { createHash, randomBytes } from 'node:crypto';
import { msat, type Msat } from '../chain/amount.js';
import { decodeBolt11, encodeInvoice, type Invoice, type RouteHintHop } from '../chain/bolt11.js';
import type { PaymentHash, PaymentSecret, Preimage } from '../chain/ids.js';
import { SimRpcError } from './rpc-server.js';

export interface SimInvoice {
  label: string;
  /** A BOLT 11 invoice's string (`invoice`), absent for a BOLT 12 one. */
  bolt11?: string;
  /** A BOLT 12 invoice (made for an invoice request to one of our offers): its string, its offer, the path_id its paths carry. */
  bolt12?: { text: string; offerId: string; pathId: string };
  paymentHash: PaymentHash;
  paymentSecret: PaymentSecret;
  preimage: Preimage;
  amountMsat: Msat;
  description: string;
  expiresAt: number;
  minFinalCltv: number;
  status: 'unpaid' | 'paid' | 'expired';
  createdIndex: number;
  payIndex?: number;
  amountReceivedMsat?: Msat;
  paidAt?: number;
}

/** Parse an amount parameter as CLN does: number (msat), "123msat", "5sat", "0.001btc". */
export function msatParam(v: unknown, name: string): Msat {
  if (typeof v === 'bigint' && v >= 0n) return msat(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return msat(BigInt(v));
  if (typeof v === 'string') {
    const m = /^(\d+)(msat|sat|btc)?$/.exec(v);
    if (m?.[1]) {
      const n = BigInt(m[1]);
      return msat(m[2] === 'sat' ? n * 1000n : m[2] === 'btc' ? n * 100_000_000_000n : n);
    }
  }
  throw new SimRpcError(-32602, `${name}: should be a millisatoshi amount: invalid token '${JSON.stringify(String(v))}'`);
}

export class InvoiceBook {
  private readonly byLabel = new Map<string, SimInvoice>();
  private createdIndex = 30;
  private payIndex = 29;

  constructor(
    private readonly key: Buffer,
    private readonly currency: string,
  ) {}

  /**
   * A new invoice. With `descriptionHashOnly` (CLN's deschashonly) the bolt11
   * carries sha256 of the description's UTF-8 bytes (`h`) instead of the
   * description (`d`); the book still keeps the description, as listinvoices shows.
   */
  create(p: {
    amountMsat: Msat;
    label: string;
    description: string;
    descriptionHashOnly?: boolean;
    expiry: number;
    cltv: number;
    now: number;
    routeHints: RouteHintHop[][];
  }): SimInvoice & { bolt11: string } {
    if (this.byLabel.has(p.label)) throw new SimRpcError(900, `Duplicate label '${p.label}'`);
    const preimage = randomBytes(32).toString('hex') as Preimage;
    const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') as PaymentHash;
    const paymentSecret = randomBytes(32).toString('hex') as PaymentSecret;
    const bolt11 = encodeInvoice(
      {
        currency: this.currency,
        amountMsat: p.amountMsat,
        paymentHash,
        paymentSecret,
        description: p.descriptionHashOnly ? undefined : p.description,
        descriptionHash: p.descriptionHashOnly ? createHash('sha256').update(p.description, 'utf8').digest('hex') : undefined,
        createdAt: p.now,
        expirySeconds: p.expiry,
        minFinalCltv: p.cltv,
        routeHints: p.routeHints,
      },
      this.key,
    );
    const inv = {
      label: p.label,
      bolt11,
      paymentHash,
      paymentSecret,
      preimage,
      amountMsat: p.amountMsat,
      description: p.description,
      expiresAt: p.now + p.expiry,
      minFinalCltv: p.cltv,
      status: 'unpaid' as const,
      createdIndex: ++this.createdIndex,
    };
    this.byLabel.set(p.label, inv);
    return inv;
  }

  /**
   * A BOLT 12 invoice (the offers plugin's createinvoice): `make` builds and
   * signs its string from the new payment hash. Its label is CLN's, made of
   * the offer id and the payer's key.
   */
  createBolt12(p: { offerId: string; payerId: string; amountMsat: Msat; description: string; expiresAt: number; cltv: number; make: (paymentHash: PaymentHash, pathId: string) => string }): SimInvoice {
    const preimage = randomBytes(32).toString('hex') as Preimage;
    const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') as PaymentHash;
    const pathId = randomBytes(32).toString('hex');
    const label = `${p.offerId}-${p.payerId}-0`;
    if (this.byLabel.has(label)) throw new SimRpcError(900, `Duplicate label '${label}'`);
    const inv: SimInvoice = {
      label,
      bolt12: { text: p.make(paymentHash, pathId), offerId: p.offerId, pathId },
      paymentHash,
      paymentSecret: randomBytes(32).toString('hex') as PaymentSecret,
      preimage,
      amountMsat: p.amountMsat,
      description: p.description,
      expiresAt: p.expiresAt,
      minFinalCltv: p.cltv,
      status: 'unpaid',
      createdIndex: ++this.createdIndex,
    };
    this.byLabel.set(label, inv);
    return inv;
  }

  byHash(hash: string): SimInvoice | undefined {
    for (const inv of this.byLabel.values()) if (inv.paymentHash === hash) return inv;
    return undefined;
  }

  get(label: string): SimInvoice | undefined {
    return this.byLabel.get(label);
  }

  all(): SimInvoice[] {
    return [...this.byLabel.values()];
  }

  markPaid(inv: SimInvoice, received: Msat, now: number): void {
    inv.status = 'paid';
    inv.payIndex = ++this.payIndex;
    inv.amountReceivedMsat = received;
    inv.paidAt = now;
  }

  refreshExpiry(now: number): void {
    for (const inv of this.byLabel.values()) if (inv.status === 'unpaid' && inv.expiresAt <= now) inv.status = 'expired';
  }

  delete(label: string, status: string): SimInvoice {
    const inv = this.byLabel.get(label);
    if (!inv) throw new SimRpcError(905, 'Unknown invoice');
    if (inv.status !== status) throw new SimRpcError(906, `Invoice status is ${inv.status} not ${status}`);
    this.byLabel.delete(label);
    return inv;
  }
}

/** listinvoices entry, as CLN prints it. */
export function invoiceJson(inv: SimInvoice): Record<string, unknown> {
  return {
    label: inv.label,
    ...(inv.bolt12 ? { bolt12: inv.bolt12.text } : { bolt11: inv.bolt11 }),
    payment_hash: inv.paymentHash,
    amount_msat: inv.amountMsat,
    status: inv.status,
    ...(inv.status === 'paid'
      ? { pay_index: inv.payIndex, amount_received_msat: inv.amountReceivedMsat, paid_at: inv.paidAt, payment_preimage: inv.preimage }
      : {}),
    description: inv.description,
    expires_at: inv.expiresAt,
    ...(inv.bolt12 ? { local_offer_id: inv.bolt12.offerId } : {}),
    created_index: inv.createdIndex,
    ...(inv.status === 'paid' ? { updated_index: inv.payIndex } : {}),
  };
}

/** CLN `decode` of a bolt11 string. */
export function decodeJson(text: string): Record<string, unknown> {
  const d = decodeBolt11(text);
  if (!d.ok) throw new SimRpcError(-32602, `string: Bad bech32 string: invalid token '${JSON.stringify(text)}'`);
  const inv: Invoice = d.value;
  const out: Record<string, unknown> = {
    type: 'bolt11 invoice',
    currency: inv.currency,
    created_at: inv.createdAt,
    expiry: inv.expirySeconds,
    payee: inv.payee,
  };
  if (inv.amountMsat !== undefined) out.amount_msat = inv.amountMsat;
  if (inv.description !== undefined) out.description = inv.description;
  if (inv.descriptionHash !== undefined) out.description_hash = inv.descriptionHash;
  out.min_final_cltv_expiry = inv.minFinalCltv;
  if (inv.paymentSecret) out.payment_secret = inv.paymentSecret;
  out.features = featuresHex(inv.featureBits);
  if (inv.routeHints.length > 0) {
    out.routes = inv.routeHints.map((r) =>
      r.map((h) => ({
        pubkey: h.pubkey,
        short_channel_id: h.shortChannelId,
        fee_base_msat: h.feeBaseMsat,
        fee_proportional_millionths: h.feeProportionalMillionths,
        cltv_expiry_delta: h.cltvExpiryDelta,
      })),
    );
  }
  out.payment_hash = inv.paymentHash;
  out.signature = '3044' + '00'.repeat(68);
  out.valid = true;
  return out;
}

function featuresHex(bits: number[]): string {
  const max = Math.max(0, ...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const b of bits) {
    const i = bytes.length - 1 - Math.floor(b / 8);
    bytes[i] = (bytes[i] ?? 0) | (1 << b % 8);
  }
  return bytes.toString('hex');
}
