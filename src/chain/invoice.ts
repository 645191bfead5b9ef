/**
 * DESIGN.md "Invoice building rules": checks on the downstream invoice, the fields
 * of our same-hash invoice, and the check of what the node signed. Pure.
 */
import { FEATURE, hasFeature, unknownRequiredFeatures, type Invoice, type InvoiceFields, type RouteHintHop } from './bolt11.js';
import type { BudgetPlan } from './budget.js';
import { shortHash, type NodeId, type PaymentSecret } from './ids.js';
import type { NetworkName } from './network.js';
import { err, ok, type Result } from '../errors.js';

/** Our invoice must expire this long before the downstream one, so we can still pay it. */
export const DEFAULT_EXPIRY_MARGIN_SECONDS = 600;
/** Shortest life we give an invoice. */
export const MIN_EXPIRY_SECONDS = 60;

export interface DownstreamContext {
  network: NetworkName;
  ourNodeId: NodeId;
  /** Unix seconds. */
  now: number;
  expiryMarginSeconds: number;
  /** We already have an rdv record or a node invoice for this hash. */
  hashInUse: boolean;
}

const when = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

/** Why the downstream invoice cannot be joined, or undefined. One line, says what to do. */
export function checkDownstream(inv: Invoice, ctx: DownstreamContext): string | undefined {
  const who = `the payee (${shortHash(inv.payee)}…)`;
  if (!inv.networks.includes(ctx.network)) {
    return `the invoice is for ${inv.networks.join('/')} (prefix ln${inv.currency}) but this node runs on ${ctx.network}: use an invoice from the same network`;
  }
  if (inv.amountMsat === undefined) return `the invoice has no amount: ask ${who} for an invoice with an amount`;
  if (inv.amountMsat === 0n) return `the invoice is for 0 msat: ask ${who} for an invoice with an amount`;
  if (inv.paymentSecret === undefined) return `the invoice has no payment secret, so it cannot be relayed safely: ask ${who} for a new invoice`;
  if (inv.payee === ctx.ourNodeId) return 'the invoice is payable to this node itself: join with the next payee\'s invoice, not your own';
  if (inv.expiresAt <= ctx.now) return `the invoice expired at ${when(inv.expiresAt)}: ask ${who} for a new one`;
  const remaining = inv.expiresAt - ctx.now;
  if (remaining < ctx.expiryMarginSeconds + MIN_EXPIRY_SECONDS) {
    return `the invoice expires in ${remaining} s, too soon to relay (rdv needs ${ctx.expiryMarginSeconds + MIN_EXPIRY_SECONDS} s): ask ${who} for a new one`;
  }
  if (ctx.hashInUse) return `this node already has a record or invoice for payment hash ${inv.paymentHash}: it was joined before (see rdv status ${shortHash(inv.paymentHash)})`;
  const unknown = unknownRequiredFeatures(inv);
  if (unknown.length > 0) return `the invoice requires features this node cannot pay (bits ${unknown.join(', ')}): ask ${who} for a plain invoice`;
  if (!hasFeature(inv, FEATURE.varOnionOptin)) return `the invoice does not allow TLV onions (var_onion_optin): ask ${who} for a new invoice`;
  return undefined;
}

export interface OurInvoiceInput {
  /** The next payee's invoice (BOLT 11, or BOLT 12 as src/chain/downstream.ts reads it): its hash, life, currency and description. */
  downstream: Pick<Invoice, 'paymentHash' | 'expiresAt' | 'currency' | 'description' | 'descriptionHash'>;
  plan: BudgetPlan;
  paymentSecret: PaymentSecret;
  now: number;
  /** --expiry, if given. */
  requestedExpirySeconds: number | undefined;
  expiryMarginSeconds: number;
  /** --description, if given; else the downstream's description (or its hash). */
  description: string | undefined;
  /** A description hash (64 hex) for our invoice instead (an lnproxy client's description_hash); wins over `description`. */
  descriptionHash?: string | undefined;
  routeHints: RouteHintHop[][];
}

/** The fields of our same-hash invoice. */
export function planOurInvoice(input: OurInvoiceInput): Result<InvoiceFields> {
  const { downstream, plan } = input;
  const room = downstream.expiresAt - input.now - input.expiryMarginSeconds;
  const expiry = Math.min(input.requestedExpirySeconds ?? room, room);
  if (expiry < MIN_EXPIRY_SECONDS) {
    return err(`our invoice would live only ${expiry} s (the downstream one expires at ${when(downstream.expiresAt)}): ask for a fresh downstream invoice`);
  }
  if (input.descriptionHash !== undefined && !/^[0-9a-f]{64}$/.test(input.descriptionHash)) return err('the description hash must be 64 hex digits (a sha256)');
  const hash = input.descriptionHash ?? (input.description === undefined ? downstream.descriptionHash : undefined);
  return ok({
    currency: downstream.currency,
    amountMsat: plan.amountMsat,
    paymentHash: downstream.paymentHash,
    paymentSecret: input.paymentSecret,
    description: hash !== undefined ? undefined : (input.description ?? downstream.description ?? ''),
    descriptionHash: hash,
    createdAt: input.now,
    expirySeconds: expiry,
    minFinalCltv: plan.minFinalCltv,
    routeHints: input.routeHints,
  });
}

/**
 * Check the invoice the node signed against what we asked for: every field, and
 * that our node is the signer. Returns what differs, or undefined.
 */
export function checkSigned(signed: Invoice, want: InvoiceFields, ourNodeId: NodeId): string | undefined {
  const diffs: string[] = [];
  const same = (name: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a, bigintSafe) !== JSON.stringify(b, bigintSafe)) diffs.push(`${name} (${String(a)} instead of ${String(b)})`);
  };
  same('signer', signed.payee, ourNodeId);
  if (signed.hasPayeeField && signed.payee !== ourNodeId) diffs.push('payee field');
  same('currency', signed.currency, want.currency);
  same('amount', signed.amountMsat, want.amountMsat);
  same('payment hash', signed.paymentHash, want.paymentHash);
  same('payment secret', signed.paymentSecret, want.paymentSecret);
  same('timestamp', signed.createdAt, want.createdAt);
  same('expiry', signed.expirySeconds, want.expirySeconds);
  same('min_final_cltv', signed.minFinalCltv, want.minFinalCltv);
  same('description', signed.description, want.description);
  same('description hash', signed.descriptionHash, want.descriptionHash);
  same('route hints', signed.routeHints, want.routeHints);
  for (const bit of [FEATURE.varOnionOptin, FEATURE.paymentSecret]) {
    if (!signed.featureBits.includes(bit)) diffs.push(`feature ${bit} not required`);
  }
  if (!hasFeature(signed, FEATURE.basicMpp)) diffs.push('basic_mpp missing');
  return diffs.length === 0 ? undefined : `the node signed a different invoice: ${diffs.join(', ')}`;
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
