/**
 * `rdv` as a lightningd plugin: wires the plugin protocol (src/rpc/plugin.ts) to
 * the relay runner and the pass-back inbox. Loaded by lightningd with
 * `important-plugin=/path/to/rdv` (or plugin=, or `lightning-cli plugin start`).
 *
 * This file is the wiring, as CLN's plugins keep policy apart from glue: the
 * manifest (hooks, subscriptions, the rest from src/relay/plugin/), what the
 * htlc_accepted hook answers while rdv does not relay, and the shutdown. What
 * a reader comes looking for is in src/relay/plugin/:
 *   state.ts    what the plugin holds: connection, runner, inbox, options' values, why it does not relay
 *   options.ts  the options it declares, and how init's values are taken (a bad one never stops relaying)
 *   setup.ts    connect (retrying), refuse an old CLN, start the runner, adopt the records; then the daily prune
 *   inbox.ts    the pass-back inbox wired to the runner: the policy gate, the policy joins, the request desk
 *   methods.ts  rdv-status, rdv-reload and rdv-request, and their parameters
 *   status.ts   what rdv-status answers: relays (brief or whole), totals, timings, memory
 */
import { PASSBACK_MSG_TYPE } from '../chain/passback.js';
import { isObject, type JsonObject } from '../chain/read.js';
import { unknownHashAnswer } from '../chain/localpay.js';
import { isOurs } from '../chain/relay/step.js';
import { parseHtlcAccepted } from '../rpc/hooks.js';
import { runPlugin, type LogLevel } from '../rpc/plugin.js';
import { loadRecord } from '../rpc/records.js';
import { rpcMethods } from './plugin/methods.js';
import { OPTIONS, takeOptions } from './plugin/options.js';
import { setup, startPruning } from './plugin/setup.js';
import type { State } from './plugin/state.js';

const CONTINUE: JsonObject = { result: 'continue' };

export function startPlugin(): void {
  const state: State = { node: undefined, runner: undefined, inbox: undefined, gate: undefined, requests: undefined, inboxConfig: { policy: 'peers', limits: { perPeer: 20, total: 200 } }, inboxProblem: undefined, self: undefined, notRelaying: 'starting', pruneAfter: undefined, pruneProblem: undefined, unreadable: [] };
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let log: (level: LogLevel, message: string) => void = () => undefined;

  const host = runPlugin(
    {
      dynamic: true,
      options: OPTIONS,
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
      // `log` is read when a method runs: it is lightningd's log by then (see below).
      rpcmethods: rpcMethods(state, ready, (level, message) => log(level, message)),
      customMessages: [PASSBACK_MSG_TYPE],
      onInit: async (config) => {
        takeOptions(state, config, log);
        // Reply at once: an important plugin that is slow to init stops lightningd.
        void setup(state, config, log)
          .finally(markReady)
          .then(() => startPruning(state, log));
        return undefined;
      },
      onStdinClosed: () => shutdown(state, 'lightningd closed our stdin'),
    },
    process.stdin,
    process.stdout,
  );
  log = host.log;
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
