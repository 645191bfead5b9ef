/** What the operator types for `rdv policy add`: shares, the --pass-to peer, bounds; checked before the node is asked. */
import { formatAmount, parseAmount } from '../amount.js';
import { BLOCK_ALLOWANCE, DEFAULT_SAFETY_MARGIN } from '../budget.js';
import { isNodeId, type NodeId } from '../ids.js';
import { parseAddress } from '../lnurl-pay.js';
import { OFFER_RE } from '../record-downstream.js';
import { parseBlocks, parseDuration } from '../units.js';
import { err, ok, type Result } from '../../errors.js';
import {
  MAX_NOTE_BYTES, PPM, type Share, type PassTo, type Policy, type PolicyBounds, POLICY_BOUND_LIMITS,
  type LastPolicy, DEFAULT_LAST_EXPIRY_SECONDS, DEFAULT_POLICY_BOUNDS, LAST_LIMITS, MAX_DESCRIPTION_BYTES, type PullSource, MAX_ADDRESS_CHARS, MAX_OFFER_CHARS,
} from './policy.js';

/** "2%", "0.25%" or an amount ("5000sat"). */
export function parseShare(text: string, flag: string, options: { allowZero?: boolean } = {}): Result<Share> {
  const t = text.trim();
  // Any number of digits, so that "150%" and "1000%" are both "more than 100%", not "not a percentage".
  const pct = /^(\d+)(?:\.(\d{1,4}))?\s*%$/.exec(t);
  if (pct) {
    const whole = (pct[1] ?? '0').replace(/^0+(?=\d)/, '');
    const ppm = whole.length > 3 ? PPM + 1n : BigInt(whole) * 10_000n + BigInt((pct[2] ?? '').padEnd(4, '0'));
    if (ppm > PPM) return err(`${flag} ${t} is more than 100%`);
    if (ppm === 0n && !options.allowZero) return err(`${flag} ${t} is zero`);
    return ok({ kind: 'percent', ppm });
  }
  if (t.includes('%')) return err(`${flag} "${t}" is not a percentage: use e.g. 2% or 0.25% (at most 4 decimals)`);
  const a = parseAmount(t, { allowZero: options.allowZero ?? false });
  if (!a.ok) return err(`${flag}: ${a.error}`);
  return ok({ kind: 'fixed', msat: a.value });
}

