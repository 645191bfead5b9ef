/**
 * `rdv policy add|list|remove`: the relay policies the rdv plugin joins pass-backs
 * by (src/chain/policy/ decides, src/rpc/policies.ts reads and writes the book;
 * this only parses, asks and prints). The plugin reads the book at each pass-back.
 */
import { randomBytes } from 'node:crypto';
import { shortHash } from '../chain/ids.js';
import { POLICY_KEY, type PolicyBook } from '../chain/policy/policy.js';
import { newPolicy, type PolicyInput } from '../chain/policy/input.js';
import { addPolicy, policyToJson, removePolicy } from '../chain/policy/book.js';
import { ShapeError } from '../chain/read.js';
import { assertNever, failedError, inputError, ok, usageError, type Result } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { loadBook, updateBook } from '../rpc/policies.js';
import { POLICY_TABLE_HEADER, policyRows, policySummary } from '../ui/policy-view.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginsState, pluginWarnings } from './plugin-check.js';

export interface PolicyAddOptions {
  from?: string;
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
}

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

/** The options as newPolicy takes them; a missing required one is a usage error (exit 2). */
function policyInput(o: PolicyAddOptions): PolicyInput {
  const { from, payout, feeBudget, delayBudget } = o;
  if (from === undefined || payout === undefined || feeBudget === undefined || delayBudget === undefined) {
    const missing = Object.entries({ '--from': from, '--payout': payout, '--fee-budget': feeBudget, '--delay-budget': delayBudget }).filter(([, v]) => v === undefined);
    throw usageError(`rdv policy add needs ${missing.map(([flag]) => flag).join(', ')}: e.g. rdv policy add --from <next payee's node id> --payout 2% --fee-budget 0.5% --delay-budget 80`);
  }
  return {
    from,
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
    await change(node, (book) => {
      const next = addPolicy(book, policy);
      return next.ok ? ok({ book: next.value, value: policy }) : next;
    });
    for (const warning of pluginWarnings(await pluginsState(node))) out.warn(warning);
    if (g.json) {
      out.json(policyToJson(policy, at));
      return;
    }
    out.pairs(policySummary(policy, at));
    out.result(`policy ${policy.id} added: the rdv plugin now joins by itself every invoice ${shortHash(policy.from)}… passes back to you (no restart needed)`);
    out.info(
      policy.passTo
        ? `Its own invoice goes on to ${shortHash(policy.passTo.id)}…, confirmed as by rdv pass-back.`
        : 'Its own invoice stays here: see rdv status, and pass it on with rdv pass-back <hash> --to <node>.',
    );
    out.info(`Remove it with: rdv policy remove ${policy.id}`);
  });
}

async function list(g: GlobalOptions): Promise<void> {
  const out = makeOutput(g);
  await withNode(g, async (node) => {
    const { book } = await readable(loadBook(node));
    const at = now();
    if (g.json) {
      out.json({ policies: book.policies.map((p) => policyToJson(p, at)) });
      return;
    }
    if (book.policies.length === 0) {
      out.result('No policies: every invoice passed back to you waits in rdv inbox for rdv join. Add one with: rdv policy add --from <node id> --payout <amount|%> --fee-budget <amount|%> --delay-budget <blocks>');
      return;
    }
    out.table(POLICY_TABLE_HEADER, policyRows(book.policies, at));
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
    out.json({ removed: policyToJson(p, now()) });
    out.result(`removed policy ${p.id}: invoices ${shortHash(p.from)}… passes back wait in rdv inbox again (what it joined already stays, see rdv status)`);
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
