/**
 * What each endpoint answers, given a routed request: the Lightning Address pay
 * parameters, the callback (rate, chains at once, an answer within the deadline,
 * the invoice checked, a verify token stored), LUD-21 verify, and the lnproxy wrap.
 * The HTTP edge (server.ts) reads and bounds the request and writes the Reply;
 * this file never touches a socket.
 */
import type { Msat } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { shortHash } from '../chain/ids.js';
import { policyBounds, type Policy } from '../chain/policy/policy.js';
import { RdvError } from '../errors.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { parseAskedAmount, sendableBounds } from './amounts.js';
import { loadPolicy, loadToken, requestInvoice, settledPreimage, storeToken, wrapInvoice, type NodeProblem } from './backend.js';
import type { ServeConfig } from './config.js';
import { Slots, WrapCounter } from './limits.js';
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
const error = (status: number, reason: string, headers: Record<string, string> = {}): Reply => json(status, lnurlError(reason), headers);

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
  private readonly wraps = new WrapCounter();
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
          if (!req.ok) return error(400, req.error);
          return await this.wrap(req.value, 'json');
        }
        case 'wrap-api': {
          const routing = parseRoutingMsat(route.routingMsat);
          if (!routing.ok) return { status: 400, text: `${routing.error}\n`, headers: CORS };
          return await this.wrap({ invoice: route.invoice, routingMsat: routing.value, description: undefined, descriptionHash: undefined }, 'text');
        }
      }
    } catch (e) {
      if (e instanceof RdvError && e.kind === 'unreachable') return error(503, 'the Lightning node is not reachable now: try again in a minute');
      this.d.log('warn', `unexpected error answering ${route.kind}: ${(e as Error).stack ?? String(e)}`);
      return error(500, 'internal error');
    }
  }

  /** An address's policy and the amounts it takes now, or the error reply. */
  private async offer(name: string): Promise<{ served: Served; policy: Policy; minMsat: Msat; maxMsat: Msat } | Reply> {
    const served = this.names.get(name);
    if (!served) return error(404, `no such Lightning Address here: ${name}`);
    const policy = await loadPolicy(this.d.node, served.via);
    if (!policy.ok) return problemReply(policy.error);
    if (!policy.value) {
      this.d.log('warn', `${name}: no relay policy for ${served.via} (see rdv policy list)`);
      return error(503, `${name} takes no payments now`);
    }
    const bounds = sendableBounds(policy.value, { minMsat: this.d.config.minSendableMsat, maxMsat: this.d.config.maxSendableMsat }, this.now());
    if (!bounds.ok) {
      this.d.log('warn', `${name}: ${bounds.error}`);
      return error(503, `${name} takes no payments now`);
    }
    return { served, policy: policy.value, ...bounds.value };
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
    return r === 'late' ? error(504, 'the Lightning node did not answer in time: try again') : r;
  }

  private lateReply(): Reply {
    return error(504, `the payees did not answer within ${Math.ceil(this.d.config.limits.answerWithinMs / 1000)} s: try again`);
  }

  private async callback(name: string, amountText: string | undefined): Promise<Reply> {
    const until = this.deadline();
    const offer = await this.withinDeadline(this.offer(name), until);
    if (offer === 'late') return this.lateOr(offer);
    if ('status' in offer) return offer;
    const asked = parseAskedAmount(amountText, offer);
    if (!asked.ok) return error(400, asked.error);
    const release = this.chains.take();
    if (!release) return error(503, 'too many payments are being set up at once: try again in a few seconds', { 'Retry-After': '2' });
    // The slot is held until the chain answers (or the RPC gives up), not until our deadline: it bounds the work asked of the node.
    const work = this.invoiceFor(name, offer.served, asked.value).finally(release);
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

  /** Ask the chain, check what it returned as a wallet would, store a verify token. */
  private async invoiceFor(name: string, served: Served, askedMsat: Msat): Promise<Reply> {
    const got = await requestInvoice(this.d.node, { amountMsat: askedMsat, via: served.via, descriptionHash: served.descriptionHash });
    if (!got.ok) {
      if (got.error.kind === 'refused') this.d.log('info', `${name}: the chain refused ${askedMsat} msat: ${got.error.reason}`);
      return problemReply(got.error);
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
      return error(502, `the payees' invoice could not be used: ${problem}`);
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
    if (!entry || entry.name !== name) return error(404, 'Not found');
    return json(200, verifyReply(entry.bolt11, await settledPreimage(this.d.node, entry.paymentHash)));
  }

  private async wrap(req: WrapRequest, as: 'json' | 'text'): Promise<Reply> {
    const fail = (status: number, reason: string, headers: Record<string, string> = {}): Reply =>
      as === 'json' ? error(status, reason, headers) : { status, text: `${reason}\n`, headers: { ...CORS, ...headers } };
    const id = this.d.config.wrapPolicy;
    if (id === undefined) return fail(404, 'not found');
    const until = this.deadline();
    const policy = await this.withinDeadline(loadPolicy(this.d.node, id), until);
    if (policy === 'late') return as === 'json' ? this.lateOr(policy) : fail(504, 'the Lightning node did not answer in time: try again');
    if (!policy.ok) return as === 'json' ? problemReply(policy.error) : fail(problemStatus(policy.error), policy.error.reason);
    if (!policy.value || policy.value.id !== id) {
      this.d.log('warn', `wrap: policy ${id} is not in the book (see rdv policy list)`);
      return fail(503, 'wrapping is not available now');
    }
    const release = this.chains.take();
    if (!release) return fail(503, 'too many payments are being set up at once: try again in a few seconds', { 'Retry-After': '2' });
    const admitted = this.wraps.admit(policyBounds(policy.value), this.d.nowMs());
    if (!admitted.ok) {
      release();
      return fail(503, `wrapping is at its limit: try again in ${admitted.retryAfterSeconds} s`, { 'Retry-After': String(admitted.retryAfterSeconds) });
    }
    const work = wrapInvoice({ node: this.d.node, info: this.d.info, now: () => this.now(), warn: (m) => this.d.log('warn', `wrap: ${m}`) }, policy.value, req)
      .then((joined) => {
        // Counted as open whether or not it is answered in time: its relay record exists.
        if (joined.ok) this.wraps.joined(joined.value.expiresAt);
        return joined;
      })
      .finally(release);
    const r = await this.withinDeadline(work, until);
    if (r === 'late') return as === 'json' ? this.lateReply() : fail(504, 'the wrap took too long: try again');
    if (!r.ok) {
      if (r.error.kind === 'refused') this.d.log('info', `wrap refused: ${r.error.reason}`);
      return fail(r.error.kind === 'unreachable' ? 503 : r.error.input ? 400 : 502, r.error.kind === 'unreachable' ? 'the Lightning node is not reachable now: try again in a minute' : r.error.reason);
    }
    this.d.log('info', `wrapped ${shortHash(r.value.paymentHash)}: ${r.value.amountMsat} msat over ${r.value.downstreamAmountMsat} msat`);
    return as === 'json' ? json(200, { proxy_invoice: r.value.bolt11 }) : { status: 200, text: r.value.bolt11, headers: CORS };
  }
}

function problemStatus(p: NodeProblem): number {
  return p.kind === 'unreachable' ? 503 : 502;
}

function problemReply(p: NodeProblem): Reply {
  return p.kind === 'unreachable' ? error(503, 'the Lightning node is not reachable now: try again in a minute') : error(502, p.reason);
}
