/**
 * Hand-made HTLCs, like `createonion` + `sendonion` on a real node: the test
 * chooses every field of the final hop's payload (forward amount, outgoing
 * CLTV, secret, total, metadata, or fields left out so lightningd cannot
 * decode it), so a relay hash's answer can be compared with an unknown hash's.
 */
import type { HtlcOutcome, SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import type { HopPayload } from '../../src/simnet/onion.js';

export interface RawHtlc {
  amountMsat: bigint;
  /** Absolute; default: 40 blocks from now. */
  cltvExpiry?: number;
  paymentHash: string;
  /** The final hop's payload, exactly as given (no field is filled in). */
  payload: HopPayload;
}

/**
 * Offer `h` from `from` to its peer `to` over their first channel, as the last
 * and only hop; resolves with how `to` answered (its failure message, or the preimage).
 */
export function sendFinalHtlc(net: SimNetwork, from: SimNode, to: SimNode, h: RawHtlc): Promise<HtlcOutcome> {
  const channel = net.channelsBetween(from, to)[0];
  if (!channel) throw new Error(`no channel ${from.name} -> ${to.name}`);
  return net.sendHtlc(from, channel, h.amountMsat, h.cltvExpiry ?? net.height + 40, h.paymentHash, [h.payload]);
}

/** The failure message of an outcome ("" for a success), for assertions. */
export const failureOf = (o: HtlcOutcome): string => (o.ok ? '' : o.failureMessage);

const hex = (n: bigint | number, bytes: number): string => n.toString(16).padStart(bytes * 2, '0');

/** BOLT 4 failure messages as lightningd builds them, for expected values. */
export const wire = {
  finalIncorrectHtlcAmount: (htlcMsat: bigint): string => `0013${hex(htlcMsat, 8)}`,
  finalIncorrectCltvExpiry: (cltvExpiry: number): string => `0012${hex(cltvExpiry, 4)}`,
  incorrectOrUnknownPaymentDetails: (htlcMsat: bigint, height: number): string => `400f${hex(htlcMsat, 8)}${hex(height, 4)}`,
  /** [bigsize type][u16 offset]; types here are all below 0xfd, one byte. */
  invalidOnionPayload: (type: number, offset: number): string => `4016${hex(type, 1)}${hex(offset, 2)}`,
  permanentChannelFailure: (): string => '4008',
  mppTimeout: (): string => '0017',
};
