/**
 * BOLT 12 as CLN's offers plugin and lightningd answer it: `offer`,
 * `disableoffer`, `listoffers` for our own offers; `fetchinvoice`, which asks
 * an offer's issuer for an invoice (CLN sends an invoice_request by onion
 * message; the simulator calls the issuing node through the network,
 * NodeNetwork.requestInvoice, and answers with CLN's replies and errors, see
 * test/fixtures/bolt12/); and the issuer's side, answerInvoiceRequest, which
 * makes the invoice as plugins/offers_invreq_hook.c does: a path from the
 * best peer when the node has no public channel, else the stub path that
 * starts at the node itself (lightningd/invoice.c add_stub_blindedpath).
 * Strings are the simulator's own (../bolt12.ts).
 */
import { randomBytes } from 'node:crypto';
import { msat, type Msat } from '../../chain/amount.js';
import { BOLT12_DEFAULT_RELATIVE_EXPIRY, CHAIN_HASH } from '../../chain/bolt12.js';
import type { NodeId, PaymentHash } from '../../chain/ids.js';
import { decodeSimBolt12, encryptedData, encodeInvoice, encodeOffer, offerIdOf, randomKey, type SimBlindedPath, type SimInvoiceBody, type SimOfferBody, type SimPayinfo } from '../bolt12.js';
import { msatParam } from '../invoices.js';
import type { SimOffer } from '../offers.js';
import { SimRpcError } from '../rpc-server.js';
import type { InvoiceRequest, InvoiceRequestAnswer, PeerChannel } from '../types.js';
import type { Method, Methods, NodeCore } from './core.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** CLN's default features of a BOLT 12 invoice: basic_mpp, optional (bit 17). */
const INVOICE_FEATURES = '020000';
/** 21 million BTC in msat: the stub path's htlc_maximum_msat. */
const ALL_BITCOIN_MSAT = 2_100_000_000_000_000_000n;

/** An offer as `offer`, `disableoffer` and `listoffers` print it (their key order), with `tail` last. */
function offerJson(o: SimOffer, tail: Record<string, unknown> = {}): Record<string, unknown> {
  return { offer_id: o.offerId, active: o.active, single_use: o.singleUse, bolt12: o.bolt12, force_paths: false, used: o.used, ...(o.label !== undefined ? { label: o.label } : {}), ...tail };
}

/** A path for onion messages to us from a peer (CLN makes one when the node has no public address). */
function messagePath(node: NodeCore, via: PeerChannel): SimBlindedPath {
  return { first_node_id: via.other(node).id, first_path_key: randomKey(), path: [{ blinded_node_id: randomKey(), encrypted_recipient_data: '' }, { blinded_node_id: randomKey(), encrypted_recipient_data: '' }] };
}

/** Our channels a payer cannot find in gossip (all of them unannounced): then offers and invoices need a path from a peer. */
const isUnannounced = (node: NodeCore): boolean => !node.net.channels.some((c) => c.has(node) && !c.isPrivate && c.scid !== undefined);

/** find_best_peer: of our channels whose peer is up and may send to us, the one with the most it can send. */
function bestPeerChannel(node: NodeCore, amount: bigint): PeerChannel | undefined {
  let best: PeerChannel | undefined;
  for (const c of node.net.channels) {
    if (!c.has(node) || !c.canAddHtlc() || !c.enabled || !c.other(node).up) continue;
    const spendable = c.spendable(c.other(node).id);
    if (spendable < amount) continue;
    if (!best || spendable > best.spendable(best.other(node).id)) best = c;
  }
  return best;
}

