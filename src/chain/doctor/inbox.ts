/**
 * `rdv doctor`: each check is a pure function from facts lightningd gave
 * (gathered by src/commands/doctor.ts) to results, ok / warn / fail, each
 * warning and failure with what to do. Nothing here asks the node anything.
 */
import { formatAmount, msat, sumMsat, type Msat } from './amount.js';
import { DEFAULT_ROUTE_ALLOWANCE, MAX_LOCKTIME_BLOCKS, routeDelayRoom, type RouteEstimate } from './budget.js';
import { isSupportedVersion, MIN_CLN_VERSION_TEXT, parseClnVersion } from './cln-version.js';
import { shortHash, type PaymentHash } from './ids.js';
import type { NetworkName } from './network.js';
import type { ChannelFunds, NodeAddress } from './node-facts.js';
import { isGuardPlugin, isRdvPlugin } from './plugin-names.js';
import type { RelayRecord } from './record.js';
import type { OutgoingSummary } from './relay/types.js';
import { formatDuration } from './units.js';
import type { Result } from '../errors.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export type CheckName = 'cln-version' | 'rdv-plugin' | 'guard-plugin' | 'hook-order' | 'commands' | 'reachable' | 'records' | 'liquidity' | 'cltv' | 'stuck' | 'inbox';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  message: string;
  /** What to do: every warn and fail has one. */
  fix?: string;
  /** The relay a per-relay check (liquidity, stuck) is about. */
  paymentHash?: PaymentHash;
}

/** A fact lightningd gave, or why it could not. */
export type Fact<T> = Result<T, string>;

/** The RPC commands rdv cannot work without. */
export const REQUIRED_COMMANDS = ['signinvoice', 'xpay', 'getroutes'] as const;
export type RequiredCommand = (typeof REQUIRED_COMMANDS)[number];

/** A relay in gathered/paying this long with nothing in flight is stuck (rdv retries within seconds). */
export const STUCK_AFTER_SECONDS = 60;
/** Warn when the inbox holds this share of its maximum (in percent). */
export const INBOX_WARN_PERCENT = 80;

export interface NodeFacts {
  version: string;
  network: NetworkName;
  addresses: NodeAddress[];
  bindings: NodeAddress[];
}

export interface PluginFacts {
  /** `plugin list`: real paths, in the order lightningd loaded them. */
  loaded: Array<{ path: string; active: boolean }>;
  /** important-plugin values of lightningd's config. */
  important: string[];
}

/** What the running plugins say about themselves (rdv-status, rdv-guard-status). */
export interface RdvStatusFacts {
  relaying: boolean;
  reason: string | undefined;
  version: string | undefined;
  /** The inbox's maximum (rdv-inbox-max); undefined while the inbox is not running. */
  inboxMax: number | undefined;
  inboxProblem: string | undefined;
}

export interface RelayFacts {
  /** The plugin's copy when it has one (a moment newer), else the datastore's. */
  record: RelayRecord;
  /** For an open invoice (see needsRouteCheck): the best route to the next payee; undefined value = none. */
  route?: Fact<RouteEstimate | undefined>;
  /** For gathered/paying (see mayBeStuck): what listsendpays says of the payment onward. */
  outgoing?: Fact<OutgoingSummary['kind']>;
  /** The plugin says an xpay of its own is running for the hash. */
  payInFlight: boolean;
}

export interface DoctorFacts {
  now: number;
  /** This rdv: its version and the executables to name in config lines. */
  rdv: { version: string; executable: string; guardExecutable: string };
  cltvWarnBlocks: number;
  node: Fact<NodeFacts>;
  plugins: Fact<PluginFacts>;
  /** rdv-status; undefined when nothing answered it. */
  rdvStatus: RdvStatusFacts | undefined;
  /** rdv-guard-status; undefined when nothing answered it. */
  guardStatus: { version: string | undefined } | undefined;
  commands: Record<RequiredCommand, Fact<boolean>>;
  channels: Fact<ChannelFunds[]>;
  records: Fact<{ count: number; relays: RelayFacts[]; unreadable: string[] }>;
  /** Expiry (unix time) of each readable inbox entry. */
  inboxExpiries: Fact<number[]>;
}

