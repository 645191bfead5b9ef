/**
 * `rdv join`: make this payee's invoice in the chain.
 *   --last            a normal invoice on our node (the chain's end)
 *   --invoice/--from-inbox   a same-hash relay invoice over the next payee's
 * Reads and checks everything before writing anything to the node.
 */
import { formatAmount, parseAmount, type Msat } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import type { Downstream } from '../chain/downstream.js';
import { DEFAULT_CLTV_WARN, suggestDelayBudget, suggestFeeBudget, type BudgetPlan, type RouteEstimate } from '../chain/budget.js';
import { asNodeId, shortHash, type NodeId } from '../chain/ids.js';
import type { DownstreamSource, RelayRecord } from '../chain/record.js';
import { parseLightningAddress, parseOfferText } from '../chain/policy/input.js';
import { makePull } from '../rpc/pull.js';
import { readInbox, senderName, TRUST_TEXT } from './inbox-read.js';
import { parseBlocks, parseDuration } from '../chain/units.js';
import { failedError, inputError, RdvError, usageError } from '../errors.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { completeRelayJoin, prepareRelayJoin, relayBudget, type JoinProblem, type RelayValues } from '../rpc/join-relay.js';
import { makeLastInvoice } from '../rpc/join-last.js';
import { inquirerPrompter, type Prompter } from '../prompts/prompter.js';
import { askRelayBudgets, askLastPayee, confirmSummary } from '../prompts/join.js';
import type { Output } from '../ui/output.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { notifyPlugin, pluginWarnings } from './plugin-check.js';

export interface JoinOptions {
  last?: boolean;
  amount?: string;
  description?: string;
  expiry?: string;
  invoice?: string;
  fromInbox?: string;
  /** The next payee runs no rdv: pull its invoice for --amount from its BOLT 12 offer or Lightning Address. */
  offer?: string;
  address?: string;
  /** With --from-inbox: the sender to take, when several nodes passed back an invoice for the hash. */
  from?: string;
  payout?: string;
  feeBudget?: string;
  delayBudget?: string;
  safetyMargin?: string;
  cltvWarn?: string;
  qr?: boolean;
}

/** BOLT 11 descriptions are at most 639 bytes. */
const MAX_DESCRIPTION_BYTES = 639;

export async function run(g: GlobalOptions, opts: JoinOptions): Promise<void> {
  const out = makeOutput(g);
  if (opts.description !== undefined && Buffer.byteLength(opts.description) > MAX_DESCRIPTION_BYTES) {
    throw inputError(`--description is ${Buffer.byteLength(opts.description)} bytes; an invoice description holds at most ${MAX_DESCRIPTION_BYTES}`);
  }
  const prompter = inquirerPrompter();
  if (opts.last) {
    if (opts.invoice || opts.fromInbox || opts.payout || opts.feeBudget || opts.delayBudget) {
      throw usageError('--last makes your own invoice: it takes --amount, --description and --expiry, not --invoice/--from-inbox/--payout/budgets');
    }
    return joinLast(g, opts, out, prompter);
  }
  const sources = [opts.invoice, opts.fromInbox, opts.offer, opts.address].filter((v) => v !== undefined).length;
  if (sources > 1) throw usageError('give one of --invoice, --from-inbox, --offer and --address');
  const pulling = opts.offer !== undefined || opts.address !== undefined;
  if (opts.amount && !pulling) throw usageError('--amount is for --last, or the downstream amount with --offer/--address; a relay\'s own amount is the downstream amount + --payout + --fee-budget');
  if (pulling && opts.amount === undefined) throw usageError('--offer and --address need --amount: the downstream amount to ask the next payee\'s invoice for (e.g. --amount 100000sat)');
  return joinRelay(g, opts, out, prompter);
}

// --- shared ------------------------------------------------------------------

function amountOption(text: string | undefined, flag: string, allowZero = false): Msat | undefined {
  if (text === undefined) return undefined;
  const r = parseAmount(text, { allowZero });
  if (!r.ok) throw inputError(`${flag}: ${r.error}`);
  return r.value;
}

function blocksOption(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const r = parseBlocks(text, flag);
  if (!r.ok) throw inputError(r.error);
  return r.value;
}

function expiryOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parseDuration(text, '--expiry');
  if (!r.ok) throw inputError(r.error);
  return r.value;
}

const now = (): number => Math.floor(Date.now() / 1000);

async function showInvoice(out: Output, bolt11: string, qr: boolean): Promise<void> {
  out.result(bolt11);
  if (qr) await out.qr(bolt11);
}

// --- last payee ---------------------------------------------------------------