/** offer, disableoffer, listoffers and fetchinvoice, answered for `node`. */
export function offerMethods(node: NodeCore): Methods {
  return new Map<string, Method>([
    [
      'offer',
      (params) => {
        if (typeof params.description !== 'string') throw new SimRpcError(-32602, 'description: missing');
        if (params.amount === undefined) throw new SimRpcError(-32602, "missing required parameter: amount");
        const amount = params.amount === 'any' ? undefined : msatParam(params.amount, 'amount');
        const body: SimOfferBody = {
          chains: [CHAIN_HASH.regtest],
          description: params.description,
          ...(amount !== undefined ? { amount_msat: amount.toString() } : {}),
          issuer_id: node.id,
          ...(typeof params.absolute_expiry === 'number' ? { absolute_expiry: params.absolute_expiry } : {}),
        };
        // The same offer again (not counting its label, or the paths made for it) is the one made before.
        const bare = (b: SimOfferBody): string => JSON.stringify({ ...b, paths: undefined });
        const existing = [...node.offers.values()].find((o) => bare(o.body) === bare(body));
        if (existing) {
          if (!existing.active) throw new SimRpcError(1000, 'Offer already exists, but isn\'t active');
          return offerJson(existing, { created: false });
        }
        const via = isUnannounced(node) ? bestPeerChannel(node, 0n) : undefined;
        if (via) body.paths = [messagePath(node, via)];
        const offer: SimOffer = { offerId: offerIdOf(body), bolt12: encodeOffer(body), body, label: typeof params.label === 'string' ? params.label : undefined, singleUse: params.single_use === true, active: true, used: false };
        node.offers.set(offer.offerId, offer);
        return offerJson(offer, { created: true });
      },
    ],
    [
      'disableoffer',
      (params) => {
        const offer = node.offers.get(String(params.offer_id));
        if (!offer) throw new SimRpcError(-1, 'Unknown offer');
        if (!offer.active) throw new SimRpcError(1001, 'offer is not active');
        offer.active = false;
        return offerJson(offer, { description: offer.body.description });
      },
    ],
    [
      'listoffers',
      (params) => ({
        offers: [...node.offers.values()]
          .filter((o) => (params.offer_id === undefined || o.offerId === params.offer_id) && (params.active_only !== true || o.active))
          .map((o) => offerJson(o, { description: o.body.description })),
      }),
    ],
    ['fetchinvoice', (params) => fetchinvoice(node, params)],
  ]);
}

/** fetchinvoice: ask the offer's issuer for an invoice (through the network), check it as the offers plugin does. */
async function fetchinvoice(node: NodeCore, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (typeof params.offer !== 'string') throw new SimRpcError(-32602, 'offer: missing');
  const d = decodeSimBolt12(params.offer);
  if (d?.kind !== 'offer') throw new SimRpcError(-32602, `offer: Unparsable offer: invalid token '${JSON.stringify(params.offer)}'`);
  const offer = d.offer;
  const amount = params.amount_msat === undefined ? undefined : msatParam(params.amount_msat, 'amount_msat');
  if (offer.amount_msat === undefined && amount === undefined) throw new SimRpcError(-32602, 'amount_msat parameter required');
  if (offer.absolute_expiry !== undefined && nowSeconds() >= offer.absolute_expiry) throw new SimRpcError(1002, 'Offer expired');
  const timeout = typeof params.timeout === 'number' ? params.timeout : 60;
  const request: InvoiceRequest = {
    offer: params.offer,
    amountMsat: amount ?? msat(BigInt(offer.amount_msat ?? '0')),
    payerId: randomKey(),
    metadata: randomBytes(16).toString('hex'),
  };
  const answer = await node.net.requestInvoice(node, offer.issuer_id, request, timeout);
  switch (answer.kind) {
    case 'invoice':
      return { invoice: answer.invoice, changes: {} };
    case 'error':
      // CLN quotes its invoice request (an lnr1 string) before the issuer's reason.
      throw new SimRpcError(1004, 'Remote node sent failure message', { error: `Failed invreq lnr1${request.metadata}${request.payerId}: ${answer.message}` });
    case 'unreachable':
      throw new SimRpcError(1003, `Failed: could not route or connect directly to ${offer.issuer_id}: {"code":400,"message":"Unable to connect, no address known for peer"}`);
    case 'timeout':
      throw new SimRpcError(1005, 'Timeout waiting for response');
  }
}

