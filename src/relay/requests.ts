/**
 * Invoice requests (on-demand chains) in the plugin: a payee asks the next payee
 * for an invoice of an amount it names, and each node answers by the policy it
 * already has (src/chain/policy/book.ts requestPolicyFor):
 *   - a last-payee policy for the asker: a normal invoice for the amount asked,
 *     made and stored as `rdv join --last` makes it (src/rpc/join-last.ts);
 *   - a relay policy passing to the asker: ask the policy's --from node for the
 *     downstream amount D (src/chain/policy/asked.ts), join its answer by the
 *     policy (src/relay/policy-join.ts, every check of a pass-back's join, our
 *     invoice exactly the amount asked), and answer with our invoice.
 * rdv-request starts the same from the first payee (`request`); rdv-wrap joins
 * an invoice of anyone's by a policy, for rdv serve --wrap (`wrap`).
 *
 * Requests arrive through the inbox's bounded queues and one worker (src/relay/
 * inbox.ts). The worker only decides (time and hops, the policy, the amount, the
 * PolicyGate's bounds, all before anything is asked or written); the wait for the
 * next payee runs outside it, since the answer comes through that same worker.
 * Getting the next payee's invoice (asking its node, or pulling from its offer
 * or address) is src/relay/next-invoice.ts: our own request to the next payee
 * has a fresh id; only that node's answer to that id is taken. A wait that runs out writes nothing: a late answer is
 * dropped, and all that may stay behind downstream is an unpaid invoice that
 * expires. Every refusal answers the asker, with the reason and our node id in
 * front (src/chain/request.ts passedBack).
 */
import { formatAmount, type Msat } from '../chain/amount.js';
import { shortHash, type NodeId } from '../chain/ids.js';
import type { InvoiceRequest, PassbackMessage } from '../chain/passback.js';
import { downstreamForAsked, type AskedSplit } from '../chain/policy/asked.js';
import { requestPolicyFor, viaPolicy } from '../chain/policy/book.js';
import { descriptionProblem, lastAmountProblem, unpaidMadeBy, wrapValues } from '../chain/policy/decide.js';
import type { LastPolicy, Policy, PolicyBook } from '../chain/policy/policy.js';
import type { AnyRecord, LastRecord, RelayRecord, RequestOrigin } from '../chain/record.js';
import { answerInTime, firstOnward, passedBack, relayOnward, type Onward } from '../chain/request.js';
import { err, ok, type Result } from '../errors.js';
import { makeLastInvoice } from '../rpc/join-last.js';
import type { Pull } from '../rpc/pull.js';
import type { Stored } from '../rpc/records.js';
import type { PolicyGate } from './policy-gate.js';
import { joinInvoice, type PolicyJoinDeps } from './policy-join.js';
import { NextInvoices, type Answer, type Refusal } from './next-invoice.js';
import { Samples } from './runner/samples.js';

/** Requests under way at once across the plugin (each holds a timer and, for a relay, a wait): more are refused. */
export const MAX_REQUESTS_AT_ONCE = 32;
/** How often the unpaid invoices of a last-payee policy at its --max-unpaid are looked up again. */
const PAID_CHECK_MS = 5_000;
/** One refusal to a node with no policy here, and one log line, per this long. */
const NOTICE_MS = 60_000;
const NOTICE_KEYS = 4_096;

export interface RequestDeskDeps extends PolicyJoinDeps {
  /** Milliseconds, for waits and timings. */
  nowMs: () => number;
  gate: PolicyGate;
  /** Hand a stored record to the relay runner (which counts it against the bounds from then on). */
  adopt: (stored: Stored<AnyRecord>) => void;
  /** The policy book, as stored now (throws if unreadable). */
  book: () => Promise<PolicyBook>;
  /** The last payees' records the runner holds. */
  lastRecords: () => Iterable<LastRecord>;
  /** Send a pass-back message to a peer. */
  send: (to: NodeId, m: PassbackMessage) => Promise<void>;
  /** Pull from an offer or a Lightning Address; absent: policies that pull refuse. */
  pull?: Pull;
  /** A fresh request id (16 random bytes, hex); passed in for tests. */
  requestId?: () => string;
}

/** Why rdv-request got no invoice: `input`, `via` names no relay policy (bad input); `timeout`, no answer in time. */
export interface RequestFailure {
  kind: 'input' | 'refused' | 'timeout';
  message: string;
}

/** For rdv-status (a type, so that it is JSON). */
export type RequestStats = {
  received: number;
  answered: number;
  refused: number;
  asked: number;
  pulled: number;
  timed_out: number;
  answers_dropped: number;
  under_way: number;
};


