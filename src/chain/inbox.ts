/** Deciding what to do with an invoice a peer passed back to us. Pure. */
import { decodeBolt11, type Invoice } from './bolt11.js';
import type { NodeId } from './ids.js';
import type { NetworkName } from './network.js';
import type { InboxEntry } from './record.js';
import { err, ok, type Result } from '../errors.js';

export interface InboxContext {
  network: NetworkName;
  ourNodeId: NodeId;
  now: number;
  /** The entry we already hold for this hash, if any. */
  existing: InboxEntry | undefined;
}

/**
 * Accept or refuse a passed-back invoice. The sender is authenticated by the
 * peer connection, so the invoice must be payable to the sender itself: a peer
 * cannot put someone else's invoice in our inbox.
 */
export function judgePassedInvoice(bolt11: string, from: NodeId, note: string | undefined, ctx: InboxContext): Result<{ entry: InboxEntry; invoice: Invoice }> {
  const decoded = decodeBolt11(bolt11);
  if (!decoded.ok) return err(decoded.error);
  const inv = decoded.value;
  if (!inv.networks.includes(ctx.network)) return err(`invoice is for ${inv.networks.join('/')}, this node runs on ${ctx.network}`);
  if (inv.payee !== from) return err('invoice is not payable to the peer that sent it');
  if (inv.payee === ctx.ourNodeId) return err('invoice is payable to us');
  if (inv.amountMsat === undefined || inv.amountMsat === 0n) return err('invoice has no amount');
  if (inv.paymentSecret === undefined) return err('invoice has no payment secret');
  if (inv.expiresAt <= ctx.now) return err('invoice has expired');
  if (ctx.existing && ctx.existing.from !== from) return err('we already hold an invoice for this payment hash from another peer');
  const entry: InboxEntry = { version: 1, paymentHash: inv.paymentHash, bolt11: inv.bolt11, from, receivedAt: ctx.now };
  if (note !== undefined) entry.note = note;
  return ok({ entry, invoice: inv });
}