/** Every check, in the order they are shown. */
export function runChecks(f: DoctorFacts): CheckResult[] {
  return [
    checkClnVersion(f),
    checkRdvPlugin(f),
    checkGuardPlugin(f),
    checkHookOrder(f),
    checkCommands(f),
    checkReachable(f),
    checkRecords(f),
    ...checkLiquidity(f),
    checkCltv(f),
    ...checkStuck(f),
    checkInbox(f),
  ];
}

/** An open relay invoice a payer may still pay: it needs liquidity and a route onward. */
export const needsRouteCheck = (r: RelayRecord, now: number): boolean => r.state === 'open' && r.expiresAt > now;
/** A relay holding a payment: something must be in flight for it. */
export const mayBeStuck = (r: RelayRecord): boolean => r.state === 'gathered' || r.state === 'paying';

// --- results -------------------------------------------------------------------

const good = (name: CheckName, message: string): CheckResult => ({ name, status: 'ok', message });
const warning = (name: CheckName, message: string, fix: string): CheckResult => ({ name, status: 'warn', message, fix });
const failure = (name: CheckName, message: string, fix: string): CheckResult => ({ name, status: 'fail', message, fix });

interface Finding {
  status: 'warn' | 'fail';
  message: string;
  fix: string;
}

/** One result for several findings: the worst status, their messages and fixes; `okMessage` if there are none. */
function combine(name: CheckName, findings: Finding[], okMessage: string, prefix = ''): CheckResult {
  if (findings.length === 0) return good(name, okMessage);
  const status = findings.some((x) => x.status === 'fail') ? 'fail' : 'warn';
  const fixes = [...new Set(findings.map((x) => x.fix))];
  return { name, status, message: `${prefix}${findings.map((x) => x.message).join('; ')}`, fix: fixes.join('; ') };
}

// --- 1. CLN version ------------------------------------------------------------------

export function checkClnVersion(f: DoctorFacts): CheckResult {
  if (!f.node.ok) return failure('cln-version', `lightningd did not say its version (getinfo: ${f.node.error})`, "see lightningd's log, then run rdv doctor again");
  const v = f.node.value.version;
  if (isSupportedVersion(v)) return good('cln-version', `CLN ${v} (>= ${MIN_CLN_VERSION_TEXT})`);
  const why = parseClnVersion(v) ? `CLN ${v} is older than ${MIN_CLN_VERSION_TEXT}` : `CLN version "${v}" is not one rdv can read, so rdv does not relay on it`;
  return failure('cln-version', why, `upgrade lightningd to ${MIN_CLN_VERSION_TEXT} or newer: rdv needs signinvoice, xpay with maxdelay and decode`);
}

// --- 2. plugins ----------------------------------------------------------------------

const configLine = (path: string): string => `important-plugin=${path}`;

/** The config line for rdv: the loaded one, else the one next to the loaded rdv-guard, else this rdv. */
function rdvLine(f: DoctorFacts): string {
  const loaded = f.plugins.ok ? f.plugins.value.loaded : [];
  const rdv = loaded.find((p) => isRdvPlugin(p.path))?.path;
  const guard = loaded.find((p) => isGuardPlugin(p.path))?.path;
  return configLine(rdv ?? guard?.replace(/rdv-guard$/, 'rdv') ?? f.rdv.executable);
}

/** The config line for rdv-guard: the loaded one, else the one installed next to the loaded rdv, else next to this rdv. */
function guardLine(f: DoctorFacts): string {
  const loaded = f.plugins.ok ? f.plugins.value.loaded : [];
  const rdv = loaded.find((p) => isRdvPlugin(p.path))?.path;
  const guard = loaded.find((p) => isGuardPlugin(p.path))?.path;
  return configLine(guard ?? rdv?.replace(/rdv$/, 'rdv-guard') ?? f.rdv.guardExecutable);
}

const duplicates = (name: string, paths: string[]): Finding => ({
  status: 'fail',
  message: `${paths.length} plugins named ${name} are loaded (${paths.join(', ')}): lightningd hands the same HTLCs to each`,
  fix: "keep one: remove the others from lightningd's config and restart it",
});

