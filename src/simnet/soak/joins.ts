/**
 * Building a payment's chain with the real CLI, for both soaks: Carol joins last,
 * Bob on her invoice, Alice on Bob's (`rdv --json join`), each asked again while
 * the node is down or unreachable (another payment's fault), and a join that a
 * crash cut short after the record was stored found in `rdv status`, as a payee
 * would find it. Then the terms the audit holds the payment to.
 */
import { join } from 'node:path';
import { Reader } from '../../chain/read.js';
import { parseJson } from '../../rpc/json.js';
import { LightningNode } from '../../rpc/node.js';
import type { PaymentTerms } from './audit.js';
import { at, runCli } from './cli.js';
import type { PaymentPlan } from './plan.js';
import { sleep } from './run.js';

/** Each relay's --delay-budget, in blocks. */
const DELAY_BUDGET = '60';
const SAT = 1000n;

/** A node the CLI can be pointed at. */
export interface CliNode {
  readonly name: string;
  readonly dir: string;
  readonly up: boolean;
}

export interface RdvJsonOptions {
  /** How long a node may stay down before the soak gives up on it, and how often to look. */
  downMs: number;
  pollMs: number;
  /** How long one `rdv` may run (runCli's default if undefined). */
  timeoutMs?: number;
  /** How many times a failing call is made, and the wait before attempt n + 1 (n times this). */
  attempts: number;
  retryMs: number;
}

export type JsonReply = Record<string, unknown>;

/** `rdv --json ...` on a node, asked again as a payee would. */
export class RdvJson {
  constructor(private readonly o: RdvJsonOptions) {}

  /** Until `node` is up; throws after `downMs` (a node that does not come back is the soak's failure, not a hang). */
  async waitUp(node: CliNode): Promise<void> {
    const deadline = Date.now() + this.o.downMs;
    while (!node.up) {
      if (Date.now() > deadline) throw new Error(`${node.name} has been down for ${this.o.downMs / 1000} s`);
      await sleep(this.o.pollMs);
    }
  }

  /**
   * The reply of `rdv --json <args>` on `node`. `joinedHash`: the call is a join of
   * this payment hash, which a retry may find already made. Throws on a user
   * error (exit 2) or after the last attempt.
   */
  async call(node: CliNode, args: string[], joinedHash?: string): Promise<JsonReply> {
    for (let attempt = 1; ; attempt++) {
      await this.waitUp(node);
      const r = await runCli([...at(node), '--json', ...args], this.o.timeoutMs);
      if (r.code === 0) return parseJson(r.stdout) as JsonReply;
      // A join the node's crash cut short after the record was stored: the retry finds it, as a payee would with rdv status.
      if (attempt > 1 && joinedHash !== undefined && r.code === 2 && /it was joined before/.test(r.stderr)) return this.storedJoin(node, joinedHash);
      if (attempt >= this.o.attempts || r.code === 2) throw new Error(`rdv ${args.join(' ')} on ${node.name}: exit ${r.code}: ${r.stderr.trim()}`);
      await sleep(this.o.retryMs * attempt);
    }
  }

  /** A BOLT 12 offer of `node`'s (CLN's `offer`, any amount), asked again while the node is down or restarting. */
  async offer(node: CliNode, description: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      await this.waitUp(node);
      try {
        const ln = await LightningNode.connect(join(node.dir, 'regtest', 'lightning-rpc'), 'soak');
        try {
          return Reader.of(await ln.rpc.call('offer', { amount: 'any', description }), 'offer').str('bolt12');
        } finally {
          ln.close();
        }
      } catch (e) {
        if (attempt >= this.o.attempts) throw new Error(`offer on ${node.name}: ${(e as Error).message}`);
        await sleep(this.o.retryMs * attempt);
      }
    }
  }

  private async storedJoin(node: CliNode, hash: string): Promise<JsonReply> {
    const status = await this.call(node, ['status', hash]);
    const [record] = (status.records ?? []) as JsonReply[];
    if (!record || record.payment_hash !== hash) throw new Error(`rdv status ${hash.slice(0, 8)} on ${node.name}: no record after a join that was cut short`);
    // With its amount: the payment's terms are read from it.
    return { payment_hash: hash, bolt11: record.bolt11, amount_msat: record.amount_msat };
  }
}

/** The three joins' replies. */
export interface Joined {
  carol: JsonReply;
  bob: JsonReply;
  alice: JsonReply;
  hash: string;
}

/**
 * Carol joins last, Bob on her invoice, Alice on Bob's, with the plan's amounts and
 * budgets; or, for an offer payment, Carol makes a BOLT 12 offer and Bob fetches
 * her invoice for exactly her amount (rdv join --offer). Throws if one cannot join.
 */
export async function joinChain(rdv: RdvJson, nodes: Record<'alice' | 'bob' | 'carol', CliNode>, plan: PaymentPlan): Promise<Joined> {
  const bobBudgets = ['--payout', `${plan.payoutSat.bob}sat`, '--fee-budget', `${plan.feeBudgetSat.bob}sat`, '--delay-budget', DELAY_BUDGET];
  let carol: JsonReply;
  let bob: JsonReply;
  if (plan.offer) {
    const offer = await rdv.offer(nodes.carol, `soak ${plan.index}`);
    bob = await rdv.call(nodes.bob, ['join', '--offer', offer, '--amount', `${plan.carolSat}sat`, ...bobBudgets]);
    carol = { payment_hash: bob.payment_hash, amount_msat: (plan.carolSat * SAT).toString(), offer };
  } else {
    carol = await rdv.call(nodes.carol, ['join', '--last', '--amount', `${plan.carolSat}sat`, '--description', `soak ${plan.index}`]);
    bob = await rdv.call(nodes.bob, ['join', '--invoice', String(carol.bolt11), ...bobBudgets], String(carol.payment_hash));
  }
  const hash = String(carol.payment_hash);
  const alice = await rdv.call(nodes.alice, ['join', '--invoice', String(bob.bolt11), '--payout', `${plan.payoutSat.alice}sat`, '--fee-budget', `${plan.feeBudgetSat.alice}sat`, '--delay-budget', DELAY_BUDGET], hash);
  return { carol, bob, alice, hash };
}

/** What the audit holds the payment to: the invoices' amounts as joined, the plan's payouts and fee budgets. */
export function termsOf(plan: PaymentPlan, joined: Joined, payerName: string): PaymentTerms {
  return {
    paymentHash: joined.hash,
    names: { payer: payerName, alice: 'alice', bob: 'bob', carol: 'carol' },
    aliceAmountMsat: BigInt(String(joined.alice.amount_msat)),
    bobAmountMsat: BigInt(String(joined.bob.amount_msat)),
    carolAmountMsat: BigInt(String(joined.carol.amount_msat)),
    payoutMsat: { alice: plan.payoutSat.alice * SAT, bob: plan.payoutSat.bob * SAT },
    feeBudgetMsat: { alice: plan.feeBudgetSat.alice * SAT, bob: plan.feeBudgetSat.bob * SAT },
  };
}
