/**
 * Joining a chain as its last payee: a normal invoice on our node and the `last`
 * record beside it. Shared by `rdv join --last` and the plugin answering an
 * invoice request by a last-payee policy (src/relay/requests.ts), so both make
 * the same invoice and the same record.
 */
import { randomBytes } from 'node:crypto';
import type { Msat } from '../chain/amount.js';
import { relayKey, serializeRecord, type LastRecord, type RequestOrigin } from '../chain/record.js';
import { err, ok, type Result } from '../errors.js';
import type { LightningNode } from './node.js';

export interface LastInvoiceRequest {
  amountMsat: Msat;
  description: string;
  /** The invoice's life in seconds (CLN's default, a week, when absent). */
  expirySeconds?: number;
  /** The last-payee policy making it. */
  policy?: string;
  /** Made to answer this node's request. */
  requestedBy?: RequestOrigin;
  /** Unix seconds. */
  now: () => number;
}

/**
 * Make the invoice (CLN's `invoice`), then store its record with must-create. If
 * the record cannot be stored the invoice is deleted again, so nothing is left
 * that rdv does not know of. Throws what the node's `invoice` throws (nothing
 * is written then).
 */
export async function makeLastInvoice(node: LightningNode, req: LastInvoiceRequest): Promise<Result<{ record: LastRecord; generation: number }>> {
  const label = `rdv-${req.now()}-${randomBytes(4).toString('hex')}`;
  const inv = await node.invoice({ amountMsat: req.amountMsat, label, description: req.description, ...(req.expirySeconds !== undefined ? { expiry: req.expirySeconds } : {}) });
  const t = req.now();
  const record: LastRecord = {
    version: 1,
    role: 'last',
    paymentHash: inv.paymentHash,
    bolt11: inv.bolt11,
    label,
    amountMsat: req.amountMsat,
    description: req.description,
    expiresAt: inv.expiresAt,
    createdAt: t,
    updatedAt: t,
    ...(req.policy !== undefined ? { policy: req.policy } : {}),
    ...(req.requestedBy !== undefined ? { requestedBy: req.requestedBy } : {}),
  };
  const w = await node.datastoreCreate(relayKey(inv.paymentHash), serializeRecord(record));
  if (!w.ok) {
    await node.delinvoice(label, 'unpaid').catch(() => undefined);
    return err(`could not store the rdv record (${w.reason}); the invoice was deleted again`);
  }
  return ok({ record, generation: w.generation });
}
