/**
 * The story of DESIGN.md, told with the same commands a user types: the last
 * payee makes an invoice and passes it back, each relay joins over the next
 * one's and passes back, the payer pays the first invoice, everyone settles.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { formatAmount, msat, type Msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { isObject } from '../chain/read.js';
import { failedError } from '../errors.js';
import { payInvoice, type DemoNetwork, type DemoNode } from './network.js';

export interface StoryStep {
  name: string;
  ms: number;
}

export interface PayeeOutcome {
  name: string;
  role: 'relay' | 'last';
  receivedMsat: bigint;
  paidOnMsat: bigint;
  keptMsat: bigint;
}

export interface StoryResult {
  network: 'simulated' | 'regtest';
  paymentHash: string;
  payerPaidMsat: bigint;
  payeesSettled: boolean;
  outcomes: PayeeOutcome[];
  steps: StoryStep[];
  totalMs: number;
}

export interface StoryOptions {
  rdvPath: string;
  /** What each relay keeps, by position from the payer's side (default 2,000 / 5,000 / 1,000 sat…). */
  lastAmount: string;
  /** Hands-free: each relay sets an rdv policy first; only the last payee types anything after. */
  policy?: boolean;
  say: (line: string) => void;
  command: (line: string) => void;
  detail: (line: string) => void;
}