async function joinLast(g: GlobalOptions, opts: JoinOptions, out: Output, prompter: Prompter): Promise<void> {
  let amountMsat = amountOption(opts.amount, '--amount');
  let description = opts.description;
  const expiry = expiryOption(opts.expiry);
  if (amountMsat === undefined) {
    if (!out.interactive) throw usageError('--amount is required (e.g. --amount 100000sat)');
    const answers = await askLastPayee(prompter, description);
    amountMsat = answers.amountMsat;
    description = answers.description;
  }
  const amount = amountMsat;
  await withNode(g, async (node) => {
    const info = await node.checkedInfo();
    const made = await makeLastInvoice(node, { amountMsat: amount, description: description ?? '', ...(expiry !== undefined ? { expirySeconds: expiry } : {}), now });
    if (!made.ok) throw failedError(made.error);
    const inv = made.value.record;
    // The plugin holds every unfinished record (rdv status --state open asks it). A last
    // payee needs no plugin to be paid, so nothing is said if there is none to tell.
    await notifyPlugin(node, inv.paymentHash).catch(() => undefined);
    if (g.json) {
      out.json({ role: 'last', payment_hash: inv.paymentHash, bolt11: inv.bolt11, amount_msat: amount, label: inv.label, expires_at: inv.expiresAt, node_id: info.id });
      return;
    }
    out.info(out.c.green(`Your invoice for ${formatAmount(amount)} (payment hash ${shortHash(inv.paymentHash)}…):`));
    await showInvoice(out, inv.bolt11, opts.qr !== false);
    out.info();
    out.info(`Next: pass it back to the payee before you in the chain:`);
    out.info(`  rdv pass-back ${shortHash(inv.paymentHash)} --to <their node id>[@host:port]`);
    out.info(`  (or rdv pass-back ${shortHash(inv.paymentHash)} --print, to send it by hand)`);
  });
}

// --- relay --------------------------------------------------------------------

/**
 * The inbox entry to join: by hash prefix, and when several nodes passed back an
 * invoice for that hash (only one can be the next payee), the one `--from` names
 * or, on a terminal, the one the user picks; otherwise refuse, naming them.
 */
async function findInboxEntry(node: LightningNode, prefix: string, from: string | undefined, out: Output, prompter: Prompter): Promise<{ bolt11: string; from: NodeId }> {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(p)) throw inputError(`--from-inbox "${prefix}" is not a payment hash or a prefix of at least 4 hex digits`);
  const wanted = from === undefined ? undefined : asNodeId(from);
  if (from !== undefined && !wanted) throw inputError(`--from "${from}" is not a node id (66 hex digits)`);
  const matching = (await readInbox(node)).filter((i) => i.entry.paymentHash.startsWith(p));
  const hashes = new Set(matching.map((i) => i.entry.paymentHash));
  if (hashes.size === 0) throw inputError(`no invoice in the inbox matches ${p}: see rdv inbox`);
  if (hashes.size > 1) throw inputError(`${hashes.size} inbox invoices match ${p}: give more digits`);
  const candidates = wanted ? matching.filter((i) => i.entry.from === wanted) : matching;
  if (candidates.length === 0) throw inputError(`no invoice for ${p} from ${wanted ?? ''} in the inbox; it came from ${matching.map((i) => i.entry.from).join(', ')}`);
  let chosen = candidates[0];
  if (candidates.length > 1) {
    const names = candidates.map((i) => `${senderName(i.entry.from, i.alias)} [${TRUST_TEXT[i.trust]}]`);
    if (!out.interactive) {
      throw inputError(`${candidates.length} nodes passed back an invoice for ${shortHash(p)}: ${names.join(', ')}; only one is the next payee: choose it with --from <node id>`);
    }
    const picked = await prompter.select({
      message: `${candidates.length} nodes passed back an invoice for ${shortHash(p)}. Which is the next payee?`,
      choices: candidates.map((i, n) => ({ value: String(n), name: `${names[n] ?? ''}  ${i.amountMsat === undefined ? '?' : formatAmount(i.amountMsat as Msat)}` })),
    });
    chosen = candidates[Number(picked)];
  }
  if (!chosen) throw inputError(`no invoice in the inbox matches ${p}: see rdv inbox`);
  if (chosen.trust === 'stranger') out.warn(`${senderName(chosen.entry.from, chosen.alias)} is neither a channel peer nor a node you trust: make sure it is the next payee`);
  return { bolt11: chosen.entry.bolt11, from: chosen.entry.from };
}

