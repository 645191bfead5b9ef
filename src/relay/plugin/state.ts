/** What the rdv plugin holds while it runs: the connection, the runner, the inbox, and what its options and setup found. */
import type { NodeId } from '../../chain/ids.js';
import type { NetworkName } from '../../chain/network.js';
import type { InboxLimits, InboxPolicy } from '../../chain/inbox.js';
import type { LightningNode } from '../../rpc/node.js';
import type { PassbackInbox } from '../inbox.js';
import type { RelayRunner } from '../runner/runner.js';
import type { PolicyGate } from '../policy-gate.js';
import type { RequestDesk } from '../requests.js';

export interface State {
  node: LightningNode | undefined;
  runner: RelayRunner | undefined;
  inbox: PassbackInbox | undefined;
  /** The counts behind the policies' bounds. */
  gate: PolicyGate | undefined;
  /** Invoice requests: answering them, and rdv-request. */
  requests: RequestDesk | undefined;
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
