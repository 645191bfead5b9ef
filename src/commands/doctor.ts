/**
 * `rdv doctor`: is this node fit to run rdv? Gathers facts over RPC (in
 * parallel, reading only: no call here writes to the node), runs the pure
 * checks of src/chain/doctor/, prints one line per check.
 */
import { formatAmount, msat, type Msat } from '../chain/amount.js';
import { checkBolt12Offer } from '../chain/bolt12.js';
import { decodeBolt11 } from '../chain/bolt11.js';
import { DEFAULT_CLTV_WARN } from '../chain/budget.js';
import { mayBeStuck, needsRouteCheck, REQUIRED_COMMANDS, type DoctorFacts, type Fact, type PullFacts, type RelayFacts, type RequiredCommand } from '../chain/doctor/facts.js';
import type { CheckResult, CheckStatus } from '../chain/doctor/results.js';
import { runChecks } from '../chain/doctor/run.js';
import { downstreamInvoiceKind, KEY_ROOT, parseInbox, type RelayRecord } from '../chain/record.js';
import { isObject, Reader } from '../chain/read.js';
import { summariseOutgoing } from '../chain/relay/outgoing.js';
import { parseBlocks } from '../chain/units.js';
import { err, failedError, inputError, ok, RdvError } from '../errors.js';
import type { LightningNode, NodeInfo } from '../rpc/node.js';
import { loadAllRecords } from '../rpc/records.js';
import { readPayParams } from '../rpc/lnurl-pull.js';
import { loadBook } from '../rpc/policies.js';
import type { Output } from '../ui/output.js';
import { RDV_VERSION } from '../version.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { guardExecutable, ownExecutable } from './plugin-check.js';
import { estimateBolt12Route, estimateRoute } from '../rpc/route.js';
import { pluginStatus } from './status.js';

export interface DoctorOptions {
  cltvWarn?: string;
}

/** How long a plugin's own status method may take: rdv-status waits while rdv is still starting. */
const PLUGIN_STATUS_TIMEOUT_MS = 5_000;

export async function run(g: GlobalOptions, opts: DoctorOptions): Promise<void> {
  const out = makeOutput(g);
  const cltv = parseBlocks(opts.cltvWarn ?? String(DEFAULT_CLTV_WARN), '--cltv-warn');
  if (!cltv.ok) throw inputError(cltv.error);
  await withNode(g, async (node) => {
    const facts = await gatherFacts(node, { now: Math.floor(Date.now() / 1000), cltvWarnBlocks: cltv.value });
    const results = runChecks(facts);
    render(out, results);
    const failed = results.filter((r) => r.status === 'fail').length;
    if (failed > 0) throw failedError(`${failed} of ${results.length} checks failed: see what to do on each`);
  });
}

// --- facts ---------------------------------------------------------------------

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A call's answer as a Fact; a lost connection during getinfo is the node being unreachable (exit 3). */
async function settle<T>(p: Promise<T>, opts: { rethrowUnreachable?: boolean } = {}): Promise<Fact<T>> {
  try {
    return ok(await p);
  } catch (e) {
    if (opts.rethrowUnreachable && e instanceof RdvError && e.kind === 'unreachable') throw e;
    return err(message(e));
  }
}

async function guardStatus(node: LightningNode): Promise<{ version: string | undefined } | undefined> {
  try {
    const reply = await node.rpc.call('rdv-guard-status', {}, { timeoutMs: PLUGIN_STATUS_TIMEOUT_MS });
    return { version: isObject(reply) ? new Reader(reply, 'rdv-guard-status').optStr('rdv_version') : undefined };
  } catch {
    return undefined;
  }
}

/** The expiry of each readable inbox entry (what counts against rdv-inbox-max). */
async function inboxExpiries(node: LightningNode): Promise<number[]> {
  const expiries: number[] = [];
  for (const e of await node.listdatastore([...KEY_ROOT, 'inbox'])) {
    if (e.string === undefined) continue;
    try {
      const d = decodeBolt11(parseInbox(e.string).bolt11);
      expiries.push(d.ok ? d.value.expiresAt : 0);
    } catch {
      // an unreadable entry counts for nothing (as in the plugin)
    }
  }
  return expiries;
}

async function routeFact(node: LightningNode, info: Fact<NodeInfo>, record: RelayRecord): Promise<RelayFacts['route']> {
  if (!info.ok) return err('getinfo did not say our node id');
  if (downstreamInvoiceKind(record.downstreamInvoice) === 'bolt12') {
    // rdv reads BOLT 12 only through the node's decode.
    const decoded = await settle(node.decodeBolt12Invoice(record.downstreamInvoice));
    if (!decoded.ok) return decoded;
    if (!decoded.value.ok) return err(`the stored downstream invoice cannot be read: ${decoded.value.error}`);
    return settle(estimateBolt12Route(node, info.value.id, decoded.value.value, record.downstreamAmountMsat as Msat));
  }
  const downstream = decodeBolt11(record.downstreamInvoice);
  if (!downstream.ok) return err(`the stored downstream invoice cannot be read: ${downstream.error}`);
  return settle(estimateRoute(node, info.value.id, downstream.value, record.downstreamAmountMsat as Msat));
}

