/**
 * The invoice an xpay command is given, read as xpay reads it: a BOLT 11
 * string, or a BOLT 12 invoice (the simulator's lni1 string, ./bolt12.ts)
 * whose blinded paths replace the payee as the place routing ends
 * (./blinded.ts). Errors are CLN's replies to xpay, as SimRpcError.
 */
import { decodeBolt11 } from '../chain/bolt11.js';
import type { NodeId } from '../chain/ids.js';
import type { BlindedRoute } from './blinded.js';
import { decodeSimBolt12 } from './bolt12.js';
import { SimRpcError } from './rpc-server.js';

/** A BOLT 11 route hint: hops to the payee, each with its channel's policy. */
export type RouteHint = Array<{ pubkey: NodeId; shortChannelId: string; feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number }>;

export interface Invstring {
  /** The string itself (listsendpays shows it as `bolt11` or `bolt12`). */
  bolt11: string;
  paymentHash: string;
  payee: NodeId;
  amountMsat: bigint;
  paymentSecret: string | undefined;
  minFinalCltv: number;
  expiresAt: number;
  routeHints: RouteHint[];
  /** A BOLT 12 invoice's paths (routing ends at blinded.ts's FAKE_NODE, final_cltv 0). */
  blinded?: BlindedRoute[];
}

/** xpay's invstring: lni1/lnb1 is BOLT 12, anything else BOLT 11. */
export function readInvstring(text: string): Invstring {
  return /^ln[ib]1/i.test(text) ? readBolt12(text) : readBolt11(text);
}

/** A BOLT 12 invoice as xpay reads it (the simulator's string, ./bolt12.ts). */
function readBolt12(text: string): Invstring & { blinded: BlindedRoute[] } {
  const d = decodeSimBolt12(text);
  if (d?.kind !== 'invoice') throw new SimRpcError(-32602, `invstring: Unparsable invoice '${text}'`);
  if (!d.valid) throw new SimRpcError(-32602, 'Invalid bolt12 invoice: invalid signature');
  const inv = d.invoice;
  return {
    bolt11: text,
    paymentHash: inv.payment_hash,
    payee: inv.node_id,
    amountMsat: BigInt(inv.amount_msat),
    paymentSecret: undefined,
    minFinalCltv: 0,
    expiresAt: inv.created_at + inv.relative_expiry,
    routeHints: [],
    blinded: inv.paths.map((b) => ({
      intro: b.first_node_id,
      pathKey: b.first_path_key,
      encrypted: b.path.map((h) => h.encrypted_recipient_data),
      feeBaseMsat: BigInt(b.payinfo.fee_base_msat),
      feePpm: BigInt(b.payinfo.fee_proportional_millionths),
      cltvDelta: b.payinfo.cltv_expiry_delta,
      htlcMaximumMsat: BigInt(b.payinfo.htlc_maximum_msat),
    })),
  };
}

function readBolt11(text: string): Invstring {
  const d = decodeBolt11(text);
  if (!d.ok) throw new SimRpcError(-32602, `invstring: Unparsable invoice '${text}': ${d.error}`);
  const inv = d.value;
  if (inv.amountMsat === undefined) throw new SimRpcError(-32602, 'amount_msat: required for invoices without an amount');
  return { ...inv, amountMsat: inv.amountMsat };
}
