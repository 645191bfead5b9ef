/**
 * `rdv` as a lightningd plugin: wires the plugin protocol (src/rpc/plugin.ts) to
 * the relay runner and the pass-back inbox. Loaded by lightningd with
 * `important-plugin=/path/to/rdv` (or plugin=, or `lightning-cli plugin start`).
 */
import { join, isAbsolute } from 'node:path';
import type { NodeId } from '../chain/ids.js';
import { isNetworkName, type NetworkName } from '../chain/network.js';
import { PASSBACK_MSG_TYPE } from '../chain/passback.js';
import { recordToJson, UNFINISHED_STATES } from '../chain/record.js';
import type { Tally } from '../chain/selection.js';
import { isObject, type JsonObject } from '../chain/read.js';
import { DEFAULT_CLTV_FINAL, unknownHashAnswer } from '../chain/localpay.js';
import { DEFAULT_RELAY_CONFIG, type RelayConfig } from '../chain/relay/types.js';
import { isOurs } from '../chain/relay/step.js';
import { parseHtlcAccepted } from '../rpc/hooks.js';
import { isSupportedVersion, LightningNode, MIN_CLN_VERSION } from '../rpc/node.js';
import { PluginMethodError, runPlugin, type InitConfig, type LogLevel } from '../rpc/plugin.js';
import { RDV_VERSION } from '../version.js';
import { PassbackInbox } from './inbox.js';
import { inboxOptions, type InboxLimits, type InboxPolicy } from '../chain/inbox.js';
import { RelayRunner, systemClock, type RelayView } from './runner.js';
import { forEachRecord, loadGuardClaims, loadRecord, type Stored } from '../rpc/records.js';
import { loadBook } from '../rpc/policies.js';
import { openJoinedBy, policyFor } from '../chain/policy.js';
import { joinByPolicy, type PolicyJoinPlugin } from './policy-join.js';
import { PolicyGate } from './policy-gate.js';
import { pruneAfterOption } from '../chain/prune.js';
import { startAutoPrune } from './prune.js';

const CONTINUE: JsonObject = { result: 'continue' };

interface State {
  node: LightningNode | undefined;
  runner: RelayRunner | undefined;
  inbox: PassbackInbox | undefined;
  /** The counts behind the policies' bounds. */
  gate: PolicyGate | undefined;
  inboxConfig: { policy: InboxPolicy; limits: InboxLimits };
  /** A bad inbox option, replaced by the default. */
  inboxProblem: string | undefined;
  self: { id: NodeId; network: NetworkName; version: string } | undefined;
  /** Why we do not relay (old CLN, no RPC), if we do not. */
  notRelaying: string | undefined;
  /** rdv-prune-after in seconds (undefined: off), and a bad value replaced by off. */
  pruneAfter: number | undefined;
  pruneProblem: string | undefined;
  /**
   * Records the last full read found unreadable (key and problem). With them, rdv-status
   * speaks for every record in the datastore: rdv status --state open asks it alone.
   */
  unreadable: string[];
}