export class RequestDesk {
  private underWay = 0;
  /** Hashes of last payees' invoices known to be paid (a paid invoice stays paid). */
  readonly paidLast = new Set<string>();
  private readonly paidCheckedAt = new Map<string, number>();
  private readonly notices = new Map<string, number>();
  private readonly counters = { received: 0, answered: 0, refused: 0 };
  /** Getting the next payee's invoice: asked of its node, or pulled from its offer or address. */
  private readonly next: NextInvoices;
  /** rdv-request: asked -> our invoice, in ms. */
  readonly times = new Samples();

  constructor(private readonly deps: RequestDeskDeps) {
    this.next = new NextInvoices(deps, (key, say) => this.notice(key, say));
  }

  stats(): RequestStats {
    return { ...this.counters, ...this.next.counters, under_way: this.underWay };
  }

  /**
   * A request from `from`, from the inbox worker: decided here (answered at once
   * when refused); the answer itself is made outside the worker.
   */
  async onRequest(from: NodeId, m: InvoiceRequest): Promise<void> {
    this.counters.received++;
    const now = this.deps.now();
    let book: PolicyBook;
    try {
      book = await this.deps.book();
    } catch (e) {
      this.notice('book', () => this.deps.log('error', `rdv policies unreadable, answering no invoice request: ${(e as Error).message}`));
      return this.refuse(from, m.requestId, 'its policies cannot be read now');
    }
    const found = requestPolicyFor(book, from, now);
    if (!found.ok) return this.refuse(from, m.requestId, found.error);
    if (found.value === undefined) {
      // A node this one answers nothing for: one answer and one log line a minute, not one per message.
      this.counters.refused++;
      if (this.notice(`stranger:${from}`, () => this.deps.log('warn', `refused an invoice request from ${from}: no policy here answers its requests (further ones are not answered for a minute)`))) {
        await this.sendRefusal(from, m.requestId, 'no policy here answers your invoice requests');
      }
      return;
    }
    if (this.underWay >= MAX_REQUESTS_AT_ONCE) return this.refuse(from, m.requestId, `${this.underWay} requests are under way here, the most at once: try again in a few seconds`, 'busy');
    if (found.value.kind === 'last') return this.answerLast(from, m, found.value.policy);
    return this.answerRelay(from, m, found.value.policy);
  }

  /** An answer to one of our requests: taken only from the node we asked, while we wait (next-invoice.ts). */
  onAnswer(from: NodeId, requestId: string, answer: Exclude<Answer, { kind: 'timeout' }>): void {
    this.next.onAnswer(from, requestId, answer);
  }

