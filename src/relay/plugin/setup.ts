/**
 * The rdv plugin's start: connect to lightningd (trying again for a while),
 * refuse a CLN too old, start the relay runner, adopt every record, then the
 * inbox (inbox.ts); once that is over, the daily prune if rdv-prune-after asks.
 */
import { join, isAbsolute } from 'node:path';
import { isNetworkName } from '../../chain/network.js';
import { UNFINISHED_STATES } from '../../chain/record.js';
import { DEFAULT_CLTV_FINAL } from '../../chain/localpay.js';
import { DEFAULT_RELAY_CONFIG, type RelayConfig } from '../../chain/relay/types.js';
import { isSupportedVersion, LightningNode, MIN_CLN_VERSION } from '../../rpc/node.js';
import type { InitConfig, LogLevel } from '../../rpc/plugin.js';
import { forEachRecord, loadGuardClaims, type Stored } from '../../rpc/records.js';
import { RDV_VERSION } from '../../version.js';
import { systemClock } from '../runner/entry.js';
import { RelayRunner } from '../runner/runner.js';
import { startAutoPrune } from '../prune.js';
import { startInbox } from './inbox.js';
import { mppTimeoutSeconds } from './options.js';
import type { State } from './state.js';

/** How long setup keeps trying lightningd's RPC before it gives up (held HTLCs wait meanwhile). */
const SETUP_TRIES = 15;
const SETUP_RETRY_MS = 2_000;

export async function setup(state: State, config: InitConfig, log: (level: LogLevel, message: string) => void): Promise<void> {
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
    const mppSeconds = mppTimeoutSeconds(config);
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
    await startInbox(state, node, runner, info, network, log);
    state.notRelaying = undefined;
    log('info', `rdv ${RDV_VERSION} relaying on ${info.version} (${network}): ${loaded} record(s), ${active} active`);
    return undefined;
  } catch (e) {
    return `cannot use lightningd's RPC: ${(e as Error).message}`;
  }
}

/** Once setup is over: remove finished records daily, if rdv-prune-after asks and rdv is relaying. */
export function startPruning(state: State, log: (level: LogLevel, message: string) => void): void {
  if (state.node && state.runner && state.pruneAfter !== undefined) startAutoPrune({ node: state.node, runner: state.runner, log, now: systemClock.now, afterSeconds: state.pruneAfter });
}

/**
 * Every record in the datastore, each handed to `adopt` (at start and on a full
 * rdv-reload); the unreadable ones are logged and kept for rdv-status.
 */
export async function readAllRecords(state: State, log: (level: LogLevel, message: string) => void, adopt: (s: Stored) => void): Promise<{ loaded: number; unreadable: number }> {
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
