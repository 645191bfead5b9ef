/**
 * What each endpoint answers, given a routed request: the Lightning Address pay
 * parameters, the callback (chains at once, an answer within the deadline, the
 * invoice checked, a verify token stored), LUD-21 verify, and the lnproxy wrap.
 * The HTTP edge (server.ts) reads and bounds the request and writes the Reply;
 * this file never touches a socket.
 *
 * LNURL's errors are answers, not HTTP failures: a bad amount, a refusal by the
 * chain, no answer in time, an unknown name or token, a node that is down, all
 * come as HTTP 200 with {"status":"ERROR","reason"}, as most LNURL servers (and
 * lnproxy's /spec) answer them, because wallets and LNURL client libraries (e.g.
 * lnurl-pay, over axios) read the reason only from a 200 and show a bare "status
 * code 502" otherwise. HTTP codes are kept for what is not LNURL's: the edge's
 * bounds (an unknown path 404, 405, 414, 413, 431, a rate 429, connections), the
 * chains-at-once bound (503 with Retry-After, like the rate), a bug (500), and
 * lnproxy's plain-text GET /api, whose only signal is its status.
 */
import type { Msat } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { shortHash } from '../chain/ids.js';
import { MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS } from '../chain/request.js';
import { RdvError } from '../errors.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { askChain, askWrap, type RequestProblem } from '../rpc/request.js';
import { parseAskedAmount, sendableBounds } from './amounts.js';
import { loadPolicy, loadToken, settledPreimage, storeToken, type PolicyProblem } from './backend.js';
import type { ServeConfig } from './config.js';
import { Slots } from './limits.js';
import { callbackReply, lnurlError, metadataFor, metadataHash, namePath, payParams, servedInvoiceProblem, verifyReply } from './lnurl.js';
import type { Route } from './request.js';
import { newEntry, TOKEN_BYTES } from './tokens.js';
import { parseRoutingMsat, parseSpecBody, type WrapRequest } from './wrap.js';

/** An HTTP answer: a JSON body, or text (lnproxy's GET /api). */
export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

const CORS = { 'Access-Control-Allow-Origin': '*' };
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({ status, json: body, headers: { ...CORS, ...headers } });
/** An LNURL error: HTTP 200, so that every wallet reads the reason. */
const error = (reason: string): Reply => json(200, lnurlError(reason));
/** The chains-at-once bound: HTTP 503 and Retry-After, like the edge's own bounds (see above). */
const busy = (): Reply => json(503, lnurlError('too many payments are being set up at once: try again in a few seconds'), { 'Retry-After': '2' });
const NODE_DOWN = 'the Lightning node is not reachable now: try again in a minute';

/** The invoice must still live this long when handed out: a wallet needs time to pay. */
export const MIN_INVOICE_LIFE_SECONDS = 60;

export interface AppDeps {
  node: LightningNode;
  info: NodeInfo;
  config: ServeConfig;
  /** Unix milliseconds. */
  nowMs: () => number;
  random: (bytes: number) => Buffer;
  log: (level: 'info' | 'warn', message: string) => void;
}

/** An address's fixed part: its via and its metadata string, made once and served (and hashed) byte for byte. */
interface Served {
  via: string;
  metadata: string;
  descriptionHash: string;
}

export class ServeApp {
  readonly chains: Slots;
  private readonly names = new Map<string, Served>();

  constructor(private readonly d: AppDeps) {
    this.chains = new Slots(d.config.limits.maxChains);
    for (const a of d.config.addresses) {
      const metadata = metadataFor(a.name, d.config.publicUrl, d.config.description);
      this.names.set(a.name, { via: a.via, metadata, descriptionHash: metadataHash(metadata) });
    }
  }

  private now(): number {
    return Math.floor(this.d.nowMs() / 1000);
  }

  /** Answer a routed request (the rate limit and body bounds were applied by the edge). */
  async handle(route: Route, body: string | undefined): Promise<Reply> {
    try {
      switch (route.kind) {
        case 'preflight':
          return { status: 204, headers: { ...CORS, 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'Content-Type' } };
        // Each answer comes within the deadline, whatever lightningd does; the callback and
        // the wrap keep their own, with the chains slot held until the chain answers.
        case 'pay-params':
          return this.lateOr(await this.withinDeadline(this.payParams(route.name)));
        case 'callback':
          return await this.callback(route.name, route.amount);
        case 'verify':
          return this.lateOr(await this.withinDeadline(this.verify(route.name, route.token)));
        case 'wrap-spec': {
          const req = parseSpecBody(body ?? '');
          if (!req.ok) return error(req.error);
          return await this.wrap(req.value, 'json');
        }
        case 'wrap-api': {
          const routing = parseRoutingMsat(route.routingMsat);
          if (!routing.ok) return text(400, routing.error);
          return await this.wrap({ invoice: route.invoice, routingMsat: routing.value, description: undefined, descriptionHash: undefined }, 'text');
        }
      }
    } catch (e) {
      if (e instanceof RdvError && e.kind === 'unreachable') return route.kind === 'wrap-api' ? text(503, NODE_DOWN) : error(NODE_DOWN);
      this.d.log('warn', `unexpected error answering ${route.kind}: ${(e as Error).stack ?? String(e)}`);
      return json(500, lnurlError('internal error'));
    }
  }

