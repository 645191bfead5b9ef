/**
 * Pulling the next payee's invoice when it runs no rdv (issue 19): a relay
 * policy (or rdv join) names the next payee's Lightning Address or BOLT 12
 * offer, and for a request of amount D the relay gets an invoice of exactly D:
 *   - an address over LNURL-pay (src/rpc/lnurl-pull.ts: https only, bounded in
 *     time, size and redirects), checked as a careful wallet checks it;
 *   - an offer with lightningd's fetchinvoice (onion messages), the invoice read
 *     through lightningd's decode and checked as BOLT 12's payer does
 *     (src/chain/bolt12.ts).
 * Either way the invoice is then joined with rdv join's own code, which checks
 * it again (src/rpc/join-relay.ts). Runs in the plugin's request path, never in
 * the htlc_accepted path.
 */
import type { Msat } from '../chain/amount.js';
import { checkBolt12Downstream, checkBolt12Offer } from '../chain/bolt12.js';
import { DEFAULT_EXPIRY_MARGIN_SECONDS, MIN_EXPIRY_SECONDS } from '../chain/invoice.js';
import { LNURL_TIMEOUT_MS } from '../chain/lnurl-pay.js';
import type { NetworkName } from '../chain/network.js';
import type { PullSource } from '../chain/policy/policy.js';
import { err, ok, type Result } from '../errors.js';
import { pullInvoice } from './lnurl-pull.js';
import type { LightningNode, NodeInfo } from './node.js';

/** Why no invoice was pulled; `timeout`: none came in time. */
export interface PullFailure {
  reason: string;
  timeout: boolean;
}

/** An invoice of exactly `amountMsat` from `source` within `waitMs`: its text (BOLT 11, or BOLT 12 for an offer). */
export type Pull = (source: PullSource, amountMsat: Msat, waitMs: number) => Promise<Result<string, PullFailure>>;

/** Less time than this left before the asker's deadline: not worth starting. */
const MIN_PULL_MS = 500;

export function makePull(node: LightningNode, info: NodeInfo & { network: NetworkName }, now: () => number): Pull {
  return async (source, amountMsat, waitMs) => {
    const timeoutMs = Math.min(waitMs, LNURL_TIMEOUT_MS);
    if (timeoutMs < MIN_PULL_MS) return err({ reason: 'no time left to pull the next payee\'s invoice before the deadline', timeout: true });
    if (source.kind === 'address') {
      const got = await pullInvoice(source.address, amountMsat, {
        network: info.network,
        ourNodeId: info.id,
        now: now(),
        minLifeSeconds: DEFAULT_EXPIRY_MARGIN_SECONDS + MIN_EXPIRY_SECONDS,
        timeoutMs,
      });
      return got.ok ? ok(got.value.bolt11) : err({ reason: got.error, timeout: false });
    }
    return pullFromOffer(node, info, source.offer, amountMsat, timeoutMs, now);
  };
}

/**
 * An invoice of exactly `amountMsat` from a BOLT 12 offer: the offer checked
 * (network, currency, expiry, quantity, recurrence, amount), fetchinvoice within
 * the time left, and the invoice checked as BOLT 12's payer does (signed by the
 * offer's issuer, that offer, that amount, unexpired, usable paths).
 */
async function pullFromOffer(node: LightningNode, info: NodeInfo & { network: NetworkName }, offerText: string, amountMsat: Msat, timeoutMs: number, now: () => number): Promise<Result<string, PullFailure>> {
  const offer = await node.decodeOffer(offerText);
  if (!offer.ok) return err({ reason: offer.error, timeout: false });
  const unfit = checkBolt12Offer(offer.value, { network: info.network, wantMsat: amountMsat, now: now() });
  if (unfit) return err({ reason: unfit, timeout: false });
  const fetched = await node.fetchinvoice({ offer: offerText, amountMsat, timeoutSeconds: Math.max(1, Math.floor(timeoutMs / 1000)) });
  if (!fetched.ok) {
    const p = fetched.error;
    const why: Record<typeof p.kind, string> = {
      expired: 'the offer expired',
      unreachable: "no route to the offer's issuer for an invoice request",
      refused: "the offer's issuer refused to make an invoice",
      timeout: "the offer's issuer did not answer in time",
      input: 'lightningd refused the invoice request',
      failed: 'fetchinvoice failed',
    };
    return err({ reason: `${why[p.kind]} (${p.message})`, timeout: p.kind === 'timeout' });
  }
  const inv = await node.decodeBolt12Invoice(fetched.value);
  if (!inv.ok) return err({ reason: `the offer's issuer answered with an invoice lightningd cannot read: ${inv.error}`, timeout: false });
  const problem = checkBolt12Downstream(inv.value, {
    offer: offer.value,
    wantMsat: amountMsat,
    network: info.network,
    ourNodeId: info.id,
    now: now(),
    expiryMarginSeconds: DEFAULT_EXPIRY_MARGIN_SECONDS,
    hashInUse: false,
  });
  return problem ? err({ reason: problem, timeout: false }) : ok(fetched.value);
}
