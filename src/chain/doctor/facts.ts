/**
 * What the doctor's checks read: the facts lightningd and the plugins gave
 * (gathered by src/commands/doctor.ts), each a value or why it could not be had,
 * and which relays need which facts (needsRouteCheck, mayBeStuck).
 */
import type { RouteEstimate } from '../budget.js';
import type { NetworkName } from '../network.js';
import type { ChannelFunds, NodeAddress } from '../node-facts.js';
import type { DownstreamSource, RelayRecord } from '../record.js';
import type { OutgoingSummary } from '../relay/types.js';
import type { Result } from '../../errors.js';

/** A fact lightningd gave, or why it could not. */
export type Fact<T> = Result<T, string>;

/** The RPC commands rdv cannot work without. */
export const REQUIRED_COMMANDS = ['signinvoice', 'xpay', 'getroutes'] as const;
export type RequiredCommand = (typeof REQUIRED_COMMANDS)[number];

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
  /** The next payees policies pull invoices from (offers, Lightning Addresses), each with what was learnt of it now. */
  pulls: Fact<PullFacts[]>;
}

/** A policy's offer or address: `reached` is what it said now (an address's pay parameters, an offer's decode), or why not. */
export interface PullFacts {
  policy: string;
  source: DownstreamSource;
  reached: Fact<string>;
}

/** An open relay invoice a payer may still pay: it needs liquidity and a route onward. */
export const needsRouteCheck = (r: RelayRecord, now: number): boolean => r.state === 'open' && r.expiresAt > now;
/** A relay holding a payment: something must be in flight for it. */
export const mayBeStuck = (r: RelayRecord): boolean => r.state === 'gathered' || r.state === 'paying';
