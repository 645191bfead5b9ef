/**
 * The simulated `xpay` (plugins/xpay/xpay.c): routes (splitting when one path
 * cannot carry the amount) through askrene's layers as they are at each
 * (re)route, sends parts hop by hop with CLTVs from the height at that moment,
 * retries around failing channels until retry_for, and records every part as
 * listsendpays shows it. Like xpay without xpay-slow-mode, it answers at the
 * first success or as soon as it gives up, with other parts possibly still in
 * flight. Error codes and messages are CLN's (203 destination refused, 205 no
 * route, 209 gave up, 219 already paid, -3 still in progress, 207 expired).
 * Its rooms: invstring.ts (the invoice as xpay reads it, BOLT 11 or 12),
 * blinded.ts (routing and sending through a BOLT 12 invoice's blinded paths),
 * sendpays.ts (a part's listsendpays record and the names of its failures).
 */
import { randomBytes } from 'node:crypto';
import type { NodeId } from '../chain/ids.js';
import type { Askrene } from './askrene.js';
import { blindedEdges, onWire, routeBlinded, sendBlindedPart, type BlindedRoute } from './blinded.js';
import type { ChannelPolicy } from './channel.js';
import { msatParam } from './invoices.js';
import { readInvstring, type RouteHint } from './invstring.js';
import type { NewChannelMove } from './moves.js';
import type { HopPayload } from './onion.js';
import { splitRoutes, type Route } from './routing.js';
import { SimRpcError } from './rpc-server.js';
import { sleep } from './sleep.js';
import { failureName, sendpayJson, type Sendpay } from './sendpays.js';
import type { HtlcOutcome, NodeNetwork, Peer } from './types.js';

/** What xpay reaches of its node: askrene's layers, the node's channel moves and its plugins' notifications. */
export interface PayingNode extends Peer {
  readonly askrene: Askrene;
  /** How many times lightningd has started: xpay (a plugin inside it) lives for one start. */
  readonly starts: number;
  addChannelMove(m: NewChannelMove): void;
  notify(topic: string, params: Record<string, unknown>): void;
}

interface Context {
  aborted: boolean;
}

/** What one xpay command routes: the invoice and its limits (a sendpay: its route's). */
export interface PaymentParams {
  bolt11: string;
  /** A BOLT 12 invoice: its paths (routing ends at blinded.ts's FAKE_NODE, final_cltv 0). */
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
  hints: RouteHint[];
}

/** The payment group an xpay command owns; a late part joins it. A part takes the next partid. */
export interface Group {
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
    const inv = readInvstring(params.invstring);
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
        const run = this.node.starts;
        setTimeout(() => this.injectLate(p, group, run), afterMs);
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
    const edges = [...this.net.edges(this.node.id, this.hinted(p), (c) => this.node.askrene.isDisabled(layers, c)), ...blindedEdges(p.blinded ?? [])].map((e) => {
      const max = checkLayers ? this.node.askrene.learnedMax(e.scid, e.from, now) : undefined;
      return max !== undefined && max < e.spendableMsat ? { ...e, spendableMsat: max < 0n ? 0n : max } : e;
    });
    if (p.blinded) return routeBlinded(edges, this.node.id, amount, exclude);
    return splitRoutes(edges, this.node.id, p.payee, amount, p.minFinalCltv, exclude);
  }

  /** Record a part in listsendpays (pending) and send it; `onDone` sees its outcome after its record is updated. xpay's, and sendpay's (sendpay.ts). */
  startPart(p: PaymentParams, group: Group, route: Route, onDone: (outcome: HtlcOutcome) => void): { sp: Sendpay; done: Promise<void> } {
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
    // listsendpays shows the outcome before the HTLC leaves listpeerchannels, as in lightningd (SimNetwork.removing).
    const taken = (outcome: HtlcOutcome): void => {
      sp.completedAt = nowSeconds();
      sp.status = outcome.ok ? 'complete' : 'failed';
      if (outcome.ok) sp.preimage = outcome.preimage;
    };
    const sent = p.blinded ? sendBlindedPart(this.net, this.node, route, p.hash, p.amount, p.blinded, taken) : this.sendPart(route, p.hash, p.secret, p.amount, p.minFinalCltv, taken);
    const done = sent.then((outcome) => {
      if (sp.status === 'pending') taken(outcome);
      if (outcome.ok) {
        // new_channel_mvt_invoice_hout: our part, settled, is a debit on its first channel, with its part and group.
        const channel = route.hops[0] ? this.net.channelFor(this.node, route.hops[0].scid) : undefined;
        if (channel) {
          this.node.addChannelMove({ account_id: channel.channelId, credit_msat: 0n, debit_msat: route.sentMsat, primary_tag: 'invoice', payment_hash: p.hash, part_id: sp.partid, group_id: sp.groupid, fees_msat: route.sentMsat - route.deliveredMsat });
        }
        this.node.notify('sendpay_success', { sendpay_success: sendpayJson(sp) });
      } else {
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
  private injectLate(p: PaymentParams, group: Group, run: number): void {
    if (this.node.starts !== run) {
      // xpay died with lightningd: nothing of the failed command can be sent after a restart.
      this.net.event('late_resolution', this.node.name, `late xpay part for ${p.hash.slice(0, 8)} not sent: lightningd restarted since the command failed`);
      return;
    }
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
  private sendPart(route: Route, hash: string, secret: string, total: bigint, minFinalCltv: number, resolved: (o: HtlcOutcome) => void): Promise<HtlcOutcome> {
    const base = this.net.height + 1;
    const payloads: HopPayload[] = route.hops.map((hop, i) => {
      const next = route.hops[i + 1];
      if (!next) return { forwardMsat: hop.amountMsat, outgoingCltv: base + minFinalCltv, totalMsat: total, paymentSecret: secret };
      return { nextScid: next.scid, forwardMsat: next.amountMsat, outgoingCltv: base + next.delay };
    });
    const first = route.hops[0];
    const channel = first ? this.net.channelFor(this.node, first.scid) : undefined;
    if (!first || !channel) return Promise.resolve({ ok: false, failureMessage: '2002', failingNode: this.node.id, failingScid: undefined });
    return this.net.sendHtlc(this.node, channel, first.amountMsat, base + first.delay, hash, payloads, { ownPayment: true, resolved });
  }

}