export function checkRdvPlugin(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return failure('rdv-plugin', `lightningd did not list its plugins (${f.plugins.error})`, 'run rdv doctor again; if it keeps failing, restart lightningd');
  const rdvs = f.plugins.value.loaded.filter((p) => isRdvPlugin(p.path));
  const plugin = rdvs[0];
  if (!plugin) {
    return failure(
      'rdv-plugin',
      'the rdv plugin is not loaded in lightningd: nothing relays payments to your rdv invoices',
      `add ${rdvLine(f)} and ${guardLine(f)} to lightningd's config and restart it (rdv watch --start loads them until the next restart)`,
    );
  }
  const findings: Finding[] = [];
  if (rdvs.length > 1) findings.push(duplicates('rdv', rdvs.map((p) => p.path)));
  const status = f.rdvStatus;
  if (!plugin.active) {
    findings.push({ status: 'warn', message: 'rdv is loaded but has not finished starting', fix: "run rdv doctor again in a moment; if it stays so, see lightningd's log (plugin-rdv)" });
  } else if (!status) {
    findings.push({ status: 'fail', message: 'rdv is loaded but did not answer rdv-status', fix: "see lightningd's log (plugin-rdv), then restart lightningd" });
  } else if (!status.relaying) {
    findings.push({ status: 'fail', message: `rdv is loaded but not relaying: ${status.reason ?? 'it does not say why'}`, fix: "fix what lightningd's log says (plugin-rdv), then restart lightningd" });
  }
  if (!f.plugins.value.important.some(isRdvPlugin)) {
    findings.push({
      status: 'warn',
      message: 'rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it',
      fix: `load it with ${rdvLine(f)} so that lightningd stops and replays held HTLCs to it`,
    });
  }
  if (status?.version !== undefined && status.version !== f.rdv.version) {
    findings.push({ status: 'warn', message: `lightningd runs rdv ${status.version}, this is rdv ${f.rdv.version}`, fix: 'restart lightningd to load the rdv you installed' });
  }
  const named = status?.version === undefined ? 'rdv' : `rdv ${status.version}`;
  return combine('rdv-plugin', findings, `${named} loaded as an important plugin and relaying (${plugin.path})`);
}

export function checkGuardPlugin(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return failure('guard-plugin', `lightningd did not list its plugins (${f.plugins.error})`, 'run rdv doctor again; if it keeps failing, restart lightningd');
  const guards = f.plugins.value.loaded.filter((p) => isGuardPlugin(p.path));
  const plugin = guards[0];
  if (!plugin) {
    return failure(
      'guard-plugin',
      'rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them while the payment onward may still go through, and you lose that money',
      `add ${guardLine(f)} to lightningd's config and restart it`,
    );
  }
  const findings: Finding[] = [];
  if (guards.length > 1) findings.push(duplicates('rdv-guard', guards.map((p) => p.path)));
  if (!f.plugins.value.important.some(isGuardPlugin)) {
    findings.push({ status: 'warn', message: 'rdv-guard is loaded as an ordinary plugin: if it dies, lightningd goes on without it', fix: `load it with ${guardLine(f)}` });
  }
  if (plugin.active && !f.guardStatus) {
    findings.push({ status: 'warn', message: 'rdv-guard is loaded but did not answer rdv-guard-status', fix: "see lightningd's log (plugin-rdv-guard), then restart lightningd" });
  }
  const version = f.guardStatus?.version;
  if (version !== undefined && version !== f.rdv.version) {
    findings.push({ status: 'warn', message: `lightningd runs rdv-guard ${version}, this is rdv ${f.rdv.version}`, fix: 'restart lightningd to load the rdv-guard installed next to rdv' });
  }
  return combine('guard-plugin', findings, `rdv-guard loaded as an important plugin (${plugin.path})`);
}

