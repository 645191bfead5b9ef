/**
 * An HTLC arrives at a node: the htlc_accepted hook's chain first (held until a
 * plugin answers), then lightningd's own handling: a plugin's resolve checked
 * against the payment hash, its fail passed on, and otherwise the HTLC
 * forwarded (forward.ts) or, at the final hop, paid to one of our invoices
 * (receive.ts). Also the hook's parameters, as lightningd builds them at each call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { bareUnknownPaymentDetails, invalidOnionBlinding, invalidOnionPayload, permanentChannelFailure } from '../final-hop.js';
import { decodeHopPayload, encodeHopPayload, nextOnionHex, sharedSecretHex } from '../onion.js';
import type { HtlcOutcome, Incoming } from '../types.js';
import type { NodeCore } from './core.js';
import { forward, nextChannel } from './forward.js';
import type { FinalHop } from './receive.js';

/**
 * An HTLC arrives: plugin hook first (held until it answers), then
 * lightningd's own handling. Like peer_accepted_htlc (lightningd/peer_htlcs.c),
 * at first sight and again at each replay after a restart (htlcs_resubmit),
 * an HTLC on a channel that can no longer add HTLCs (shutting down, closing,
 * on chain) is failed with permanent_channel_failure without calling the
 * hook: a part held across a restart whose channel went on chain meanwhile
 * is never replayed, and lightningd can no longer fulfill it.
 */
export async function acceptHtlc(node: NodeCore, finalHop: FinalHop, h: Incoming): Promise<HtlcOutcome> {
  const final = h.rest.length === 0;
  const decoded = decodeHopPayload(h.payload, final, h);
  const fail = (failureMessage: string, failingScid?: string): HtlcOutcome => ({ ok: false, failureMessage, failingNode: node.id, failingScid });
  let r: Record<string, unknown>;
  try {
    r = await node.callHook('htlc_accepted', () => node.hookParams(h), {
      gate: () => (h.channel.canAddHtlc() ? undefined : { result: 'fail', failure_message: permanentChannelFailure() }),
      onCall: (plugin) => (h.status = `Waiting for the htlc_accepted hook of plugin ${plugin}`),
    });
  } finally {
    h.status = undefined;
  }
  if (r.result === 'resolve' && typeof r.payment_key === 'string') {
    // htlc_accepted_hook_try_resolve: lightningd checks the key and fails the HTLC with a bare 0x400f if it is wrong.
    if (createHash('sha256').update(Buffer.from(r.payment_key, 'hex')).digest('hex') !== h.paymentHash) {
      node.net.event('wrong_preimage', node.name, `HTLC ${h.channel.label}/${h.id} resolved with a wrong preimage: lightningd failed it`);
      return fail(bareUnknownPaymentDetails());
    }
    // A plugin's resolve is we_filled: lightningd logs an "invoice" channel move once it settles.
    node.addChannelMove({ account_id: h.channel.channelId, credit_msat: h.amountMsat, debit_msat: 0n, primary_tag: 'invoice', payment_hash: h.paymentHash });
    return { ok: true, preimage: r.payment_key };
  }
  if (r.result === 'fail') return fail(typeof r.failure_message === 'string' ? r.failure_message : '2002');
  // htlc_accepted_hook_final: only now does an undecodable payload fail.
  if (!decoded.ok) return fail(invalidOnionPayload(decoded.failTlvType, decoded.failTlvPos));
  const outcome = await (final ? finalHop.receive(h, decoded.payload) : forward(node, h, decoded.payload));
  // BOLT 4 route blinding: inside a blinded path every failure is invalid_onion_blinding, so a
  // payer learns nothing of the hops; the introduction node is the one that tells it (a final
  // node that is itself the introduction node answers as usual).
  const insidePath = h.payload.blinded !== undefined && !(final && h.payload.blinded.pathKey !== undefined);
  return insidePath && !outcome.ok ? fail(invalidOnionBlinding()) : outcome;
}

const randomKeyHex = (): string => `02${randomBytes(32).toString('hex')}`;

/**
 * htlc_accepted_hook_serialize: built at each call, so a replayed HTLC shows
 * the channel's name at that moment (channel_scid_or_local_alias: the real
 * scid, else this node's local alias). An undecodable payload gets only
 * `payload`, `next_onion` and `shared_secret` in `onion`.
 */
export function hookParams(node: NodeCore, h: Incoming): Record<string, unknown> {
  const decoded = decodeHopPayload(h.payload, h.rest.length === 0, h);
  const onion: Record<string, unknown> = { payload: encodeHopPayload(h.payload) };
  if (decoded.ok) {
    const p = decoded.payload;
    onion.type = 'tlv';
    if (p.nextScid) onion.short_channel_id = p.nextScid;
    if (p.nextNodeId) onion.next_node_id = p.nextNodeId;
    onion.forward_msat = p.forwardMsat;
    onion.outgoing_cltv_value = p.outgoingCltv;
    if (p.paymentSecret !== undefined) {
      onion.total_msat = p.totalMsat;
      onion.payment_secret = p.paymentSecret;
    }
    if (p.paymentMetadata !== undefined) onion.payment_metadata = p.paymentMetadata;
  }
  onion.next_onion = nextOnionHex();
  onion.shared_secret = (h.sharedSecret ??= sharedSecretHex());
  const params: Record<string, unknown> = { peer_id: h.from.id, onion };
  if (decoded.ok && (decoded.payload.nextScid || decoded.payload.nextNodeId)) {
    const next = nextChannel(node, decoded.payload);
    if (next) params.forward_to = next.channelId;
  }
  params.htlc = {
    short_channel_id: h.channel.scidFor(node),
    id: h.id,
    amount_msat: h.amountMsat,
    cltv_expiry: h.cltvExpiry,
    cltv_expiry_relative: h.cltvExpiry - node.net.height,
    payment_hash: h.paymentHash,
    // Inside a blinded path, update_add_htlc carries the path key (TLV 0, 33 bytes): lightningd shows it.
    ...(h.payload.blinded && h.payload.blinded.pathKey === undefined ? { extra_tlvs: `0021${h.pathKey ??= randomKeyHex()}` } : {}),
  };
  return params;
}
