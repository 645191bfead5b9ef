/**
 * Our invoices: making one (CLN's `invoice`), signing one rdv built
 * (`signinvoice`), listing and deleting them, and CLN's own `decode` of a
 * BOLT 11 string, which rdv cross-checks against its own reading.
 */
import type { Msat } from '../../chain/amount.js';
import type { PaymentHash } from '../../chain/ids.js';
import { ShapeError } from '../../chain/read.js';
import type { Rpc } from '../client.js';
import { call, HASH_RE, read } from './call.js';

export interface InvoiceStatus {
  label: string;
  status: 'unpaid' | 'paid' | 'expired';
  paymentHash: PaymentHash;
  amountMsat: Msat | undefined;
  amountReceivedMsat: Msat | undefined;
  paidAt: number | undefined;
  expiresAt: number;
}

/** What CLN's `invoice` is asked for. */
export interface InvoiceRequest {
  amountMsat: Msat;
  label: string;
  description: string;
  expiry?: number;
  cltv?: number;
}

/** What CLN's `invoice` made. */
export interface NewInvoice {
  paymentHash: PaymentHash;
  bolt11: string;
  expiresAt: number;
  warnings: string[];
}

/** What `decode` says of a BOLT 11 string. */
export interface DecodedInvoice {
  valid: boolean;
  payee: string | undefined;
  paymentHash: string | undefined;
  amountMsat: Msat | undefined;
  minFinalCltv: number | undefined;
  paymentSecret: string | undefined;
  /** BOLT 11's `m` field, which sendpay must carry to the payee. */
  paymentMetadata: string | undefined;
  currency: string | undefined;
}

/** CLN's `invoice`; `warnings` are its warning_* texts (e.g. route hints it left out). */
export function invoice(rpc: Rpc, p: InvoiceRequest): Promise<NewInvoice> {
  return read(rpc, 'invoice', { amount_msat: p.amountMsat, label: p.label, description: p.description, expiry: p.expiry, cltv: p.cltv }, (r) => ({
    paymentHash: r.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
    bolt11: r.str('bolt11'),
    expiresAt: r.int('expires_at'),
    warnings: Object.entries(r.value)
      .filter(([k, v]) => k.startsWith('warning_') && typeof v === 'string')
      .map(([, v]) => String(v)),
  }));
}

export async function delinvoice(rpc: Rpc, label: string, status: 'unpaid' | 'paid' | 'expired'): Promise<void> {
  await call(rpc, 'delinvoice', { label, status });
}

export function listinvoices(rpc: Rpc, filter: { label?: string; paymentHash?: string }): Promise<InvoiceStatus[]> {
  return read(rpc, 'listinvoices', { label: filter.label, payment_hash: filter.paymentHash }, (r) =>
    r.objects('invoices').map((i) => {
      const status = i.str('status');
      if (status !== 'unpaid' && status !== 'paid' && status !== 'expired') throw new ShapeError(`${i.path}.status: unknown status ${status}`);
      return {
        label: i.str('label'),
        status,
        paymentHash: i.match<PaymentHash>('payment_hash', HASH_RE, 'a payment hash'),
        amountMsat: i.optMsat('amount_msat'),
        amountReceivedMsat: i.optMsat('amount_received_msat'),
        paidAt: i.optInt('paid_at'),
        expiresAt: i.int('expires_at'),
      };
    }),
  );
}

export function signinvoice(rpc: Rpc, invstring: string): Promise<string> {
  return read(rpc, 'signinvoice', { invstring }, (r) => r.str('bolt11'));
}

/** The fields of CLN's own `decode` that rdv cross-checks. */
export function decode(rpc: Rpc, bolt11: string): Promise<DecodedInvoice> {
  return read(rpc, 'decode', { string: bolt11 }, (r) => ({
    valid: r.optBool('valid') ?? false,
    payee: r.optStr('payee'),
    paymentHash: r.optStr('payment_hash'),
    amountMsat: r.optMsat('amount_msat'),
    minFinalCltv: r.optInt('min_final_cltv_expiry'),
    paymentSecret: r.optStr('payment_secret'),
    paymentMetadata: r.optStr('payment_metadata'),
    currency: r.optStr('currency'),
  }));
}
