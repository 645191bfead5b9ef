/**
 * Getting the next payee's invoice for a request of amount D (src/relay/requests.ts):
 *   - a policy with --from asks that node (an invoice request over a peer
 *     message) and waits for its answer: only that node's answer to our fresh
 *     request id is taken, and only until the asker's deadline;
 *   - a policy with --offer or --address pulls the invoice (src/rpc/pull.ts).
 * Nothing is written here: the caller joins what comes back, or refuses.
 */
import { randomBytes } from 'node:crypto';
import { formatAmount, type Msat } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { shortHash, type NodeId } from '../chain/ids.js';
import type { PassbackMessage } from '../chain/passback.js';
import { nextPayeeText, type Policy, type PullSource } from '../chain/policy/policy.js';
import type { Onward } from '../chain/request.js';
import { err, ok, type Result } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import type { LogLevel } from '../rpc/plugin.js';
import type { Pull, PullFailure } from '../rpc/pull.js';

/** How an asked node answered our request, or that it did not in time. */
export type Answer = { kind: 'invoice'; bolt11: string } | { kind: 'refused'; reason: string } | { kind: 'timeout' };

/** Why no invoice came; `timeout`: none in time (the same as a pull's failure). */
export type Refusal = PullFailure;

/** The next payee's invoice for a request: asked of its node (`from`), or pulled from its offer or address (`source`). */
export interface NextInvoice {
  invoice: string;
  from: NodeId | undefined;
  source?: PullSource;
}

export interface NextInvoiceDeps {
  node: LightningNode;
  log: (level: LogLevel, message: string) => void;
  /** Milliseconds. */
  nowMs: () => number;
  send: (to: NodeId, m: PassbackMessage) => Promise<void>;
  pull?: Pull;
  requestId?: () => string;
}

interface Waiting {
  to: NodeId;
  done: (a: Answer) => void;
}

export class NextInvoices {
  /** Our requests waiting for an answer, by request id. */
  private readonly waiting = new Map<string, Waiting>();
  readonly counters = { asked: 0, pulled: 0, timed_out: 0, answers_dropped: 0 };

  /** `notice`: log at most once a minute per key (the desk's). */
  constructor(
    private readonly deps: NextInvoiceDeps,
    private readonly notice: (key: string, say: () => void) => boolean,
  ) {}

  /** An invoice of exactly `amountMsat` from the policy's next payee by `onward.deadline`, or why not. */
  get(policy: Policy, amountMsat: Msat, onward: Onward): Promise<Result<NextInvoice, Refusal>> {
    return policy.pull ? this.pullNext(policy.pull, amountMsat, onward) : this.askNext(policy, amountMsat, onward);
  }

  /** An answer to one of our requests: taken only from the node we asked, while we wait. */
  onAnswer(from: NodeId, requestId: string, answer: Exclude<Answer, { kind: 'timeout' }>): void {
    const w = this.waiting.get(requestId);
    if (!w || w.to !== from) {
      this.counters.answers_dropped++;
      const why = w ? `we asked ${w.to}, not it` : 'we wait for no such request (it ran out of time, or was never ours)';
      this.notice(`answer:${from}`, () => this.deps.log('warn', `dropped an answer to request ${requestId.slice(0, 8)} from ${from}: ${why}`));
      return;
    }
    w.done(answer);
  }

  /** An invoice of exactly `amountMsat` pulled from an offer or a Lightning Address (src/rpc/pull.ts), within the deadline. */
  private async pullNext(source: PullSource, amountMsat: Msat, onward: Onward): Promise<Result<NextInvoice, Refusal>> {
    const pull = this.deps.pull;
    const what = nextPayeeText({ pull: source });
    if (!pull) return err({ reason: `this node cannot pull from ${what}`, timeout: false });
    const waitMs = Math.max(0, onward.deadline * 1000 - this.deps.nowMs());
    this.counters.pulled++;
    const got = await pull(source, amountMsat, waitMs);
    if (!got.ok) {
      if (got.error.timeout) this.counters.timed_out++;
      return err({ reason: got.error.reason, timeout: got.error.timeout });
    }
    return ok({ invoice: got.value, from: undefined, source });
  }

  /** Ask the policy's --from node for an invoice of exactly `amountMsat` and wait for its answer until `onward.deadline`. */
  private async askNext(policy: Policy, amountMsat: Msat, onward: Onward): Promise<Result<NextInvoice, Refusal>> {
    const to = policy.from;
    if (to === undefined) return err({ reason: `policy ${policy.id} has no next payee to ask`, timeout: false });
    const next = `the next payee (${shortHash(to)}…)`;
    if (!(await this.deps.node.isConnected(to).catch(() => false))) {
      try {
        await this.deps.node.connect(to);
      } catch {
        return err({ reason: `cannot reach ${next}: not connected, and no address of it is known`, timeout: false });
      }
    }
    const id = (this.deps.requestId ?? (() => randomBytes(16).toString('hex')))();
    const waitMs = Math.max(0, onward.deadline * 1000 - this.deps.nowMs());
    const answer = this.wait(id, to, waitMs);
    try {
      await this.deps.send(to, { kind: 'request', requestId: id, amountMsat, deadline: onward.deadline, hops: onward.hops });
    } catch (e) {
      this.waiting.get(id)?.done({ kind: 'timeout' });
      return err({ reason: `could not ask ${next}: ${(e as Error).message}`, timeout: false });
    }
    this.counters.asked++;
    const a = await answer;
    if (a.kind === 'timeout') {
      this.counters.timed_out++;
      return err({ reason: `no answer from ${next} within ${Math.round(waitMs / 1000)} s`, timeout: true });
    }
    if (a.kind === 'refused') return err({ reason: a.reason, timeout: false });
    const d = decodeBolt11(a.bolt11);
    if (!d.ok) return err({ reason: `${next} answered with an invoice rdv cannot read: ${d.error}`, timeout: false });
    if (d.value.amountMsat !== amountMsat) {
      return err({ reason: `${next} answered with an invoice for ${d.value.amountMsat === undefined ? 'no amount' : formatAmount(d.value.amountMsat as Msat)}, not the ${formatAmount(amountMsat)} asked`, timeout: false });
    }
    if (d.value.payee !== to) return err({ reason: `${next} answered with an invoice payable to ${shortHash(d.value.payee)}…, not to itself`, timeout: false });
    return ok({ invoice: a.bolt11, from: to });
  }

  /** The answer to request `id` from `to`, or a timeout after `ms`. Registered before the request is sent, so no answer can come first. */
  private wait(id: string, to: NodeId, ms: number): Promise<Answer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ kind: 'timeout' }), ms);
      const done = (a: Answer): void => {
        if (this.waiting.get(id) !== entry) return;
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(a);
      };
      const entry: Waiting = { to, done };
      this.waiting.set(id, entry);
    });
  }

}