  /**
   * rdv-request: ask the chain through relay policy `via` (its id, or its --from
   * node) for an invoice of exactly `askedMsat`, join the answer, and return our
   * stored record. `description`/`descriptionHash` are our invoice's own.
   */
  async request(via: string, askedMsat: Msat, o: { description?: string; descriptionHash?: string; timeoutSeconds: number }): Promise<Result<RelayRecord, RequestFailure>> {
    const t0 = this.deps.nowMs();
    const now = this.deps.now();
    const found = await this.relayPolicy(via, now);
    if (!found.ok) return found;
    const policy = found.value;
    const split = downstreamForAsked(policy, askedMsat);
    if (!split.ok) return err({ kind: 'refused', message: `policy ${policy.id}: ${split.error}` });
    if (this.underWay >= MAX_REQUESTS_AT_ONCE) return err({ kind: 'refused', message: `${this.underWay} requests are under way, the most at once: try again in a few seconds` });
    const ticket = this.deps.gate.admit(policy, { delivers: false });
    if (!ticket.ok) return err({ kind: 'refused', message: `policy ${policy.id}: ${ticket.error}` });
    this.underWay++;
    try {
      const joined = await this.askAndJoin(policy, split.value, askedMsat, firstOnward(now, o.timeoutSeconds), {
        requestedBy: 'rpc',
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.descriptionHash !== undefined ? { descriptionHash: o.descriptionHash } : {}),
      });
      if (!joined.ok) return err({ kind: joined.error.timeout ? 'timeout' : 'refused', message: joined.error.reason });
      this.times.add(this.deps.nowMs() - t0);
      this.deps.log('info', `rdv-request: policy ${policy.id} joined ${shortHash(joined.value.record.paymentHash)} for ${formatAmount(askedMsat)} in ${this.deps.nowMs() - t0} ms`);
      return ok(joined.value.record);
    } finally {
      ticket.value.end();
      this.underWay--;
    }
  }

  /**
   * rdv-wrap (rdv serve --wrap, lnproxy's API): join `bolt11`, an invoice of
   * anyone's, as a relay by policy `policyId` (passed by no one: nothing is
   * asked of its payee), through the same gate and join as a pass-back, so the
   * policy's bounds count wraps with everything else it joins. With
   * `routingMsat` our invoice is exactly the original amount plus it. Our stored
   * record, or why not (nothing written then).
   */
  async wrap(policyId: string, bolt11: string, o: { routingMsat?: Msat; description?: string; descriptionHash?: string }): Promise<Result<RelayRecord, RequestFailure>> {
    const found = await this.relayPolicy(policyId, this.deps.now());
    if (!found.ok) return found;
    const policy = found.value;
    // A description a stranger asks our node to sign is bounded like a downstream one.
    const long = descriptionProblem(policy, o.description);
    if (long) return err({ kind: 'refused', message: long });
    const ticket = this.deps.gate.admit(policy, { delivers: false });
    if (!ticket.ok) return err({ kind: 'refused', message: `policy ${policy.id}: ${ticket.error}` });
    try {
      const joined = await joinInvoice(this.deps, policy, bolt11, undefined, {
        values: (downstreamMsat, values) => wrapValues(values, downstreamMsat, o.routingMsat),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.descriptionHash !== undefined ? { descriptionHash: o.descriptionHash } : {}),
      });
      if (!joined.ok) return err({ kind: 'refused', message: joined.error });
      this.deps.adopt(joined.value);
      const r = joined.value.record;
      this.deps.log('info', `rdv-wrap: policy ${policy.id} wrapped ${shortHash(r.paymentHash)}: ${formatAmount(r.amountMsat)} over ${formatAmount(r.downstreamAmountMsat)}`);
      return ok(r);
    } finally {
      ticket.value.end();
    }
  }

  /** The relay policy `via` names for rdv-request and rdv-wrap (src/chain/policy/book.ts viaPolicy); one that is not there is bad input. */
  private async relayPolicy(via: string, now: number): Promise<Result<Policy, RequestFailure>> {
    let book: PolicyBook;
    try {
      book = await this.deps.book();
    } catch (e) {
      return err({ kind: 'refused', message: `the policies cannot be read: ${(e as Error).message}` });
    }
    const found = viaPolicy(book, via, now);
    return found.ok ? found : err({ kind: 'input', message: found.error });
  }

  // --- answering --------------------------------------------------------------

  /** A last-payee policy: a normal invoice of ours for the amount asked. */
  private async answerLast(from: NodeId, m: InvoiceRequest, policy: LastPolicy): Promise<void> {
    const inTime = answerInTime(m, this.deps.now());
    if (!inTime.ok) return this.refuse(from, m.requestId, inTime.error);
    const amount = lastAmountProblem(policy, m.amountMsat);
    if (amount) return this.refuse(from, m.requestId, `policy ${policy.id}: ${amount}`);
    await this.refreshPaid(policy);
    const ticket = this.deps.gate.admit(policy);
    if (!ticket.ok) return this.refuse(from, m.requestId, `policy ${policy.id}: ${ticket.error}`, `bound:${policy.id}`);
    this.underWay++;
    void this.outside(from, m.requestId, async () => {
      try {
        const made = await makeLastInvoice(this.deps.node, {
          amountMsat: m.amountMsat,
          description: policy.description,
          expirySeconds: policy.invoiceExpirySeconds,
          policy: policy.id,
          requestedBy: from,
          now: this.deps.now,
        });
        if (!made.ok) return err({ reason: made.error, timeout: false });
        this.deps.adopt(made.value);
        return ok(made.value.record);
      } finally {
        ticket.value.end();
        this.underWay--;
      }
    });
  }

  /** A relay policy passing to the asker: ask its --from node for D, join, answer. */
  private async answerRelay(from: NodeId, m: InvoiceRequest, policy: Policy): Promise<void> {
    const onward = relayOnward(m, this.deps.now());
    if (!onward.ok) return this.refuse(from, m.requestId, onward.error);
    const split = downstreamForAsked(policy, m.amountMsat);
    if (!split.ok) return this.refuse(from, m.requestId, `policy ${policy.id}: ${split.error}`);
    const ticket = this.deps.gate.admit(policy, { delivers: false });
    if (!ticket.ok) return this.refuse(from, m.requestId, `policy ${policy.id}: ${ticket.error}`, `bound:${policy.id}`);
    this.underWay++;
    void this.outside(from, m.requestId, async () => {
      try {
        const joined = await this.askAndJoin(policy, split.value, m.amountMsat, onward.value, { requestedBy: from });
        return joined.ok ? ok(joined.value.record) : joined;
      } finally {
        ticket.value.end();
        this.underWay--;
      }
    });
  }

  /** Make the answer outside the inbox worker; send our invoice, or the refusal, to the asker. Never throws. */
  private async outside(to: NodeId, requestId: string, make: () => Promise<Result<AnyRecord, Refusal>>): Promise<void> {
    let made: Result<AnyRecord, Refusal>;
    try {
      made = await make();
    } catch (e) {
      this.deps.log('error', `request ${requestId.slice(0, 8)} from ${to}: ${(e as Error).message}`);
      made = err({ reason: 'this node failed to answer (see its log)', timeout: false });
    }
    if (!made.ok) return this.refuse(to, requestId, made.error.reason);
    this.counters.answered++;
    const r = made.value;
    this.deps.log('info', `request ${requestId.slice(0, 8)} from ${to}: answered with ${r.role === 'last' ? 'an invoice' : 'a relay invoice'} ${shortHash(r.paymentHash)} for ${formatAmount(r.amountMsat)}`);
    try {
      await this.deps.send(to, { kind: 'invoice', bolt11: r.bolt11, requestId });
    } catch (e) {
      // Nobody has our invoice then: an open record nobody pays, which expires.
      this.deps.log('warn', `could not send our answer to request ${requestId.slice(0, 8)} to ${to}: ${(e as Error).message}`);
    }
  }

  // --- asking -------------------------------------------------------------------

  /**
   * Get the next payee's invoice for exactly D (ask its --from node, or pull it
   * from its offer or address) by `onward.deadline`, and join it so our invoice
   * is exactly `askedMsat`. Nothing is written unless the invoice comes in time
   * and every check passes.
   */
  private async askAndJoin(
    policy: Policy,
    split: AskedSplit,
    askedMsat: Msat,
    onward: Onward,
    o: { requestedBy: RequestOrigin; description?: string; descriptionHash?: string },
  ): Promise<Result<Stored<RelayRecord>, Refusal>> {
    const got = await this.next.get(policy, split.downstreamMsat, onward);
    if (!got.ok) return got;
    const joined = await joinInvoice(this.deps, policy, got.value.invoice, got.value.from, {
      values: () => ok({ payoutMsat: split.payoutMsat, feeBudgetMsat: split.feeBudgetMsat, delayBudget: policy.delayBudget }),
      askedMsat,
      requestedBy: o.requestedBy,
      ...(got.value.source ? { source: got.value.source } : {}),
      ...(o.description !== undefined ? { description: o.description } : {}),
      ...(o.descriptionHash !== undefined ? { descriptionHash: o.descriptionHash } : {}),
    });
    if (!joined.ok) return err({ reason: `policy ${policy.id}: ${joined.error}`, timeout: false });
    this.deps.adopt(joined.value);
    return ok(joined.value);
  }

  // --- refusing -------------------------------------------------------------------

  /**
   * Answer a refusal, with our node id in front of the reason. `quiet`: a key under
   * which it is logged at most once a minute (a bound met by a flood), else logged each time.
   */
  private async refuse(to: NodeId, requestId: string, reason: string, quiet?: string): Promise<void> {
    this.counters.refused++;
    const line = `refused invoice request ${requestId.slice(0, 8)} from ${to}: ${reason}`;
    if (quiet) this.notice(quiet, () => this.deps.log('warn', `${line} (further such refusals are not logged for a minute)`));
    else this.deps.log('info', line);
    await this.sendRefusal(to, requestId, reason);
  }

  private async sendRefusal(to: NodeId, requestId: string, reason: string): Promise<void> {
    try {
      await this.deps.send(to, { kind: 'request-ack', requestId, accepted: false, reason: passedBack(this.deps.info.id, reason) });
    } catch (e) {
      this.deps.log('info', `could not send a refusal to ${to}: ${(e as Error).message}`);
    }
  }

  /**
   * At its --max-unpaid, look up (at most every 5 s) which of a last-payee policy's
   * unexpired invoices were paid meanwhile: those no longer count.
   */
  private async refreshPaid(policy: LastPolicy): Promise<void> {
    const unpaid = unpaidMadeBy(this.deps.lastRecords(), policy.id, this.deps.now(), this.paidLast);
    if (unpaid.length < policy.maxUnpaid) return;
    const at = this.deps.nowMs();
    if (at - (this.paidCheckedAt.get(policy.id) ?? -Infinity) < PAID_CHECK_MS) return;
    this.paidCheckedAt.set(policy.id, at);
    for (const r of unpaid) {
      const found = await this.deps.node.listinvoices({ label: r.label }).catch(() => []);
      if (found.some((i) => i.status === 'paid')) this.paidLast.add(r.paymentHash);
    }
  }

  /** Run `say` unless it ran for this key less than a minute ago. Returns whether it ran. */
  private notice(key: string, say: () => void): boolean {
    const now = this.deps.nowMs();
    const last = this.notices.get(key);
    if (last !== undefined && now - last < NOTICE_MS) return false;
    this.notices.delete(key);
    this.notices.set(key, now);
    if (this.notices.size > NOTICE_KEYS) {
      const oldest = this.notices.keys().next().value;
      if (oldest !== undefined) this.notices.delete(oldest);
    }
    say();
    return true;
  }
}