/**
 * No RPC shows the htlc_accepted chain. lightningd orders it by each hook's
 * `before`/`after` (rdv: before rdv-guard; rdv-guard: after rdv), names that
 * match a plugin whose real path has exactly that basename, and otherwise by
 * load order (lightningd/plugin_hook.c plugin_hook_make_ordered). `plugin list`
 * gives the real paths in load order, so the names and that order are what
 * can be checked here.
 */
export function checkHookOrder(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return warning('hook-order', 'hook order not checked: lightningd did not list its plugins', 'run rdv doctor again');
  const loaded = f.plugins.value.loaded;
  const rdvAt = loaded.findIndex((p) => isRdvPlugin(p.path));
  const guardAt = loaded.findIndex((p) => isGuardPlugin(p.path));
  const once = loaded.filter((p) => isRdvPlugin(p.path)).length === 1 && loaded.filter((p) => isGuardPlugin(p.path)).length === 1;
  if (rdvAt < 0 || guardAt < 0 || !once) {
    return warning('hook-order', 'hook order not checked: it needs rdv and rdv-guard loaded, once each', 'load both (see the lines above)');
  }
  if (rdvAt < guardAt) return good('hook-order', 'rdv comes before rdv-guard in the htlc_accepted hook chain (loaded first, and their hooks say so)');
  return good('hook-order', "rdv comes before rdv-guard in the htlc_accepted hook chain: rdv-guard was loaded first, but lightningd orders the chain by the hooks' before/after, which name rdv and rdv-guard");
}

// --- 3. RPC commands -------------------------------------------------------------------

const COMMAND_FIX: Record<RequiredCommand, string> = {
  signinvoice: `upgrade lightningd to ${MIN_CLN_VERSION_TEXT} or newer`,
  xpay: "enable CLN's xpay plugin: remove disable-plugin=cln-xpay from lightningd's config and restart it",
  getroutes: "enable CLN's askrene plugin: remove disable-plugin=cln-askrene from lightningd's config and restart it",
};

export function checkCommands(f: DoctorFacts): CheckResult {
  const missing = REQUIRED_COMMANDS.filter((c) => f.commands[c].ok && !f.commands[c].value);
  const unknown = REQUIRED_COMMANDS.filter((c) => !f.commands[c].ok);
  const findings: Finding[] = [];
  if (missing.length > 0) {
    findings.push({ status: 'fail', message: `lightningd has no ${missing.join(', ')} command: rdv cannot sign relay invoices, pay onward or find routes without them`, fix: missing.map((c) => COMMAND_FIX[c]).join('; ') });
  }
  for (const c of unknown) {
    const fact = f.commands[c];
    findings.push({ status: 'warn', message: `could not ask lightningd about ${c} (${fact.ok ? '' : fact.error})`, fix: 'run rdv doctor again' });
  }
  return combine('commands', findings, `${REQUIRED_COMMANDS.join(', ')} are available`);
}

// --- 4. reachable for pass-back --------------------------------------------------------

const LOOPBACK = /^(127\.|::1$|localhost$)/;

function formatAddress(a: NodeAddress): string {
  const host = a.type === 'ipv6' ? `[${a.address ?? ''}]` : (a.address ?? a.type);
  return a.port === undefined ? host : `${host}:${a.port}`;
}

export function checkReachable(f: DoctorFacts): CheckResult {
  if (!f.node.ok) return warning('reachable', 'not checked: lightningd did not say where it listens', 'see the CLN line above');
  const { addresses, bindings, network } = f.node.value;
  if (addresses.length > 0) return good('reachable', `announced at ${addresses.map(formatAddress).join(', ')}: other payees can connect to pass invoices back`);
  const listening = bindings.filter((b) => b.type !== 'local socket' && b.address !== undefined);
  const open = listening.filter((b) => !LOOPBACK.test(b.address ?? ''));
  if (open.length > 0) {
    return warning(
      'reachable',
      `listening on ${open.map(formatAddress).join(', ')} but announcing no address: the next payee can pass an invoice back only if you give it your address (rdv pass-back --to <your node id>@host:port) or it is connected to you already`,
      "set announce-addr=<your public host:port> in lightningd's config (it is announced once you have a public channel)",
    );
  }
  if (listening.length > 0) {
    const where = listening.map(formatAddress).join(', ');
    if (network === 'regtest') return good('reachable', `listening on ${where} only (fine on regtest)`);
    return warning('reachable', `listening only on ${where}: nodes on other machines cannot connect to pass invoices back`, "set addr=<host:port> on a reachable interface, and announce-addr=, in lightningd's config");
  }
  return warning('reachable', 'lightningd listens for no peer connections: other payees can pass invoices back only over a connection your node opened', "set addr=<host:port> in lightningd's config");
}