export function startPlugin(): void {
  const state: State = { node: undefined, runner: undefined, inbox: undefined, gate: undefined, inboxConfig: { policy: 'peers', limits: { perPeer: 20, total: 200 } }, inboxProblem: undefined, self: undefined, notRelaying: 'starting', pruneAfter: undefined, pruneProblem: undefined, unreadable: [] };
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let log: (level: LogLevel, message: string) => void = () => undefined;

  const host = runPlugin(
    {
      dynamic: true,
      options: [
        {
          name: 'rdv-mpp-timeout',
          type: 'int',
          default: 60,
          description: 'Seconds rdv holds an incomplete multi-part payment before failing it (mpp_timeout)',
        },
        {
          name: 'rdv-inbox-from',
          type: 'string',
          default: 'peers',
          description: 'Who may pass invoices back into our inbox: peers (channel peers and nodes added with rdv trust add) or anyone',
        },
        { name: 'rdv-inbox-per-peer', type: 'int', default: 20, description: 'Unjoined invoices one peer may hold in our inbox' },
        { name: 'rdv-inbox-max', type: 'int', default: 200, description: 'Unjoined invoices the inbox holds in all' },
        {
          name: 'rdv-prune-after',
          type: 'string',
          default: 'off',
          description: 'Remove finished rdv records this long after they ended (e.g. 30d), at start and then daily, keeping an archive entry of each (like rdv prune); off by default',
        },
      ],
      hooks: [
        {
          name: 'htlc_accepted',
          // rdv-guard must come after us: it takes over our calls if we die.
          before: ['rdv-guard'],
          handler: (params) => ready.then(() => (state.runner ? state.runner.onHtlcAccepted(params) : notRelaying(state, params))),
        },
        {
          name: 'custommsg',
          // lightningd then calls us only for our message type (peer_storage etc. never reach us).
          filters: [PASSBACK_MSG_TYPE],
          // Queued, answered at once: a flood never stalls lightningd (see src/relay/inbox.ts).
          handler: async (params) => state.inbox?.onCustomMsg(params) ?? CONTINUE,
        },
      ],
      subscriptions: [
        {
          name: 'block_added',
          handler: (params) => {
            const block = isObject(params.block_added) ? params.block_added : params;
            if (typeof block.height === 'number') state.runner?.setHeight(block.height);
          },
        },
        { name: 'shutdown', handler: () => shutdown(state, 'stopping (lightningd is shutting down, or plugin stop)') },
        // A part of an outgoing payment resolved: look again at once instead of waiting for the next poll.
        { name: 'sendpay_success', handler: (params) => state.runner?.outgoingChanged(sendpayHash(params.sendpay_success)) },
        { name: 'sendpay_failure', handler: (params) => state.runner?.outgoingChanged(sendpayHash(isObject(params.sendpay_failure) ? params.sendpay_failure.data : undefined)) },
      ],
      rpcmethods: [
        {
          name: 'rdv-status',
          usage: '[payment_hash] [brief] [since]',
          description: 'Show rdv relays: state, held parts, outgoing payment, blocks to expiry, earnings (brief: only what rdv watch shows)',
          handler: async (params) => {
            await ready;
            return statusReply(state, hashParam(params), briefParam(params), sinceParam(params), await finishedViews(state, hashParam(params)));
          },
        },
        {
          name: 'rdv-reload',
          usage: '[payment_hash]',
          description: 'Re-read rdv records from the datastore (rdv join calls this after storing one)',
          handler: async (params) => {
            await ready;
            if (!state.node || !state.runner) throw new PluginMethodError(-1, state.notRelaying ?? 'not ready');
            const hash = hashParam(params);
            if (hash?.length === 64) {
              // One record (what rdv join asks for): no need to read them all.
              const stored = await loadRecord(state.node, hash);
              if (stored) state.runner.adopt(stored);
              // Gone from the datastore (rdv prune, rdv forget): let it go, unless the relay still needs it.
              const kept = stored ? undefined : await state.runner.forget(hash);
              await state.inbox?.load();
              return { loaded: stored ? 1 : 0, unreadable: 0, ...(stored ? {} : { forgotten: kept === undefined, ...(kept ? { kept_because: kept } : {}) }) };
            }
            const runner = state.runner;
            const { loaded, unreadable } = await readAllRecords(state, log, (s) => runner.adopt(s));
            await state.inbox?.load();
            return { loaded, unreadable };
          },
        },
      ],
      customMessages: [PASSBACK_MSG_TYPE],
      onInit: async (config) => {
        // A bad inbox option must not disable rdv: lightningd drops even an important
        // plugin that disables itself at init, quietly (plugin_config_cb), and the
        // relays would go with it. Use the safe defaults and say so loudly instead.
        const inbox = inboxOptions(config.options['rdv-inbox-from'], config.options['rdv-inbox-per-peer'], config.options['rdv-inbox-max']);
        if (inbox.ok) state.inboxConfig = inbox.value;
        else {
          state.inboxProblem = `${inbox.error}; using rdv-inbox-from=peers, rdv-inbox-per-peer=20, rdv-inbox-max=200`;
          setImmediate(() => log('error', state.inboxProblem ?? ''));
        }
        // Same for rdv-prune-after: a bad value means no pruning, said loudly.
        const prune = pruneAfterOption(config.options['rdv-prune-after']);
        if (prune.ok) state.pruneAfter = prune.value;
        else {
          state.pruneProblem = `${prune.error}; not pruning (rdv-prune-after=off)`;
          setImmediate(() => log('error', state.pruneProblem ?? ''));
        }
        // Reply at once: an important plugin that is slow to init stops lightningd.
        void setup(state, config, log)
          .finally(markReady)
          .then(() => {
            if (state.node && state.runner && state.pruneAfter !== undefined) startAutoPrune({ node: state.node, runner: state.runner, log, now: systemClock.now, afterSeconds: state.pruneAfter });
          });
        return undefined;
      },
      onStdinClosed: () => shutdown(state, 'lightningd closed our stdin'),
    },
    process.stdin,
    process.stdout,
  );
  log = host.log;
}

