/**
 * xpay's parts as lightningd records them: a Sendpay is one part (one row of
 * listsendpays, and the data of sendpay_success / sendpay_failure), and
 * failureName is the name xpay's error text gives a part's failure code.
 */
import { randomBytes } from 'node:crypto';
import type { NodeId } from '../chain/ids.js';

export interface Sendpay {
  createdIndex: number;
  paymentHash: string;
  groupid: bigint;
  partid: number;
  destination: NodeId;
  amountMsat: bigint;
  amountSentMsat: bigint;
  createdAt: number;
  completedAt: number | undefined;
  status: 'pending' | 'complete' | 'failed';
  preimage: string | undefined;
  /** The invoice paid: a BOLT 11 or a BOLT 12 string (listsendpays shows it as `bolt11` or `bolt12`). */
  bolt11: string;
}

/** A failed part's onion error code, as xpay names it in its error text. */
export function failureName(code: string): string {
  const names: Record<string, string> = {
    '400f': 'incorrect_or_unknown_payment_details',
    '0017': 'mpp_timeout',
    '2002': 'temporary_node_failure',
    '1007': 'temporary_channel_failure',
    '400a': 'unknown_next_peer',
    '4015': 'htlc_expired',
    '4008': 'permanent_channel_failure',
    '4016': 'invalid_onion_payload',
    '0012': 'final_incorrect_cltv_expiry',
    '0013': 'final_incorrect_htlc_amount',
    c018: 'invalid_onion_blinding',
  };
  return names[code] ?? `failure ${code}`;
}

export function sendpayJson(s: Sendpay): Record<string, unknown> {
  return {
    created_index: s.createdIndex,
    id: s.createdIndex,
    payment_hash: s.paymentHash,
    groupid: s.groupid,
    updated_index: s.createdIndex,
    partid: s.partid,
    destination: s.destination,
    amount_msat: s.amountMsat,
    amount_sent_msat: s.amountSentMsat,
    created_at: s.createdAt,
    ...(s.completedAt !== undefined ? { completed_at: s.completedAt } : {}),
    status: s.status,
    ...(s.preimage !== undefined ? { payment_preimage: s.preimage } : {}),
    ...(/^lni1/i.test(s.bolt11) ? { bolt12: s.bolt11 } : { bolt11: s.bolt11 }),
    ...(s.status === 'failed' ? { erroronion: randomBytes(64).toString('hex') } : {}),
  };
}