// --- records -----------------------------------------------------------------------------

export function checkRecords(f: DoctorFacts): CheckResult {
  if (!f.records.ok) return failure('records', `could not read rdv's records from the datastore (${f.records.error})`, 'run rdv doctor again; if it keeps failing, see lightningd\'s log');
  const { count, relays, unreadable } = f.records.value;
  if (unreadable.length > 0) {
    return warning('records', `${unreadable.length} of ${count + unreadable.length} rdv records cannot be read (${unreadable.join('; ')})`, 'the plugin skips them, so those relays do not run: see rdv status');
  }
  const open = relays.filter((r) => needsRouteCheck(r.record, f.now)).length;
  const holding = relays.filter((r) => mayBeStuck(r.record)).length;
  return good('records', `${count} rdv record(s): ${open} open relay invoice(s), ${holding} relay(s) holding a payment`);
}

// --- 5. liquidity and route of each open relay -------------------------------------------

/** Channel states that carry new HTLCs. */
const USABLE = new Set(['CHANNELD_NORMAL', 'CHANNELD_AWAITING_SPLICE']);

interface Funds {
  inbound: Msat;
  outbound: Msat;
  /** Receivable in usable channels whose peer is offline now. */
  offlineInbound: Msat;
  offlineOutbound: Msat;
}

function funds(channels: ChannelFunds[]): Funds {
  const usable = channels.filter((c) => USABLE.has(c.state));
  const online = usable.filter((c) => c.peerConnected);
  const offline = usable.filter((c) => !c.peerConnected);
  return {
    inbound: sumMsat(online.map((c) => c.receivableMsat)),
    outbound: sumMsat(online.map((c) => c.spendableMsat)),
    offlineInbound: sumMsat(offline.map((c) => c.receivableMsat)),
    offlineOutbound: sumMsat(offline.map((c) => c.spendableMsat)),
  };
}

const offlineNote = (amount: Msat): string => (amount > 0n ? ` (${formatAmount(amount)} more with peers offline now)` : '');

function relayFindings(r: RelayFacts, have: Funds): { findings: Finding[]; summary: string } {
  const rec = r.record;
  const findings: Finding[] = [];
  const route = r.route?.ok ? r.route.value : undefined;
  const outNeeded = msat(rec.downstreamAmountMsat + (route?.feeMsat ?? 0n));
  if (have.inbound < rec.amountMsat) {
    findings.push({
      status: 'fail',
      message: `can receive ${formatAmount(have.inbound)}, less than its ${formatAmount(rec.amountMsat)}${offlineNote(have.offlineInbound)}`,
      fix: 'get more inbound liquidity (a channel opened to you, or spend from yours) before the payer pays',
    });
  }
  if (have.outbound < outNeeded) {
    findings.push({
      status: 'fail',
      message: `can send ${formatAmount(have.outbound)}, less than the ${formatAmount(outNeeded)} it pays onward${offlineNote(have.offlineOutbound)}`,
      fix: 'get more outbound liquidity (open a channel, or receive into yours) before the payer pays',
    });
  }
  const payee = `${shortHash(rec.downstreamPayee)}…`;
  if (r.route === undefined || !r.route.ok) {
    findings.push({ status: 'warn', message: `route not checked (${r.route?.ok === false ? r.route.error : 'not asked'})`, fix: 'run rdv doctor again' });
  } else if (!route) {
    findings.push({
      status: 'fail',
      message: `askrene finds no route to the next payee ${payee} for ${formatAmount(rec.downstreamAmountMsat)}`,
      fix: 'payments will fail back until there is one: a channel towards the next payee, or gossip about its channels',
    });
  } else {
    if (route.feeMsat > rec.feeBudgetMsat) {
      findings.push({
        status: 'fail',
        message: `the route fee to ${payee} is ${formatAmount(route.feeMsat)}, over the fee budget of ${formatAmount(rec.feeBudgetMsat)}`,
        fix: 'unless fees drop, payments will fail back: join again with a larger --fee-budget',
      });
    }
    const room = routeDelayRoom(rec.delayBudget, rec.safetyMargin);
    if (route.delayBlocks > room) {
      findings.push({
        status: 'warn',
        message: `the route to ${payee} needs ${route.delayBlocks} blocks of CLTV, more than the ${room} the delay budget leaves after the safety margin`,
        fix: 'payments may fail back: join again with a larger --delay-budget',
      });
    }
  }
  const routeText = route ? `; route fee ${formatAmount(route.feeMsat)} (budget ${formatAmount(rec.feeBudgetMsat)}), ${route.delayBlocks} blocks of CLTV` : '';
  const summary = `can receive ${formatAmount(have.inbound)} (needs ${formatAmount(rec.amountMsat)}), send ${formatAmount(have.outbound)} (needs ${formatAmount(outNeeded)})${routeText}`;
  return { findings, summary };
}

