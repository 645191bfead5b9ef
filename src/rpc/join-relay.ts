/**
 * Joining a chain as a relay: the checks and writes `rdv join` makes, shared with
 * the plugin's policy joins (src/relay/policy-join.ts) so both decide alike.
 *   1. prepareRelayJoin: the downstream invoice checked, and a route to its payee;
 *   2. relayBudget: our amount and min_final_cltv from the budgets (pure);
 *   3. completeRelayJoin: our same-hash invoice made, signed, checked and stored.
 * Nothing is written before step 3, and step 3 writes the record last but for the
 * inbox clean-up.
 */
import { randomBytes } from 'node:crypto';
import { archiveKey } from '../chain/archive.js';
import type { Msat } from '../chain/amount.js';
import { decodeBolt11, encodeInvoice, type RouteHintHop } from '../chain/bolt11.js';
import { bolt12PathCosts, checkBolt12Downstream } from '../chain/bolt12.js';
import { bolt11Downstream, bolt12Downstream, type Downstream } from '../chain/downstream.js';
import { DEFAULT_ROUTE_ALLOWANCE, planBudget, type BudgetPlan, type BudgetProblem, type RouteEstimate } from '../chain/budget.js';
import { asPaymentSecret, shortHash, type NodeId, type PaymentHash, type PaymentSecret } from '../chain/ids.js';
import { checkDownstream, checkSigned, DEFAULT_EXPIRY_MARGIN_SECONDS, planOurInvoice } from '../chain/invoice.js';
import { downstreamInvoiceKind, KEY_ROOT, relayKey, serializeRecord, type DownstreamSource, type RelayRecord, type RequestOrigin } from '../chain/record.js';
import { err, ok, type Result } from '../errors.js';
import type { LightningNode, NodeInfo } from './node.js';
import { estimateBolt12Route, estimateRoute } from './route.js';

/** input: the invoice or the budgets are at fault (exit 2); failed: the node could not do it. */
export type JoinProblem = { kind: 'input' | 'failed'; message: string };

export interface PreparedJoin {
  invoice: Downstream;
  downstreamMsat: Msat;
  /** The best route to the next payee now, if any. */
  route: RouteEstimate | undefined;
  receivedFrom: NodeId | undefined;
}

export interface RelayValues {
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
  delayBudget: number;
}

export interface BudgetLimits {
  safetyMargin: number;
  cltvWarn: number;
}

/** A record, an archived one (rdv prune), or an invoice of ours already has this hash. */
async function hashInUse(node: LightningNode, hash: PaymentHash): Promise<boolean> {
  const [records, archived, invoices] = await Promise.all([node.listdatastore(relayKey(hash)), node.listdatastore(archiveKey(hash)), node.listinvoices({ paymentHash: hash })]);
  return records.some((e) => e.key.length === 4) || archived.some((e) => e.key.length === 4) || invoices.length > 0;
}

/**
 * Step 1: the downstream invoice is one we may relay to, and what paying it costs
 * now. A BOLT 12 invoice (lni1...) is joined only with the offer it was fetched
 * from (`offer`): BOLT 12 ties the invoice's signer to the offer's issuer.
 */
export async function prepareRelayJoin(
  node: LightningNode,
  info: NodeInfo,
  text: string,
  receivedFrom: NodeId | undefined,
  now: number,
  o: { offer?: string } = {},
): Promise<Result<PreparedJoin, JoinProblem>> {
  if (downstreamInvoiceKind(text) === 'bolt12') return prepareBolt12(node, info, text, receivedFrom, now, o.offer);
  const decoded = decodeBolt11(text);
  if (!decoded.ok) return err({ kind: 'input', message: decoded.error });
  const inv = decoded.value;
  const problem = checkDownstream(inv, {
    network: info.network,
    ourNodeId: info.id,
    now,
    expiryMarginSeconds: DEFAULT_EXPIRY_MARGIN_SECONDS,
    hashInUse: await hashInUse(node, inv.paymentHash),
  });
  if (problem) return err({ kind: 'input', message: problem });
  const downstreamMsat = inv.amountMsat as Msat;
  const route = await estimateRoute(node, info.id, inv, downstreamMsat);
  return ok({ invoice: bolt11Downstream(inv, downstreamMsat), downstreamMsat, route, receivedFrom });
}

