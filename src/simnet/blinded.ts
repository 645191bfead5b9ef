/**
 * The simulated `xpay` (plugins/xpay/xpay.c): routes (splitting when one path
 * cannot carry the amount) through askrene's layers as they are at each
 * (re)route, sends parts hop by hop with CLTVs from the height at that moment,
 * retries around failing channels until retry_for, and records every part as
 * listsendpays shows it. Like xpay without xpay-slow-mode, it answers at the
 * first success or as soon as it gives up, with other parts possibly still in
 * flight. Error codes and messages are CLN's (203 destination refused, 205 no
 * route, 209 gave up, 219 already paid, -3 still in progress, 207 expired).
 */
import { randomBytes } from 'node:crypto';
import { decodeBolt11 } from '../chain/bolt11.js';
import type { NodeId } from '../chain/ids.js';
import { decodeSimBolt12, readEncryptedData } from './bolt12.js';
import type { Askrene } from './askrene.js';
import type { ChannelPolicy } from './channel.js';
import { msatParam } from './invoices.js';
import type { NewChannelMove } from './moves.js';
import type { HopPayload } from './onion.js';
import { splitRoutes, type Edge, type Route } from './routing.js';
import { SimRpcError } from './rpc-server.js';
import { sleep } from './sleep.js';
import type { HtlcOutcome, NodeNetwork, Peer, PeerChannel } from './types.js';

/** What xpay reaches of its node: askrene's layers, the node's channel moves and its plugins' notifications. */
export interface PayingNode extends Peer {
  readonly askrene: Askrene;
  addChannelMove(m: NewChannelMove): void;
  notify(topic: string, params: Record<string, unknown>): void;
}

export interface Sendpay {
  createdIndex: number;
  paymentHash: string;
  groupid: bigint;
  partid: number;
  destination: NodeId;
  amountMsat: bigint;
  amountSentMsat: bigint;
  createdAt: number;
  completedAt: number | undefined;
  status: 'pending' | 'complete' | 'failed';
  preimage: string | undefined;
  /** The invoice paid: a BOLT 11 or a BOLT 12 string (listsendpays shows it as `bolt11` or `bolt12`). */
  bolt11: string;
}

interface Context {
  aborted: boolean;
}

/**
 * A BOLT 12 invoice's blinded path, as xpay routes it (plugins/xpay/xpay.c
 * add_blindedpath): a channel from the introduction node to a fake node,
 * charging the payinfo's fees and CLTV delta; past the introduction node the
 * onion carries each hop's encrypted_recipient_data.
 */
interface BlindedRoute {
  intro: NodeId;
  pathKey: string;
  encrypted: string[];
  feeBaseMsat: bigint;
  feePpm: bigint;
  cltvDelta: number;
  htlcMaximumMsat: bigint;
}

/**
 * What a part really sends: the first HTLC's amount, except when this node is
 * the blinded path's introduction node, where the path's fee (counted against
 * maxfee all the same) stays with it (listsendpays' amount_sent_msat on v26.06.6).
 */
const onWire = (route: Route): bigint => (route.hops[0]?.to === FAKE_NODE ? route.deliveredMsat : route.sentMsat);

/** xpay's "can-never-exist fake key" for the end of blinded paths. */
const FAKE_NODE = `02${'00'.repeat(32)}` as NodeId;
/** xpay names the blinded path i's fake channel by scid i (block 0, impossible on chain). */
const fakeScid = (i: number): string => `0x0x${i}`;

/** What one xpay command routes: the invoice and its limits. */
interface PaymentParams {
  bolt11: string;
  /** A BOLT 12 invoice: its paths (routing ends at FAKE_NODE, final_cltv 0). */
  blinded?: BlindedRoute[];
  hash: string;
  payee: NodeId;
  amount: bigint;
  secret: string;
  minFinalCltv: number;
  maxfee: bigint;
  maxdelay: number;
  deadline: number;
  /** askrene layers given to xpay (checked at each getroutes, as askrene does). */
  layers: string[];
  hints: Array<Array<{ pubkey: NodeId; shortChannelId: string; feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number }>>;
}