/**
 * The issuer's side of an invoice request (offers_invreq_hook.c): the offer
 * must be ours and active, unexpired, the amount at least the offer's (and
 * at most 5 times it, CLN's "vastly exceeds"); the invoice carries one path:
 * from the best peer when all our channels are unannounced (its payinfo is
 * that peer's fees and CLTV delta plus our cltv-final), else the stub that
 * starts at us (no fee, cltv-final).
 */
export function answerInvoiceRequest(node: NodeCore, req: InvoiceRequest): InvoiceRequestAnswer {
  const d = decodeSimBolt12(req.offer);
  if (d?.kind !== 'offer') return { kind: 'error', message: 'Invalid invreq' };
  const offer = node.offers.get(d.offerId);
  if (!offer) return { kind: 'error', message: 'Unknown offer' };
  if (!offer.active) return { kind: 'error', message: 'Offer no longer available' };
  const now = nowSeconds();
  if (offer.body.absolute_expiry !== undefined && now >= offer.body.absolute_expiry) return { kind: 'error', message: 'Offer expired' };
  if (offer.body.amount_msat !== undefined) {
    const base = BigInt(offer.body.amount_msat);
    if (req.amountMsat < base) return { kind: 'error', message: `Amount must be at least ${base}msat` };
    if (req.amountMsat / 5n > base) return { kind: 'error', message: `Amount vastly exceeds ${base}msat` };
  }
  const amount: Msat = msat(req.amountMsat);
  const via = isUnannounced(node) ? bestPeerChannel(node, amount) : undefined;
  const paths = (pathId: string): SimInvoiceBody['paths'] => {
    if (!via) {
      const payinfo: SimPayinfo = { fee_base_msat: '0', fee_proportional_millionths: 0, cltv_expiry_delta: node.cltvFinal, htlc_minimum_msat: '0', htlc_maximum_msat: ALL_BITCOIN_MSAT.toString(), features: '' };
      return [{ first_node_id: node.id, first_path_key: randomKey(), path: [{ blinded_node_id: randomKey(), encrypted_recipient_data: encryptedData({ pathId }) }], payinfo }];
    }
    const peer = via.other(node);
    const policy = via.policy.get(peer.id);
    const relay = { cltvExpiryDelta: policy?.cltvDelta ?? 34, feeBaseMsat: String(policy?.feeBaseMsat ?? 1000n), feePpm: Number(policy?.feePpm ?? 10n) };
    const payinfo: SimPayinfo = {
      fee_base_msat: relay.feeBaseMsat,
      fee_proportional_millionths: relay.feePpm,
      cltv_expiry_delta: relay.cltvExpiryDelta + node.cltvFinal,
      htlc_minimum_msat: '0',
      htlc_maximum_msat: via.spendable(peer.id).toString(),
      features: '',
    };
    return [
      {
        first_node_id: peer.id as NodeId,
        first_path_key: randomKey(),
        path: [
          // CLN's path names the next node, not a channel (offers_invreq_hook.c: new_encdata_tlvs with no scid).
          { blinded_node_id: randomKey(), encrypted_recipient_data: encryptedData({ nextNodeId: node.id, relay }) },
          { blinded_node_id: randomKey(), encrypted_recipient_data: encryptedData({ pathId }) },
        ],
        payinfo,
      },
    ];
  };
  const inv = node.invoices.createBolt12({
    offerId: offer.offerId,
    payerId: req.payerId,
    amountMsat: amount,
    description: offer.body.description,
    expiresAt: now + BOLT12_DEFAULT_RELATIVE_EXPIRY,
    cltv: node.cltvFinal,
    make: (paymentHash: PaymentHash, pathId: string) =>
      encodeInvoice(
        {
          offer: offer.body,
          invreq: { metadata: req.metadata, payer_id: req.payerId, chain: CHAIN_HASH.regtest, amount_msat: amount.toString() },
          paths: paths(pathId),
          created_at: now,
          relative_expiry: BOLT12_DEFAULT_RELATIVE_EXPIRY,
          payment_hash: paymentHash,
          amount_msat: amount.toString(),
          features: INVOICE_FEATURES,
          node_id: node.id,
        },
        node.privateKey,
      ),
  });
  return { kind: 'invoice', invoice: inv.bolt12?.text ?? '' };
}