  /** An address's policy and the amounts it takes now, or the error reply. */
  private async offer(name: string): Promise<{ served: Served; minMsat: Msat; maxMsat: Msat } | Reply> {
    const served = this.names.get(name);
    if (!served) return error(`no such Lightning Address here: ${name}`);
    const policy = await loadPolicy(this.d.node, served.via, this.now());
    if (!policy.ok) return this.policyProblem(name, policy.error);
    const bounds = sendableBounds(policy.value, { minMsat: this.d.config.minSendableMsat, maxMsat: this.d.config.maxSendableMsat });
    if (!bounds.ok) {
      this.d.log('warn', `${name}: ${bounds.error}`);
      return error(`${name} takes no payments now`);
    }
    return { served, ...bounds.value };
  }

  /** The book has no policy for an address now (logged for the operator; the wallet learns only that it takes no payments), or cannot be read. */
  private policyProblem(name: string, p: PolicyProblem): Reply {
    if (p.kind === 'unreachable') return error(NODE_DOWN);
    this.d.log('warn', `${name}: ${p.reason}`);
    return error(`${name} takes no payments now`);
  }

  private async payParams(name: string): Promise<Reply> {
    const offer = await this.offer(name);
    if ('status' in offer) return offer;
    return json(200, payParams(this.d.config.publicUrl, name, offer.served.metadata, { minMsat: offer.minMsat, maxMsat: offer.maxMsat }));
  }

  /** When an answer begun now must be sent (Unix ms). */
  private deadline(): number {
    return this.d.nowMs() + this.d.config.limits.answerWithinMs;
  }

