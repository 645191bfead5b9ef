/**
 * What rdv cannot protect: an incoming HTLC whose channel is closing. At a
 * restart lightningd does not replay such an HTLC to any plugin; it fails it
 * itself (lightningd/peer_htlcs.c: htlcs_resubmit -> peer_accepted_htlc, which
 * refuses when channel_state_can_add_htlc is false), while the relay's payment
 * onward may still complete. Without a restart a resolve still reaches onchaind.
 * So `rdv status` warns while a relay holds such a part. Pure.
 */
import { shortHash } from './ids.js';
import { partKey } from './parts.js';
import type { RelayRecord } from './record.js';

/** How lightningd names a channel and what state it is in (listpeerchannels). */
export interface ChannelState {
  channelId: string;
  scid: string | undefined;
  localAlias: string | undefined;
  state: string;
}

/** The states in which lightningd still replays a held HTLC after a restart (channel_state_can_add_htlc). */
const REPLAYABLE = new Set(['CHANNELD_NORMAL', 'CHANNELD_AWAITING_SPLICE']);

/** One line per gathered/paying relay part whose incoming channel is closing or gone. */
export function closingUpstreamWarnings(relays: readonly RelayRecord[], channels: readonly ChannelState[]): string[] {
  const out: string[] = [];
  for (const r of relays) {
    if (r.state !== 'gathered' && r.state !== 'paying') continue;
    for (const p of r.parts) {
      const c = channels.find((ch) => (p.channelId !== undefined && ch.channelId === p.channelId) || ch.scid === p.scid || ch.localAlias === p.scid);
      if (c && REPLAYABLE.has(c.state)) continue;
      const what = c ? `is ${c.state}` : 'is gone';
      out.push(
        `relay ${shortHash(r.paymentHash)}: the channel of incoming part ${partKey(p)} ${what}: do not restart lightningd until the payment onward is resolved — after a restart lightningd fails such an HTLC itself while the payment onward may still complete`,
      );
    }
  }
  return out;
}
