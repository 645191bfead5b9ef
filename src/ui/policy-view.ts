/** What `rdv policy` prints: the summary of one policy, the tables of all (relay policies, then last-payee ones). Pure. */
import { formatAmount } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { formatShare, nextPayeeText, policyBounds, type LastPolicy, type PassTo, type Policy, type Share } from '../chain/policy/policy.js';
import { formatDuration } from '../chain/units.js';

/** "2% of the downstream amount", "5,000 sat". */
const shareText = (s: Share): string => (s.kind === 'percent' ? `${formatShare(s)} of the downstream amount` : formatShare(s));

/** "03a1b2c3…@203.0.113.7:9735", or with the full id. */
function passToText(to: PassTo, full: boolean): string {
  const id = full ? to.id : `${shortHash(to.id)}…`;
  const host = to.host === undefined ? '' : to.host.includes(':') ? `@[${to.host}]` : `@${to.host}`;
  return `${id}${host}${to.port === undefined ? '' : `:${to.port}`}`;
}

/** "any", "at least 10,000 sat", "10,000 sat to 1,000,000 sat". */
export function limitsText(p: Pick<Policy, 'minAmountMsat' | 'maxAmountMsat'>): string {
  const { minAmountMsat: min, maxAmountMsat: max } = p;
  if (min !== undefined && max !== undefined) return `${formatAmount(min)} to ${formatAmount(max)}`;
  if (min !== undefined) return `at least ${formatAmount(min)}`;
  if (max !== undefined) return `at most ${formatAmount(max)}`;
  return 'any';
}

const isoDate = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

/** "never", "2027-01-01T00:00:00Z (in 30d 0h)", "EXPIRED 2d 3h ago". */
export function expiresText(p: { expiresAt?: number }, now: number, date = true): string {
  if (p.expiresAt === undefined) return 'never';
  if (p.expiresAt <= now) return `EXPIRED ${formatDuration(now - p.expiresAt)} ago`;
  const left = `in ${formatDuration(p.expiresAt - now)}`;
  return date ? `${isoDate(p.expiresAt)} (${left})` : left;
}

/** "1h", "15m", "2d", "90s": a duration as the options take it. */
export function lifeText(seconds: number): string {
  for (const [unit, n] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) if (seconds % n === 0) return `${seconds / n}${unit}`;
  return `${seconds}s`;
}

/** "100 open, 30/min, 1h, 200 B": the bounds of its joins, the defaults included. */
export function boundsText(p: Policy): string {
  const b = policyBounds(p);
  return `${b.maxOpen} open, ${b.maxPerMinute}/min, ${lifeText(b.maxInvoiceLifeSeconds)}, ${b.maxDescriptionBytes} B`;
}

/** The label: value rows `rdv policy add` shows, as `rdv join` shows its budget. */
export function policySummary(p: Policy, now: number): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    [p.pull ? 'pulls from (next payee)' : 'from (next payee)', nextPayeeText(p)],
    ['payout', shareText(p.payout)],
    ['fee budget', shareText(p.feeBudget)],
    ['delay budget', `${p.delayBudget} blocks`],
    ['pass to', p.passTo ? passToText(p.passTo, true) : 'nobody: pass each joined invoice on with rdv pass-back'],
    ['downstream amount', limitsText(p)],
    ['expires', expiresText(p, now)],
    ['open relays', `at most ${policyBounds(p).maxOpen} unpaid at once`],
    ['joins', `at most ${policyBounds(p).maxPerMinute} a minute`],
    ['invoice life', `at most ${lifeText(policyBounds(p).maxInvoiceLifeSeconds)}`],
    ['description', `at most ${policyBounds(p).maxDescriptionBytes} bytes`],
  ];
  if (p.note !== undefined) rows.push(['note', p.note]);
  return rows;
}

export const POLICY_TABLE_HEADER = ['ID', 'FROM', 'PAYOUT', 'FEE BUDGET', 'DELAY', 'PASS TO', 'LIMITS', 'EXPIRES', 'BOUNDS', 'NOTE'];

/** One row per policy, in the book's order (the order they were added). */
export function policyRows(policies: readonly Policy[], now: number): string[][] {
  return policies.map((p) => [
    p.id,
    nextPayeeText(p, true),
    formatShare(p.payout),
    formatShare(p.feeBudget),
    String(p.delayBudget),
    p.passTo ? passToText(p.passTo, false) : '-',
    limitsText(p),
    p.expiresAt === undefined ? 'active' : expiresText(p, now, false),
    boundsText(p),
    // One line per policy: a note with a newline would break the table.
    (p.note ?? '').replace(/\s+/g, ' '),
  ]);
}

/** The label: value rows `rdv policy add --last` shows. */
export function lastPolicySummary(p: LastPolicy, now: number): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['for (asks you)', p.for],
    ['amount asked', limitsText(p)],
    ['description', p.description === '' ? '(none)' : p.description],
    ['invoice life', lifeText(p.invoiceExpirySeconds)],
    ['unpaid invoices', `at most ${p.maxUnpaid} at once`],
    ['requests', `at most ${p.maxPerMinute} a minute`],
    ['expires', expiresText(p, now)],
  ];
  if (p.note !== undefined) rows.push(['note', p.note]);
  return rows;
}

export const LAST_TABLE_HEADER = ['ID', 'FOR', 'AMOUNT', 'DESCRIPTION', 'LIFE', 'BOUNDS', 'EXPIRES', 'NOTE'];

/** One row per last-payee policy, in the book's order. */
export function lastPolicyRows(policies: readonly LastPolicy[], now: number): string[][] {
  const oneLine = (t: string): string => t.replace(/\s+/g, ' ');
  return policies.map((p) => [
    p.id,
    `${shortHash(p.for)}…`,
    limitsText(p),
    oneLine(p.description) || '-',
    lifeText(p.invoiceExpirySeconds),
    `${p.maxUnpaid} unpaid, ${p.maxPerMinute}/min`,
    p.expiresAt === undefined ? 'active' : expiresText(p, now, false),
    oneLine(p.note ?? ''),
  ]);
}