/** One line per open relay invoice: inbound for its amount, outbound and a route within budget for the payment onward. */
export function checkLiquidity(f: DoctorFacts): CheckResult[] {
  if (!f.records.ok) return [warning('liquidity', 'liquidity not checked: the records could not be read', 'see the records line above')];
  const open = f.records.value.relays.filter((r) => needsRouteCheck(r.record, f.now));
  if (open.length === 0) return [good('liquidity', 'no open relay invoice to check liquidity for')];
  if (!f.channels.ok) return [failure('liquidity', `lightningd did not list its channels (listpeerchannels: ${f.channels.error})`, 'run rdv doctor again')];
  const have = funds(f.channels.value);
  return open.map((r) => {
    const { findings, summary } = relayFindings(r, have);
    const prefix = `relay ${shortHash(r.record.paymentHash)}: `;
    return { ...combine('liquidity', findings, `${prefix}${summary}`, prefix), paymentHash: r.record.paymentHash };
  });
}

// --- 6. min_final_cltv against wallets' caps ---------------------------------------------

export function checkCltv(f: DoctorFacts): CheckResult {
  if (!f.records.ok) return warning('cltv', 'min_final_cltv not checked: the records could not be read', 'see the records line above');
  const open = f.records.value.relays.map((r) => r.record).filter((r) => needsRouteCheck(r, f.now));
  if (open.length === 0) return good('cltv', 'no open relay invoice to check min_final_cltv for');
  const limit = MAX_LOCKTIME_BLOCKS - DEFAULT_ROUTE_ALLOWANCE;
  const cap = f.cltvWarnBlocks;
  const list = (rs: RelayRecord[]): string => rs.map((r) => `${shortHash(r.paymentHash)} (${r.minFinalCltv})`).join(', ');
  const overLimit = open.filter((r) => r.minFinalCltv > limit);
  const overCap = open.filter((r) => r.minFinalCltv > cap && r.minFinalCltv <= limit);
  const findings: Finding[] = [];
  if (overLimit.length > 0) {
    findings.push({
      status: 'fail',
      message: `min_final_cltv over ${limit} blocks: ${list(overLimit)}`,
      fix: `a payer's route can hardly fit under the ${MAX_LOCKTIME_BLOCKS}-block cap of CLN and most wallets: join again with a smaller --delay-budget, and ask the next payees for smaller ones`,
    });
  }
  if (overCap.length > 0) {
    findings.push({
      status: 'warn',
      message: `min_final_cltv over ${cap} blocks: ${list(overCap)}`,
      fix: 'some wallets refuse to lock funds that long: if a payer cannot pay, join again with a smaller --delay-budget',
    });
  }
  const highest = Math.max(...open.map((r) => r.minFinalCltv));
  return combine('cltv', findings, `min_final_cltv of ${open.length} open invoice(s) at most ${highest} blocks (wallets may refuse over ${cap})`);
}