/** The payment group an xpay command owns; a late part joins it. */
interface Group {
  groupid: bigint;
  partid: number;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** xpay errors that do not say the payment failed (rdv's classifyPayError): no late part follows them. */
const NOT_DEFINITE = new Set([-3, -4, -5, 200, 219]);

export class Payer {
  readonly sendpays: Sendpay[] = [];
  private readonly contexts = new Set<Context>();
  private index = 30;
  /**
   * xpay-slow-mode (default false, as in CLN): when false, xpay answers as
   * soon as one part succeeds or it gives up, while other parts may still be
   * in flight (plugins/xpay/xpay.c should_finish_command). When true, it
   * waits for every part first.
   */
  slowMode = false;
  /**
   * Fault: the next xpay that fails definitely leaves one more part that
   * shows up in listsendpays as pending `afterMs` after xpay's error reply,
   * then resolves like any part (it may succeed). This is an attempt xpay had
   * routed whose injectpaymentonion was still on its way when it answered.
   */
  lateInject: { afterMs: number } | undefined;
  /**
   * Fault hook: called once, right after xpay registers its next part (pending
   * in listsendpays) and before the part's HTLC is committed; a test crashes the
   * node here to lose the HTLC (SimNetwork.sendHtlc ownPayment).
   */
  onNextPartRegistered: ((sp: Sendpay) => void) | undefined;

  constructor(
    private readonly node: PayingNode,
    private readonly net: NodeNetwork,
  ) {}

  /** lightningd restarted: xpay commands die; their HTLCs already sent still resolve. */
  abortAll(): void {
    for (const c of this.contexts) c.aborted = true;
    this.contexts.clear();
  }

  listsendpays(params: Record<string, unknown>): Record<string, unknown> {
    const hash = typeof params.payment_hash === 'string' ? params.payment_hash : undefined;
    const bolt11 = typeof params.bolt11 === 'string' ? params.bolt11 : undefined;
    const list = this.sendpays.filter((s) => (hash === undefined || s.paymentHash === hash) && (bolt11 === undefined || s.bolt11 === bolt11));
    return { payments: list.map(sendpayJson) };
  }

  /** `wait sendpays created N` (lightningd/wait.c): at once when the created index is N or more, else when a part takes it there. */
  async wait(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (params.subsystem !== 'sendpays' || params.indexname !== 'created') throw new SimRpcError(-32602, 'the simulator waits on sendpays created only');
    const next = Number(params.nextvalue);
    if (!Number.isSafeInteger(next) || next < 0) throw new SimRpcError(-32602, 'nextvalue: should be an unsigned 64 bit integer');
    while (this.index < next) await sleep(20);
    return { subsystem: 'sendpays', created: this.index };
  }

  async xpay(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof params.invstring !== 'string') throw new SimRpcError(-32602, 'invstring: missing');
    const inv = /^ln[ib]1/i.test(params.invstring) ? readBolt12(params.invstring) : readBolt11(params.invstring);
    const amount = inv.amountMsat;
    if (params.layers !== undefined && (!Array.isArray(params.layers) || params.layers.some((l) => typeof l !== 'string'))) {
      throw new SimRpcError(-32602, 'layers: should be an array of strings: invalid token (see logs for details)');
    }
    if (inv.expiresAt <= nowSeconds()) throw new SimRpcError(207, 'Invoice expired');
    const maxfee = params.maxfee === undefined ? (amount / 200n > 5000n ? amount / 200n : 5000n) : msatParam(params.maxfee, 'maxfee');
    const maxdelay = typeof params.maxdelay === 'number' ? params.maxdelay : 2016;
    const retryFor = typeof params.retry_for === 'number' ? params.retry_for : 60;
    const mine = this.sendpays.filter((s) => s.paymentHash === inv.paymentHash);
    if (mine.some((s) => s.status === 'complete')) throw new SimRpcError(219, 'Already paid this invoice successfully');
    if (mine.some((s) => s.status === 'pending')) {
      throw new SimRpcError(-3, `Payment ${inv.paymentHash} still in progress, cannot retry before that completes`);
    }
    const ctx: Context = { aborted: false };
    this.contexts.add(ctx);
    const p: PaymentParams = {
      bolt11: inv.bolt11,
      ...(inv.blinded ? { blinded: inv.blinded } : {}),
      hash: inv.paymentHash,
      payee: inv.payee,
      amount,
      secret: inv.paymentSecret ?? '',
      minFinalCltv: inv.minFinalCltv,
      maxfee,
      maxdelay,
      deadline: Date.now() + retryFor * 1000,
      layers: Array.isArray(params.layers) ? (params.layers as string[]) : [],
      hints: inv.routeHints,
    };
    const group: Group = { groupid: randomBytes(8).readBigUInt64BE(), partid: 0 };
    try {
      await sleep(this.net.latency.xpaySetupMs);
      return await this.run(ctx, p, group);
    } catch (e) {
      if (e instanceof SimRpcError && !NOT_DEFINITE.has(e.code) && this.lateInject) {
        const { afterMs } = this.lateInject;
        this.lateInject = undefined;
        setTimeout(() => this.injectLate(p, group), afterMs);
      }
      throw e;
    } finally {
      this.contexts.delete(ctx);
    }
  }

  /** Route hints as askrene layer channels: the hinted channels, by the scid the hint gives. */
  private hinted(p: PaymentParams): Map<string, ChannelPolicy & { from: NodeId }> {
    const hinted = new Map<string, ChannelPolicy & { from: NodeId }>();
    for (const route of p.hints) {
      for (const h of route) hinted.set(h.shortChannelId, { from: h.pubkey, feeBaseMsat: BigInt(h.feeBaseMsat), feePpm: BigInt(h.feeProportionalMillionths), cltvDelta: h.cltvExpiryDelta });
    }
    return hinted;
  }

  /**
   * getroutes as xpay calls it, with the graph and the layers as they are NOW
   * (a node disabled in a layer mid-payment is avoided from the next attempt
   * on), and xpay's own layer (what it learned from temporary_channel_failures,
   * Askrene.learnCapacity). Throws askrene's error for a layer that does not
   * exist (any more). `checkLayers` false: a late part, routed before xpay
   * answered (its layers are not checked again, nor what xpay learned since).
   */
  private route(p: PaymentParams, amount: bigint, exclude: ReadonlySet<string>, checkLayers = true): Route[] | undefined {
    if (checkLayers) this.node.askrene.checkLayerNames(p.layers);
    const layers = p.layers;
    const now = nowSeconds();
    // xpay always routes with its own layer: what it learned caps a channel's capacity
    // (not for a late part: it was routed before xpay learned from this payment's failures).
    const edges = [...this.net.edges(this.node.id, this.hinted(p), (c) => this.node.askrene.isDisabled(layers, c)), ...this.blindedEdges(p)].map((e) => {
      const max = checkLayers ? this.node.askrene.learnedMax(e.scid, e.from, now) : undefined;
      return max !== undefined && max < e.spendableMsat ? { ...e, spendableMsat: max < 0n ? 0n : max } : e;
    });
    if (p.blinded) return this.routeBlinded(edges, amount, exclude);
    return splitRoutes(edges, this.node.id, p.payee, amount, p.minFinalCltv, exclude);
  }

  /** xpay's fake channels for a BOLT 12 invoice's paths: introduction node -> FAKE_NODE, priced by the payinfo. */
  private blindedEdges(p: PaymentParams): Edge[] {
    return (p.blinded ?? []).map((b, i) => ({ scid: fakeScid(i), from: b.intro, to: FAKE_NODE, spendableMsat: b.htlcMaximumMsat, feeBaseMsat: b.feeBaseMsat, feePpm: b.feePpm, cltvDelta: b.cltvDelta }));
  }

  /**
   * Routes to FAKE_NODE with final_cltv 0. A path whose introduction node is
   * this node starts with its fake channel, which is still priced (the
   * introduction node's relay fee and delta are in the onion it reads), so
   * routing's source-is-free rule must not apply to it: such a route is
   * built here.
   */
  private routeBlinded(edges: Edge[], amount: bigint, exclude: ReadonlySet<string>): Route[] | undefined {
    const mine = edges.filter((e) => e.to === FAKE_NODE && e.from === this.node.id && !exclude.has(e.scid) && e.spendableMsat >= amount);
    for (const e of mine) {
      const fee = e.feeBaseMsat + (amount * e.feePpm) / 1_000_000n;
      return [{ hops: [{ scid: e.scid, from: e.from, to: FAKE_NODE, amountMsat: amount, delay: 0, cltvDelta: e.cltvDelta }], sentMsat: amount + fee, deliveredMsat: amount, totalDelay: e.cltvDelta }];
    }
    const others = edges.filter((e) => !(e.to === FAKE_NODE && e.from === this.node.id));
    return splitRoutes(others, this.node.id, FAKE_NODE, amount, 0, exclude);
  }

  /** Record a part in listsendpays (pending) and send it; `onDone` sees its outcome after its record is updated. */
  private startPart(p: PaymentParams, group: Group, route: Route, onDone: (outcome: HtlcOutcome) => void): { sp: Sendpay; done: Promise<void> } {
    const sp: Sendpay = {
      createdIndex: ++this.index,
      paymentHash: p.hash,
      groupid: group.groupid,
      partid: ++group.partid,
      destination: p.payee,
      amountMsat: route.deliveredMsat,
      amountSentMsat: onWire(route),
      createdAt: nowSeconds(),
      completedAt: undefined,
      status: 'pending',
      preimage: undefined,
      bolt11: p.bolt11,
    };
    this.sendpays.push(sp);
    const hook = this.onNextPartRegistered;
    this.onNextPartRegistered = undefined;
    hook?.(sp);
    const done = (p.blinded ? this.sendBlindedPart(route, p, p.blinded) : this.sendPart(route, p.hash, p.secret, p.amount, p.minFinalCltv)).then((outcome) => {
      sp.completedAt = nowSeconds();
      if (outcome.ok) {
        sp.status = 'complete';
        sp.preimage = outcome.preimage;
        // new_channel_mvt_invoice_hout: our part, settled, is a debit on its first channel, with its part and group.
        const channel = route.hops[0] ? this.net.channelFor(this.node, route.hops[0].scid) : undefined;
        if (channel) {
          this.node.addChannelMove({ account_id: channel.channelId, credit_msat: 0n, debit_msat: route.sentMsat, primary_tag: 'invoice', payment_hash: p.hash, part_id: sp.partid, group_id: sp.groupid, fees_msat: route.sentMsat - route.deliveredMsat });
        }
        this.node.notify('sendpay_success', { sendpay_success: sendpayJson(sp) });
      } else {
        sp.status = 'failed';
        this.node.notify('sendpay_failure', { sendpay_failure: { code: 204, message: `failed: ${outcome.failureMessage.slice(0, 4)} (reply from remote)`, data: sendpayJson(sp) } });
      }
      onDone(outcome);
    });
    return { sp, done };
  }

  /**
   * The late part of the lateInject fault: the whole amount, routed now (over
   * the graph as it is now), in the failed command's group. Its getroutes ran
   * before xpay answered, so a layer removed since (rdv removes its own a while
   * after xpay returns) does not stop it.
   */
  private injectLate(p: PaymentParams, group: Group): void {
    let routes: Route[] | undefined;
    try {
      routes = this.route(p, p.amount, new Set(), false);
    } catch {
      routes = undefined;
    }
    const route = routes?.length === 1 ? routes[0] : undefined;
    if (!route || !this.node.up) {
      this.net.event('late_resolution', this.node.name, `late xpay part for ${p.hash.slice(0, 8)} found no route and was not sent`);
      return;
    }
    this.startPart(p, group, route, () => undefined);
    this.net.event('late_part', this.node.name, `late xpay part for ${p.hash.slice(0, 8)} sent after the command had failed`);
  }

  private async run(ctx: Context, p: PaymentParams, group: Group): Promise<Record<string, unknown>> {
    const exclude = new Set<string>();
    let remaining = p.amount;
    let feesCommitted = 0n;
    let attempts = 0;
    let failedParts = 0;
    let preimage: string | undefined;
    let giveUp: SimRpcError | undefined;
    let prior = '';
    const inflight = new Set<Promise<void>>();
    const sentBy = new Map<Sendpay, bigint>();

    const launch = (route: Route): void => {
      attempts++;
      remaining -= route.deliveredMsat;
      feesCommitted += route.sentMsat - route.deliveredMsat;
      const { sp, done } = this.startPart(p, group, route, (outcome) => {
        if (outcome.ok) {
          preimage = outcome.preimage;
          return;
        }
        sentBy.delete(sp);
        failedParts++;
        remaining += route.deliveredMsat;
        feesCommitted -= route.sentMsat - route.deliveredMsat;
        const code = outcome.failureMessage.slice(0, 4);
        const fromFinal = outcome.failingNode === p.payee;
        prior += `${failureName(code)} from ${fromFinal ? 'destination' : outcome.failingNode.slice(0, 8)}. `;
        if (fromFinal && code === '400f') {
          giveUp ??= new SimRpcError(203, "Destination said it doesn't know invoice: incorrect_or_unknown_payment_details");
        } else if (fromFinal && code === '0017') {
          // mpp_timeout: not an error, try again
        } else if (fromFinal) {
          const last = route.hops.at(-1);
          if (last) exclude.add(last.scid); // blame the hop leading to the destination
        } else if (outcome.failingScid) {
          const hop = route.hops.find((h) => h.from === outcome.failingNode);
          if (code === '1007' && hop) {
            // channel_capacity: xpay tells its persistent layer that the channel cannot
            // carry this amount, for every payment of the next hour, not just this one.
            this.node.askrene.learnCapacity(hop.scid, hop.from, hop.amountMsat, nowSeconds());
          } else exclude.add(hop?.scid ?? outcome.failingScid);
        }
      });
      // A part not failed counts as sent (xpay's total_sent: successes and parts in flight).
      sentBy.set(sp, onWire(route));
      const tracked = done.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    };
    const settled = (): boolean => !this.slowMode || inflight.size === 0;

    for (;;) {
      if (preimage !== undefined && settled()) {
        const sent = [...sentBy.values()].reduce((s, v) => s + v, 0n);
        return { payment_preimage: preimage, amount_msat: p.amount, amount_sent_msat: sent, failed_parts: failedParts, successful_parts: attempts - failedParts };
      }
      if (giveUp && settled()) throw giveUp;
      if (remaining > 0n && !ctx.aborted && preimage === undefined && !giveUp) {
        let routes: Route[] | undefined;
        let why: string;
        let code = 205;
        try {
          routes = this.route(p, remaining, exclude);
          why = 'We could not find a usable set of paths';
        } catch (e) {
          if (!(e instanceof SimRpcError)) throw e;
          why = e.message;
          code = e.code;
        }
        const usable = routes?.filter((r) => r.totalDelay <= p.maxdelay);
        const fees = usable?.reduce((s, r) => s + r.sentMsat - r.deliveredMsat, 0n) ?? 0n;
        // askrene's PAY_ROUTE_TOO_EXPENSIVE (206), in its words (test/fixtures/bolt12: xpay with maxfee or maxdelay one short).
        if (routes && usable?.length !== routes.length) {
          why = 'Could not find route without excessive delays';
          code = 206;
        } else if (routes && feesCommitted + fees > p.maxfee) {
          why = 'Could not find route without excessive cost';
          code = 206;
        } else if (routes && usable && usable.length > 0) {
          // getroutes_done: even a slow xpay makes one attempt, but none after retry_for.
          if (attempts > 0 && Date.now() >= p.deadline) {
            giveUp = new SimRpcError(209, `Timed out after after ${attempts} attempts. ${prior}`);
            continue;
          }
          for (const r of usable) launch(r);
          continue;
        }
        // getroutes_done_err: the first routing failure keeps askrene's code; later ones are 209.
        giveUp =
          attempts === 0
            ? new SimRpcError(code, `Failed: ${why}`)
            : new SimRpcError(209, `Failed after ${attempts} attempts. ${prior}${remaining === p.amount ? 'Then routing failed' : `Then routing for remaining ${remaining}msat failed`}: ${why}`);
        continue;
      }
      if (inflight.size === 0) {
        throw ctx.aborted ? new SimRpcError(-5, 'lightningd is shutting down') : new SimRpcError(209, `Failed after ${attempts} attempts. ${prior}`);
      }
      await Promise.race(inflight);
    }
  }

  /**
   * One part: build the per-hop payloads and send the first HTLC. CLTVs count
   * from the block height at this moment plus one (xpay do_inject:
   * "In case a block comes in, we give CLTVs an extra 1").
   */
  private sendPart(route: Route, hash: string, secret: string, total: bigint, minFinalCltv: number): Promise<HtlcOutcome> {
    const base = this.net.height + 1;
    const payloads: HopPayload[] = route.hops.map((hop, i) => {
      const next = route.hops[i + 1];
      if (!next) return { forwardMsat: hop.amountMsat, outgoingCltv: base + minFinalCltv, totalMsat: total, paymentSecret: secret };
      return { nextScid: next.scid, forwardMsat: next.amountMsat, outgoingCltv: base + next.delay };
    });
    const first = route.hops[0];
    const channel = first ? this.net.channelFor(this.node, first.scid) : undefined;
    if (!first || !channel) return Promise.resolve({ ok: false, failureMessage: '2002', failingNode: this.node.id, failingScid: undefined });
    return this.net.sendHtlc(this.node, channel, first.amountMsat, base + first.delay, hash, payloads, { ownPayment: true });
  }

  /**
   * A part through a blinded path (xpay.c create_onion, append_blinded_payloads):
   * plain hops to the introduction node, then one payload per blinded hop,
   * each its encrypted_recipient_data (the first with the path key), the last
   * with amt_to_forward, total_amount_msat and outgoing_cltv_value at the
   * height + 1 (xpay's final_cltv is 0 for blinded paths). When this node is
   * the introduction node, it reads its own hop as lightningd does and sends
   * the first HTLC inside the path.
   */
  private sendBlindedPart(route: Route, p: PaymentParams, blinded: BlindedRoute[]): Promise<HtlcOutcome> {
    const base = this.net.height + 1;
    const fakeAt = route.hops.findIndex((h) => h.to === FAKE_NODE);
    const fakeHop = route.hops[fakeAt];
    const path = fakeHop ? blinded[Number(fakeHop.scid.split('x')[2])] : undefined;
    const fail = (): Promise<HtlcOutcome> => Promise.resolve({ ok: false, failureMessage: '2002', failingNode: this.node.id, failingScid: undefined });
    if (!fakeHop || !path) return fail();
    const inside: HopPayload[] = path.encrypted.map((encryptedData, i) =>
      i === path.encrypted.length - 1
        ? { forwardMsat: fakeHop.amountMsat, outgoingCltv: base, totalMsat: p.amount, blinded: { encryptedData, ...(i === 0 ? { pathKey: path.pathKey } : {}) } }
        : { blinded: { encryptedData, ...(i === 0 ? { pathKey: path.pathKey } : {}) } },
    );
    const plain = route.hops.slice(0, fakeAt);
    if (plain.length > 0) {
      const payloads: HopPayload[] = plain.slice(0, -1).map((_hop, i) => {
        const next = plain[i + 1] as (typeof plain)[number];
        return { nextScid: next.scid, forwardMsat: next.amountMsat, outgoingCltv: base + next.delay };
      });
      const first = plain[0] as (typeof plain)[number];
      const channel = this.net.channelFor(this.node, first.scid);
      if (!channel) return fail();
      return this.net.sendHtlc(this.node, channel, first.amountMsat, base + first.delay, p.hash, [...payloads, ...inside], { ownPayment: true });
    }
    // We are the introduction node: injectpaymentonion reads our own hop (onion_decode) and sends
    // the path's first HTLC. Seen on v26.06.6 (test/fixtures/bolt12/README.md): it carries the
    // amount itself (the path's fee stays with us) and height + 1 + the payinfo's whole delta.
    const enc = readEncryptedData(path.encrypted[0] ?? '');
    const [, ...rest] = inside;
    if (!enc?.nextNodeId || !enc.relay || rest.length === 0) return fail();
    const ppm = BigInt(enc.relay.feePpm);
    const forward = ((route.sentMsat - BigInt(enc.relay.feeBaseMsat)) * 1_000_000n + 1_000_000n + ppm - 1n) / (1_000_000n + ppm);
    const channel = channelToPeer(this.node, this.net, enc.nextNodeId, forward);
    if (!channel) return Promise.resolve({ ok: false, failureMessage: '1007', failingNode: this.node.id, failingScid: fakeHop.scid });
    return this.net.sendHtlc(this.node, channel, forward, base + route.totalDelay, p.hash, rest, { ownPayment: true });
  }
}

/** The channel to `peer` with the most to spend that can carry `amount` (lightningd's best_channel). */
function channelToPeer(node: Peer, net: NodeNetwork, peer: NodeId, amount: bigint): PeerChannel | undefined {
  let best: PeerChannel | undefined;
  for (const c of net.channelsBetween(node, peer)) {
    if (!c.canAddHtlc() || c.spendable(node.id) < amount) continue;
    if (!best || c.spendable(node.id) > best.spendable(node.id)) best = c;
  }
  return best;
}

/** A BOLT 12 invoice as xpay reads it (the simulator's string, ./bolt12.ts). */
function readBolt12(text: string): { bolt11: string; paymentHash: string; payee: NodeId; amountMsat: bigint; paymentSecret: undefined; minFinalCltv: number; expiresAt: number; routeHints: []; blinded: BlindedRoute[] } {
  const d = decodeSimBolt12(text);
  if (d?.kind !== 'invoice') throw new SimRpcError(-32602, `invstring: Unparsable invoice '${text}'`);
  if (!d.valid) throw new SimRpcError(-32602, 'Invalid bolt12 invoice: invalid signature');
  const inv = d.invoice;
  return {
    bolt11: text,
    paymentHash: inv.payment_hash,
    payee: inv.node_id,
    amountMsat: BigInt(inv.amount_msat),
    paymentSecret: undefined,
    minFinalCltv: 0,
    expiresAt: inv.created_at + inv.relative_expiry,
    routeHints: [],
    blinded: inv.paths.map((b) => ({
      intro: b.first_node_id,
      pathKey: b.first_path_key,
      encrypted: b.path.map((h) => h.encrypted_recipient_data),
      feeBaseMsat: BigInt(b.payinfo.fee_base_msat),
      feePpm: BigInt(b.payinfo.fee_proportional_millionths),
      cltvDelta: b.payinfo.cltv_expiry_delta,
      htlcMaximumMsat: BigInt(b.payinfo.htlc_maximum_msat),
    })),
  };
}

function readBolt11(text: string): { bolt11: string; paymentHash: string; payee: NodeId; amountMsat: bigint; paymentSecret: string | undefined; minFinalCltv: number; expiresAt: number; routeHints: PaymentParams['hints']; blinded?: undefined } {
  const d = decodeBolt11(text);
  if (!d.ok) throw new SimRpcError(-32602, `invstring: Unparsable invoice '${text}': ${d.error}`);
  const inv = d.value;
  if (inv.amountMsat === undefined) throw new SimRpcError(-32602, 'amount_msat: required for invoices without an amount');
  return { ...inv, amountMsat: inv.amountMsat };
}

function failureName(code: string): string {
  const names: Record<string, string> = {
    '400f': 'incorrect_or_unknown_payment_details',
    '0017': 'mpp_timeout',
    '2002': 'temporary_node_failure',
    '1007': 'temporary_channel_failure',
    '400a': 'unknown_next_peer',
    '4015': 'htlc_expired',
    '4008': 'permanent_channel_failure',
    '4016': 'invalid_onion_payload',
    '0012': 'final_incorrect_cltv_expiry',
    '0013': 'final_incorrect_htlc_amount',
    c018: 'invalid_onion_blinding',
  };
  return names[code] ?? `failure ${code}`;
}

export function sendpayJson(s: Sendpay): Record<string, unknown> {
  return {
    created_index: s.createdIndex,
    id: s.createdIndex,
    payment_hash: s.paymentHash,
    groupid: s.groupid,
    updated_index: s.createdIndex,
    partid: s.partid,
    destination: s.destination,
    amount_msat: s.amountMsat,
    amount_sent_msat: s.amountSentMsat,
    created_at: s.createdAt,
    ...(s.completedAt !== undefined ? { completed_at: s.completedAt } : {}),
    status: s.status,
    ...(s.preimage !== undefined ? { payment_preimage: s.preimage } : {}),
    ...(/^lni1/i.test(s.bolt11) ? { bolt12: s.bolt11 } : { bolt11: s.bolt11 }),
    ...(s.status === 'failed' ? { erroronion: randomBytes(64).toString('hex') } : {}),
  };
}
