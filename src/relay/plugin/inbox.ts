/**
 * The pass-back inbox, wired to the relay runner: the policy gate every policy
 * join passes (its bounds counted from the runner's records), the policy joins
 * an invoice passed back may start, the request desk that answers invoice
 * requests (src/relay/requests.ts), and the inbox itself (src/relay/inbox.ts),
 * loaded before rdv says it relays.
 */
import type { NetworkName } from '../../chain/network.js';
import { policyFor } from '../../chain/policy/book.js';
import { openJoinedBy, unpaidMadeBy } from '../../chain/policy/decide.js';
import { encodePassback } from '../../chain/passback.js';
import type { LightningNode, NodeInfo } from '../../rpc/node.js';
import type { LogLevel } from '../../rpc/plugin.js';
import { loadRecord } from '../../rpc/records.js';
import { loadBook } from '../../rpc/policies.js';
import { makePull } from '../../rpc/pull.js';
import { PassbackInbox } from '../inbox.js';
import { joinByPolicy, type PolicyJoinPlugin } from '../policy-join.js';
import { PolicyGate } from '../policy-gate.js';
import { RequestDesk } from '../requests.js';
import { systemClock } from '../runner/entry.js';
import type { RelayRunner } from '../runner/runner.js';
import type { State } from './state.js';

/** Start the inbox (and the gate and joins behind it) once the runner has adopted the records. */
export async function startInbox(state: State, node: LightningNode, runner: RelayRunner, info: NodeInfo, network: NetworkName, log: (level: LogLevel, message: string) => void): Promise<void> {
  // The one gate every policy join passes (pass-backs and invoice requests): its bounds are counted here,
  // a relay policy's open relays and a last-payee policy's unpaid invoices.
  const gate = new PolicyGate({
    nowMs: () => Date.now(),
    openJoinedBy: (id) => openJoinedBy(runner.relayRecords(), id, systemClock.now()) + unpaidMadeBy(runner.lastRecords(), id, systemClock.now(), requests.paidLast).length,
  });
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
  const requests = new RequestDesk({
    node,
    info: { ...info, network },
    log,
    now: systemClock.now,
    nowMs: () => Date.now(),
    gate,
    adopt: (stored) => runner.adopt(stored),
    book: async () => (await loadBook(node)).book,
    lastRecords: () => runner.lastRecords(),
    send: (to, m) => node.sendcustommsg(to, encodePassback(m)),
    pull: makePull(node, { ...info, network }, systemClock.now),
  });
  state.requests = requests;
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
    requests,
    ...state.inboxConfig,
  });
  await inbox.load();
  state.inbox = inbox;
}
