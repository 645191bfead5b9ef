/** What lightningd says about where the node listens and what its channels can carry, as rdv reads it. */
import type { Msat } from './amount.js';
import type { NodeId } from './ids.js';

/** An entry of getinfo's `address` or `binding`: type ipv4, ipv6, dns, torv3, websocket or "local socket". */
export interface NodeAddress {
  type: string;
  /** Host, or the socket file of a "local socket". */
  address: string | undefined;
  port: number | undefined;
}

/** What one channel can carry now (listpeerchannels). */
export interface ChannelFunds {
  peerId: NodeId;
  state: string;
  peerConnected: boolean;
  spendableMsat: Msat;
  receivableMsat: Msat;
}