/** Each pull policy's next payee, asked now: an address's pay parameters (over the web, from this machine), an offer's decode. */
async function pullFacts(node: LightningNode, info: Fact<NodeInfo>, now: number): Promise<DoctorFacts['pulls']> {
  const book = await settle(loadBook(node));
  if (!book.ok) return book;
  return ok(
    await Promise.all(
      book.value.book.policies.flatMap((p) => (p.pull ? [{ policy: p.id, source: p.pull }] : [])).map(async ({ policy, source }): Promise<PullFacts> => {
        if (source.kind === 'address') {
          const params = await readPayParams(source.address, { timeoutMs: 5_000 });
          return { policy, source, reached: params.ok ? ok(`${source.address} takes ${formatAmount(params.value.minSendableMsat)} to ${formatAmount(params.value.maxSendableMsat)}`) : err(params.error) };
        }
        const offer = await settle(node.decodeOffer(source.offer));
        if (!offer.ok) return { policy, source, reached: offer };
        if (!offer.value.ok) return { policy, source, reached: err(offer.value.error) };
        const unfit = info.ok ? checkBolt12Offer(offer.value.value, { network: info.value.network, wantMsat: offer.value.value.amountMsat ?? msat(1n), now }) : undefined;
        return { policy, source, reached: unfit ? err(unfit) : ok(`its offer${offer.value.value.description ? ` ("${offer.value.value.description.slice(0, 40)}")` : ''} is payable from this node`) };
      }),
    ),
  );
}

async function outgoingFact(node: LightningNode, record: RelayRecord): Promise<RelayFacts['outgoing']> {
  return settle(node.listsendpays(record.paymentHash).then((parts) => summariseOutgoing(parts, record.paymentHash).kind));
}

/** Everything the checks look at, asked in two parallel rounds (the second needs our id and the records). */
export async function gatherFacts(node: LightningNode, at: { now: number; cltvWarnBlocks: number }): Promise<DoctorFacts> {
  const [info, plugins, status, guard, commandFacts, channels, stored, inbox] = await Promise.all([
    settle(node.getinfo(), { rethrowUnreachable: true }),
    settle(Promise.all([node.listPlugins(), node.importantPlugins()]).then(([loaded, important]) => ({ loaded, important }))),
    pluginStatus(node, undefined, PLUGIN_STATUS_TIMEOUT_MS).catch(() => undefined),
    guardStatus(node),
    Promise.all(REQUIRED_COMMANDS.map(async (c) => [c, await settle(node.hasCommand(c))] as const)),
    settle(node.channelFunds()),
    settle(loadAllRecords(node)),
    settle(inboxExpiries(node)),
  ]);

  let records: DoctorFacts['records'];
  if (stored.ok) {
    const relays = await Promise.all(
      stored.value.records
        .map((s) => status?.records.get(s.record.paymentHash) ?? s.record)
        .filter((r): r is RelayRecord => r.role === 'relay')
        .map(async (record): Promise<RelayFacts> => {
          const facts: RelayFacts = { record, payInFlight: status?.live.get(record.paymentHash)?.payInFlight ?? false };
          if (needsRouteCheck(record, at.now)) facts.route = await routeFact(node, info, record);
          if (mayBeStuck(record)) facts.outgoing = await outgoingFact(node, record);
          return facts;
        }),
    );
    records = ok({ count: stored.value.records.length, relays, unreadable: stored.value.problems.map((p) => `${p.key.at(-1) ?? '?'}: ${p.problem}`) });
  } else records = stored;

  return {
    now: at.now,
    rdv: { version: RDV_VERSION, executable: ownExecutable(), guardExecutable: guardExecutable() },
    cltvWarnBlocks: at.cltvWarnBlocks,
    node: info.ok ? ok({ version: info.value.version, network: info.value.network, addresses: info.value.addresses, bindings: info.value.bindings }) : info,
    plugins,
    rdvStatus: status && { relaying: status.relaying, reason: status.reason, version: status.version, inboxMax: status.inbox?.max, inboxProblem: status.inboxProblem },
    guardStatus: guard,
    commands: Object.fromEntries(commandFacts) as Record<RequiredCommand, Fact<boolean>>,
    channels,
    records,
    inboxExpiries: inbox,
    pulls: await pullFacts(node, info, at.now),
  };
}

// --- output ----------------------------------------------------------------------

function resultJson(r: CheckResult): Record<string, unknown> {
  return { name: r.name, status: r.status, message: r.message, ...(r.fix ? { fix: r.fix } : {}), ...(r.paymentHash ? { payment_hash: r.paymentHash } : {}) };
}

function render(out: Output, results: CheckResult[]): void {
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  out.json({ checks: results.map(resultJson), summary: { ok: count('ok'), warn: count('warn'), fail: count('fail') } });
  const paint: Record<CheckStatus, (s: string) => string> = { ok: out.c.green, warn: out.c.yellow, fail: out.c.red };
  for (const r of results) {
    const line = `${paint[r.status](r.status.padEnd(4))}  ${r.message}${r.fix ? `: ${r.fix}` : ''}`;
    // With --quiet, only what needs doing.
    if (r.status === 'ok') out.info(line);
    else out.result(line);
  }
  out.info(`\n${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed`);
}