/** How long setup keeps trying lightningd's RPC before it gives up (held HTLCs wait meanwhile). */
const SETUP_TRIES = 15;
const SETUP_RETRY_MS = 2_000;

async function setup(state: State, config: InitConfig, log: (level: LogLevel, message: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const why = await trySetup(state, config, log);
    if (why === undefined) return;
    if (attempt >= SETUP_TRIES) {
      state.notRelaying = why;
      log('error', `${why}; not relaying (HTLCs of relays already paying are left to rdv-guard)`);
      return;
    }
    log('warn', `${why}: trying again in ${SETUP_RETRY_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, SETUP_RETRY_MS));
  }
}

/** Connect, check the version, load the records. Returns why it could not, or undefined. */
async function trySetup(state: State, config: InitConfig, log: (level: LogLevel, message: string) => void): Promise<string | undefined> {
  const socketPath = isAbsolute(config.rpcFile) ? config.rpcFile : join(config.lightningDir, config.rpcFile);
  try {
    state.node ??= await LightningNode.connect(socketPath, 'rdv-plugin', { reconnect: true });
    const info = await state.node.getinfo();
    if (!isSupportedVersion(info.version)) {
      state.notRelaying = `Core Lightning ${info.version} is too old: rdv needs v${MIN_CLN_VERSION.major}.0${MIN_CLN_VERSION.minor} or newer; not relaying`;
      log('error', state.notRelaying);
      return undefined;
    }
    const network = isNetworkName(config.network) ? config.network : info.network;
    state.self = { id: info.id, network, version: info.version };
    const mppSeconds = typeof config.options['rdv-mpp-timeout'] === 'number' ? config.options['rdv-mpp-timeout'] : 60;
    const cltvFinal = (await state.node.configInt('cltv-final')) ?? DEFAULT_CLTV_FINAL;
    const relayConfig: RelayConfig = { ...DEFAULT_RELAY_CONFIG, mppTimeoutMs: Math.max(1, mppSeconds) * 1000, cltvFinal };
    const runner = new RelayRunner({ node: state.node, selfId: info.id, log, clock: systemClock, config: relayConfig });
    // lightningd may still be catching up with the chain (after a restart it replays
    // recent blocks); paying with its lagging height would shrink the safety margin.
    runner.setHeight(Math.max(info.blockheight, (await state.node.chainTip()) ?? 0));
    await runner.closeStaleLayers();
    void runner.channels.refresh();
    const claims = await loadGuardClaims(state.node);
    let active = 0;
    const { loaded } = await readAllRecords(state, log, (s) => {
      if (s.record.role === 'relay' && UNFINISHED_STATES.includes(s.record.state)) active++;
      runner.adopt(s, { startup: { guardClaims: claims.get(s.record.paymentHash) ?? [] } });
    });
    state.runner = runner;
    const node = state.node;
    // The one gate every policy join passes (pass-backs now, requests on demand later): its bounds are counted here.
    const gate = new PolicyGate({ nowMs: () => Date.now(), openJoinedBy: (id) => openJoinedBy(runner.relayRecords(), id, systemClock.now()) });
    state.gate = gate;
    const policyJoins: PolicyJoinPlugin = {
      node,
      info: { ...info, network },
      log,
      now: systemClock.now,
      gate,
      adopt: (stored) => runner.adopt(stored),
      hearAck: (hash, timeoutMs) => inbox.hearAck(hash, timeoutMs),
    };
    const inbox = new PassbackInbox({
      node,
      log,
      now: systemClock.now,
      nowMs: () => Date.now(),
      self: () => state.self,
      channels: runner.channels,
      isJoined: async (hash) => runner.knows(hash) || (await loadRecord(node, hash)) !== undefined,
      policyFor: async (from) => policyFor((await loadBook(node)).book, from, systemClock.now()),
      joinByPolicy: (policy, bolt11, from, paymentHash) => joinByPolicy(policyJoins, policy, bolt11, from, paymentHash),
      ...state.inboxConfig,
    });
    await inbox.load();
    state.inbox = inbox;
    state.notRelaying = undefined;
    log('info', `rdv ${RDV_VERSION} relaying on ${info.version} (${network}): ${loaded} record(s), ${active} active`);
    return undefined;
  } catch (e) {
    return `cannot use lightningd's RPC: ${(e as Error).message}`;
  }
}

/**
 * We do not relay (CLN too old, or no RPC). An HTLC of an `open` relay (nothing
 * paid for it) is failed as lightningd fails an unknown invoice: answering
 * `continue` would hand it to rdv-guard, which takes a continued relay HTLC for
 * a sign that rdv died, and would hold it. An HTLC of a relay that gathered,
 * paid or settled is exactly what rdv-guard is for: its payment onward may have
 * succeeded, so it must not be failed here.
 */
async function notRelaying(state: State, params: JsonObject): Promise<JsonObject> {
  if (!state.node) return CONTINUE;
  try {
    const htlc = parseHtlcAccepted(params);
    if (!htlc.isFinalHop || !htlc.decoded || htlc.blinded) return CONTINUE;
    const stored = await loadRecord(state.node, htlc.paymentHash);
    if (!isOurs(true, stored?.record) || stored.record.state !== 'open') return CONTINUE;
    return { result: 'fail', failure_message: unknownHashAnswer(htlc.part, 'rdv is not relaying').failureMessage };
  } catch {
    return CONTINUE;
  }
}

function sendpayHash(v: unknown): string | undefined {
  return isObject(v) && typeof v.payment_hash === 'string' ? v.payment_hash : undefined;
}

function hashParam(params: unknown): string | undefined {
  const v = Array.isArray(params) ? params[0] : isObject(params) ? params.payment_hash : undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(v)) throw new PluginMethodError(-32602, 'payment_hash must be hex (a prefix is enough)');
  return v.toLowerCase();
}