/** What `rdv policy add` was given, as text. */
export interface PolicyInput {
  /** The next payee: exactly one of --from (a node that passes back), --address and --offer. */
  from?: string;
  address?: string;
  offer?: string;
  payout: string;
  feeBudget: string;
  delayBudget: string;
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

/** "id", "id@host", "id@host:port", "id@[::1]:port": --pass-to, and rdv pass-back's --to. */
export function parsePassTo(text: string, flag = '--pass-to'): Result<PassTo> {
  const m = /^([0-9a-fA-F]{66})(?:@(\[[^\]]+\]|[^:@\s]+)(?::(\d{1,5}))?)?$/.exec(text.trim());
  const id = m?.[1]?.toLowerCase();
  if (!m || !id || !isNodeId(id)) return err(`${flag} "${text}" is not a node id (66 hex digits), optionally with @host[:port]`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return err(`${flag}: port ${m[3]} is out of range`);
  const host = m[2]?.replace(/^\[|\]$/g, '');
  return ok({ id, ...(host !== undefined ? { host } : {}), ...(port !== undefined ? { port } : {}) });
}

/**
 * A new policy from what the operator typed, or why it can never be met. `self`
 * is this node (a policy from or to itself is a mistake); undefined checks
 * everything else, so a command can refuse bad input before it reaches the node.
 * `now` dates it.
 */
export function newPolicy(input: PolicyInput, ctx: { id: string; self: NodeId | undefined; now: number; safetyMargin?: number }): Result<Policy> {
  const next = parseNext(input, ctx.self);
  if (!next.ok) return next;
  const from = 'from' in next.value ? next.value.from : undefined;
  const payout = parseShare(input.payout, '--payout');
  if (!payout.ok) return payout;
  const fee = parseShare(input.feeBudget, '--fee-budget', { allowZero: true });
  if (!fee.ok) return fee;
  const delay = parseBlocks(input.delayBudget, '--delay-budget');
  if (!delay.ok) return delay;
  const safety = ctx.safetyMargin ?? DEFAULT_SAFETY_MARGIN;
  if (delay.value <= safety + BLOCK_ALLOWANCE) {
    return err(`--delay-budget ${delay.value} can never be met: it must exceed the safety margin (${safety}) plus ${BLOCK_ALLOWANCE} blocks for xpay's retries, and cover the route's CLTV deltas too; give at least ${safety + BLOCK_ALLOWANCE + 1}`);
  }
  const policy: Policy = { id: ctx.id, ...next.value, payout: payout.value, feeBudget: fee.value, delayBudget: delay.value, createdAt: ctx.now };
  if (input.passTo !== undefined) {
    const to = parsePassTo(input.passTo);
    if (!to.ok) return to;
    if (to.value.id === ctx.self) return err('--pass-to is this node itself: give the previous payee\'s (or the payer\'s) node id');
    if (from !== undefined && to.value.id === from) return err('--pass-to is the --from node: our invoice goes to the payee before us, not back to the next one');
    policy.passTo = to.value;
  }
  for (const [flag, text, field] of [['--min-amount', input.minAmount, 'minAmountMsat'], ['--max-amount', input.maxAmount, 'maxAmountMsat']] as const) {
    if (text === undefined) continue;
    const a = parseAmount(text);
    if (!a.ok) return err(`${flag}: ${a.error}`);
    policy[field] = a.value;
  }
  if (policy.minAmountMsat !== undefined && policy.maxAmountMsat !== undefined && policy.minAmountMsat > policy.maxAmountMsat) {
    return err(`--min-amount ${formatAmount(policy.minAmountMsat)} is more than --max-amount ${formatAmount(policy.maxAmountMsat)}: no pass-back could meet the policy`);
  }
  if (input.expires !== undefined) {
    const d = parseDuration(input.expires, '--expires');
    if (!d.ok) return d;
    if (d.value <= 0) return err('--expires must be a positive duration, e.g. 30d');
    policy.expiresAt = ctx.now + d.value;
  }
  if (input.note !== undefined) {
    if (Buffer.byteLength(input.note) > MAX_NOTE_BYTES) return err(`--note is longer than ${MAX_NOTE_BYTES} bytes`);
    policy.note = input.note;
  }
  const bounds = parseBounds(input);
  if (!bounds.ok) return bounds;
  if (Object.keys(bounds.value).length > 0) policy.bounds = bounds.value;
  // A fixed fee budget over a fixed maximum amount would be refused by every join.
  if (policy.feeBudget.kind === 'fixed' && policy.maxAmountMsat !== undefined && policy.feeBudget.msat > policy.maxAmountMsat) {
    return err(`--fee-budget ${formatAmount(policy.feeBudget.msat)} is more than --max-amount: rdv join refuses a fee budget above the downstream amount`);
  }
  return ok(policy);
}

/** The next payee of a relay policy: --from, --address or --offer, exactly one. */
function parseNext(input: PolicyInput, self: NodeId | undefined): Result<{ from: NodeId } | { pull: PullSource }> {
  const given = [input.from, input.address, input.offer].filter((v) => v !== undefined).length;
  if (given !== 1) return err('give the next payee once: --from <node id> (it runs rdv and passes back), --address <name@domain> or --offer <lno1...>');
  if (input.address !== undefined) {
    const a = parseLightningAddress(input.address, '--address');
    return a.ok ? ok({ pull: { kind: 'address', address: a.value } }) : a;
  }
  if (input.offer !== undefined) {
    const o = parseOfferText(input.offer, '--offer');
    return o.ok ? ok({ pull: { kind: 'offer', offer: o.value } }) : o;
  }
  const from = (input.from ?? '').trim().toLowerCase();
  if (!isNodeId(from)) return err(`--from "${input.from}" is not a node id (66 hex digits)`);
  if (from === self) return err('--from is this node itself: give the next payee\'s node id');
  return ok({ from });
}

/** A Lightning Address (LUD-16, src/chain/lnurl-pay.ts parseAddress), as stored: name@domain, lowercased. Only its form is checked here. */
export function parseLightningAddress(text: string, flag: string): Result<string> {
  if (text.trim().length > MAX_ADDRESS_CHARS) return err(`${flag} is longer than ${MAX_ADDRESS_CHARS} characters`);
  const a = parseAddress(text);
  return a.ok ? ok(`${a.value.name}@${a.value.domain}`) : err(`${flag}: ${a.error}`);
}

/** A BOLT 12 offer's text (lno1..., bech32 without a checksum, `+` line breaks allowed): its form only; the node's `decode` checks the rest. */
export function parseOfferText(text: string, flag: string): Result<string> {
  const t = text.trim().toLowerCase().replace(/\+\s*/g, '');
  if (t.length > MAX_OFFER_CHARS) return err(`${flag} is longer than ${MAX_OFFER_CHARS} characters`);
  if (!t.startsWith('lno1')) return err(`${flag} must be a BOLT 12 offer (lno1...)${t.startsWith('lni1') ? ', not an invoice' : ''}`);
  if (!OFFER_RE.test(t)) return err(`${flag} is not a BOLT 12 offer: it has characters bech32 does not use`);
  return ok(t);
}

/** What `rdv policy add --last` was given, as text. */
export interface LastPolicyInput {
  for: string;
  minAmount?: string;
  maxAmount?: string;
  description?: string;
  expiry?: string;
  maxUnpaid?: string;
  maxPerMinute?: string;
  expires?: string;
  note?: string;
}

/**
 * A new last-payee policy from what the operator typed, or why it can never be
 * met. `self` is this node (undefined: checked later, as for newPolicy).
 */
export function newLastPolicy(input: LastPolicyInput, ctx: { id: string; self: NodeId | undefined; now: number }): Result<LastPolicy> {
  const forNode = input.for.trim().toLowerCase();
  if (!isNodeId(forNode)) return err(`--for "${input.for}" is not a node id (66 hex digits)`);
  if (forNode === ctx.self) return err('--for is this node itself: give the node id of the payee before you (the one that asks you for invoices)');
  const description = input.description ?? '';
  if (Buffer.byteLength(description, 'utf8') > MAX_DESCRIPTION_BYTES) return err(`--description is ${Buffer.byteLength(description, 'utf8')} bytes; an invoice description holds at most ${MAX_DESCRIPTION_BYTES}`);
  let invoiceExpirySeconds = DEFAULT_LAST_EXPIRY_SECONDS;
  if (input.expiry !== undefined) {
    const d = parseDuration(input.expiry, '--expiry');
    if (!d.ok) return d;
    const { min, max } = LAST_LIMITS.invoiceExpirySeconds;
    if (d.value < min || d.value > max) return err(`--expiry ${input.expiry.trim()} is out of range: give ${min} s to ${max / 86_400}d`);
    invoiceExpirySeconds = d.value;
  }
  const maxUnpaid = input.maxUnpaid === undefined ? ok(DEFAULT_POLICY_BOUNDS.maxOpen) : parseCount(input.maxUnpaid, '--max-unpaid', LAST_LIMITS.maxUnpaid);
  if (!maxUnpaid.ok) return maxUnpaid;
  const maxPerMinute = input.maxPerMinute === undefined ? ok(DEFAULT_POLICY_BOUNDS.maxPerMinute) : parseCount(input.maxPerMinute, '--max-per-minute', LAST_LIMITS.maxPerMinute);
  if (!maxPerMinute.ok) return maxPerMinute;
  const policy: LastPolicy = { kind: 'last', id: ctx.id, for: forNode, description, invoiceExpirySeconds, maxUnpaid: maxUnpaid.value, maxPerMinute: maxPerMinute.value, createdAt: ctx.now };
  for (const [flag, text, field] of [['--min-amount', input.minAmount, 'minAmountMsat'], ['--max-amount', input.maxAmount, 'maxAmountMsat']] as const) {
    if (text === undefined) continue;
    const a = parseAmount(text);
    if (!a.ok) return err(`${flag}: ${a.error}`);
    policy[field] = a.value;
  }
  if (policy.minAmountMsat !== undefined && policy.maxAmountMsat !== undefined && policy.minAmountMsat > policy.maxAmountMsat) {
    return err(`--min-amount ${formatAmount(policy.minAmountMsat)} is more than --max-amount ${formatAmount(policy.maxAmountMsat)}: no request could meet the policy`);
  }
  if (input.expires !== undefined) {
    const d = parseDuration(input.expires, '--expires');
    if (!d.ok) return d;
    if (d.value <= 0) return err('--expires must be a positive duration, e.g. 30d');
    policy.expiresAt = ctx.now + d.value;
  }
  if (input.note !== undefined) {
    if (Buffer.byteLength(input.note) > MAX_NOTE_BYTES) return err(`--note is longer than ${MAX_NOTE_BYTES} bytes`);
    policy.note = input.note;
  }
  return ok(policy);
}

/** A whole number within `range`, for the options that take a count. */
function parseCount(text: string, flag: string, range: { min: number; max: number }): Result<number> {
  const m = /^\s*(\d{1,9})\s*$/.exec(text);
  if (!m) return err(`${flag} "${text}" is not a whole number`);
  const n = Number(m[1]);
  if (n < range.min || n > range.max) return err(`${flag} ${n} is out of range: give ${range.min} to ${range.max}`);
  return ok(n);
}

/** The bounds the operator gave (the others stay absent: the defaults apply). */
function parseBounds(input: PolicyInput): Result<Partial<PolicyBounds>> {
  const out: Partial<PolicyBounds> = {};
  const L = POLICY_BOUND_LIMITS;
  for (const [flag, text, field] of [['--max-open', input.maxOpen, 'maxOpen'], ['--max-per-minute', input.maxPerMinute, 'maxPerMinute'], ['--max-description', input.maxDescription, 'maxDescriptionBytes']] as const) {
    if (text === undefined) continue;
    const n = parseCount(text, flag, L[field]);
    if (!n.ok) return n;
    out[field] = n.value;
  }
  if (input.maxInvoiceLife !== undefined) {
    const d = parseDuration(input.maxInvoiceLife, '--max-invoice-life');
    if (!d.ok) return d;
    const { min, max } = L.maxInvoiceLifeSeconds;
    if (d.value < min || d.value > max) return err(`--max-invoice-life ${input.maxInvoiceLife.trim()} is out of range: give ${min} s to ${max / 86_400}d`);
    out.maxInvoiceLifeSeconds = d.value;
  }
  return ok(out);
}