// --- 7. relays stuck in gathered/paying ------------------------------------------------------

function stuckResult(r: RelayFacts, f: DoctorFacts): CheckResult | undefined {
  const rec = r.record;
  if (r.payInFlight) return undefined;
  if (r.outgoing?.ok && r.outgoing.value === 'pending') return undefined;
  const age = f.now - rec.updatedAt;
  if (age < STUCK_AFTER_SECONDS) return undefined;
  const hash = shortHash(rec.paymentHash);
  const held = `relay ${hash} has been ${rec.state} for ${formatDuration(age)}`;
  if (r.outgoing === undefined || !r.outgoing.ok) {
    const why = r.outgoing?.ok === false ? r.outgoing.error : 'not asked';
    return { ...warning('stuck', `${held}, and listsendpays did not say whether its payment onward is pending (${why})`, `run rdv doctor again; see rdv status ${hash}`), paymentHash: rec.paymentHash };
  }
  const fix = `restart lightningd: rdv takes the record up again when lightningd replays the held HTLCs (before they expire: rdv status ${hash} shows the blocks left)`;
  if (!f.rdvStatus) {
    return { ...failure('stuck', `${held} with no payment onward pending, and rdv is not running to finish it`, `load rdv (see the rdv line above) and ${fix}`), paymentHash: rec.paymentHash };
  }
  if (r.outgoing.value === 'complete') {
    return { ...failure('stuck', `${held}: its payment onward completed, but the incoming HTLCs are not resolved`, fix), paymentHash: rec.paymentHash };
  }
  return { ...failure('stuck', `${held} with nothing in flight (payment onward: ${r.outgoing.value}, no xpay running)`, `${fix}; see lightningd's log (plugin-rdv)`), paymentHash: rec.paymentHash };
}

/** One line per stuck relay, or one line saying none is. */
export function checkStuck(f: DoctorFacts): CheckResult[] {
  if (!f.records.ok) return [warning('stuck', 'stuck relays not checked: the records could not be read', 'see the records line above')];
  const holding = f.records.value.relays.filter((r) => mayBeStuck(r.record));
  const stuck = holding.map((r) => stuckResult(r, f)).filter((x): x is CheckResult => x !== undefined);
  if (stuck.length > 0) return stuck;
  return [good('stuck', holding.length === 0 ? 'no relay is holding a payment' : `${holding.length} relay(s) holding a payment, each with its payment onward in flight`)];
}

// --- 8. the inbox --------------------------------------------------------------------------

export function checkInbox(f: DoctorFacts): CheckResult {
  const max = f.rdvStatus?.inboxMax;
  if (!f.rdvStatus) return warning('inbox', 'inbox not checked: rdv did not answer rdv-status', 'load rdv (see the rdv line above)');
  if (max === undefined) return warning('inbox', 'the inbox is not running (rdv is not relaying)', 'see the rdv line above');
  if (!f.inboxExpiries.ok) return warning('inbox', `could not read the inbox (${f.inboxExpiries.error})`, 'run rdv doctor again');
  const stored = f.inboxExpiries.value.length;
  // Expired entries do not count: the plugin removes them when the next invoice arrives.
  const live = f.inboxExpiries.value.filter((t) => t > f.now).length;
  const expired = stored > live ? ` (and ${stored - live} expired, removed when the next one arrives)` : '';
  const text = `the inbox holds ${live} of at most ${max} unexpired invoices${expired}`;
  const fix = "join the ones you relay (rdv join --from-inbox), let the others expire, or raise rdv-inbox-max in lightningd's config";
  const findings: Finding[] = [];
  if (f.rdvStatus.inboxProblem) findings.push({ status: 'warn', message: `plugin option: ${f.rdvStatus.inboxProblem}`, fix: "correct the rdv-inbox-* lines in lightningd's config and restart it" });
  if (live >= max) findings.push({ status: 'fail', message: `${text}: it is full, so invoices passed back to you are refused`, fix });
  else if (live * 100 >= max * INBOX_WARN_PERCENT) findings.push({ status: 'warn', message: `${text}: nearly full`, fix });
  return combine('inbox', findings, text);
}
