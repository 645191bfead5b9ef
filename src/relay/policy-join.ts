/**
 * The plugin joining a pass-back by policy (`rdv policy`): the checks and writes
 * of `rdv join` (src/rpc/join-relay.ts), with the budgets the policy gives and one
 * more demand no one is there to waive: a route to the next payee, now, within
 * the fee budget and the delay budget. Then our invoice goes to --pass-to, with
 * the same delivery confirmation as `rdv pass-back`. The join itself
 * (joinInvoice) also answers invoice requests (src/relay/requests.ts), with the
 * payout and fee budget worked out from the amount asked, and no delivery, and
 * wraps an invoice for rdv serve --wrap (rdv-wrap, lnproxy's routing_msat).
 *
 * The policy's bounds (src/chain/policy/decide.ts admitJoin, counted by the plugin's one
 * PolicyGate) are met before anything is asked of the node or written: open relays,
 * joins per minute, deliveries at once; then the description our node would sign,
 * and our invoice's life is capped (an open relay then expires, and can be pruned,
 * within that time, whatever the sender's invoice says).
 */
import { DEFAULT_CLTV_WARN, DEFAULT_SAFETY_MARGIN } from '../chain/budget.js';
import { shortHash, type NodeId, type PaymentHash } from '../chain/ids.js';
import type { Policy, PullSource } from '../chain/policy/policy.js';
import { descriptionProblem, invoiceLifeCap, policyValues, routeProblem, type PolicyValues } from '../chain/policy/decide.js';
import type { RelayRecord, RequestOrigin } from '../chain/record.js';
import { formatAmount, type Msat } from '../chain/amount.js';
import { err, ok, type Result } from '../errors.js';
import { completeRelayJoin, prepareRelayJoin, relayBudget } from '../rpc/join-relay.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { loadRecord, type Stored } from '../rpc/records.js';
import { deliverInvoice, type AckHeard, type Delivery } from '../rpc/pass-back.js';
import type { LogLevel } from '../rpc/plugin.js';
import type { JoinTicket, PolicyGate } from './policy-gate.js';

/** How long --pass-to waits for the previous payee's answer (rdv pass-back's default). */
const PASS_TO_TIMEOUT_MS = 10_000;

export interface PolicyJoinDeps {
  node: LightningNode;
  info: NodeInfo;
  log: (level: LogLevel, message: string) => void;
  now: () => number;
}

/** What a policy join needs from the running plugin. */
export interface PolicyJoinPlugin extends PolicyJoinDeps {
  gate: PolicyGate;
  /** Hand the stored record to the relay runner (before the gate stops counting the join as under way). */
  adopt: (stored: Stored<RelayRecord>) => void;
  /** The acknowledgement for a hash we passed on, as the inbox stores it; undefined after `timeoutMs`. */
  hearAck?: (paymentHash: string, timeoutMs: number) => Promise<AckHeard | undefined>;
}

/** Why a policy did not join: `bound`, one of its bounds (a flood is logged once a minute, not per invoice). */
export interface PolicyRefusal {
  reason: string;
  bound: boolean;
}

const refused = (reason: string, bound = false): Result<never, PolicyRefusal> => err({ reason, bound });

/**
 * Join `bolt11` (passed back by `from`) by `policy`, hand the record to the runner,
 * and pass our invoice on to --pass-to after the caller has answered the sender.
 * The stored record, or why not (nothing written then). `again`: the same invoice
 * again (the sender did not hear our answer), joined by this policy already;
 * nothing is done twice, and no bound counts it.
 */
export async function joinByPolicy(
  deps: PolicyJoinPlugin,
  policy: Policy,
  bolt11: string,
  from: NodeId,
  paymentHash: PaymentHash,
): Promise<Result<{ stored: Stored<RelayRecord>; again: boolean }, PolicyRefusal>> {
  const prior = await loadRecord(deps.node, paymentHash);
  const r = prior?.record;
  if (prior && r?.role === 'relay' && r.policy === policy.id && r.downstreamInvoice === bolt11 && r.receivedFrom === from) return ok({ stored: { record: r, generation: prior.generation }, again: true });
  const ticket = deps.gate.admit(policy);
  if (!ticket.ok) return refused(ticket.error, true);
  let joined: Result<Stored<RelayRecord>>;
  try {
    joined = await joinInvoice(deps, policy, bolt11, from);
    if (joined.ok) deps.adopt(joined.value);
  } catch (e) {
    ticket.value.endDelivery();
    throw e;
  } finally {
    ticket.value.end();
  }
  if (!joined.ok) {
    ticket.value.endDelivery();
    return refused(joined.error);
  }
  const stored = joined.value;
  // After the sender has its answer: their ack must not wait behind ours.
  setImmediate(() => void passOn(deps, policy, stored.record, ticket.value));
  return ok({ stored, again: false });
}

/**
 * What a join that is not a pass-back's brings: an invoice request's (its values
 * worked out from the asked amount, our invoice exactly that amount) or a wrap's
 * (lnproxy's routing_msat, src/chain/policy/decide.ts wrapValues).
 */