/** rdv-status <hash> of a finished relay the runner only counts: read from the datastore (at most 20). */
async function finishedViews(state: State, hash: string | undefined): Promise<RelayView[]> {
  if (hash === undefined || !state.runner || !state.node) return [];
  const node = state.node;
  const stored = await Promise.all(state.runner.finishedMatching(hash, 20).map((h) => loadRecord(node, h).catch(() => undefined)));
  return stored.flatMap((s) => (s ? [{ record: s.record, heldParts: 0, heldMsat: 0n, heldSince: undefined, payInFlight: false, outgoing: undefined, heldExpiry: undefined }] : []));
}

/**
 * Relays in memory (in progress, or finished since the plugin started) and, by
 * hash, finished ones; `totals` counts every relay record, so a year of them does
 * not have to cross the socket each time `rdv watch` looks.
 */
/** `since` (Unix seconds): totals.recent counts relays that ended since then; default the last 24 hours. */
function sinceParam(params: unknown): number {
  const v = Array.isArray(params) ? params[2] : isObject(params) ? params.since : undefined;
  if (v === undefined || v === null) return Math.floor(Date.now() / 1000) - 86_400;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new PluginMethodError(-32602, 'since must be a Unix time in seconds');
  return v;
}

function briefParam(params: unknown): boolean {
  const v = Array.isArray(params) ? params[1] : isObject(params) ? params.brief : undefined;
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new PluginMethodError(-32602, 'brief must be true or false');
  return v;
}

/**
 * Relays in memory (in progress, or finished since the plugin started) and, by
 * hash, finished ones; `totals` counts every relay record, so a year of them does
 * not have to cross the socket each time `rdv watch` looks.
 */
function statusReply(state: State, hash: string | undefined, brief: boolean, since: number, finished: RelayView[]): JsonObject {
  const runner = state.runner;
  const views = [...(runner ? runner.views().filter((v) => hash === undefined || v.record.paymentHash.startsWith(hash)) : []), ...finished];
  const tally = runner?.tally(since);
  return {
    rdv_version: RDV_VERSION,
    relaying: state.notRelaying === undefined,
    ...(state.notRelaying ? { not_relaying_because: state.notRelaying } : {}),
    blockheight: runner?.blockheight ?? 0,
    held_htlcs: runner?.heldCount() ?? 0,
    inbox: state.inbox
      ? { ...state.inbox.stats(), from: state.inboxConfig.policy, per_peer: state.inboxConfig.limits.perPeer, max: state.inboxConfig.limits.total, ...(state.inboxProblem ? { option_problem: state.inboxProblem } : {}) }
      : null,
    prune: { after_seconds: state.pruneAfter ?? null, ...(state.pruneProblem ? { option_problem: state.pruneProblem } : {}) },
    policies: state.gate ? state.gate.stats() : null,
    memory_mb: memoryMb(),
    timing: {
      htlc_to_xpay_last_100: runner?.decisionTimes.summary(100) ?? null,
      xpay_to_resolve_last_100: runner?.resolveTimes.summary(100) ?? null,
      htlc_to_xpay_last_1000: runner?.decisionTimes.summary(1000) ?? null,
    },
    totals: tally ? tallyJson(tally) : null,
    unreadable: state.unreadable,
    relays: views.map((v) => viewJson(v, runner?.blockheight ?? 0, brief)),
  };
}

