/** `rdv inbox [--wait]`: invoices passed back to us by the next payees, with who sent each. */
import { formatAmount } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { formatDuration, parseDuration } from '../chain/units.js';
import { failedError, inputError } from '../errors.js';
import type { Output } from '../ui/output.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { readInbox, senderName, TRUST_TEXT, type InboxItem } from './inbox-read.js';

export interface InboxOptions {
  wait?: boolean;
  timeout?: string;
}

function itemJson(i: InboxItem): Record<string, unknown> {
  return {
    payment_hash: i.entry.paymentHash,
    from: i.entry.from,
    from_alias: i.alias,
    from_trust: i.trust,
    bolt11: i.entry.bolt11,
    received_at: i.entry.receivedAt,
    amount_msat: i.amountMsat,
    description: i.description,
    expires_at: i.expiresAt,
    note: i.entry.note,
  };
}

function render(out: Output, items: InboxItem[]): void {
  const now = Math.floor(Date.now() / 1000);
  out.table(
    ['HASH', 'AMOUNT', 'FROM', 'SENDER', 'RECEIVED', 'EXPIRES', 'NOTE'],
    items.map((i) => [
      shortHash(i.entry.paymentHash),
      i.amountMsat === undefined ? '?' : formatAmount(i.amountMsat as never),
      senderName(i.entry.from, i.alias),
      i.trust === 'stranger' ? out.c.red(TRUST_TEXT.stranger) : TRUST_TEXT[i.trust],
      `${formatDuration(now - i.entry.receivedAt)} ago`,
      i.expiresAt === undefined ? '?' : i.expiresAt <= now ? out.c.red('expired') : `in ${formatDuration(i.expiresAt - now)}`,
      i.entry.note ?? i.description ?? '',
    ]),
  );
  const hashes = new Map<string, number>();
  for (const i of items) hashes.set(i.entry.paymentHash, (hashes.get(i.entry.paymentHash) ?? 0) + 1);
  for (const [hash, n] of hashes) if (n > 1) out.warn(`${n} nodes passed back an invoice for ${shortHash(hash)}: only one is the next payee; join with --from <node id>`);
  if (items.some((i) => i.trust === 'stranger')) out.warn('STRANGER: neither a channel peer nor a node you trust (rdv trust add); make sure it is the next payee before joining');
}

/** The command to join an entry, for a trusted or channel-peer sender only. */
function suggestion(items: InboxItem[], i: InboxItem): string {
  const several = items.filter((x) => x.entry.paymentHash === i.entry.paymentHash).length > 1;
  return `rdv join --from-inbox ${shortHash(i.entry.paymentHash)}${several ? ` --from ${i.entry.from}` : ''}`;
}

export async function run(g: GlobalOptions, opts: InboxOptions): Promise<void> {
  const out = makeOutput(g);
  let timeoutMs: number | undefined;
  if (opts.timeout !== undefined) {
    const t = parseDuration(opts.timeout, '--timeout');
    if (!t.ok) throw inputError(t.error);
    timeoutMs = t.value * 1000;
  }
  await withNode(g, async (node) => {
    const items = await readInbox(node);
    if (!opts.wait) {
      if (g.json) out.json({ invoices: items.map(itemJson) });
      else if (items.length === 0) out.result('The inbox is empty. Invoices passed back to you with rdv pass-back arrive here.');
      else {
        render(out, items);
        out.info(`\nJoin one with: rdv join --from-inbox <hash>`);
      }
      return;
    }
    const known = new Set(items.map((i) => i.key.join('/')));
    const spinner = await out.spinner('Waiting for an invoice to be passed back… (Ctrl-C to stop)');
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const strangers: InboxItem[] = [];
    for (;;) {
      const all = await readInbox(node);
      const fresh = all.filter((i) => !known.has(i.key.join('/')));
      // A stranger's invoice is shown, never suggested: waiting goes on for one we can trust.
      for (const s of fresh.filter((i) => i.trust === 'stranger')) {
        known.add(s.key.join('/'));
        strangers.push(s);
        spinner.stop();
        out.warn(`an invoice for ${shortHash(s.entry.paymentHash)} arrived from ${senderName(s.entry.from, s.alias)}, a STRANGER (neither a channel peer nor trusted): not suggested; still waiting`);
      }
      const trusted = fresh.filter((i) => i.trust !== 'stranger');
      if (trusted.length > 0) {
        spinner.succeed(`${trusted.length} new invoice(s) arrived`);
        if (g.json) out.json({ invoices: trusted.map(itemJson), strangers: strangers.map(itemJson) });
        else {
          render(out, trusted);
          const first = trusted[0];
          if (first) out.info(`\nJoin it with: ${suggestion(all, first)}`);
        }
        return;
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        spinner.fail('nothing arrived');
        throw failedError(`no invoice from a channel peer or trusted node arrived within ${opts.timeout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });
}
