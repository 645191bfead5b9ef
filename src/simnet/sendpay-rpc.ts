/**
 * The simulated `sendpay` and `waitsendpay` (lightningd/pay.c): one part along
 * the route given, recorded in listsendpays like xpay's parts (../payer.ts
 * startPart: the same faults apply), CLTVs from the height at that moment plus
 * one (send_payment's base_expiry). lightningd's checks, with its codes: a
 * pending part of another group (200), a part already complete for the hash
 * (answered with that part), an unknown first channel (204). waitsendpay
 * answers when the part resolves: the part, or its failure (203 when the
 * destination refused it, 204 otherwise); 208 for a part never sent; -5 when
 * lightningd stops meanwhile.
 */
import type { NodeId } from '../chain/ids.js';
import { msatParam } from './invoices.js';
import type { Group, PaymentParams, Payer, PayingNode } from './payer.js';
import type { Hop, Route } from './routing.js';
import { SimRpcError } from './rpc-server.js';
import { failureName, sendpayJson, type Sendpay } from './sendpays.js';
import { sleep } from './sleep.js';
import type { HtlcOutcome, NodeNetwork } from './types.js';

interface RouteParam {
  id: NodeId;
  channel: string;
  amount: bigint;
  delay: number;
}

function readRoute(value: unknown): RouteParam[] {
  if (!Array.isArray(value) || value.length === 0) throw new SimRpcError(-32602, 'route: should be a non-empty array');
  return value.map((h: unknown, i) => {
    const o = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
    const channel = o.channel ?? (typeof o.short_channel_id_dir === 'string' ? o.short_channel_id_dir.split('/')[0] : undefined);
    const id = o.id ?? o.node_id_out;
    const delay = o.delay ?? o.cltv_out;
    if (typeof channel !== 'string' || typeof id !== 'string' || typeof delay !== 'number') throw new SimRpcError(-32602, `route[${i}]: needs id, channel and delay`);
    return { id: id as NodeId, channel, amount: msatParam(o.amount_msat ?? o.amount_out_msat, `route[${i}].amount_msat`), delay };
  });
}

export class SendpayCommands {
  /** Each sendpay part's outcome, for waitsendpay's error. */
  private readonly outcomes = new Map<Sendpay, HtlcOutcome>();

  constructor(
    private readonly payer: Payer,
    private readonly node: PayingNode,
    private readonly net: NodeNetwork,
  ) {}

  sendpay(params: Record<string, unknown>): Record<string, unknown> {
    const route = readRoute(params.route);
    const hash = typeof params.payment_hash === 'string' ? params.payment_hash : '';
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new SimRpcError(-32602, 'payment_hash: should be a 32 byte hex value');
    const last = route.at(-1);
    const first = route[0];
    if (!last || !first) throw new SimRpcError(-32602, 'route: should be a non-empty array');
    const total = params.amount_msat === undefined ? last.amount : msatParam(params.amount_msat, 'amount_msat');
    const mine = this.payer.sendpays.filter((s) => s.paymentHash === hash);
    const done = mine.find((s) => s.status === 'complete');
    if (done) return { message: 'Monitor status with listpays or waitsendpay', ...sendpayJson(done) };
    const pending = mine.find((s) => s.status === 'pending');
    if (pending) throw new SimRpcError(200, `Payment with groupid=${pending.groupid} still in progress, cannot retry before that completes.`);
    if (!this.net.channelFor(this.node, first.channel)) throw new SimRpcError(204, 'No connection to first peer found');
    const hops: Hop[] = route.map((h, i) => ({ scid: h.channel, from: i === 0 ? this.node.id : (route[i - 1]?.id ?? this.node.id), to: h.id, amountMsat: h.amount, delay: h.delay, cltvDelta: 0 }));
    const r: Route = { hops, sentMsat: first.amount, deliveredMsat: last.amount, totalDelay: first.delay };
    const p: PaymentParams = {
      bolt11: typeof params.bolt11 === 'string' ? params.bolt11 : '',
      hash,
      payee: last.id,
      amount: total,
      secret: typeof params.payment_secret === 'string' ? params.payment_secret : '',
      minFinalCltv: last.delay,
      maxfee: 0n,
      maxdelay: first.delay,
      deadline: Date.now(),
      layers: [],
      hints: [],
    };
    // lightningd numbers a new group one past the hash's last (wallet_payment_get_groupid + 1).
    const group: Group = { groupid: mine.reduce((g, s) => (s.groupid > g ? s.groupid : g), 0n) + 1n, partid: -1 };
    const { sp } = this.payer.startPart(p, group, r, (outcome) => this.outcomes.set(sp, outcome));
    return { message: 'Monitor status with listpays or waitsendpay', ...sendpayJson(sp) };
  }

  async waitsendpay(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const hash = String(params.payment_hash);
    const partid = typeof params.partid === 'number' ? params.partid : 0;
    const mine = this.payer.sendpays.filter((s) => s.paymentHash === hash && s.partid === partid && (params.groupid === undefined || BigInt(params.groupid as number | bigint) === s.groupid));
    const sp = mine.at(-1);
    if (!sp) throw new SimRpcError(208, `Never attempted payment part ${partid} for '${hash}'`);
    const run = this.node.starts;
    while (sp.status === 'pending') {
      if (this.node.starts !== run || !this.node.up) throw new SimRpcError(-5, 'lightningd is shutting down');
      await sleep(5);
    }
    if (sp.status === 'complete') return sendpayJson(sp);
    const outcome = this.outcomes.get(sp);
    const code = outcome && !outcome.ok ? outcome.failureMessage.slice(0, 4) : '2002';
    const fromDestination = outcome !== undefined && !outcome.ok && outcome.failingNode === sp.destination;
    const name = `WIRE_${failureName(code).toUpperCase()}`;
    throw new SimRpcError(fromDestination && code.startsWith('4') ? 203 : 204, `failed: ${name} (reply from remote)`, { ...sendpayJson(sp), failcode: parseInt(code, 16), failcodename: name });
  }
}
