/**
 * `rdv request`: on the first payee, ask the chain for an invoice of an amount,
 * through one of its relay policies (the plugin's rdv-request does the work:
 * src/relay/requests.ts). Thin: parse and check everything, ask, print the
 * invoice (a QR code on a terminal) or its JSON.
 */
import { formatAmount, parseAmount, MAX_MSAT } from '../chain/amount.js';
import { shortHash, isNodeId } from '../chain/ids.js';
import { MAX_DESCRIPTION_BYTES } from '../chain/policy/policy.js';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS } from '../chain/request.js';
import { formatDuration } from '../chain/units.js';
import { inputError, usageError } from '../errors.js';
import { requestInvoice, type InvoiceAsked } from '../rpc/request.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';

export interface RequestOptions {
  amount?: string;
  via?: string;
  description?: string;
  timeout?: string;
  qr?: boolean;
}


/** Everything checked before the node is asked anything: bad input is exit 2, nothing written. */
function asked(o: RequestOptions): InvoiceAsked {
  if (o.amount === undefined || o.via === undefined) {
    throw usageError(`rdv request needs ${[o.amount === undefined ? '--amount' : '', o.via === undefined ? '--via' : ''].filter(Boolean).join(' and ')}: e.g. rdv request --amount 102000sat --via <policy id or next payee's node id>`);
  }
  const amount = parseAmount(o.amount);
  if (!amount.ok) throw inputError(`--amount: ${amount.error}`);
  if (amount.value > MAX_MSAT) throw inputError('--amount is larger than 21 million BTC');
  const via = o.via.trim().toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(via) && !isNodeId(via)) throw inputError(`--via "${o.via}" is neither a policy id (8 hex digits, see rdv policy list) nor a node id (66 hex digits)`);
  if (o.description !== undefined && Buffer.byteLength(o.description, 'utf8') > MAX_DESCRIPTION_BYTES) {
    throw inputError(`--description is ${Buffer.byteLength(o.description, 'utf8')} bytes; an invoice description holds at most ${MAX_DESCRIPTION_BYTES}`);
  }
  let timeoutSeconds = DEFAULT_REQUEST_TIMEOUT_SECONDS;
  if (o.timeout !== undefined) {
    const t = /^\s*(\d{1,3})\s*s?\s*$/.exec(o.timeout);
    const n = t ? Number(t[1]) : NaN;
    if (!(n >= MIN_REQUEST_TIMEOUT_SECONDS && n <= MAX_REQUEST_TIMEOUT_SECONDS)) throw inputError(`--timeout "${o.timeout}" is not a number of seconds from ${MIN_REQUEST_TIMEOUT_SECONDS} to ${MAX_REQUEST_TIMEOUT_SECONDS}`);
    timeoutSeconds = n;
  }
  return { amountMsat: amount.value, via, timeoutSeconds, ...(o.description !== undefined ? { description: o.description } : {}) };
}

export async function run(g: GlobalOptions, opts: RequestOptions): Promise<void> {
  const out = makeOutput(g);
  const ask = asked(opts);
  await withNode(g, async (node) => {
    const spinner = await out.spinner(`Asking the chain for an invoice of ${formatAmount(ask.amountMsat)}…`);
    const inv = await requestInvoice(node, ask).finally(() => spinner.stop());
    if (g.json) {
      out.json({ bolt11: inv.bolt11, payment_hash: inv.paymentHash, amount_msat: inv.amountMsat, expires_at: inv.expiresAt, policy: inv.policy ?? null });
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    out.info(out.c.green(`Invoice for ${formatAmount(inv.amountMsat)} (payment hash ${shortHash(inv.paymentHash)}…), joined by policy ${inv.policy ?? '?'}:`));
    out.result(inv.bolt11);
    if (opts.qr !== false) await out.qr(inv.bolt11);
    out.info();
    out.info(`It expires in ${formatDuration(Math.max(0, inv.expiresAt - now))}. Give it to the payer; every payee of the chain is paid by that one payment.`);
    out.info(`Follow it with: rdv status ${shortHash(inv.paymentHash)}`);
  });
}