/** Step 1 for a BOLT 12 invoice: read through lightningd's decode, with its offer, and checked as BOLT 12's payer checks it. */
async function prepareBolt12(node: LightningNode, info: NodeInfo, text: string, receivedFrom: NodeId | undefined, now: number, offerText: string | undefined): Promise<Result<PreparedJoin, JoinProblem>> {
  if (offerText === undefined) return err({ kind: 'input', message: 'a BOLT 12 invoice is joined only with the offer it came from: give the offer (rdv join --offer <lno1...> --amount <downstream amount>)' });
  const [offer, decoded] = await Promise.all([node.decodeOffer(offerText), node.decodeBolt12Invoice(text)]);
  if (!offer.ok) return err({ kind: 'input', message: offer.error });
  if (!decoded.ok) return err({ kind: 'input', message: decoded.error });
  const inv = decoded.value;
  const problem = checkBolt12Downstream(inv, {
    offer: offer.value,
    wantMsat: inv.amountMsat,
    network: info.network,
    ourNodeId: info.id,
    now,
    expiryMarginSeconds: DEFAULT_EXPIRY_MARGIN_SECONDS,
    hashInUse: await hashInUse(node, inv.paymentHash),
  });
  if (problem) return err({ kind: 'input', message: problem });
  const costs = bolt12PathCosts(inv, inv.amountMsat);
  if (!costs.ok) return err({ kind: 'input', message: costs.error });
  const route = await estimateBolt12Route(node, info.id, inv, inv.amountMsat);
  return ok({ invoice: bolt12Downstream(inv, info.network, costs.value.minFinalCltv), downstreamMsat: inv.amountMsat, route, receivedFrom });
}

/** Step 2 (pure): our invoice's amount and min_final_cltv, or what is wrong with the budgets. */
export function relayBudget(p: PreparedJoin, v: RelayValues, limits: BudgetLimits): { plan: BudgetPlan } | { problem: BudgetProblem } {
  return planBudget({
    downstreamMsat: p.downstreamMsat,
    downstreamMinFinalCltv: p.invoice.minFinalCltv,
    payoutMsat: v.payoutMsat,
    feeBudgetMsat: v.feeBudgetMsat,
    delayBudgetBlocks: v.delayBudget,
    safetyMarginBlocks: limits.safetyMargin,
    cltvWarnBlocks: limits.cltvWarn,
    routeAllowanceBlocks: DEFAULT_ROUTE_ALLOWANCE,
    routeDelayBlocks: p.route?.delayBlocks,
    downstreamName: `the next payee (${shortHash(p.invoice.payee)}…)`,
  });
}

/**
 * Route hints for our invoice, chosen by CLN: make a throwaway invoice, copy its
 * `r` fields, delete it. CLN's warnings about them (a dead-end or offline
 * channel left out, too little inbound capacity) are passed on.
 */
async function ourRouteHints(node: LightningNode, amountMsat: Msat, warn: (message: string) => void): Promise<Result<RouteHintHop[][], JoinProblem>> {
  const label = `rdv-hints-${randomBytes(6).toString('hex')}`;
  const tmp = await node.invoice({ amountMsat, label, description: 'rdv route hints (deleted at once)', expiry: 60 });
  try {
    const d = decodeBolt11(tmp.bolt11);
    if (!d.ok) return err({ kind: 'failed', message: `could not read the node's own invoice: ${d.error}` });
    for (const w of tmp.warnings) warn(`lightningd about payments reaching this node: ${w}`);
    return ok(d.value.routeHints);
  } finally {
    await node.delinvoice(label, 'unpaid').catch(() => undefined);
  }
}

export interface CompleteOptions extends BudgetLimits {
  requestedExpirySeconds: number | undefined;
  description: string | undefined;
  /** A description hash for our invoice instead of the description (see planOurInvoice). */
  descriptionHash?: string | undefined;
  /** The rdv policy joining it, stored in the record. */
  policy?: string;
  /** It answers an invoice request from this node (or rdv-request here). */
  requestedBy?: RequestOrigin;
  /** The offer or Lightning Address the downstream invoice was pulled from. */
  source?: DownstreamSource;
  warn: (message: string) => void;
  now: () => number;
}