  /** Wait for `work` until `untilMs` (default: the deadline from now); `late` when it has not finished by then (it goes on, its result unused). */
  private async withinDeadline<T>(work: Promise<T>, untilMs = this.deadline()): Promise<T | 'late'> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, untilMs - this.d.nowMs()))));
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private lateOr(r: Reply | 'late'): Reply {
    return r === 'late' ? error('the Lightning node did not answer in time: try again') : r;
  }

  private lateReply(): Reply {
    return error(`the payees did not answer within ${Math.ceil(this.d.config.limits.answerWithinMs / 1000)} s: try again`);
  }

  /**
   * rdv-request's and rdv-wrap's `timeout`: the seconds left until `untilMs`, so
   * the plugin stops waiting for the chain when we stop waiting for it (whole
   * seconds, down; within what the plugin takes).
   */
  private timeoutSeconds(untilMs: number): number {
    const left = Math.floor((untilMs - this.d.nowMs()) / 1000);
    return Math.min(MAX_REQUEST_TIMEOUT_SECONDS, Math.max(MIN_REQUEST_TIMEOUT_SECONDS, left));
  }

  private async callback(name: string, amountText: string | undefined): Promise<Reply> {
    const until = this.deadline();
    const offer = await this.withinDeadline(this.offer(name), until);
    if (offer === 'late') return this.lateOr(offer);
    if ('status' in offer) return offer;
    const asked = parseAskedAmount(amountText, offer);
    if (!asked.ok) return error(asked.error);
    const release = this.chains.take();
    if (!release) return busy();
    // The slot is held until the chain answers (or the RPC gives up), not until our deadline: it bounds the work asked of the node.
    const work = this.invoiceFor(name, offer.served, asked.value, this.timeoutSeconds(until)).finally(release);
    const r = await this.withinDeadline(work, until);
    if (r === 'late') {
      work.then(
        (x) => this.d.log('info', `${name}: the chain answered after the deadline (${'status' in x && x.status === 200 ? 'an invoice, unused' : 'an error'})`),
        () => undefined,
      );
      return this.lateReply();
    }
    return r;
  }

  /** Ask the chain (within `timeoutSeconds`), check what it returned as a wallet would, store a verify token. */
  private async invoiceFor(name: string, served: Served, askedMsat: Msat, timeoutSeconds: number): Promise<Reply> {
    const got = await askChain(this.d.node, { amountMsat: askedMsat, via: served.via, descriptionHash: served.descriptionHash, timeoutSeconds });
    if (!got.ok) {
      this.d.log(got.error.kind === 'refused' || got.error.kind === 'timeout' ? 'info' : 'warn', `${name}: no invoice for ${askedMsat} msat: ${got.error.message}`);
      return error(problemReason(got.error));
    }
    const decoded = decodeBolt11(got.value.bolt11);
    const now = this.now();
    const problem = decoded.ok
      ? servedInvoiceProblem(decoded.value, {
          amountMsat: askedMsat,
          descriptionHash: served.descriptionHash,
          paymentHash: got.value.paymentHash,
          network: this.d.info.network,
          nodeId: this.d.info.id,
          now,
          minLifeSeconds: MIN_INVOICE_LIFE_SECONDS,
        })
      : decoded.error;
    if (!decoded.ok || problem !== undefined) {
      // Nothing is handed out: the record rdv-request made stays unpaid and expires.
      this.d.log('warn', `${name}: refused the invoice rdv-request returned for ${shortHash(got.value.paymentHash)}: ${problem}`);
      return error(`the payees' invoice could not be used: ${problem}`);
    }
    const token = this.d.random(TOKEN_BYTES).toString('hex');
    const entry = newEntry(name, got.value.paymentHash, got.value.bolt11, decoded.value.expiresAt, now, this.d.config.verifyKeepSeconds);
    let verify: string | undefined;
    try {
      if (await storeToken(this.d.node, token, entry)) verify = namePath(this.d.config.publicUrl, name, `/verify/${token}`);
    } catch (e) {
      // LUD-21 is optional for wallets: the invoice is good without it.
      this.d.log('warn', `${name}: could not store a verify token for ${shortHash(got.value.paymentHash)} (${(e as Error).message}): answered without verify`);
    }
    return json(200, callbackReply(got.value.bolt11, verify));
  }

  private async verify(name: string, token: string): Promise<Reply> {
    const entry = await loadToken(this.d.node, token, this.now());
    // A name that does not match is the same answer as an unknown token: nothing to learn by trying.
    if (!entry || entry.name !== name) return error('Not found');
    return json(200, verifyReply(entry.bolt11, await settledPreimage(this.d.node, entry.paymentHash)));
  }

  /** lnproxy's wrap, by the plugin's rdv-wrap (the policy's gate and rdv join's checks are the plugin's). */
  private async wrap(req: WrapRequest, as: 'json' | 'text'): Promise<Reply> {
    // lnproxy's POST /spec answers errors as {status, reason} (HTTP 200); its GET /api as plain text with an HTTP code.
    const fail = (status: number, reason: string): Reply => (as === 'json' ? error(reason) : text(status, reason));
    const policy = this.d.config.wrapPolicy;
    if (policy === undefined) return as === 'json' ? json(404, lnurlError('not found')) : text(404, 'not found');
    const until = this.deadline();
    const release = this.chains.take();
    if (!release) return as === 'json' ? busy() : text(503, 'too many payments are being set up at once: try again in a few seconds', { 'Retry-After': '2' });
    const asked = { policy, bolt11: req.invoice, ...(req.routingMsat !== undefined ? { routingMsat: req.routingMsat } : {}), ...(req.description !== undefined ? { description: req.description } : {}), ...(req.descriptionHash !== undefined ? { descriptionHash: req.descriptionHash } : {}) };
    const work = askWrap(this.d.node, asked, this.timeoutSeconds(until)).finally(release);
    const r = await this.withinDeadline(work, until);
    if (r === 'late') return fail(504, 'the wrap took too long: try again');
    if (!r.ok) {
      const p = r.error;
      // The request was checked here first (parseSpecBody, the route): what rdv-wrap calls bad input is its policy.
      if (p.kind === 'input') {
        this.d.log('warn', `wrap: ${p.message}`);
        return fail(503, 'wrapping is not available now');
      }
      this.d.log(p.kind === 'refused' || p.kind === 'timeout' ? 'info' : 'warn', `wrap refused: ${p.message}`);
      return fail(p.kind === 'unreachable' || p.kind === 'no-plugin' ? 503 : 500, problemReason(p));
    }
    this.d.log('info', `wrapped ${shortHash(r.value.paymentHash)}: ${r.value.amountMsat} msat`);
    return as === 'json' ? json(200, { proxy_invoice: r.value.bolt11 }) : { status: 200, text: r.value.bolt11, headers: CORS };
  }
}

/** A plain-text answer (lnproxy's GET /api). */
function text(status: number, reason: string, headers: Record<string, string> = {}): Reply {
  return { status, text: `${reason}\n`, headers: { ...CORS, ...headers } };
}

/** What a wallet (or an lnproxy client) is told when the plugin gave no invoice. */
function problemReason(p: RequestProblem): string {
  switch (p.kind) {
    case 'unreachable':
      return NODE_DOWN;
    case 'no-plugin':
      return 'this node cannot make invoices on request now: try again later';
    case 'input':
    case 'refused':
    case 'timeout':
    case 'failed':
      return p.message;
  }
}
