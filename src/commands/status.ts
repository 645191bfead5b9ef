/** `rdv status [hash]`: every record (or one), with what the node and the plugin say about it. */
import { formatAmount, sumMsat, type Msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { parseRecord, recordToJson, type AnyRecord, type RelayRecord } from '../chain/record.js';
import { isObject, Reader, type JsonObject } from '../chain/read.js';
import { summariseOutgoing } from '../chain/relay.js';
import { closingUpstreamWarnings } from '../chain/upstream.js';
import { formatDuration } from '../chain/units.js';
import { inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import type { Output } from '../ui/output.js';
import { stringifyJson } from '../rpc/json.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginsState, pluginWarnings, type Plugins } from './plugin-check.js';
import { checkHashPrefix, listRecords } from './records.js';

interface Live {
  heldParts: number;
  heldMsat: bigint;
  payInFlight: boolean;
  outgoing: string | undefined;
  blocksToExpiry: number | undefined;
  heldSince: number | undefined;
}

interface PluginStatus {
  relaying: boolean;
  reason: string | undefined;
  blockheight: number;
  live: Map<string, Live>;
  /** The plugin's own copy of each record: newer than the datastore's for a moment after each step. */
  records: Map<string, AnyRecord>;
  /** A bad rdv-inbox-* option the plugin replaced by its default. */
  inboxProblem: string | undefined;
  /** The running plugin's rdv version. */
  version: string | undefined;
  /** Invoices in the inbox and how many it holds at most; undefined while the inbox is not running. */
  inbox: { entries: number; max: number } | undefined;
}

/** The plugin's own view (rdv-status), when it is loaded (and answers within `timeoutMs`, if given). */
export async function pluginStatus(node: LightningNode, timeoutMs?: number): Promise<PluginStatus | undefined> {
  let reply: unknown;
  try {
    reply = await node.rpc.call('rdv-status', {}, timeoutMs === undefined ? {} : { timeoutMs });
  } catch {
    return undefined;
  }
  if (!isObject(reply)) return undefined;
  const r = new Reader(reply, 'rdv-status');
  const live = new Map<string, Live>();
  const records = new Map<string, AnyRecord>();
  for (const relay of r.optObjects('relays')) {
    try {
      const { live: _live, ...stored } = relay.value;
      void _live;
      records.set(relay.str('payment_hash'), parseRecord(stringifyJson(stored), 'rdv-status'));
    } catch {
      // a record the plugin shows oddly: the datastore's copy is used
    }
    const l = relay.optObj('live');
    if (!l) continue;
    live.set(relay.str('payment_hash'), {
      heldParts: l.int('held_parts'),
      heldMsat: l.msat('held_msat'),
      payInFlight: l.optBool('pay_in_flight') ?? false,
      outgoing: l.optStr('outgoing'),
      blocksToExpiry: l.has('blocks_to_expiry') ? Number(l.value.blocks_to_expiry) : undefined,
      heldSince: l.optInt('held_since'),
    });
  }
  const inbox = r.optObj('inbox');
  return {
    relaying: r.optBool('relaying') ?? false,
    reason: r.optStr('not_relaying_because'),
    blockheight: r.optInt('blockheight') ?? 0,
    live,
    records,
    inboxProblem: inbox?.optStr('option_problem'),
    version: r.optStr('rdv_version'),
    inbox: inbox?.has('entries') && inbox.has('max') ? { entries: inbox.int('entries'), max: inbox.int('max') } : undefined,
  };
}

interface NodeView {
  /** For `last`: the invoice status on the node. */
  invoiceStatus?: string;
  /** For relays when the plugin is not loaded: listsendpays summary. */
  outgoing?: string;
}

async function nodeView(node: LightningNode, record: AnyRecord): Promise<NodeView> {
  if (record.role === 'last') {
    const inv = await node.listinvoices({ label: record.label });
    return { invoiceStatus: inv[0]?.status ?? 'deleted' };
  }
  if (record.state === 'open' && record.attempts.length === 0) return {};
  const parts = await node.listsendpays(record.paymentHash);
  return { outgoing: summariseOutgoing(parts, record.paymentHash).kind };
}

export async function run(g: GlobalOptions, hashArg: string | undefined, _opts: unknown): Promise<void> {
  const out = makeOutput(g);
  const prefix = hashArg === undefined ? undefined : checkHashPrefix(hashArg);
  await withNode(g, async (node) => {
    const { records, problems } = await listRecords(node);
    const chosen = records.filter((r) => prefix === undefined || r.record.paymentHash.startsWith(prefix)).map((r) => r.record);
    if (prefix !== undefined && chosen.length === 0) throw inputError(`no rdv record on this node matches ${prefix}`);
    const plugin = await pluginsState(node);
    const live = plugin?.rdv.loaded ? await pluginStatus(node) : undefined;
    const views = await Promise.all(
      chosen.map(async (stored) => {
        const record = live?.records.get(stored.paymentHash) ?? stored;
        return { record, node: await nodeView(node, record), live: live?.live.get(record.paymentHash) };
      }),
    );

    const warnings = [...pluginWarnings(plugin)];
    if (live && !live.relaying) warnings.push(`the rdv plugin is loaded but not relaying: ${live.reason ?? 'unknown reason'}`);
    if (live?.inboxProblem) warnings.push(`plugin option: ${live.inboxProblem}`);
    const holding = views.map((v) => v.record).filter((r): r is RelayRecord => r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying'));
    if (holding.length > 0) warnings.push(...(await node.listPeerChannels().then((channels) => closingUpstreamWarnings(holding, channels), () => [])));
    if (g.json) {
      out.json({
        plugin: pluginJson(plugin, live),
        warnings,
        records: views.map((v) => ({ ...recordToJson(v.record), node: nodeJson(v.node), ...(v.live ? { live: liveJson(v.live) } : {}) })),
        unreadable: problems,
      });
      return;
    }
    for (const w of warnings) out.warn(w);
    for (const p of problems) out.warn(`unreadable record: ${p}`);
    if (views.length === 0) {
      out.result('No rdv records on this node yet. Start with rdv join (see rdv --help).');
      return;
    }
    if (prefix !== undefined && views.length === 1 && views[0]) {
      detail(out, views[0].record, views[0].node, views[0].live);
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    out.table(
      ['HASH', 'ROLE', 'STATE', 'AMOUNT', 'DETAIL'],
      views.map((v) => [shortHash(v.record.paymentHash), v.record.role, stateText(out, v.record, v.node), formatAmount(v.record.amountMsat), detailText(v.record, v.node, v.live, now)]),
    );
  });
}

function pluginJson(plugins: Plugins | undefined, live: PluginStatus | undefined): JsonObject {
  return {
    loaded: plugins?.rdv.loaded ?? false,
    important: plugins?.rdv.important ?? false,
    relaying: live?.relaying ?? false,
    ...(live?.reason ? { not_relaying_because: live.reason } : {}),
    ...(plugins?.rdv.path ? { path: plugins.rdv.path } : {}),
    guard: { loaded: plugins?.guard.loaded ?? false, important: plugins?.guard.important ?? false },
  };
}

function nodeJson(v: NodeView): JsonObject {
  const o: JsonObject = {};
  if (v.invoiceStatus !== undefined) o.invoice_status = v.invoiceStatus;
  if (v.outgoing !== undefined) o.outgoing = v.outgoing;
  return o;
}

function liveJson(l: Live): JsonObject {
  const o: JsonObject = { held_parts: l.heldParts, held_msat: l.heldMsat, pay_in_flight: l.payInFlight };
  if (l.outgoing) o.outgoing = l.outgoing;
  if (l.blocksToExpiry !== undefined) o.blocks_to_expiry = l.blocksToExpiry;
  if (l.heldSince !== undefined) o.held_since = l.heldSince;
  return o;
}

function stateText(out: Output, r: AnyRecord, view: NodeView): string {
  if (r.role === 'last') {
    const s = view.invoiceStatus ?? '?';
    return s === 'paid' ? out.c.green(s) : s === 'unpaid' ? s : out.c.red(s);
  }
  switch (r.state) {
    case 'settled':
      return out.c.green(r.state);
    case 'failed':
    case 'expired':
      return out.c.red(r.state);
    case 'gathered':
    case 'paying':
      return out.c.yellow(r.state);
    default:
      return r.state;
  }
}

export function detailText(r: AnyRecord, view: NodeView, live: Live | undefined, now: number): string {
  if (r.role === 'last') {
    if (view.invoiceStatus === 'unpaid') return r.expiresAt > now ? `waiting for payment, expires in ${formatDuration(r.expiresAt - now)}` : 'expired unpaid';
    return view.invoiceStatus === 'paid' ? 'paid' : '';
  }
  const relay: RelayRecord = r;
  switch (relay.state) {
    case 'open': {
      const held = live && live.heldParts > 0 ? `holding ${live.heldParts} part(s), ${formatAmount(live.heldMsat as Msat)} of ${formatAmount(relay.amountMsat)}; ` : '';
      const last = relay.lastError ? `; last try failed: ${relay.lastError}` : '';
      const expiry = relay.expiresAt > now ? `expires in ${formatDuration(relay.expiresAt - now)}` : `expired ${formatDuration(now - relay.expiresAt)} ago`;
      return `${held}${expiry}${last}`;
    }
    case 'gathered':
    case 'paying': {
      const attempt = relay.attempts.length > 0 ? `attempt ${relay.attempts.length}, ` : '';
      const outgoing = live?.outgoing ?? view.outgoing ?? 'unknown';
      const blocks = live?.blocksToExpiry !== undefined ? `, ${live.blocksToExpiry} blocks to expiry` : '';
      return `${attempt}outgoing ${outgoing}${blocks}`;
    }
    case 'settled':
      return `earned ${formatAmount(relay.earnedMsat ?? (0n as Msat))}`;
    case 'failed':
      return relay.lastError ?? '';
    case 'expired':
      return 'nobody paid before expiry';
    default:
      return '';
  }
}

function detail(out: Output, r: AnyRecord, view: NodeView, live: Live | undefined): void {
  const now = Math.floor(Date.now() / 1000);
  const rows: Array<[string, string]> = [
    ['payment hash', r.paymentHash],
    ['role', r.role],
    ['state', stateText(out, r, view)],
    ['amount', formatAmount(r.amountMsat)],
    ['expires', `${new Date(r.expiresAt * 1000).toISOString()} (${r.expiresAt > now ? `in ${formatDuration(r.expiresAt - now)}` : 'passed'})`],
  ];
  if (r.role === 'relay') {
    rows.push(
      ['downstream', `${formatAmount(r.downstreamAmountMsat)} to ${r.downstreamPayee}`],
      ['payout', formatAmount(r.payoutMsat)],
      ['fee budget', formatAmount(r.feeBudgetMsat)],
      ['delay budget', `${r.delayBudget} blocks (min_final_cltv ${r.minFinalCltv}, safety margin ${r.safetyMargin})`],
      ['parts', r.parts.length === 0 ? 'none gathered' : `${r.parts.length}, ${formatAmount(sumMsat(r.parts.map((p) => p.amountMsat)))}`],
      ['attempts', String(r.attempts.length)],
    );
    if (live) rows.push(['held now', `${live.heldParts} part(s), ${formatAmount(live.heldMsat as Msat)}${live.heldSince ? ` for ${formatDuration(now - live.heldSince)}` : ''}`]);
    if (r.earnedMsat !== undefined) rows.push(['earned', formatAmount(r.earnedMsat)]);
    if (r.lastError) rows.push(['last error', r.lastError]);
  }
  rows.push(['detail', detailText(r, view, live, now)]);
  out.pairs(rows);
  out.info();
  out.result(r.bolt11);
}
