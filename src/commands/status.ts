/**
 * `rdv status [hash]`: the records (newest first, chosen by --state/--since/--limit)
 * with what the node and the plugin say about each, and totals that also count
 * pruned records' archive entries.
 */
import { formatAmount, sumMsat, type Msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { archivedToJson, type ArchivedRecord } from '../chain/archive.js';
import { parseRecord, recordToJson, RELAY_STATES, UNFINISHED_STATES, type AnyRecord, type RelayRecord } from '../chain/record.js';
import { mayBeSelected, parseLimit, parseSince, parseStates, select, stateOf, type InvoiceState, type Selection, type Totals } from '../chain/selection.js';
import { isObject, Reader, type JsonObject } from '../chain/read.js';
import { summariseOutgoing } from '../chain/relay/outgoing.js';
import { closingUpstreamWarnings } from '../chain/upstream.js';
import { formatDuration } from '../chain/units.js';
import { inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import type { Output } from '../ui/output.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginsState, pluginWarnings, type Plugins } from './plugin-check.js';
import { checkHashPrefix } from './records.js';
import { loadAllRecords, loadArchive, type LoadProblem, type Stored } from '../rpc/records.js';
import { downstreamText } from '../ui/downstream-view.js';

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
  /** A bad rdv-prune-after the plugin turned off. */
  pruneProblem: string | undefined;
  /** The running plugin's rdv version. */
  version: string | undefined;
  /** Invoices in the inbox and how many it holds at most; undefined while the inbox is not running. */
  inbox: { entries: number; max: number } | undefined;
  /**
   * What the plugin's last full read of the datastore could not parse. Present only
   * from a plugin that holds every unfinished record (rdv 0.4 and later).
   */
  unreadable: string[] | undefined;
}

/** The plugin's own view (rdv-status), when it is loaded (and answers within `timeoutMs`, if given). */
export async function pluginStatus(node: LightningNode, prefix?: string, timeoutMs?: number): Promise<PluginStatus | undefined> {
  let reply: unknown;
  try {
    reply = await node.rpc.call('rdv-status', prefix === undefined ? {} : { payment_hash: prefix }, timeoutMs === undefined ? {} : { timeoutMs });
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
      records.set(relay.str('payment_hash'), parseRecord({ parsed: stored }, 'rdv-status'));
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
    pruneProblem: r.has('prune') && r.value.prune !== null ? r.obj('prune').optStr('option_problem') : undefined,
    version: r.optStr('rdv_version'),
    inbox: inbox?.has('entries') && inbox.has('max') ? { entries: inbox.int('entries'), max: inbox.int('max') } : undefined,
    unreadable: Array.isArray(reply.unreadable) ? reply.unreadable.filter((u): u is string => typeof u === 'string') : undefined,
  };
}

/**
 * Where the records come from. The datastore has them all, but reading 10 000 takes
 * most of a second; a selection of unfinished states only is what the running
 * plugin holds in memory anyway (every relay not yet finished, every last payee's
 * record), so it is asked alone. Anything else, or a plugin that cannot say, reads
 * the datastore.
 */
async function readRecords(
  node: LightningNode,
  sel: Selection,
  prefix: string | undefined,
  archived: boolean,
): Promise<{ records: Stored[]; problems: LoadProblem[]; archive: { entries: ArchivedRecord[]; problems: LoadProblem[] }; plugin: Plugins | undefined; live: PluginStatus | undefined }> {
  const unfinishedOnly = prefix === undefined && !archived && sel.states.length > 0 && sel.states.every((s) => UNFINISHED_STATES.includes(s));
  if (unfinishedOnly) {
    const plugin = await pluginsState(node);
    const live = plugin?.rdv.loaded ? await pluginStatus(node, prefix) : undefined;
    if (live?.relaying && live.unreadable !== undefined) {
      return { records: [], problems: live.unreadable.map((problem) => ({ key: [], problem })), archive: { entries: [], problems: [] }, plugin, live };
    }
    const [all, archive] = await Promise.all([loadAllRecords(node, (head) => mayBeSelected(head, sel)), loadArchive(node)]);
    return { ...all, archive, plugin, live };
  }
  const [all, archive, plugin] = await Promise.all([loadAllRecords(node, (head) => mayBeSelected(head, sel)), loadArchive(node), pluginsState(node)]);
  const live = plugin?.rdv.loaded ? await pluginStatus(node, prefix) : undefined;
  return { ...all, archive, plugin, live };
}

interface NodeView {
  /** For `last`: the invoice status on the node. */
  invoiceStatus?: string;
  /** For relays when the plugin is not loaded: listsendpays summary. */
  outgoing?: string;
}

/** What the node says about the listed records, asked in bulk: one listinvoices, listsendpays only for relays in flight. */
async function nodeViews(node: LightningNode, records: AnyRecord[], detailOf: AnyRecord | undefined): Promise<Map<string, NodeView>> {
  const views = new Map<string, NodeView>();
  if (records.some((r) => r.role === 'last')) {
    const byLabel = new Map((await node.listinvoices({})).map((i) => [i.label, i.status]));
    for (const r of records) if (r.role === 'last') views.set(r.paymentHash, { invoiceStatus: byLabel.get(r.label) ?? 'deleted' });
  }
  const inFlight = records.filter((r): r is RelayRecord => r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying' || (r === detailOf && r.attempts.length > 0)));
  await Promise.all(
    inFlight.map(async (r) => {
      views.set(r.paymentHash, { outgoing: summariseOutgoing(await node.listsendpays(r.paymentHash), r.paymentHash).kind });
    }),
  );
  return views;
}

export interface StatusOptions {
  state?: string[];
  since?: string;
  limit?: string;
  archived?: boolean;
}

function selection(opts: StatusOptions, now: number): Selection {
  const states = parseStates(opts.state ?? []);
  if (!states.ok) throw inputError(states.error);
  const since = opts.since === undefined ? undefined : parseSince(opts.since, now);
  if (since && !since.ok) throw inputError(since.error);
  const limit = opts.limit === undefined ? undefined : parseLimit(opts.limit);
  if (limit && !limit.ok) throw inputError(limit.error);
  return { states: states.value, ...(since ? { since: since.value } : {}), ...(limit ? { limit: limit.value } : {}) };
}

export async function run(g: GlobalOptions, hashArg: string | undefined, opts: StatusOptions = {}): Promise<void> {
  const out = makeOutput(g);
  const now = Math.floor(Date.now() / 1000);
  const prefix = hashArg === undefined ? undefined : checkHashPrefix(hashArg);
  const sel = selection(opts, now);
  await withNode(g, async (node) => {
    const { records, problems, archive, plugin, live } = await readRecords(node, sel, prefix, opts.archived === true);
    // The plugin's copy is the newer: it may have moved a record into (or out of) the selection a moment ago.
    const byHash = new Map<string, AnyRecord>(records.map((r) => [r.record.paymentHash, r.record]));
    for (const [hash, record] of live?.records ?? []) byHash.set(hash, record);
    const current = [...byHash.values()].filter((r) => prefix === undefined || r.paymentHash.startsWith(prefix));
    const archivedMatching = archive.entries.filter((a) => prefix === undefined || a.paymentHash.startsWith(prefix));
    if (prefix !== undefined && current.length === 0 && archivedMatching.length === 0) {
      throw inputError(`no rdv record on this node matches ${prefix}${records.length === 0 && (sel.states.length > 0 || sel.since !== undefined) ? ' in that selection' : ''}`);
    }
    const single = prefix !== undefined && current.length === 1 ? current[0] : undefined;
    const nodeSays = await nodeViews(node, current, single);
    const listed = current.map((record) => ({ record, state: stateOf(record, nodeSays.get(record.paymentHash)?.invoiceStatus as InvoiceState | undefined, now) }));
    const chosen = select(listed, archivedMatching, sel);
    const views = chosen.rows.map(({ record, state }) => ({ record, state, node: nodeSays.get(record.paymentHash) ?? {}, live: live?.live.get(record.paymentHash) }));

    const warnings = [...pluginWarnings(plugin)];
    if (live && !live.relaying) warnings.push(`the rdv plugin is loaded but not relaying: ${live.reason ?? 'unknown reason'}`);
    if (live?.inboxProblem) warnings.push(`plugin option: ${live.inboxProblem}`);
    if (live?.pruneProblem) warnings.push(`plugin option: ${live.pruneProblem}`);
    const holding = current.filter((r): r is RelayRecord => r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying'));
    if (holding.length > 0) warnings.push(...(await node.listPeerChannels().then((channels) => closingUpstreamWarnings(holding, channels), () => [])));
    const unreadable = [...problems, ...archive.problems].map((p) => p.problem);
    if (g.json) {
      out.json({
        plugin: pluginJson(plugin, live),
        warnings,
        totals: totalsJson(chosen.totals),
        // state: what --state selects on; a last payee's comes from its invoice.
        records: views.map((v) => ({ ...recordToJson(v.record), state: v.state, node: nodeJson(v.node), ...(v.live ? { live: liveJson(v.live) } : {}) })),
        ...(opts.archived ? { archived: chosen.archivedRows.map(archivedToJson) } : {}),
        unreadable,
      });
      return;
    }
    for (const w of warnings) out.warn(w);
    for (const p of unreadable) out.warn(`unreadable record: ${p}`);
    if (current.length === 0 && archive.entries.length === 0 && sel.states.length === 0 && sel.since === undefined) {
      out.result('No rdv records on this node yet. Start with rdv join (see rdv --help).');
      return;
    }
    if (single && views.length === 1 && views[0]) {
      detail(out, views[0].record, views[0].node, views[0].live);
      return;
    }
    const rows = views.map((v) => [shortHash(v.record.paymentHash), v.record.role, stateText(out, v.record, v.node), formatAmount(v.record.amountMsat), detailText(v.record, v.node, v.live, now)]);
    if (opts.archived) rows.push(...chosen.archivedRows.map((a) => [shortHash(a.paymentHash), a.role, out.c.dim(a.state), formatAmount(a.amountMsat), out.c.dim(`archived; ${archivedDetail(a)}`)]));
    if (rows.length > 0) out.table(['HASH', 'ROLE', 'STATE', 'AMOUNT', 'DETAIL'], rows);
    else out.result('No record matches.');
    out.info(totalsLine(chosen.totals, rows.length));
  });
}

function totalsLine(t: Totals, shown: number): string {
  const states = RELAY_STATES.filter((s) => t.byState[s] > 0).map((s) => `${t.byState[s]} ${s}`);
  const parts = [`${t.count} record${t.count === 1 ? '' : 's'}${states.length > 0 ? ` (${states.join(', ')})` : ''}`];
  if (t.archived > 0) parts.push(`${t.archived} of them archived`);
  parts.push(`earned ${formatAmount(t.earnedMsat)} relaying`);
  if (t.receivedMsat > 0n) parts.push(`received ${formatAmount(t.receivedMsat)} as last payee`);
  const more = t.count - shown;
  return `${parts.join('; ')}${more > 0 ? ` — ${shown} listed${t.archived > 0 ? ' (--archived lists pruned ones too)' : ''}` : ''}`;
}

function totalsJson(t: Totals): JsonObject {
  return { count: t.count, by_state: { ...t.byState }, earned_msat: t.earnedMsat, received_msat: t.receivedMsat, archived: t.archived };
}

function archivedDetail(a: ArchivedRecord): string {
  const when = new Date(a.endedAt * 1000).toISOString().slice(0, 10);
  return a.earnedMsat !== undefined ? `${a.role === 'relay' ? 'earned' : 'received'} ${formatAmount(a.earnedMsat)}, ${when}` : when;
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
  const text = stateDetail(r, view, live, now);
  return r.policy !== undefined ? `${text}${text ? '; ' : ''}policy ${r.policy}` : text;
}

/** Who asked for the invoice a record was made for: "a request from 02b0b0b0…", or "rdv-request". */
export function requestText(r: AnyRecord): string | undefined {
  if (r.requestedBy === undefined) return undefined;
  return r.requestedBy === 'rpc' ? 'rdv-request here' : `a request from ${shortHash(r.requestedBy)}…`;
}

function stateDetail(r: AnyRecord, view: NodeView, live: Live | undefined, now: number): string {
  const asked = requestText(r);
  if (r.role === 'last') {
    if (view.invoiceStatus === 'unpaid') {
      if (r.expiresAt <= now) return 'expired unpaid';
      const left = `expires in ${formatDuration(r.expiresAt - now)}`;
      // Made for a request: nothing moves unless someone pays it, and it may be that nobody ever got it.
      return asked ? `unpaid, made for ${asked}; ${left}` : `waiting for payment, ${left}`;
    }
    return view.invoiceStatus === 'paid' ? 'paid' : '';
  }
  const relay: RelayRecord = r;
  switch (relay.state) {
    case 'open': {
      if (asked && relay.parts.length === 0 && !(live && live.heldParts > 0)) {
        const left = relay.expiresAt > now ? `expires in ${formatDuration(relay.expiresAt - now)}` : `expired ${formatDuration(now - relay.expiresAt)} ago`;
        return `unpaid, made for ${asked}; ${left}${relay.lastError ? `; last try failed: ${relay.lastError}` : ''}`;
      }
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
  if (r.role === 'last') {
    if (r.policy !== undefined) rows.push(['made by', `rdv policy ${r.policy} (no one typed rdv join --last)`]);
    if (r.requestedBy !== undefined) rows.push(['made for', requestText(r) ?? '']);
  }
  if (r.role === 'relay') {
    rows.push(
      ['downstream', downstreamText(r)],
      ['payout', formatAmount(r.payoutMsat)],
      ['fee budget', formatAmount(r.feeBudgetMsat)],
      ['delay budget', `${r.delayBudget} blocks (min_final_cltv ${r.minFinalCltv}, safety margin ${r.safetyMargin})`],
      ['parts', r.parts.length === 0 ? 'none gathered' : `${r.parts.length}, ${formatAmount(sumMsat(r.parts.map((p) => p.amountMsat)))}`],
      ['attempts', String(r.attempts.length)],
    );
    if (r.policy !== undefined) rows.push(['joined by', `rdv policy ${r.policy} (no one typed rdv join)`]);
    if (r.requestedBy !== undefined) rows.push(['made for', requestText(r) ?? '']);
    if (live) rows.push(['held now', `${live.heldParts} part(s), ${formatAmount(live.heldMsat as Msat)}${live.heldSince ? ` for ${formatDuration(now - live.heldSince)}` : ''}`]);
    if (r.earnedMsat !== undefined) rows.push(['earned', formatAmount(r.earnedMsat)]);
    if (r.lastError) rows.push(['last error', r.lastError]);
  }
  rows.push(['detail', detailText(r, view, live, now)]);
  out.pairs(rows);
  out.info();
  out.result(r.bolt11);
}
