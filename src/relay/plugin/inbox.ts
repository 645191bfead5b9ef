/**
 * The pass-back inbox, wired to the relay runner: the policy gate every policy
 * join passes (its bounds counted from the runner's records), the policy joins
 * an invoice passed back may start, and the inbox itself (src/relay/inbox.ts),
 * loaded before rdv says it relays.
 */
import type { NetworkName } from '../../chain/network.js';
import { policyFor } from '../../chain/policy/book.js';
import { openJoinedBy } from '../../chain/policy/decide.js';
import type { LightningNode, NodeInfo } from '../../rpc/node.js';
import type { LogLevel } from '../../rpc/plugin.js';
import { loadRecord } from '../../rpc/records.js';
import { loadBook } from '../../rpc/policies.js';
import { PassbackInbox } from '../inbox.js';
import { joinByPolicy, type PolicyJoinPlugin } from '../policy-join.js';
import { PolicyGate } from '../policy-gate.js';
import { systemClock } from '../runner/entry.js';
import type { RelayRunner } from '../runner/runner.js';
import type { State } from './state.js';

/** Start the inbox (and the gate and joins behind it) once the runner has adopted the records. */
export async function startInbox(state: State, node: LightningNode, runner: RelayRunner, info: NodeInfo, network: NetworkName, log: (level: LogLevel, message: string) => void): Promise<void> {
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
}
