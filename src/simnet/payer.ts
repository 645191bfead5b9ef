/**
 * The simulated `xpay`: routes (splitting when one path cannot carry the
 * amount), sends parts hop by hop, retries around failing channels until
 * retry_for, and records every part as listsendpays shows it. Error codes and
 * messages are CLN's (203 destination refused, 209 gave up, 219 already paid,
 * -3 still in progress, 207 expired).
 */
import { randomBytes } from 'node:crypto';
import { decodeBolt11 } from '../chain/bolt11.js';
import type { NodeId } from '../chain/ids.js';
import { msatParam } from './invoices.js';
import { sleep, type ChannelPolicy, type HtlcOutcome, type SimNetwork } from './network.js';
import type { SimNode } from './node.js';
import type { HopPayload } from './onion.js';
import { splitRoutes, type Route } from './routing.js';
import { SimRpcError } from './rpc-server.js';

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
  bolt11: string;
}

interface Context {
  aborted: boolean;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class Payer {
  readonly sendpays: Sendpay[] = [];
  private readonly contexts = new Set<Context>();
  private index = 30;

  constructor(
    private readonly node: SimNode,
    private readonly net: SimNetwork,
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

  async xpay(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof params.invstring !== 'string') throw new SimRpcError(-32602, 'invstring: missing');
    const d = decodeBolt11(params.invstring);
    if (!d.ok) throw new SimRpcError(-32602, `invstring: Unparsable invoice '${params.invstring}': ${d.error}`);
    const inv = d.value;
    if (inv.amountMsat === undefined) throw new SimRpcError(-32602, 'amount_msat: required for invoices without an amount');
    const amount = inv.amountMsat as bigint;
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
    try {
      await sleep(this.net.latency.xpaySetupMs);
      return await this.run(ctx, { bolt11: inv.bolt11, hash: inv.paymentHash, payee: inv.payee, amount, secret: inv.paymentSecret ?? '', minFinalCltv: inv.minFinalCltv, maxfee, maxdelay, deadline: Date.now() + retryFor * 1000, hints: inv.routeHints });
    } finally {
      this.contexts.delete(ctx);
    }
  }

  private async run(
    ctx: Context,
    p: {
      bolt11: string;
      hash: string;
      payee: NodeId;
      amount: bigint;
      secret: string;
      minFinalCltv: number;
      maxfee: bigint;
      maxdelay: number;
      deadline: number;
      hints: Array<Array<{ pubkey: NodeId; shortChannelId: string; feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number }>>;
    },
  ): Promise<Record<string, unknown>> {
    const groupid = randomBytes(8).readBigUInt64BE();
    const hinted = new Map<string, ChannelPolicy & { from: NodeId }>();
    for (const route of p.hints) {
      for (const h of route) hinted.set(h.shortChannelId, { from: h.pubkey, feeBaseMsat: BigInt(h.feeBaseMsat), feePpm: BigInt(h.feeProportionalMillionths), cltvDelta: h.cltvExpiryDelta });
    }
    const exclude = new Set<string>();
    let remaining = p.amount;
    let feesCommitted = 0n;
    let attempts = 0;
    let failedParts = 0;
    let successfulParts = 0;
    let sent = 0n;
    let preimage: string | undefined;
    let giveUp: SimRpcError | undefined;
    let lastError = '';
    let partid = 0;
    const inflight = new Set<Promise<void>>();

    const launch = (route: Route): void => {
      attempts++;
      const sp: Sendpay = {
        createdIndex: ++this.index,
        paymentHash: p.hash,
        groupid,
        partid: ++partid,
        destination: p.payee,
        amountMsat: route.deliveredMsat,
        amountSentMsat: route.sentMsat,
        createdAt: nowSeconds(),
        completedAt: undefined,
        status: 'pending',
        preimage: undefined,
        bolt11: p.bolt11,
      };
      this.sendpays.push(sp);
      remaining -= route.deliveredMsat;
      feesCommitted += route.sentMsat - route.deliveredMsat;
      const task = this.sendPart(route, p.hash, p.secret, p.amount, p.minFinalCltv).then((outcome) => {
        sp.completedAt = nowSeconds();
        if (outcome.ok) {
          sp.status = 'complete';
          sp.preimage = outcome.preimage;
          preimage = outcome.preimage;
          successfulParts++;
          sent += route.sentMsat;
          this.node.notify('sendpay_success', { sendpay_success: sendpayJson(sp) });
          return;
        }
        sp.status = 'failed';
        this.node.notify('sendpay_failure', { sendpay_failure: { code: 204, message: `failed: ${outcome.failureMessage.slice(0, 4)} (reply from remote)`, data: sendpayJson(sp) } });
        failedParts++;
        remaining += route.deliveredMsat;
        feesCommitted -= route.sentMsat - route.deliveredMsat;
        const code = outcome.failureMessage.slice(0, 4);
        const fromFinal = outcome.failingNode === p.payee;
        lastError = `${failureName(code)} from ${fromFinal ? 'destination' : outcome.failingNode.slice(0, 8)}`;
        if (fromFinal && code === '400f') {
          giveUp = new SimRpcError(203, "Destination said it doesn't know invoice: incorrect_or_unknown_payment_details");
        } else if (fromFinal && code === '0017') {
          // mpp_timeout: not an error, try again
        } else if (fromFinal) {
          const last = route.hops.at(-1);
          if (last) exclude.add(last.scid); // blame the hop leading to the destination
        } else if (outcome.failingScid) {
          const hop = route.hops.find((h) => h.from === outcome.failingNode);
          exclude.add(hop?.scid ?? outcome.failingScid);
        }
      });
      const tracked = task.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    };

    for (;;) {
      if (preimage !== undefined && inflight.size === 0 && remaining <= 0n) {
        return { payment_preimage: preimage, amount_msat: p.amount, amount_sent_msat: sent, failed_parts: failedParts, successful_parts: successfulParts };
      }
      if (giveUp) {
        if (inflight.size > 0) {
          await Promise.race(inflight);
          continue;
        }
        if (preimage !== undefined) continue;
        throw giveUp;
      }
      if (remaining > 0n && !ctx.aborted && preimage === undefined) {
        const routes =
          Date.now() < p.deadline || attempts === 0
            ? splitRoutes(this.net.edges(this.node.id, hinted), this.node.id, p.payee, remaining, p.minFinalCltv, exclude)
            : undefined;
        const usable = routes?.filter((r) => r.totalDelay <= p.maxdelay);
        const fees = usable?.reduce((s, r) => s + r.sentMsat - r.deliveredMsat, 0n) ?? 0n;
        if (usable && usable.length > 0 && usable.length === routes?.length && feesCommitted + fees <= p.maxfee) {
          for (const r of usable) launch(r);
          continue;
        }
        if (inflight.size === 0) {
          const why = !routes
            ? 'no route with enough capacity'
            : usable?.length !== routes.length
              ? `routes need more than maxdelay ${p.maxdelay} blocks`
              : `routes cost more than maxfee ${p.maxfee}msat`;
          throw new SimRpcError(209, `Failed after ${attempts} attempts. ${lastError ? `Last: ${lastError}. ` : ''}Then routing failed: ${why}`);
        }
      }
      if (inflight.size === 0) {
        throw ctx.aborted ? new SimRpcError(-5, 'lightningd is shutting down') : new SimRpcError(209, `Failed after ${attempts} attempts. ${lastError}`);
      }
      await Promise.race(inflight);
    }
  }

  /** One part: build the per-hop payloads and send the first HTLC. */
  private sendPart(route: Route, hash: string, secret: string, total: bigint, minFinalCltv: number): Promise<HtlcOutcome> {
    const base = this.net.height + 1; // like xpay: "in case a block comes in, we give CLTVs an extra 1"
    const payloads: HopPayload[] = route.hops.map((hop, i) => {
      const next = route.hops[i + 1];
      if (!next) return { forwardMsat: hop.amountMsat, outgoingCltv: base + minFinalCltv, totalMsat: total, paymentSecret: secret };
      return { nextScid: next.scid, forwardMsat: next.amountMsat, outgoingCltv: base + next.delay };
    });
    const first = route.hops[0];
    const channel = first ? this.net.channelByScid(first.scid) : undefined;
    if (!first || !channel) return Promise.resolve({ ok: false, failureMessage: '2002', failingNode: this.node.id, failingScid: undefined });
    return this.net.sendHtlc(this.node, channel, first.amountMsat, base + first.delay, hash, payloads);
  }
}

function failureName(code: string): string {
  const names: Record<string, string> = {
    '400f': 'incorrect_or_unknown_payment_details',
    '0017': 'mpp_timeout',
    '2002': 'temporary_node_failure',
    '1007': 'temporary_channel_failure',
    '400a': 'unknown_next_peer',
    '4015': 'htlc_expired',
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
    bolt11: s.bolt11,
    ...(s.status === 'failed' ? { erroronion: randomBytes(64).toString('hex') } : {}),
  };
}
