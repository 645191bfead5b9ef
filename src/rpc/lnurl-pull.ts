/**
 * Pull the next payee's invoice from its Lightning Address or LNURL-pay
 * service, for exactly D msat: what a relay does when its downstream is an
 * address instead of a node that passes invoices back (issue 19). The steps
 * are LUD-06's, as a careful wallet takes them: read the pay parameters, check
 * D is within them, ask the callback, check the invoice (amount to the msat,
 * description hash of the metadata, network, secret, payee, time left).
 * The checks are src/chain/lnurl-pay.ts; the HTTP is src/rpc/http-get.ts, or
 * whatever `ctx.get` the caller gives (tests).
 */
import type { Msat } from '../chain/amount.js';
import { decodeBolt11, type Invoice } from '../chain/bolt11.js';
import type { NodeId } from '../chain/ids.js';
import {
  callbackUrl,
  checkPulledInvoice,
  cleanText,
  describeTarget,
  lnurlRefusal,
  LNURL_TIMEOUT_MS,
  parseCallbackAnswer,
  parsePayParams,
  parseTarget,
  type LnurlProblem,
  type PayParams,
} from '../chain/lnurl-pay.js';
import type { NetworkName } from '../chain/network.js';
import { err, ok, type Result } from '../errors.js';
import { getJson, type HttpGet, type HttpGetError, type HttpGetOptions } from './http-get.js';

export interface PullContext {
  network: NetworkName;
  ourNodeId: NodeId;
  /** Unix seconds: the invoice's time left is counted from here. */
  now: number;
  /** Seconds the invoice must still live when it arrives. */
  minLifeSeconds: number;
  /** The HTTP client; getJson unless a test gives its own. */
  get?: HttpGet;
  /** For the whole pull (both requests, redirects included). Default LNURL_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Per request; defaults as getJson's. */
  maxBodyBytes?: number;
  maxRedirects?: number;
  /** Stops the pull (the plugin is shutting down). */
  signal?: AbortSignal;
}

export interface PulledInvoice {
  /** The invoice as the server sent it (lower case, no lightning: prefix). */
  bolt11: string;
  invoice: Invoice;
  /** The metadata string as served: the invoice's description hash is sha256 of it. */
  metadata: string;
  /** Its text/plain entry. */
  description: string;
  /** The host of the address or URL the parameters came from (with its port if not the default). */
  domain: string;
  /** How to name the source in logs and records: describeAddress's words. */
  from: string;
}

/**
 * How an address or LNURL is named in logs: "name@domain", or the host and
 * path of an LNURL-pay URL (never its query, which may hold a token); text
 * that is neither, cleaned and cut short.
 */
export function describeAddress(text: string): string {
  const target = parseTarget(text);
  return target.ok ? describeTarget(target.value) : `"${cleanText(text, 60)}"`;
}

const problemText = (problem: LnurlProblem): string => (problem.kind === 'refused' ? `"${problem.reason}"` : problem.reason);

/** A failed request in words, with the server's own LNURL reason when it gave one with an error status. */
function requestFailure(failure: HttpGetError): string {
  const refusal = failure.kind === 'status' ? lnurlRefusal(failure.body) : undefined;
  return refusal === undefined ? failure.reason : `${failure.reason}: "${refusal.reason}"`;
}

async function readParams(get: HttpGet, url: string, from: string, options: HttpGetOptions): Promise<Result<PayParams, string>> {
  const first = await get(url, options);
  if (!first.ok) return err(`could not read the pay parameters of ${from}: ${requestFailure(first.error)}`);
  const params = parsePayParams(first.value.body, new URL(first.value.url));
  if (!params.ok) {
    return err(params.error.kind === 'refused' ? `${from} refused: ${problemText(params.error)}` : `${from} answered pay parameters rdv cannot use: ${params.error.reason}`);
  }
  return params;
}

/**
 * The pay parameters of `target` alone (what rdv policy add and rdv doctor look
 * at: is the address there, and what does it take), bounded as pullInvoice's
 * requests are; or why not, in one line.
 */
export async function readPayParams(target: string, o: { get?: HttpGet; timeoutMs?: number } = {}): Promise<Result<PayParams, string>> {
  const parsed = parseTarget(target);
  if (!parsed.ok) return parsed;
  return readParams(o.get ?? getJson, parsed.value.url, describeTarget(parsed.value), { timeoutMs: o.timeoutMs ?? LNURL_TIMEOUT_MS });
}

/**
 * Pull an invoice for exactly `amountMsat` from `target` (a Lightning Address
 * name@domain, an LNURL, or an LNURL-pay https URL; see parseTarget): read
 * the pay parameters, check `amountMsat` is within minSendable..maxSendable,
 * call the callback with it, decode the invoice and check it (checkPulledInvoice).
 * Every request is bounded in time (all of them together: `ctx.timeoutMs`),
 * size and redirects. Never throws: a failure is one line that names the
 * address or domain and says what was wrong, with the server's own reason
 * (quoted, cleaned) when it refused.
 */
export async function pullInvoice(target: string, amountMsat: Msat, ctx: PullContext): Promise<Result<PulledInvoice, string>> {
  const parsed = parseTarget(target);
  if (!parsed.ok) return parsed;
  const from = describeTarget(parsed.value);
  if (amountMsat < 1n) return err(`cannot ask ${from} for ${amountMsat} msat: an invoice needs at least 1 msat`);
  const get = ctx.get ?? getJson;
  const totalMs = ctx.timeoutMs ?? LNURL_TIMEOUT_MS;
  const started = performance.now();
  const options = (): HttpGetOptions => {
    const o: HttpGetOptions = { timeoutMs: Math.max(1, Math.round(totalMs - (performance.now() - started))) };
    if (ctx.maxBodyBytes !== undefined) o.maxBodyBytes = ctx.maxBodyBytes;
    if (ctx.maxRedirects !== undefined) o.maxRedirects = ctx.maxRedirects;
    if (ctx.signal !== undefined) o.signal = ctx.signal;
    return o;
  };

  const params = await readParams(get, parsed.value.url, from, options());
  if (!params.ok) return params;
  const { minSendableMsat: min, maxSendableMsat: max } = params.value;
  if (amountMsat < min || amountMsat > max) return err(`${from} takes ${min} to ${max} msat, and ${amountMsat} msat is outside that`);

  const second = await get(callbackUrl(params.value, amountMsat), options());
  if (!second.ok) return err(`${from}'s callback gave no invoice for ${amountMsat} msat: ${requestFailure(second.error)}`);
  const answer = parseCallbackAnswer(second.value.body);
  if (!answer.ok) {
    return err(
      answer.error.kind === 'refused'
        ? `${from} refused to make an invoice for ${amountMsat} msat: ${problemText(answer.error)}`
        : `${from}'s callback answered something rdv cannot use: ${answer.error.reason}`,
    );
  }
  const decoded = decodeBolt11(answer.value.pr);
  if (!decoded.ok) return err(`${from} sent an invoice that does not decode: ${decoded.error}`);
  const problem = checkPulledInvoice(decoded.value, {
    amountMsat,
    metadata: params.value.metadata,
    network: ctx.network,
    ourNodeId: ctx.ourNodeId,
    now: ctx.now,
    minLifeSeconds: ctx.minLifeSeconds,
    from,
  });
  if (problem !== undefined) return err(problem);
  return ok({
    bolt11: decoded.value.bolt11,
    invoice: decoded.value,
    metadata: params.value.metadata,
    description: params.value.description,
    domain: parsed.value.domain,
    from,
  });
}