export interface OwnJoin {
  /** The payout and fee budget to join with, given the downstream amount and what the policy gives it (already checked against the policy's bounds); or why not. */
  values: (downstreamMsat: Msat, policyValues: PolicyValues) => Result<PolicyValues>;
  /** Our invoice must come to exactly this (a request's asked amount). */
  askedMsat?: Msat;
  requestedBy?: RequestOrigin;
  /** The offer or address the downstream invoice was pulled from, kept in the record. */
  source?: PullSource;
  /** Our invoice's own description, or its hash (LNURL), instead of the downstream one's. */
  description?: string;
  descriptionHash?: string;
}

/**
 * The join itself, let through by the gate: the stored record, or why not
 * (nothing written). A pass-back's takes the policy's values for the downstream
 * amount; a request's or a wrap's (`own`) takes its own, checked by the same
 * rules. `from`: the node that passed the invoice back (none for a wrap).
 */
export async function joinInvoice(deps: PolicyJoinDeps, policy: Policy, invoice: string, from: NodeId | undefined, own?: OwnJoin): Promise<Result<Stored<RelayRecord>>> {
  const now = deps.now();
  const offer = own?.source?.kind === 'offer' ? own.source.offer : undefined;
  const prepared = await prepareRelayJoin(deps.node, deps.info, invoice, from, now, offer !== undefined ? { offer } : {});
  if (!prepared.ok) return err(prepared.error.message);
  const p = prepared.value;
  const checked = policyValues(policy, p.downstreamMsat, now);
  if (!checked.ok) return checked;
  const chosen = own ? own.values(p.downstreamMsat, checked.value) : checked;
  if (!chosen.ok) return chosen;
  const values = chosen.value;
  // Our node signs the downstream description unless the asker gave our invoice its own.
  const ours = own?.description !== undefined || own?.descriptionHash !== undefined;
  const long = ours ? undefined : descriptionProblem(policy, p.invoice.description);
  if (long) return err(long);
  const limits = { safetyMargin: DEFAULT_SAFETY_MARGIN, cltvWarn: DEFAULT_CLTV_WARN };
  const budget = relayBudget(p, values, limits);
  if ('problem' in budget) return err(budget.problem.message);
  if (own?.askedMsat !== undefined && budget.plan.amountMsat !== own.askedMsat) {
    return err(`our invoice would be for ${formatAmount(budget.plan.amountMsat)}, not the ${formatAmount(own.askedMsat)} asked`);
  }
  const route = routeProblem(p.route, values, limits.safetyMargin, p.invoice.payee);
  if (route) return err(route);
  for (const w of budget.plan.warnings) deps.log('warn', `policy ${policy.id}, ${shortHash(p.invoice.paymentHash)}: ${w}`);
  const joined = await completeRelayJoin(deps.node, deps.info, p, values, budget.plan, {
    ...limits,
    // The policy's ceiling: min'd with the downstream invoice's life minus the margin.
    requestedExpirySeconds: invoiceLifeCap(policy),
    description: own?.description,
    ...(own?.descriptionHash !== undefined ? { descriptionHash: own.descriptionHash } : {}),
    policy: policy.id,
    ...(own?.requestedBy !== undefined ? { requestedBy: own.requestedBy } : {}),
    ...(own?.source !== undefined ? { source: own.source } : {}),
    warn: (m) => deps.log('warn', `policy ${policy.id}, ${shortHash(p.invoice.paymentHash)}: ${m}`),
    now: deps.now,
  });
  if (!joined.ok) return err(joined.error.message);
  return ok({ record: joined.value.record, generation: joined.value.generation });
}

/** Our invoice to the policy's --pass-to, logged whatever happens (no one is at a terminal); the ticket's delivery ends with it. */
export async function passOn(deps: PolicyJoinPlugin, policy: Policy, record: RelayRecord, ticket: JoinTicket): Promise<Delivery | undefined> {
  try {
    return await deliver(deps, policy, record);
  } finally {
    ticket.endDelivery();
  }
}

async function deliver(deps: PolicyJoinPlugin, policy: Policy, record: RelayRecord): Promise<Delivery | undefined> {
  const to = policy.passTo;
  if (!to) {
    deps.log('info', `policy ${policy.id} joined ${shortHash(record.paymentHash)}: no --pass-to, so pass it on with: rdv pass-back ${shortHash(record.paymentHash)} --to <node>`);
    return undefined;
  }
  const sent = await deliverInvoice(deps.node, to, record.paymentHash, record.bolt11, {
    timeoutMs: PASS_TO_TIMEOUT_MS,
    canHearBack: true,
    addressOption: '--pass-to',
    ...(deps.hearAck ? { hearAck: deps.hearAck } : {}),
  }).catch((e: unknown) => err((e as Error).message) as Result<Delivery>);
  const what = `policy ${policy.id}: our invoice ${shortHash(record.paymentHash)} to ${to.id}`;
  if (!sent.ok) {
    deps.log('warn', `${what} not sent: ${sent.error}; pass it on with: rdv pass-back ${shortHash(record.paymentHash)} --to <node>`);
    return undefined;
  }
  const d = sent.value;
  if (d.status === 'stored') deps.log('info', `${what}: ${d.reason ?? 'stored in its inbox'}`);
  else if (d.status === 'refused') deps.log('warn', `${what}: refused (${d.reason ?? 'no reason given'}); see rdv status ${shortHash(record.paymentHash)}`);
  else deps.log('warn', `${what}: sent, not confirmed within ${PASS_TO_TIMEOUT_MS / 1000} s`);
  return d;
}