/** The next payee's invoice pulled for --amount from --offer or --address (src/rpc/pull.ts), with where it came from. */
async function pullDownstream(node: LightningNode, info: NodeInfo, opts: JoinOptions, out: Output): Promise<{ bolt11: string; from: undefined; source: DownstreamSource }> {
  const amount = amountOption(opts.amount, '--amount');
  if (amount === undefined) throw usageError('--amount is required with --offer/--address');
  let source: DownstreamSource;
  if (opts.offer !== undefined) {
    const o = parseOfferText(opts.offer, '--offer');
    if (!o.ok) throw inputError(o.error);
    source = { kind: 'offer', offer: o.value };
  } else {
    const a = parseLightningAddress(opts.address ?? '', '--address');
    if (!a.ok) throw inputError(a.error);
    source = { kind: 'address', address: a.value };
  }
  const spinner = await out.spinner(`Asking ${source.kind === 'offer' ? 'the offer\'s issuer' : source.address} for an invoice of ${formatAmount(amount)}…`);
  const got = await makePull(node, info, now)(source, amount, PULL_WAIT_MS).finally(() => spinner.stop());
  if (!got.ok) throw failedError(`no invoice from ${source.kind === 'offer' ? 'the offer' : source.address}: ${got.error.reason}`);
  return { bolt11: got.value, from: undefined, source };
}

/** How long rdv join waits for an invoice pulled from an offer or address. */
const PULL_WAIT_MS = 30_000;

async function chooseDownstream(node: LightningNode, info: NodeInfo, opts: JoinOptions, out: Output, prompter: Prompter): Promise<{ bolt11: string; from: NodeId | undefined; source?: DownstreamSource }> {
  if (opts.offer !== undefined || opts.address !== undefined) return pullDownstream(node, info, opts, out);
  if (opts.invoice !== undefined) return { bolt11: opts.invoice, from: undefined };
  if (opts.fromInbox !== undefined) return findInboxEntry(node, opts.fromInbox, opts.from, out, prompter);
  if (!out.interactive) throw usageError('say which invoice to relay to: --invoice <bolt11> or --from-inbox <hash>');
  const inbox = await readInbox(node);
  const choices = inbox.map((i, n) => ({
    value: String(n),
    name: `${shortHash(i.entry.paymentHash)}  ${i.amountMsat === undefined ? '?' : formatAmount(i.amountMsat as Msat)}  from ${senderName(i.entry.from, i.alias)} [${TRUST_TEXT[i.trust]}]`,
  }));
  if (choices.length > 0) {
    const picked = await prompter.select({ message: 'Which invoice do you relay to?', choices: [...choices, { value: '', name: 'paste an invoice' }] });
    const item = picked === '' ? undefined : inbox[Number(picked)];
    if (item) {
      if (item.trust === 'stranger') out.warn(`${senderName(item.entry.from, item.alias)} is neither a channel peer nor a node you trust: make sure it is the next payee`);
      return { bolt11: item.entry.bolt11, from: item.entry.from };
    }
  }
  const pasted = await prompter.text({
    message: "Next payee's invoice (bolt11):",
    validate: (v) => {
      const d = decodeBolt11(v);
      return d.ok ? undefined : d.error;
    },
  });
  return { bolt11: pasted, from: undefined };
}

