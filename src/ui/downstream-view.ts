/** How `rdv status` names a relay's downstream: amount, payee, and where its invoice came from. Pure. */
import { formatAmount } from '../chain/amount.js';
import { downstreamInvoiceKind, type RelayRecord } from '../chain/record.js';
import { oneLine } from './text.js';

/** An offer is long (hundreds of characters): its start names it well enough on one line. */
const OFFER_SHOWN = 24;

/**
 * "100,000 sat to 02c3…", then, for a BOLT 12 invoice, "(BOLT 12)", and where rdv
 * fetched the invoice: "from offer lno1qgsq…" or "from carol@shop.example".
 */
export function downstreamText(r: RelayRecord): string {
  const kind = downstreamInvoiceKind(r.downstreamInvoice) === 'bolt12' ? ' (BOLT 12)' : '';
  const s = r.downstreamSource;
  const source = s === undefined ? '' : s.kind === 'offer' ? ` from offer ${s.offer.slice(0, OFFER_SHOWN)}…` : ` from ${oneLine(s.address)}`;
  return `${formatAmount(r.downstreamAmountMsat)} to ${r.downstreamPayee}${kind}${source}`;
}
