/**
 * `rdv policy add|list|remove`: the relay policies the rdv plugin joins pass-backs
 * (and answers invoice requests) by, and the last-payee policies it answers
 * requests by (src/chain/policy/ decides, src/rpc/policies.ts reads and writes the
 * book; this only parses, asks and prints). The plugin reads the book at each
 * pass-back and request.
 */
import { randomBytes } from 'node:crypto';
import { shortHash } from '../chain/ids.js';
import { formatAmount, msat } from '../chain/amount.js';
import { checkBolt12Offer } from '../chain/bolt12.js';
import type { NetworkName } from '../chain/network.js';
import { isLastPolicy, nextPayeeText, POLICY_KEY, type LastPolicy, type PolicyBook, type PullSource } from '../chain/policy/policy.js';
import { readPayParams } from '../rpc/lnurl-pull.js';
import { newLastPolicy, newPolicy, type LastPolicyInput, type PolicyInput } from '../chain/policy/input.js';
import { addLastPolicy, addPolicy, anyPolicyToJson, lastPolicyToJson, policyToJson, removePolicy } from '../chain/policy/book.js';
import { ShapeError } from '../chain/read.js';
import { assertNever, failedError, inputError, ok, usageError, type Result } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { loadBook, updateBook } from '../rpc/policies.js';
import { LAST_TABLE_HEADER, lastPolicyRows, lastPolicySummary, POLICY_TABLE_HEADER, policyRows, policySummary } from '../ui/policy-view.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginsState, pluginWarnings } from './plugin-check.js';

export interface PolicyAddOptions {
  from?: string;
  address?: string;
  offer?: string;
  payout?: string;
  feeBudget?: string;
  delayBudget?: string;
  passTo?: string;
  maxAmount?: string;
  minAmount?: string;
  expires?: string;
  note?: string;
  maxOpen?: string;
  maxPerMinute?: string;
  maxInvoiceLife?: string;
  maxDescription?: string;
  /** A last-payee policy: answers --for's invoice requests with a normal invoice. */
  last?: boolean;
  for?: string;
  description?: string;
  expiry?: string;
  maxUnpaid?: string;
}

/** The options only a relay policy takes, and only a last-payee one (--last). */
const RELAY_ONLY = { from: '--from', address: '--address', offer: '--offer', payout: '--payout', feeBudget: '--fee-budget', delayBudget: '--delay-budget', passTo: '--pass-to', maxOpen: '--max-open', maxInvoiceLife: '--max-invoice-life', maxDescription: '--max-description' } as const;
const LAST_ONLY = { for: '--for', description: '--description', expiry: '--expiry', maxUnpaid: '--max-unpaid' } as const;

/** What src/cli.ts hands over: which subcommand, with its argument or options. */
export type PolicyCommand = { action: 'add'; options: PolicyAddOptions } | { action: 'list' } | { action: 'remove'; id: string };

const KEY_TEXT = POLICY_KEY.join('/');
const now = (): number => Math.floor(Date.now() / 1000);

/** A stored book this rdv cannot read: say where it is and the two ways out (exit 1; nothing written). */
async function readable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw failedError(
      `the policy book ${KEY_TEXT} is unreadable (${e.message}): if a newer rdv wrote it, upgrade rdv; otherwise delete it, every policy in it, with lightning-cli deldatastore '${JSON.stringify(POLICY_KEY)}' and add them again`,
      e,
    );
  }
}

/** Options of the other kind given anyway: a usage error (exit 2), nothing written. */
function refuseOthers(o: PolicyAddOptions): void {
  const [wrong, kind] = o.last ? [RELAY_ONLY, 'a relay policy\'s, not --last\'s'] : [LAST_ONLY, '--last\'s (a last-payee policy\'s)'];
  const given = Object.entries(wrong).filter(([k]) => o[k as keyof PolicyAddOptions] !== undefined).map(([, flag]) => flag);
  if (given.length > 0) throw usageError(`${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} ${kind} option${given.length === 1 ? '' : 's'}: see rdv policy add --help`);
}

/** The options as newLastPolicy takes them; a missing --for is a usage error (exit 2). */
function lastInput(o: PolicyAddOptions): LastPolicyInput {
  if (o.for === undefined) throw usageError('rdv policy add --last needs --for <node id of the payee before you>: e.g. rdv policy add --last --for 02b0b0... --max-amount 1000000sat --description "order"');
  return {
    for: o.for,
    ...(o.minAmount !== undefined ? { minAmount: o.minAmount } : {}),
    ...(o.maxAmount !== undefined ? { maxAmount: o.maxAmount } : {}),
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(o.expiry !== undefined ? { expiry: o.expiry } : {}),
    ...(o.maxUnpaid !== undefined ? { maxUnpaid: o.maxUnpaid } : {}),
    ...(o.maxPerMinute !== undefined ? { maxPerMinute: o.maxPerMinute } : {}),
    ...(o.expires !== undefined ? { expires: o.expires } : {}),
    ...(o.note !== undefined ? { note: o.note } : {}),
  };
}