/** Step 3: sign our same-hash invoice, check what the node signed, store the record, clear the inbox. */
export async function completeRelayJoin(
  node: LightningNode,
  info: NodeInfo,
  p: PreparedJoin,
  values: RelayValues,
  plan: BudgetPlan,
  o: CompleteOptions,
): Promise<Result<{ record: RelayRecord; generation: number; nodeLost: boolean }, JoinProblem>> {
  const inv = p.invoice;
  const paymentSecret = asPaymentSecret(randomBytes(32).toString('hex')) as PaymentSecret;
  const hints = await ourRouteHints(node, plan.amountMsat, o.warn);
  if (!hints.ok) return hints;
  const fields = planOurInvoice({
    downstream: inv,
    plan,
    paymentSecret,
    now: o.now(),
    requestedExpirySeconds: o.requestedExpirySeconds,
    expiryMarginSeconds: DEFAULT_EXPIRY_MARGIN_SECONDS,
    description: o.description,
    ...(o.descriptionHash !== undefined ? { descriptionHash: o.descriptionHash } : {}),
    routeHints: hints.value,
  });
  if (!fields.ok) return err({ kind: 'input', message: fields.error });
  const signedText = await node.signinvoice(encodeInvoice(fields.value, randomBytes(32)));
  const signed = decodeBolt11(signedText);
  if (!signed.ok) return err({ kind: 'failed', message: `the node's signinvoice returned an invoice rdv cannot read: ${signed.error}` });
  const mismatch = checkSigned(signed.value, fields.value, info.id);
  if (mismatch) return err({ kind: 'failed', message: `${mismatch}: nothing was stored` });

  const t = o.now();
  const record: RelayRecord = {
    version: 1,
    role: 'relay',
    paymentHash: inv.paymentHash,
    bolt11: signed.value.bolt11,
    downstreamInvoice: inv.text,
    downstreamPayee: inv.payee,
    downstreamAmountMsat: p.downstreamMsat,
    downstreamMinFinalCltv: inv.minFinalCltv,
    paymentSecret,
    amountMsat: plan.amountMsat,
    payoutMsat: values.payoutMsat,
    feeBudgetMsat: values.feeBudgetMsat,
    delayBudget: values.delayBudget,
    safetyMargin: o.safetyMargin,
    minFinalCltv: plan.minFinalCltv,
    expiresAt: signed.value.expiresAt,
    state: 'open',
    round: 0,
    parts: [],
    attempts: [],
    createdAt: t,
    updatedAt: t,
    ...(p.receivedFrom ? { receivedFrom: p.receivedFrom } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.requestedBy !== undefined ? { requestedBy: o.requestedBy } : {}),
    ...(o.source !== undefined ? { downstreamSource: o.source } : {}),
  };
  const w = await node.datastoreCreate(relayKey(inv.paymentHash), serializeRecord(record));
  if (!w.ok) {
    if (w.reason === 'exists') return err({ kind: 'input', message: `a record for payment hash ${inv.paymentHash} appeared meanwhile: see rdv status ${shortHash(inv.paymentHash)}` });
    return err({ kind: 'failed', message: `could not store the record (${w.reason})` });
  }
  // Joined: every invoice passed back for this hash leaves the inbox, however it was given.
  // From here on nothing undoes the join, so a node that goes away now is only a warning.
  try {
    const entries = await node.listdatastore([...KEY_ROOT, 'inbox']);
    for (const e of entries) if (e.key[3] === inv.paymentHash || e.key[3]?.startsWith(`${inv.paymentHash}-`)) await node.deldatastore(e.key).catch(() => false);
  } catch (e) {
    o.warn(`joined and stored, but lightningd stopped answering (${(e as Error).message}): check rdv status ${shortHash(record.paymentHash)} once it is back`);
    return ok({ record, generation: w.generation, nodeLost: true });
  }
  return ok({ record, generation: w.generation, nodeLost: false });
}