function tallyJson(t: Tally): JsonObject {
  return {
    relays: t.records,
    by_state: { ...t.byState },
    earned_msat: t.earnedMsat,
    recent: { since: t.recent.since, settled: t.recent.settled, failed: t.recent.failed, expired: t.recent.expired, earned_msat: t.recent.earnedMsat },
  };
}

function memoryMb(): JsonObject {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 104_857.6) / 10;
  return { rss: mb(m.rss), heap_used: mb(m.heapUsed), heap_total: mb(m.heapTotal), external: mb(m.external) };
}

/**
 * One relay for rdv-status: the record and what is live. `brief` (what rdv watch
 * reads every second) leaves out the invoices, parts and attempts: with 10 000
 * records the full reply is megabytes the plugin would write each time.
 */
function viewJson(v: RelayView, height: number, brief: boolean): JsonObject {
  const r = v.record;
  const live: JsonObject = {
    held_parts: v.heldParts,
    held_msat: v.heldMsat,
    pay_in_flight: v.payInFlight,
  };
  if (v.heldSince !== undefined) live.held_since = v.heldSince;
  if (v.outgoing !== undefined) live.outgoing = v.outgoing;
  // Blocks left mean something only while HTLCs are held: a settled set's expiry is history.
  const holding = r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying' || v.heldParts > 0);
  const expiry = r.role === 'relay' && r.state !== 'open' ? (r.earliestExpiry ?? v.heldExpiry) : v.heldExpiry;
  if (holding && expiry !== undefined) live.blocks_to_expiry = expiry - height;
  if (!brief) return { ...recordToJson(r), live };
  const out: JsonObject = { payment_hash: r.paymentHash, role: r.role, amount_msat: r.amountMsat };
  if (r.role === 'relay') {
    out.state = r.state;
    if (r.settledAt !== undefined) out.settled_at = r.settledAt;
    if (r.earnedMsat !== undefined) out.earned_msat = r.earnedMsat;
    if (r.lastError !== undefined) out.last_error = r.lastError;
    if (r.policy !== undefined) out.policy = r.policy;
  }
  out.live = live;
  return out;
}

/** How long rdv spends writing pending records before it exits (lightningd waits 30 s for plugins on `stop`). */
const SHUTDOWN_FLUSH_MS = 5_000;

function shutdown(state: State, why: string): void {
  const held = state.runner?.heldCount() ?? 0;
  // On `plugin stop` lightningd keeps running: only rdv-guard (after us in the hook
  // chain) then keeps these HTLCs from being failed while our payments may complete.
  if (held > 0) process.stderr.write(`rdv: ${why}, holding ${held} HTLC(s): rdv-guard takes them over if it is loaded\n`);
  const exit = (): void => {
    state.node?.close();
    process.exit(0);
  };
  // Records due as checkpoints are written first (a "settled" just resolved, say).
  if (state.runner) void state.runner.flush(SHUTDOWN_FLUSH_MS).then(exit, exit);
  else exit();
}

/**
 * Every record in the datastore, each handed to `adopt` (at start and on a full
 * rdv-reload); the unreadable ones are logged and kept for rdv-status.
 */
async function readAllRecords(state: State, log: (level: LogLevel, message: string) => void, adopt: (s: Stored) => void): Promise<{ loaded: number; unreadable: number }> {
  if (!state.node) return { loaded: 0, unreadable: 0 };
  let loaded = 0;
  const problems = await forEachRecord(state.node, (s) => {
    loaded++;
    adopt(s);
  });
  for (const p of problems) log('error', `unreadable record ${p.key.join('/')}: ${p.problem}`);
  state.unreadable = problems.map((p) => p.problem);
  return { loaded, unreadable: problems.length };
}