/** The options as newPolicy takes them; a missing required one is a usage error (exit 2). */
function policyInput(o: PolicyAddOptions): PolicyInput {
  const { from, address, offer, payout, feeBudget, delayBudget } = o;
  const next = from ?? address ?? offer;
  if (next === undefined || payout === undefined || feeBudget === undefined || delayBudget === undefined) {
    const missing = Object.entries({ '--from (or --address, --offer)': next, '--payout': payout, '--fee-budget': feeBudget, '--delay-budget': delayBudget }).filter(([, v]) => v === undefined);
    throw usageError(`rdv policy add needs ${missing.map(([flag]) => flag).join(', ')}: e.g. rdv policy add --from <next payee's node id> --payout 2% --fee-budget 0.5% --delay-budget 80`);
  }
  const given = [from, address, offer].filter((v) => v !== undefined).length;
  if (given > 1) throw usageError('give one next payee: --from, --address or --offer');
  return {
    ...(from !== undefined ? { from } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(offer !== undefined ? { offer } : {}),
    payout,
    feeBudget,
    delayBudget,
    ...(o.passTo !== undefined ? { passTo: o.passTo } : {}),
    ...(o.maxAmount !== undefined ? { maxAmount: o.maxAmount } : {}),
    ...(o.minAmount !== undefined ? { minAmount: o.minAmount } : {}),
    ...(o.expires !== undefined ? { expires: o.expires } : {}),
    ...(o.note !== undefined ? { note: o.note } : {}),
    ...(o.maxOpen !== undefined ? { maxOpen: o.maxOpen } : {}),
    ...(o.maxPerMinute !== undefined ? { maxPerMinute: o.maxPerMinute } : {}),
    ...(o.maxInvoiceLife !== undefined ? { maxInvoiceLife: o.maxInvoiceLife } : {}),
    ...(o.maxDescription !== undefined ? { maxDescription: o.maxDescription } : {}),
  };
}

/**
 * Change the book; the change's own refusal (a second policy for a node, an unknown
 * id) is bad input, exit 2; losing the compare-and-swap race five times is exit 1.
 */
async function change<T>(node: LightningNode, edit: (book: PolicyBook) => Result<{ book: PolicyBook; value: T }>): Promise<T> {
  let refused: string | undefined;
  const done = await readable(
    updateBook(node, (book) => {
      const next = edit(book);
      if (!next.ok) refused = next.error;
      return next;
    }),
  );
  if (done.ok) return done.value;
  throw refused !== undefined ? inputError(refused) : failedError(done.error);
}

async function add(g: GlobalOptions, o: PolicyAddOptions): Promise<void> {
  refuseOthers(o);
  if (o.last) return addLast(g, o);
  const out = makeOutput(g);
  const input = policyInput(o);
  const id = randomBytes(4).toString('hex');
  // Everything but "is it this node?" is checked before the node is asked anything.
  const checked = newPolicy(input, { id, self: undefined, now: now() });
  if (!checked.ok) throw inputError(checked.error);
  await withNode(g, async (node) => {
    const info = await node.checkedInfo();
    const at = now();
    const made = newPolicy(input, { id, self: info.id, now: at });
    if (!made.ok) throw inputError(made.error);
    const policy = made.value;
    const warnings = await checkPull(node, info.network, policy.pull, at);
    await change(node, (book) => {
      const next = addPolicy(book, policy);
      return next.ok ? ok({ book: next.value, value: policy }) : next;
    });
    for (const warning of [...warnings, ...pluginWarnings(await pluginsState(node))]) out.warn(warning);
    if (g.json) {
      out.json(policyToJson(policy, at));
      return;
    }
    out.pairs(policySummary(policy, at));
    out.result(
      policy.from !== undefined
        ? `policy ${policy.id} added: the rdv plugin now joins by itself every invoice ${shortHash(policy.from)}… passes back to you (no restart needed)`
        : `policy ${policy.id} added: the rdv plugin now answers invoice requests${policy.passTo ? ` from ${shortHash(policy.passTo.id)}…` : ' (rdv request, rdv-request, rdv serve)'} by pulling an invoice from ${nextPayeeText(policy)} (no restart needed)`,
    );
    out.info(
      policy.passTo
        ? `Its own invoice goes on to ${shortHash(policy.passTo.id)}…, confirmed as by rdv pass-back.`
        : 'Its own invoice stays here: see rdv status, and pass it on with rdv pass-back <hash> --to <node>.',
    );
    out.info(`Remove it with: rdv policy remove ${policy.id}`);
  });
}

/**
 * What can be known of a pull policy's next payee now: an offer is read by the
 * node's decode and must be one rdv can pay on this network (else bad input,
 * nothing written); an address's pay parameters are read, and a server that
 * does not answer now is only a warning (it may be down for a while).
 */
async function checkPull(node: LightningNode, network: NetworkName, pull: PullSource | undefined, at: number): Promise<string[]> {
  if (pull === undefined) return [];
  if (pull.kind === 'offer') {
    const offer = await node.decodeOffer(pull.offer);
    if (!offer.ok) throw inputError(`--offer: ${offer.error}`);
    const unfit = checkBolt12Offer(offer.value, { network, wantMsat: offer.value.amountMsat ?? msat(1n), now: at });
    if (unfit) throw inputError(`--offer: ${unfit}`);
    return offer.value.amountMsat === undefined ? [] : [`the offer asks a fixed ${formatAmount(offer.value.amountMsat)}: only requests that leave exactly that (or more) for the next payee can be answered`];
  }
  const params = await readPayParams(pull.address, { timeoutMs: 5_000 });
  if (!params.ok) return [`${params.error}: the policy is added, but requests fail until ${pull.address} answers (rdv doctor checks it)`];
  return [];
}

async function addLast(g: GlobalOptions, o: PolicyAddOptions): Promise<void> {
  const out = makeOutput(g);
  const input = lastInput(o);
  const id = randomBytes(4).toString('hex');
  const checked = newLastPolicy(input, { id, self: undefined, now: now() });
  if (!checked.ok) throw inputError(checked.error);
  await withNode(g, async (node) => {
    const info = await node.checkedInfo();
    const at = now();
    const made = newLastPolicy(input, { id, self: info.id, now: at });
    if (!made.ok) throw inputError(made.error);
    const policy: LastPolicy = made.value;
    await change(node, (book) => {
      const next = addLastPolicy(book, policy);
      return next.ok ? ok({ book: next.value, value: policy }) : next;
    });
    for (const warning of pluginWarnings(await pluginsState(node))) out.warn(warning);
    if (g.json) {
      out.json(lastPolicyToJson(policy, at));
      return;
    }
    out.pairs(lastPolicySummary(policy, at));
    out.result(`policy ${policy.id} added: the rdv plugin now answers every invoice request from ${shortHash(policy.for)}… with an invoice of this node for the amount asked (no restart needed)`);
    out.info(`Remove it with: rdv policy remove ${policy.id}`);
  });
}

async function list(g: GlobalOptions): Promise<void> {
  const out = makeOutput(g);
  await withNode(g, async (node) => {
    const { book } = await readable(loadBook(node));
    const at = now();
    if (g.json) {
      out.json({ policies: [...book.policies.map((p) => policyToJson(p, at)), ...book.lastPolicies.map((p) => lastPolicyToJson(p, at))] });
      return;
    }
    if (book.policies.length === 0 && book.lastPolicies.length === 0) {
      out.result('No policies: every invoice passed back to you waits in rdv inbox for rdv join. Add one with: rdv policy add --from <node id> --payout <amount|%> --fee-budget <amount|%> --delay-budget <blocks>');
      return;
    }
    if (book.policies.length > 0) out.table(POLICY_TABLE_HEADER, policyRows(book.policies, at));
    if (book.lastPolicies.length > 0) {
      if (book.policies.length > 0) out.info();
      out.info('Last-payee policies (answer invoice requests with an invoice of this node):');
      out.table(LAST_TABLE_HEADER, lastPolicyRows(book.lastPolicies, at));
    }
  });
}

async function remove(g: GlobalOptions, idArg: string): Promise<void> {
  const out = makeOutput(g);
  const id = idArg.trim().toLowerCase();
  await withNode(g, async (node) => {
    const p = await change(node, (book) => {
      const next = removePolicy(book, id);
      return next.ok ? ok({ book: next.value.book, value: next.value.removed }) : next;
    });
    out.json({ removed: anyPolicyToJson(p, now()) });
    if (isLastPolicy(p)) out.result(`removed policy ${p.id}: requests from ${shortHash(p.for)}… are refused again (invoices it made stay, see rdv status)`);
    else if (p.from === undefined) out.result(`removed policy ${p.id}: nothing is pulled from ${nextPayeeText(p)} any more (what it joined already stays, see rdv status)`);
    else out.result(`removed policy ${p.id}: invoices ${shortHash(p.from)}… passes back wait in rdv inbox again (what it joined already stays, see rdv status)`);
  });
}

export async function run(g: GlobalOptions, command: PolicyCommand): Promise<void> {
  switch (command.action) {
    case 'add':
      return add(g, command.options);
    case 'list':
      return list(g);
    case 'remove':
      return remove(g, command.id);
    default:
      return assertNever(command, 'policy command');
  }
}
