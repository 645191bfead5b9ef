/** `rdv inbox [--wait]`: invoices passed back to us by the next payees. */
import { formatAmount } from '../chain/amount.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { shortHash } from '../chain/ids.js';
import { KEY_ROOT, parseInbox, type InboxEntry } from '../chain/record.js';
import { formatDuration, parseDuration } from '../chain/units.js';
import { failedError, inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import type { Output } from '../ui/output.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';

export interface InboxOptions {
  wait?: boolean;
  timeout?: string;
}

interface Item {
  entry: InboxEntry;
  amountMsat: bigint | undefined;
  description: string | undefined;
  expiresAt: number | undefined;
}

async function readInbox(node: LightningNode): Promise<Item[]> {
  const entries = await node.listdatastore([...KEY_ROOT, 'inbox']);
  const items: Item[] = [];
  for (const e of entries) {
    if (!e.string) continue;
    let entry: InboxEntry;
    try {
      entry = parseInbox(e.string);
    } catch {
      continue;
    }
    const d = decodeBolt11(entry.bolt11);
    items.push({
      entry,
      amountMsat: d.ok ? d.value.amountMsat : undefined,
      description: d.ok ? d.value.description : undefined,
      expiresAt: d.ok ? d.value.expiresAt : undefined,
    });
  }
  return items.sort((a, b) => a.entry.receivedAt - b.entry.receivedAt);
}

function itemJson(i: Item): Record<string, unknown> {
  return {
    payment_hash: i.entry.paymentHash,
    from: i.entry.from,
    bolt11: i.entry.bolt11,
    received_at: i.entry.receivedAt,
    amount_msat: i.amountMsat,
    description: i.description,
    expires_at: i.expiresAt,
    note: i.entry.note,
  };
}

function render(out: Output, items: Item[]): void {
  const now = Math.floor(Date.now() / 1000);
  out.table(
    ['HASH', 'AMOUNT', 'FROM', 'RECEIVED', 'EXPIRES', 'NOTE'],
    items.map((i) => [
      shortHash(i.entry.paymentHash),
      i.amountMsat === undefined ? '?' : formatAmount(i.amountMsat as never),
      `${shortHash(i.entry.from)}…`,
      `${formatDuration(now - i.entry.receivedAt)} ago`,
      i.expiresAt === undefined ? '?' : i.expiresAt <= now ? out.c.red('expired') : `in ${formatDuration(i.expiresAt - now)}`,
      i.entry.note ?? i.description ?? '',
    ]),
  );
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
    const known = new Set(items.map((i) => i.entry.paymentHash));
    const spinner = await out.spinner('Waiting for an invoice to be passed back… (Ctrl-C to stop)');
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const fresh = (await readInbox(node)).filter((i) => !known.has(i.entry.paymentHash));
      if (fresh.length > 0) {
        spinner.succeed(`${fresh.length} new invoice(s) arrived`);
        if (g.json) out.json({ invoices: fresh.map(itemJson) });
        else {
          render(out, fresh);
          out.info(`\nJoin it with: rdv join --from-inbox ${shortHash(fresh[0]?.entry.paymentHash ?? '')}`);
        }
        return;
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        spinner.fail('nothing arrived');
        throw failedError(`no invoice arrived within ${opts.timeout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });
}
