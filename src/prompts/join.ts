/** The questions `rdv join` asks on a terminal. Validators are the same pure checks the flags get. */
import { formatAmount, formatAmountArg, parseAmount, type Msat } from '../chain/amount.js';
import type { RouteEstimate } from '../chain/budget.js';
import { parseBlocks } from '../chain/units.js';
import type { Prompter } from './prompter.js';

export interface RelayAnswers {
  payoutMsat: Msat;
  feeBudgetMsat: Msat;
  delayBudget: number;
}

export function amountValidator(allowZero: boolean): (v: string) => string | undefined {
  return (v) => {
    const r = parseAmount(v, { allowZero });
    return r.ok ? undefined : r.error;
  };
}

export function blocksValidator(what: string): (v: string) => string | undefined {
  return (v) => {
    const r = parseBlocks(v, what);
    return r.ok ? undefined : r.error;
  };
}

function mustAmount(v: string, allowZero: boolean): Msat {
  const r = parseAmount(v, { allowZero });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function mustBlocks(v: string, what: string): number {
  const r = parseBlocks(v, what);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export async function askRelayBudgets(
  prompter: Prompter,
  p: {
    given: { payoutMsat: Msat | undefined; feeBudgetMsat: Msat | undefined; delayBudget: number | undefined };
    suggested: { feeBudgetMsat: Msat; delayBudget: number };
    route: RouteEstimate | undefined;
    downstreamMsat: Msat;
    /** The whole-budget check; its message is shown under the delay question. */
    check: (v: RelayAnswers) => string | undefined;
  },
): Promise<RelayAnswers> {
  const payoutMsat =
    p.given.payoutMsat ??
    mustAmount(await prompter.text({ message: `Your payout (downstream is ${formatAmount(p.downstreamMsat)}):`, validate: amountValidator(false) }), false);
  const routeNote = p.route ? `route fee now ${formatAmount(p.route.feeMsat)}` : 'no route known yet';
  const feeBudgetMsat =
    p.given.feeBudgetMsat ??
    mustAmount(
      await prompter.text({
        message: `Fee budget for paying the next payee (${routeNote}):`,
        default: formatAmountArg(p.suggested.feeBudgetMsat),
        validate: amountValidator(true),
      }),
      true,
    );
  const routeDelay = p.route ? `route needs ${p.route.delayBlocks}` : 'route unknown';
  const delayBudget =
    p.given.delayBudget ??
    mustBlocks(
      await prompter.text({
        message: `Delay budget in blocks (${routeDelay}, plus the safety margin):`,
        default: String(p.suggested.delayBudget),
        validate: (v) => {
          const r = parseBlocks(v, 'delay budget');
          if (!r.ok) return r.error;
          return p.check({ payoutMsat, feeBudgetMsat, delayBudget: r.value });
        },
      }),
      'delay budget',
    );
  return { payoutMsat, feeBudgetMsat, delayBudget };
}

export async function askLastPayee(prompter: Prompter, description: string | undefined): Promise<{ amountMsat: Msat; description: string }> {
  const amountMsat = mustAmount(await prompter.text({ message: 'Amount to receive (e.g. 100000sat):', validate: amountValidator(false) }), false);
  const desc = description ?? (await prompter.text({ message: 'Description (shown to the payer):', default: '' }));
  return { amountMsat, description: desc };
}

export function confirmSummary(prompter: Prompter): Promise<boolean> {
  return prompter.confirm({ message: 'Create and store this invoice?', default: true });
}