async function joinRelay(g: GlobalOptions, opts: JoinOptions, out: Output, prompter: Prompter): Promise<void> {
  // Everything the user typed is checked before we talk to the node.
  const given = {
    payoutMsat: amountOption(opts.payout, '--payout'),
    feeBudgetMsat: amountOption(opts.feeBudget, '--fee-budget', true),
    delayBudget: blocksOption(opts.delayBudget, '--delay-budget'),
  };
  const safety = blocksOption(opts.safetyMargin ?? '34', '--safety-margin') ?? 34;
  const cltvWarn = blocksOption(opts.cltvWarn ?? String(DEFAULT_CLTV_WARN), '--cltv-warn') ?? DEFAULT_CLTV_WARN;
  const limits = { safetyMargin: safety, cltvWarn };
  const requestedExpiry = expiryOption(opts.expiry);
  if (opts.invoice !== undefined) {
    const pre = decodeBolt11(opts.invoice);
    if (!pre.ok) throw inputError(`--invoice: ${pre.error}`);
  }
  const missing = (['payoutMsat', 'feeBudgetMsat', 'delayBudget'] as const).filter((k) => given[k] === undefined);
  if (missing.length > 0 && !out.interactive) {
    const flags = { payoutMsat: '--payout', feeBudgetMsat: '--fee-budget', delayBudget: '--delay-budget' };
    throw usageError(`missing ${missing.map((k) => flags[k]).join(', ')} (no terminal to ask on): give them as options`);
  }

  await withNode(g, async (node) => {
    const info = await node.checkedInfo();
    const chosen = await chooseDownstream(node, info, opts, out, prompter);
    const spinner = await out.spinner('Looking for a route to the next payee…');
    const offer = chosen.source?.kind === 'offer' ? { offer: chosen.source.offer } : {};
    const prepared = await prepareRelayJoin(node, info, chosen.bolt11, chosen.from, now(), offer).finally(() => spinner.stop());
    if (!prepared.ok) throw joinError(prepared.error);
    const { invoice: inv, route, downstreamMsat } = prepared.value;
    const suggested = { feeBudgetMsat: suggestFeeBudget(route, downstreamMsat), delayBudget: suggestDelayBudget(route, safety) };
    if (!route) out.warn(`no route to ${shortHash(inv.payee)}… is known yet: the suggested budgets are guesses`);

    let values: RelayValues;
    if (missing.length > 0) {
      values = await askRelayBudgets(prompter, {
        given,
        suggested,
        route,
        downstreamMsat,
        check: (v) => {
          const b = relayBudget(prepared.value, v, limits);
          return 'problem' in b ? b.problem.message : undefined;
        },
      });
    } else {
      values = given as RelayValues;
    }
    const budget = relayBudget(prepared.value, values, limits);
    if ('problem' in budget) throw inputError(budget.problem.message);
    const plan = budget.plan;
    for (const w of plan.warnings) out.warn(w);

    const summary = summaryRows(inv, values, plan, route);
    if (out.interactive) {
      out.info();
      out.pairs(summary);
      out.info();
      if (!(await confirmSummary(prompter))) throw new RdvError('interrupted', 'cancelled: nothing was written');
    }

    const joined = await completeRelayJoin(node, info, prepared.value, values, plan, {
      ...limits,
      requestedExpirySeconds: requestedExpiry,
      description: opts.description,
      ...(chosen.source ? { source: chosen.source } : {}),
      warn: (m) => out.warn(m),
      now,
    });
    if (!joined.ok) throw joinError(joined.error);
    const { record, nodeLost } = joined.value;
    // Joined: from here on nothing undoes it, so a node that goes away now is a warning and the
    // invoice is still shown (an error here would leave a stored relay the payee never saw).
    if (!nodeLost) {
      try {
        const plugin = await notifyPlugin(node, record.paymentHash);
        for (const warning of pluginWarnings(plugin)) out.warn(warning);
      } catch (e) {
        out.warn(`joined and stored, but lightningd stopped answering (${(e as Error).message}): check rdv status ${shortHash(record.paymentHash)} once it is back`);
      }
    }
    await report(out, g, opts, info, record, summary);
  });
}

function joinError(p: JoinProblem): RdvError {
  return p.kind === 'input' ? inputError(p.message) : failedError(p.message);
}

function summaryRows(inv: Downstream, v: RelayValues, plan: BudgetPlan, route: RouteEstimate | undefined): Array<[string, string]> {
  const expires = new Date(inv.expiresAt * 1000).toISOString().replace('.000Z', 'Z');
  return [
    ['downstream amount', formatAmount(inv.amountMsat as Msat)],
    ['your payout', formatAmount(v.payoutMsat)],
    ['fee budget', `${formatAmount(v.feeBudgetMsat)}${route ? ` (route fee now ${formatAmount(route.feeMsat)})` : ''}`],
    ['total (payer pays)', formatAmount(plan.amountMsat)],
    ['delay budget', `${v.delayBudget} blocks${route ? ` (route needs ${route.delayBlocks})` : ''}`],
    ['min_final_cltv', `${plan.minFinalCltv} blocks (downstream ${inv.minFinalCltv} + ${v.delayBudget})`],
    ['downstream expiry', expires],
  ];
}

async function report(out: Output, g: GlobalOptions, opts: JoinOptions, info: NodeInfo, record: RelayRecord, summary: Array<[string, string]>): Promise<void> {
  if (g.json) {
    out.json({
      role: 'relay',
      payment_hash: record.paymentHash,
      bolt11: record.bolt11,
      amount_msat: record.amountMsat,
      payout_msat: record.payoutMsat,
      fee_budget_msat: record.feeBudgetMsat,
      delay_budget: record.delayBudget,
      min_final_cltv: record.minFinalCltv,
      expires_at: record.expiresAt,
      downstream_payee: record.downstreamPayee,
      node_id: info.id,
    });
    return;
  }
  if (!out.interactive) out.pairs(summary);
  out.info(out.c.green(`\nYour relay invoice for ${formatAmount(record.amountMsat)} (same payment hash ${shortHash(record.paymentHash)}…):`));
  await showInvoice(out, record.bolt11, opts.qr !== false);
  out.info();
  out.info('Next: if a payee comes before you, pass it back to them:');
  out.info(`  rdv pass-back ${shortHash(record.paymentHash)} --to <their node id>[@host:port]`);
  out.info('If you are the first payee, give this invoice to the payer.');
  out.info(`Keep rdv loaded in lightningd until it settles: rdv status ${shortHash(record.paymentHash)}`);
}