const PAYOUTS = ['2000sat', '5000sat', '3000sat', '4000sat', '1000sat', '6000sat', '7000sat'];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function rdv(path: string, node: DemoNode, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(path, ['--lightning-dir', node.dir, '--network', 'regtest', ...args], {
      env: { ...process.env, LIGHTNINGD_PLUGIN: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function rdvJson(path: string, node: DemoNode, args: string[], o: StoryOptions): Promise<Record<string, unknown>> {
  o.command(`${node.name}$ rdv ${args.map((a) => (/[\s"']/.test(a) ? `"${a}"` : a)).join(' ')}`);
  const r = await rdv(path, node, ['--json', ...args]);
  if (r.code !== 0) throw failedError(`${node.name}: rdv ${args[0] ?? ''} failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const value: unknown = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
  return isObject(value) ? (value as Record<string, unknown>) : {};
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const num = (v: unknown): bigint => (typeof v === 'number' || typeof v === 'bigint' ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : 0n);

export type Timed = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Each relay's policy: join what the next payee passes back, pass ours to the one before (or the payer). */
async function setPolicies(net: DemoNetwork, o: StoryOptions, timed: Timed): Promise<void> {
  const payees = net.payees;
  for (let i = payees.length - 2; i >= 0; i--) {
    const relay = payees[i] as DemoNode;
    const next = payees[i + 1] as DemoNode;
    const before = i === 0 ? net.payer : (payees[i - 1] as DemoNode);
    const payout = PAYOUTS[i % PAYOUTS.length] ?? '1000sat';
    o.say(`${relay.name} sets a policy once: join what ${next.name} passes back (payout ${payout}), pass ours to ${before.name}`);
    await timed(`${relay.name} adds a policy`, () =>
      rdvJson(o.rdvPath, relay, ['policy', 'add', '--from', next.id, '--payout', payout, '--fee-budget', '1000sat', '--delay-budget', '60', '--pass-to', `${before.id}@127.0.0.1:${before.port}`], o),
    );
  }
}

/** The last payee passes back; the policies do the rest; the payer's inbox gets the first payee's invoice. */
async function handsFree(net: DemoNetwork, o: StoryOptions, hash: string, timed: Timed): Promise<string> {
  const payees = net.payees;
  const last = payees.at(-1) as DemoNode;
  const relay = payees.at(-2) as DemoNode;
  const first = payees[0] as DemoNode;
  o.say(`${last.name} passes the invoice back to ${relay.name}: from here on no one types anything`);
  const sent = await timed(`${last.name} passes back`, () => rdvJson(o.rdvPath, last, ['pass-back', shortHash(hash), '--to', `${relay.id}@127.0.0.1:${relay.port}`, '--timeout', '60'], o));
  const delivery = isObject(sent.delivery) ? sent.delivery : {};
  o.detail(`${relay.name}'s rdv: ${str(delivery.reason) || str(delivery.status)}`);
  o.say(`the policies join and pass on, up to the payer's node, whose rdv keeps ${first.name}'s invoice in its inbox`);
  return timed("the payer's inbox gets the invoice", async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const inbox = await rdvJson(o.rdvPath, net.payer, ['inbox'], { ...o, command: () => undefined });
      const entry = (Array.isArray(inbox.invoices) ? inbox.invoices : []).find((i): i is Record<string, unknown> => isObject(i) && i.payment_hash === hash);
      if (entry) {
        o.command('payer$ rdv inbox');
        o.detail(`${shortHash(hash)}… from ${first.name}: ${formatAmount(msat(num(entry.amount_msat)))}`);
        return str(entry.bolt11);
      }
      if (Date.now() > deadline) throw failedError(`the payer's inbox did not get ${first.name}'s invoice within 120 s (see each relay's lightningd log)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
}

/** A story's steps, timed as they run. */
export function stopwatch(): { steps: StoryStep[]; started: number; timed: Timed } {
  const steps: StoryStep[] = [];
  const timed: Timed = async (name, fn) => {
    const t0 = Date.now();
    const v = await fn();
    steps.push({ name, ms: Date.now() - t0 });
    return v;
  };
  return { steps, started: Date.now(), timed };
}

export async function tellStory(net: DemoNetwork, o: StoryOptions): Promise<StoryResult> {
  const { steps, started, timed } = stopwatch();
  const payees = net.payees;
  const last = payees.at(-1);
  if (!last) throw failedError('a demo needs at least one payee');

  if (o.policy) await setPolicies(net, o, timed);

  o.say(`${last.name} is the last payee: a normal invoice on her node`);
  const lastJoin = await timed(`${last.name} joins (last)`, () => rdvJson(o.rdvPath, last, ['join', '--last', '--amount', o.lastAmount, '--description', 'demo order 42'], o));
  const hash = str(lastJoin.payment_hash);
  let bolt11 = str(lastJoin.bolt11);
  o.detail(`invoice for ${formatAmount(msat(num(lastJoin.amount_msat)))}, payment hash ${shortHash(hash)}…`);

  if (o.policy && payees.length > 1) {
    bolt11 = await handsFree(net, o, hash, timed);
  }
  for (let i = o.policy ? -1 : payees.length - 2; i >= 0; i--) {
    const relay = payees[i] as DemoNode;
    const next = payees[i + 1] as DemoNode;
    o.say(`${next.name} passes the invoice back to ${relay.name} over a peer message`);
    const sent = await timed(`${next.name} passes back`, () => rdvJson(o.rdvPath, next, ['pass-back', shortHash(hash), '--to', `${relay.id}@127.0.0.1:${relay.port}`], o));
    const delivery = isObject(sent.delivery) ? str(sent.delivery.status) : '';
    o.detail(delivery === 'stored' ? `${relay.name}'s rdv stored it in its inbox` : `sent (${delivery})`);
    const payout = PAYOUTS[i % PAYOUTS.length] ?? '1000sat';
    o.say(`${relay.name} joins: payout ${payout}, fee budget 1000sat, delay budget 60 blocks`);
    const joined = await timed(`${relay.name} joins`, () =>
      rdvJson(o.rdvPath, relay, ['join', '--from-inbox', shortHash(hash), '--payout', payout, '--fee-budget', '1000sat', '--delay-budget', '60'], o),
    );
    bolt11 = str(joined.bolt11);
    o.detail(`same hash, invoice for ${formatAmount(msat(num(joined.amount_msat)))}, min_final_cltv ${String(joined.min_final_cltv)}`);
  }

  const first = payees[0] as DemoNode;
  o.say(`the payer pays ${first.name}'s invoice: it never sees anyone else's`);
  const end = await payAndCheck(net, o, { hash, bolt11 }, timed);
  return { network: net.kind, paymentHash: hash, ...end, steps, totalMs: Date.now() - started };
}

/** The end of every story: the payer pays the first invoice and checks its proof; every payee checks rdv status. */
export async function payAndCheck(
  net: DemoNetwork,
  o: StoryOptions,
  p: { hash: string; bolt11: string },
  timed: Timed,
): Promise<{ payerPaidMsat: bigint; preimage: string; payeesSettled: boolean; outcomes: PayeeOutcome[] }> {
  const { hash, bolt11 } = p;
  o.command(`payer$ lightning-cli xpay ${bolt11.slice(0, 24)}…`);
  const paid = await timed('payer pays (xpay)', () => payInvoice(net.payer, bolt11, msat(50_000_000n)));
  if (!paid.ok) throw failedError(`the payment failed: ${paid.message}`);
  const preimageOk = createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex') === hash;
  o.detail(`paid ${formatAmount(paid.amountSentMsat)}; the preimage ${shortHash(paid.preimage)}… ${preimageOk ? 'matches' : 'DOES NOT match'} the payment hash`);

  o.say('every payee checks with rdv status');
  const outcomes: PayeeOutcome[] = [];
  let settled = preimageOk;
  await timed('payees check status', async () => {
    for (const payee of net.payees) {
      const s = await rdvJson(o.rdvPath, payee, ['status', shortHash(hash)], { ...o, command: () => undefined });
      const rec = Array.isArray(s.records) && isObject(s.records[0]) ? (s.records[0] as Record<string, unknown>) : {};
      const nodeView = isObject(rec.node) ? rec.node : {};
      if (rec.role === 'last') {
        const amount = num(rec.amount_msat);
        const isPaid = nodeView.invoice_status === 'paid';
        settled &&= isPaid;
        outcomes.push({ name: payee.name, role: 'last', receivedMsat: isPaid ? amount : 0n, paidOnMsat: 0n, keptMsat: isPaid ? amount : 0n });
      } else {
        settled &&= rec.state === 'settled';
        outcomes.push({ name: payee.name, role: 'relay', receivedMsat: num(rec.received_msat), paidOnMsat: num(rec.sent_msat), keptMsat: num(rec.earned_msat) });
      }
    }
  });
  return { payerPaidMsat: paid.amountSentMsat as Msat, preimage: paid.preimage, payeesSettled: settled, outcomes };
}
