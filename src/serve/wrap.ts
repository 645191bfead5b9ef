/**
 * The lnproxy-shaped wrap endpoint (lnproxy's spec, "Requesting and verifying a
 * proxy invoice"): an invoice in, a same-hash invoice of ours out, joined as a
 * relay by one policy (--wrap). lnproxy's clients check that the proxy invoice
 * keeps the payment hash and the description (or the one they asked for), and,
 * when they give `routing_msat`, that its amount is EXACTLY the original amount
 * plus routing_msat. So with routing_msat our payout comes out of it and the rest
 * is the fee budget; without it the policy's own shares apply, as for a pass-back
 * (src/chain/policy/decide.ts wrapValues, in the plugin's rdv-wrap). Pure: parsing
 * the request.
 */
import { MAX_MSAT, msat, type Msat } from '../chain/amount.js';
import { INVOICE_TEXT_RE } from '../chain/bolt11.js';
import { parseJson } from '../chain/json.js';
import { MAX_DESCRIPTION_BYTES } from '../chain/policy/policy.js';
import { isObject } from '../chain/read.js';
import { err, ok, type Result } from '../errors.js';

export interface WrapRequest {
  invoice: string;
  routingMsat: Msat | undefined;
  /** Our invoice's description instead of the original's (lnproxy's `description`). */
  description: string | undefined;
  /** Our invoice's description hash instead (lnproxy's `description_hash`, 64 hex). */
  descriptionHash: string | undefined;
}

/** routing_msat as lnproxy sends it: a decimal string (lnproxy-client), or, leniently, a JSON integer. */
export function parseRoutingMsat(v: unknown): Result<Msat | undefined> {
  if (v === undefined || v === null) return ok(undefined);
  const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
  if (text === undefined || !/^\d{1,19}$/.test(text)) return err('routing_msat must be a whole number of millisatoshis, as a string');
  const n = BigInt(text);
  if (n === 0n) return err('routing_msat must be more than 0');
  if (n > MAX_MSAT) return err('routing_msat is more than 21 million BTC');
  return ok(msat(n));
}

/** The body of POST /spec; the reason is lnproxy's `reason`. */
export function parseSpecBody(text: string): Result<WrapRequest> {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    return err('Body is not JSON object');
  }
  if (!isObject(body)) return err('Body is not JSON object');
  if (body.invoice === undefined) return err('Body needs an invoice field');
  if (typeof body.invoice !== 'string') return err('Invoice field must be a string');
  if (!INVOICE_TEXT_RE.test(body.invoice)) return err('Invalid invoice');
  const routing = parseRoutingMsat(body.routing_msat);
  if (!routing.ok) return routing;
  const description = body.description;
  const descriptionHash = body.description_hash;
  if (description !== undefined && typeof description !== 'string') return err('Description field must be a string');
  if (description !== undefined && Buffer.byteLength(description) > MAX_DESCRIPTION_BYTES) return err(`Description is longer than ${MAX_DESCRIPTION_BYTES} bytes`);
  if (descriptionHash !== undefined && (typeof descriptionHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(descriptionHash))) return err('Description hash field must be 64 hex digits');
  if (description !== undefined && descriptionHash !== undefined) return err('Give description or description_hash, not both');
  return ok({
    invoice: body.invoice,
    routingMsat: routing.value,
    description,
    descriptionHash: typeof descriptionHash === 'string' ? descriptionHash.toLowerCase() : undefined,
  });
}
