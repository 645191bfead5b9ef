/**
 * A small simulated world around the relay state machine (src/chain/relay.ts), for
 * the model-based tests in test/unit/relay-model.test.ts.
 *
 * It plays what the runner (src/relay/runner.ts) and lightningd would do, and keeps
 * the TRUTH that rdv cannot see: which HTLC is which whatever lightningd calls its
 * channel, what the downstream really did with each outgoing part, whether an xpay
 * is still alive. The invariants are checked against that truth, never against the
 * relay's own beliefs.
 *
 * - Upstream: HTLCs on three channels (A starts as a zero-conf alias; B and A share
 *   a peer). lightningd names a channel by its current scid; a rename (alias -> real
 *   scid, or a splice) keeps channel_id and htlc ids. Each HTLC waits in a hook call
 *   until rdv answers it; after a restart every unanswered one is replayed.
 * - The runner: effects run in order; `persist` is durable at once; `checkpoint` is
 *   written only when the world says so (FlushCheckpoint) and is LOST on a restart;
 *   timers are armed/cancelled by the effects and fired by the world, one armed
 *   timer per name (a cancelled or restarted timer's old firing is never delivered,
 *   as the runner's generation counter ensures); query_outgoing and pay are answered
 *   later by events in the inbox; block notifications may lag behind lightningd.
 * - Downstream: xpay as in plugins/xpay/xpay.c (v26.06.6): each attempt's parts
 *   expire at blockheight + 1 + maxdelay (worst case: the route uses all of
 *   maxdelay); no new attempt once its layer is closed or retry_for is over; it
 *   answers on the first success, and may give up while parts are still pending
 *   (non-slow mode); lightningd's check_progress refuses an inject while another
 *   xpay's part is pending (-3 "still in progress") or after a part completed (219).
 *   The payee (Carol) claims only when the pending parts cover her amount, then all
 *   of them; a pending part fails when the height reaches its expiry.
 * - Restarts kill xpay (no pay_result ever comes); its pending parts stay pending.
 *   A restart may also lose rdv's last answers (lightningd died before it took
 *   them: those HTLCs are replayed too), and the durable record goes through
 *   serializeRecord/parseRecord as in the datastore.
 * - rdv's RPC connection may drop while xpay runs (lightningd keeps running the
 *   command: jsonrpc.c destroy_jcon); the runner keeps the attempt's layer (never
 *   removed under a getroutes that may be running), so xpay goes on routing new
 *   attempts until its retry_for is over or the relay closes its route.
 *
 * Invariants (world truth, never rdv's beliefs):
 *  1 (every fail) no HTLC of round r's recorded set is failed while an outgoing part
 *    of an xpay started for round r is pending or complete, that xpay may still
 *    route an attempt, or inject one it routed before answering.
 *  2 (every pay) no pay starts while any outgoing part is pending or complete or
 *    any xpay may still make one.
 *  3a (every outgoing part) it expires at least safety_margin blocks before the
 *    earliest incoming HTLC of the set it pays for.
 *  3 (quiescence) see checkQuiescent. 4 (every resolve) the preimage hashes to H and
 *    the HTLC is one of the current round's recorded set. 5 (quiescence) see
 *    checkQuiescent. 6 (every step) gathered/paying has a query or an answering xpay
 *    in flight, or a timer armed. 7 (end of run) see checkConservation.
 */
import { msat, sumMsat, type Msat } from '../../src/chain/amount.js';
import { preimageMatches, type NodeId, type PaymentSecret } from '../../src/chain/ids.js';
import { partKey } from '../../src/chain/parts.js';
import { parseRecord, serializeRecord, type RelayRecord } from '../../src/chain/record.js';
import { DEFAULT_RELAY_CONFIG, newRelay, type Ctx, type Effect, type IncomingPart, type OutgoingPart, type PayResult, type Relay, type RelayEvent, type TimerName } from '../../src/chain/relay/types.js';
import { step } from '../../src/chain/relay/step.js';
import { HASH, HEIGHT, NOW, PREIMAGE, SECRET, makeRecord } from './builders.js';

/** An invariant broke. The message says which, why, and the last steps of the history. */
export class Violation extends Error {
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(message);
    this.name = 'Violation';
    // The world's history says more than a stack trace into the test harness.
    this.stack = `${this.name}: ${message}`;
  }
}

export const P1 = `02${'d1'.repeat(32)}` as NodeId;
export const P2 = `03${'e2'.repeat(32)}` as NodeId;
export const WRONG_SECRET = 'ee'.repeat(32) as PaymentSecret;
/** How long after xpay answered it may still inject an attempt it had routed (ms); below failConfirmMs. */
export const LATE_INJECT_MS = 500;

export interface Channel {
  name: 'A' | 'B' | 'C';
  channelId: string;
  peerId: NodeId;
  /** How lightningd names it now (alias until it has a real scid; a splice makes a new one). */
  scid: string;
  hasReal: boolean;
  splices: number;
  nextHtlcId: number;
}

export type HtlcStatus = 'upstream' | 'waiting' | 'resolved' | 'failed';

export interface Htlc {
  uid: number;
  label: string;
  channel: Channel;
  htlcId: string;
  amountMsat: Msat;
  cltvExpiry: number;
  paymentSecret: PaymentSecret | undefined;
  totalMsat: Msat | undefined;
  forwardMsat: Msat | undefined;
  outgoingCltv: number | undefined;
  paymentMetadata: string | undefined;
  status: HtlcStatus;
  /** Order of rdv's answer, for a restart that loses the last answers. */
  answeredAt?: number;
}

export interface Call {
  uid: number;
  key: string;
  /** What the hook call said (a duplicate call says the same). */
  part: IncomingPart;
}

interface OutPart {
  n: number;
  xpay: number;
  amountMsat: Msat;
  expiry: number;
  status: 'pending' | 'complete' | 'failed';
}

interface Xpay {
  n: number;
  proc: number;
  round: number;
  layer: string;
  maxdelay: number;
  startHeight: number;
  retryEndMs: number;
  /** running: its result is still to come (or lost: connLost). answered: it said something. dead: killed. */
  state: 'running' | 'answered' | 'dead';
  closed: boolean;
  connLost: boolean;
  lateUntilMs: number;
  lateUsed: boolean;
  /** The height at which it routed the attempt it may still inject (xpay's blockheight then). */
  lateHeight: number;
  /** Earliest cltv_expiry of the incoming set it pays for (world truth). */
  eMin: number;
}

type Pending =
  | { kind: 'query'; answer?: OutgoingPart[] }
  | { kind: 'pay_result'; xpay: number; result: PayResult }
  | { kind: 'block'; height: number }
  | { kind: 'replay'; uid: number; channelKnown: boolean }
  | { kind: 'requery' }
  | { kind: 'claims' };

interface TraceEntry {
  n: number;
  what: string;
  event?: RelayEvent;
  effects?: Effect[];
}

/** What the machine logged over all runs, numbers and keys blanked: a cheap map of the paths the histories reached. */
export const coverage = new Map<string, number>();
const template = (m: string): string => m.replace(/[0-9a-f]{16,}(\/\d+)?/g, 'K').replace(/\d[\d,.]*/g, 'N').slice(0, 90);

/** Count a world situation in the coverage map. */
export const seen = (what: string): void => {
  coverage.set(`world: ${what}`, (coverage.get(`world: ${what}`) ?? 0) + 1);
};

const active = (r: RelayRecord): boolean => r.state === 'gathered' || r.state === 'paying';
const short = (k: string): string => (k.length > 24 ? `${k.slice(0, 6)}…${k.slice(-10)}` : k);

export interface RestartOptions {
  /** The durable record was written by rdv 0.1.0 (no channel_id): only when "gathered" is the last write. */
  fromOldVersion: boolean;
  /**
   * listpeerchannels fails for a while in the new process. The runner then holds each
   * hook call and asks again until it can name the channel (runner.ts onFinalHtlc), so
   * calls still come named by channel_id: the flag only shows up in the notes.
   */
  lookupFails: boolean;
  /** Replay order. */
  reverse: boolean;
  /** lightningd died before it took rdv's answers given in the last this many steps: those HTLCs are replayed too. */
  lostAnswers: number;
}

export class World {
  readonly config = DEFAULT_RELAY_CONFIG;
  height = HEIGHT;
  /** The height the relay has been told (block notifications may lag). */
  relayHeight = HEIGHT;
  nowMs = 0;
  relay: Relay;
  /** The datastore: what a restart reads (serialised, as the runner stores it). */
  durable: string;
  /** The last durable write was the "gathered" persist itself (so rdv 0.1.0 could have written it). */
  durableIsGathered = false;
  checkpointPending = false;
  /** listpeerchannels fails in this process: HTLCs are named by scid only. */
  lookupFails = false;
  /** Invariants only counted, not thrown (to look past a known finding). */
  readonly soft: string[];
  /** The next persist fails (the datastore refused it). */
  failNextPersist = false;
  proc = 0;
  readonly channels: Channel[];
  readonly htlcs: Htlc[] = [];
  calls: Call[] = [];
  inbox: Pending[] = [];
  readonly timers = new Map<TimerName, number>();
  readonly out: OutPart[] = [];
  readonly xpays: Xpay[] = [];
  claimed = false;
  /** Per gathering round, the HTLCs (uids) of the recorded set: world truth, whatever rdv later believes. */
  readonly recorded = new Map<number, number[]>();
  blocksSinceDrain = 0;
  sets = 0;
  readonly errorLogs: string[] = [];
  private readonly trace: TraceEntry[] = [];
  private steps = 0;
  /** Counters for the fuzz report. */
  readonly stats = { steps: 0, settled: 0, failedBack: 0, pays: 0, restarts: 0 };

  /** `distinctHtlcIds`: no two channels' HTLCs share an id (so no HTLC looks like another one on another channel). */
  constructor(o: { distinctHtlcIds?: boolean; soft?: string[] } = {}) {
    this.soft = o.soft ?? [];
    const record = makeRecord();
    this.relay = newRelay(record);
    this.durable = serializeRecord(record);
    this.channels = [
      { name: 'A', channelId: 'aa'.repeat(32), peerId: P1, scid: '16000009x42x1', hasReal: false, splices: 0, nextHtlcId: 0 },
      { name: 'B', channelId: 'bb'.repeat(32), peerId: P1, scid: '103x1x0', hasReal: true, splices: 0, nextHtlcId: 0 },
      { name: 'C', channelId: 'cc'.repeat(32), peerId: P2, scid: '107x2x1', hasReal: true, splices: 0, nextHtlcId: 0 },
    ];
    if (o.distinctHtlcIds) this.channels.forEach((c, i) => (c.nextHtlcId = 1000 * i));
  }

  get record(): RelayRecord {
    return this.relay.record;
  }

  ctx(): Ctx {
    return { now: NOW + Math.floor(this.nowMs / 1000), height: this.relayHeight, config: this.config };
  }

  note(what: string): void {
    this.push({ n: this.steps, what });
  }

  private push(e: TraceEntry): void {
    this.trace.push(e);
    if (this.trace.length > 60) this.trace.shift();
  }

  violation(invariant: string, message: string): void {
    if (this.soft.includes(invariant)) {
      seen(`soft invariant ${invariant} broken`);
      return;
    }
    throw new Violation(invariant, `invariant ${invariant} broken: ${message}\n${this.describe()}`);
  }

  /** The world now and the last steps: readable enough to turn into a unit test. */
  describe(): string {
    const lines = [`world: height ${this.height} (relay told ${this.relayHeight}), t=${this.nowMs} ms, relay ${this.record.state} round ${this.record.round}`];
    lines.push(`  htlcs: ${this.htlcs.map((h) => `${h.label}=${h.status}`).join(' ') || '-'}`);
    lines.push(`  recorded: ${[...this.recorded].map(([r, uids]) => `r${r}:[${uids.map((u) => this.htlcs[u]?.label).join(',')}]`).join(' ') || '-'}`);
    lines.push(`  out: ${this.out.map((p) => `#${p.n}(x${p.xpay},exp ${p.expiry})=${p.status}`).join(' ') || '-'}`);
    lines.push(`  xpays: ${this.xpays.map((x) => `x${x.n}:${x.state}${x.closed ? ',closed' : ''}${x.connLost ? ',connlost' : ''}`).join(' ') || '-'}`);
    lines.push(`  inbox: ${this.inbox.map((p) => p.kind).join(',') || '-'}; timers: ${[...this.timers.keys()].join(',') || '-'}`);
    lines.push('  last steps:');
    for (const t of this.trace.slice(-Number(process.env.RDV_MODEL_STEPS ?? 30))) {
      if (!t.event) {
        lines.push(`   ${t.n}. ${t.what}`);
        continue;
      }
      const fx = (t.effects ?? []).map(describeEffect).filter((s) => s !== '').join('; ');
      lines.push(`   ${t.n}. ${describeEvent(t.event)} -> ${fx || '(nothing)'}`);
    }
    return lines.join('\n');
  }

  // --- delivering events to the machine -----------------------------------

  deliver(event: RelayEvent): void {
    const before = this.relay.record;
    const { relay, effects } = step(this.relay, event, this.ctx());
    this.relay = relay;
    this.steps++;
    this.stats.steps++;
    this.push({ n: this.steps, what: '', event, effects });
    // World truth: which HTLCs this round's set is made of (the parts were just held under their keys).
    if (relay.record.round !== before.round && relay.record.state === 'gathered') {
      const uids = relay.record.parts.map((p) => {
        const call = this.calls.find((c) => c.key === partKey(p));
        if (!call) throw new Error(`model: gathered part ${partKey(p)} has no hook call`);
        return call.uid;
      });
      this.recorded.set(relay.record.round, uids);
    }
    this.executeAll(effects);
    if (before.state !== 'settled' && this.record.state === 'settled') this.stats.settled++;
    this.checkSomethingInFlight();
  }

  /** The runner: effects in order; a failed persist stops them and tells the machine which were skipped. */
  private executeAll(effects: Effect[]): void {
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if (!e) continue;
      if (e.type === 'persist' && this.failNextPersist) {
        this.failNextPersist = false;
        seen(`persist of ${e.record.state} failed`);
        const event: RelayEvent = { type: 'persist_failed', error: 'datastore: generation mismatch (code 1204)', skipped: effects.slice(i + 1) };
        const next = step(this.relay, event, this.ctx());
        this.relay = next.relay;
        this.steps++;
        this.push({ n: this.steps, what: '', event, effects: next.effects });
        if (next.effects.some((f) => f.type === 'persist')) this.violation('model', 'the machine persisted in answer to persist_failed');
        this.executeAll(next.effects);
        return;
      }
      this.execute(e);
    }
  }

  /**
   * An HTLC rdv cannot tell from a recorded one by anything it is given: the record
   * names the part without a channel_id (written by rdv 0.1.0) or the hook call
   * came while the channel lookup failed, its channel was renamed, and this HTLC has the same htlc id, amount,
   * cltv_expiry and peer, and our secret (so it is the payer's own money). Taking
   * it instead of the recorded one costs rdv nothing and the payer nothing (one
   * set is claimed, the other failed), so invariant 4 lets it through.
   */
  private indistinguishable(h: Htlc, set: number[], callUnnamed: boolean): boolean {
    if (h.paymentSecret !== this.record.paymentSecret) return false;
    const like = set
      .map((u) => this.htlc(u))
      .find((r) => {
        const recorded = this.recordedPartOf(r.uid);
        // The peer tells them apart only if the record names it.
        const samePeer = recorded?.peerId === undefined || r.channel.peerId === h.channel.peerId;
        return r.htlcId === h.htlcId && r.amountMsat === h.amountMsat && r.cltvExpiry === h.cltvExpiry && samePeer && (callUnnamed || recorded?.channelId === undefined);
      });
    if (like) seen('an indistinguishable look-alike of a recorded part without channel_id was taken for it');
    return like !== undefined;
  }

  /** The record's part for an HTLC of the current round's set (record.parts keeps the gathered order). */
  private recordedPartOf(uid: number): RelayRecord['parts'][number] | undefined {
    const uids = this.recorded.get(this.record.round) ?? [];
    const i = uids.indexOf(uid);
    return i >= 0 && uids.length === this.record.parts.length ? this.record.parts[i] : undefined;
  }

  /**
   * Another HTLC of the payer's, that rdv cannot tell from `h` (see indistinguishable),
   * holds h's place (held or resolved): failing h then costs nobody anything, since
   * the look-alike pays for the payment onward.
   */
  private standsIn(h: Htlc, callUnnamed: boolean): boolean {
    const recorded = this.recordedPartOf(h.uid);
    if (!recorded || (recorded.channelId !== undefined && !callUnnamed)) return false;
    const other = this.htlcs.find(
      (o) =>
        o.uid !== h.uid &&
        (o.status === 'waiting' || o.status === 'resolved') &&
        o.paymentSecret === this.record.paymentSecret &&
        o.htlcId === h.htlcId &&
        o.amountMsat === h.amountMsat &&
        o.cltvExpiry === h.cltvExpiry &&
        (recorded.peerId === undefined || o.channel.peerId === h.channel.peerId),
    );
    if (other) seen('a recorded part without channel_id was failed while an indistinguishable look-alike stood in for it');
    return other !== undefined;
  }

  private execute(e: Effect): void {
    switch (e.type) {
      case 'hold':
        return;
      case 'resolve': {
        // Invariant 4: a resolve carries the preimage of H, and only for an HTLC of the recorded set.
        if (!preimageMatches(e.preimage, HASH)) this.violation('4', `resolve of ${e.part} with a preimage that is not H's`);
        const set = this.recorded.get(this.record.round) ?? [];
        for (const c of this.answer(e.part)) {
          const h = this.htlc(c.uid);
          if (!set.includes(h.uid) && !this.indistinguishable(h, set, c.part.channelId === undefined)) {
            this.violation('4', `resolved ${h.label} (${e.part}), which is not an HTLC of the recorded set [${set.map((u) => this.htlc(u).label).join(',')}]`);
          }
          if (h.status === 'waiting') {
            h.status = 'resolved';
            h.answeredAt = this.steps;
          }
        }
        return;
      }
      case 'fail': {
        for (const c of this.answer(e.part)) {
          const h = this.htlc(c.uid);
          // Invariant 1: an HTLC whose money pays for an outgoing payment is never failed while that
          // payment may succeed: the HTLCs of round r's recorded set, while an xpay started for round r
          // (or a part it made) may succeed. (Failing the set of a round given up while nothing was out,
          // then paying for a new round's set, costs nothing: the new set pays.)
          for (const [round, set] of this.recorded) {
            if (!set.includes(h.uid)) continue;
            const why = this.outgoingMaySucceed(round);
            if (why && !this.standsIn(h, c.part.channelId === undefined)) this.violation('1', `failed ${h.label} (${e.part}, ${e.reason}) of round ${round}'s recorded set while ${why}`);
          }
          if (h.status === 'waiting') {
            h.status = 'failed';
            h.answeredAt = this.steps;
          }
          const left = h.cltvExpiry - this.height;
          if ([...this.recorded.values()].some((set) => set.includes(h.uid))) seen(`recorded part failed with ${left <= 34 ? '<= margin' : left <= 37 ? 'margin+1..3' : left <= 50 ? 'margin+4..16' : 'more'} blocks left`);
        }
        if (e.failureMessage === '2002') this.stats.failedBack++;
        return;
      }
      case 'persist':
        this.durable = serializeRecord(e.record);
        this.durableIsGathered = e.record.state === 'gathered';
        return;
      case 'checkpoint':
        this.checkpointPending = true;
        return;
      case 'pay':
        return this.startXpay(e);
      case 'close_route':
        for (const x of this.xpays) if (x.layer === e.layer) x.closed = true;
        return;
      case 'query_outgoing':
        this.inbox.push({ kind: 'query' });
        return;
      case 'check_claims':
        this.inbox.push({ kind: 'claims' });
        return;
      case 'prepare_layer':
        return;
      case 'start_timer':
        this.timers.set(e.timer, this.nowMs + e.ms);
        return;
      case 'cancel_timer':
        this.timers.delete(e.timer);
        return;
      case 'log':
        if (e.level === 'error') this.errorLogs.push(e.message);
        coverage.set(`${e.level}: ${template(e.message)}`, (coverage.get(`${e.level}: ${template(e.message)}`) ?? 0) + 1);
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  /** The hook calls a reply for `key` answers (the runner answers every waiter of that key). */
  private answer(key: string): Call[] {
    const hit = this.calls.filter((c) => c.key === key);
    if (hit.length === 0) {
      this.note(`(no hook call waits for ${short(key)})`);
      seen('an answer for a key no hook call waits on');
    }
    this.calls = this.calls.filter((c) => c.key !== key);
    return hit;
  }

  htlc(uid: number): Htlc {
    const h = this.htlcs[uid];
    if (!h) throw new Error(`no htlc ${uid}`);
    return h;
  }

  /** Invariant 6: a gathered/paying record always has a query or pay in flight, or a timer armed (world truth). */
  private checkSomethingInFlight(): void {
    if (!active(this.record)) return;
    const inFlight =
      this.inbox.some((p) => p.kind === 'query' || p.kind === 'pay_result') ||
      this.xpays.some((x) => x.proc === this.proc && x.state === 'running' && !x.connLost) ||
      this.timers.size > 0;
    if (!inFlight) this.violation('6', `the record is ${this.record.state} with no query or xpay in flight and no timer armed`);
  }

  // --- the outgoing side ----------------------------------------------------

  /** Why an outgoing part (of an xpay paying for `round`, or of any) may still succeed (or has), or undefined. */
  outgoingMaySucceed(round?: number): string | undefined {
    const mine = (n: number): boolean => round === undefined || this.xpays[n]?.round === round;
    const p = this.out.find((o) => o.status !== 'failed' && mine(o.xpay));
    if (p) return `outgoing part #${p.n} is ${p.status}`;
    const x = this.xpays.find((y) => mine(y.n) && this.canCreate(y));
    if (x) return `xpay x${x.n} may still start attempts`;
    const late = this.xpays.find((y) => mine(y.n) && this.lateOpen(y));
    if (late) return `xpay x${late.n} may still inject an attempt it routed before it answered`;
    return undefined;
  }

  canCreate(x: Xpay): boolean {
    return x.state === 'running' && !x.closed && this.nowMs < x.retryEndMs;
  }

  lateOpen(x: Xpay): boolean {
    return x.state !== 'dead' && !x.lateUsed && this.nowMs < x.lateUntilMs;
  }

  private startXpay(e: Extract<Effect, { type: 'pay' }>): void {
    this.stats.pays++;
    // Invariant 2: at most one outgoing payment: none starts while one may still succeed.
    const why = this.outgoingMaySucceed();
    if (why) this.violation('2', `a second payment (pay, maxdelay ${e.maxdelay}) started while ${why}`);
    if (e.maxdelay < this.record.downstreamMinFinalCltv) this.violation('6r', `pay with maxdelay ${e.maxdelay} below the downstream min_final_cltv`);
    const set = this.recorded.get(this.record.round) ?? [];
    const eMin = Math.min(...set.map((u) => this.htlc(u).cltvExpiry));
    const x: Xpay = {
      n: this.xpays.length,
      proc: this.proc,
      round: this.record.round,
      layer: e.layer,
      maxdelay: e.maxdelay,
      startHeight: this.height,
      retryEndMs: this.nowMs + e.retryForSeconds * 1000,
      state: 'running',
      closed: false,
      connLost: false,
      lateUntilMs: 0,
      lateUsed: false,
      lateHeight: 0,
      eMin,
    };
    this.xpays.push(x);
  }

  /** The xpay of this process whose answer is still to come, if any. */
  runningXpay(): Xpay | undefined {
    return this.xpays.find((x) => x.proc === this.proc && x.state === 'running');
  }

  /** xpay answers (unless its connection was lost: then the answer goes nowhere). */
  answerXpay(x: Xpay, result: PayResult): void {
    if (x.state !== 'running') return;
    x.state = 'answered';
    if (!x.connLost && x.proc === this.proc) this.inbox.push({ kind: 'pay_result', xpay: x.n, result });
  }

  /** Could xpay route an attempt now? It can while not closed and within retry_for, and (the lag rule) rdv has seen all blocks but the last. */
  canRouteNow(x: Xpay): boolean {
    return this.canCreate(x) && this.height - this.relayHeight <= 1;
  }

  /** xpay answers now, but it may have routed one more attempt just before: it may inject that within LATE_INJECT_MS. */
  openLateWindow(x: Xpay): void {
    if (!this.canRouteNow(x)) return;
    x.lateUntilMs = this.nowMs + LATE_INJECT_MS;
    x.lateHeight = this.height;
  }

  /** xpay injects an attempt of `parts` parts routed at `routedAt` (lightningd's check_progress first). */
  inject(x: Xpay, parts: number, feeMsat: Msat, routedAt = this.height): void {
    // xpay routes only what its pending parts do not cover: in this model, a whole new attempt once they all failed.
    if (this.out.some((p) => p.xpay === x.n && p.status === 'pending')) return;
    if (this.out.some((p) => p.status === 'complete')) return this.answerXpay(x, { ok: false, definite: false, message: 'Already paid this invoice successfully (code 219)' });
    if (this.out.some((p) => p.status === 'pending' && p.xpay !== x.n)) {
      return this.answerXpay(x, { ok: false, definite: false, message: 'Unexpected injectpaymentonion error 200: still in progress, cannot retry before that completes (code -3)' });
    }
    const total = this.record.downstreamAmountMsat + feeMsat;
    const each = total / BigInt(parts);
    const expiry = routedAt + 1 + x.maxdelay;
    // Invariant 3a: an outgoing HTLC expires a safety margin before the incoming ones it pays for.
    if (expiry + this.record.safetyMargin > x.eMin) {
      this.violation('3a', `xpay x${x.n} (started at ${x.startHeight}, maxdelay ${x.maxdelay}) made a part expiring at ${expiry}, within the safety margin of the incoming set's earliest expiry ${x.eMin}`);
    }
    seen(`xpay part routed ${routedAt - x.startHeight} block(s) after xpay started, ${x.eMin - expiry - this.record.safetyMargin} block(s) to spare over the margin`);
    for (let i = 0; i < parts; i++) {
      const amountMsat = msat(i === parts - 1 ? total - each * BigInt(parts - 1) : each);
      this.out.push({ n: this.out.length, xpay: x.n, amountMsat, expiry, status: 'pending' });
    }
    this.note(`xpay x${x.n} injects ${parts} part(s) expiring at ${expiry}`);
  }

  /** The downstream settles or fails one pending part. */
  resolveOut(p: OutPart, want: 'complete' | 'fail'): void {
    if (p.status !== 'pending') return;
    const pendingSum = sumMsat(this.out.filter((o) => o.status === 'pending').map((o) => o.amountMsat));
    if (!this.claimed && want === 'complete' && pendingSum >= this.record.downstreamAmountMsat) this.claimed = true;
    const x = this.xpays[p.xpay];
    if (this.claimed) {
      p.status = 'complete';
      if (x) this.answerXpay(x, { ok: true, preimage: PREIMAGE, amountSentMsat: sumMsat(this.out.filter((o) => o.xpay === x.n && o.status !== 'failed').map((o) => o.amountMsat)) });
    } else {
      p.status = 'failed';
    }
    this.note(`downstream: part #${p.n} ${p.status}`);
    // sendpay_success / sendpay_failure: the runner asks again if nothing is asked.
    this.inbox.push({ kind: 'requery' });
  }

  // --- the incoming side ----------------------------------------------------

  newHtlc(channel: Channel, fields: Omit<Htlc, 'uid' | 'label' | 'channel' | 'htlcId' | 'status'>, tag: string): Htlc {
    const htlcId = String(channel.nextHtlcId++);
    const h: Htlc = { uid: this.htlcs.length, label: `${tag}${channel.name}${htlcId}`, channel, htlcId, status: 'upstream', ...fields };
    this.htlcs.push(h);
    return h;
  }

  /** What the htlc_accepted hook says about an HTLC now (name, height). */
  partOf(h: Htlc, channelKnown: boolean): IncomingPart {
    return {
      scid: h.channel.scid,
      id: h.htlcId,
      channelId: channelKnown ? h.channel.channelId : undefined,
      peerId: h.channel.peerId,
      amountMsat: h.amountMsat,
      cltvExpiry: h.cltvExpiry,
      height: this.height,
      paymentSecret: h.paymentSecret,
      totalMsat: h.totalMsat,
      forwardMsat: h.forwardMsat,
      outgoingCltv: h.outgoingCltv,
      paymentMetadata: h.paymentMetadata,
    };
  }

  /** lightningd calls htlc_accepted for `h` (the runner first moves to the hook's height, as setHeight does). */
  hookCall(h: Htlc, channelKnown = true, same?: IncomingPart): void {
    const part = same ?? this.partOf(h, channelKnown);
    if (part.height > this.relayHeight) this.tellHeight(part.height);
    if (h.status === 'upstream') h.status = 'waiting';
    this.calls.push({ uid: h.uid, key: partKey(part), part });
    this.deliver({ type: 'htlc', part });
  }

  private tellHeight(height: number): void {
    this.relayHeight = height;
    this.inbox = this.inbox.filter((p) => p.kind !== 'block' || p.height > height);
    this.deliver({ type: 'block', height });
  }

  // --- the inbox, timers, blocks, restarts ---------------------------------------

  /** Deliver one inbox entry (block notifications keep their order among themselves). */
  deliverPending(index: number): void {
    if (this.inbox.length === 0) return;
    let i = index % this.inbox.length;
    if (this.inbox[i]?.kind === 'block') i = this.inbox.findIndex((p) => p.kind === 'block');
    const [p] = this.inbox.splice(i, 1);
    if (!p) return;
    switch (p.kind) {
      case 'query':
        return this.deliver({ type: 'outgoing_status', parts: p.answer ?? this.snapshot() });
      case 'pay_result':
        return this.deliver({ type: 'pay_result', result: p.result });
      case 'block':
        if (p.height > this.relayHeight) this.tellHeight(p.height);
        return;
      case 'replay': {
        const h = this.htlc(p.uid);
        if (h.status === 'waiting') this.hookCall(h, p.channelKnown);
        return;
      }
      case 'requery':
        return this.deliver({ type: 'requery' });
      case 'claims':
        // listchannelmoves: an "invoice" credit for each incoming HTLC of H lightningd settled for rdv.
        return this.deliver({ type: 'claims', credits: this.htlcs.filter((h) => h.status === 'resolved').map((h) => ({ channelId: h.channel.channelId, amountMsat: h.amountMsat })) });
      default: {
        const never: never = p;
        throw new Error(`unknown pending ${JSON.stringify(never)}`);
      }
    }
  }

  /** lightningd answers a listsendpays now; the runner processes the answer later (other events may come first). */
  answerQuery(): void {
    const q = this.inbox.find((p): p is Extract<Pending, { kind: 'query' }> => p.kind === 'query' && p.answer === undefined);
    if (!q) return;
    q.answer = this.snapshot();
    this.note(`listsendpays answered: [${q.answer.map((p) => p.status).join(',')}] (not yet processed)`);
  }

  /** listsendpays now: every part for the hash, per part. */
  snapshot(): OutgoingPart[] {
    return this.out.map((p) => ({ status: p.status, preimage: p.status === 'complete' ? PREIMAGE : undefined, amountSentMsat: p.amountMsat }));
  }

  fireTimer(index: number): void {
    const names = [...this.timers.keys()];
    if (names.length === 0) return;
    const timer = names[index % names.length] as TimerName;
    const due = this.timers.get(timer) ?? this.nowMs;
    this.timers.delete(timer);
    this.nowMs = Math.max(this.nowMs, due);
    this.deliver({ type: 'timer', timer });
  }

  flushCheckpoint(): void {
    if (!this.checkpointPending) return;
    this.checkpointPending = false;
    this.durable = serializeRecord(this.record);
    this.durableIsGathered = false;
    this.note(`checkpoint written (${this.record.state})`);
  }

  /** One block found: lightningd (and xpay, and the downstream channel) see it now; rdv when the notification arrives. */
  mineBlock(secs: number): void {
    this.height++;
    this.nowMs += secs * 1000;
    this.blocksSinceDrain++;
    this.note(`block ${this.height}`);
    for (const p of this.out) {
      if (p.status === 'pending' && p.expiry <= this.height) {
        this.note(`downstream: part #${p.n} reached its expiry ${p.expiry}`);
        this.resolveOut(p, 'fail');
      }
    }
    this.inbox.push({ kind: 'block', height: this.height });
  }

  restart(o: RestartOptions): void {
    seen(`restart: relay ${this.record.state}${this.out.some((p) => p.status === 'pending') ? ', an outgoing part pending' : ''}${this.runningXpay() ? ', xpay running' : ''}`);
    this.proc++;
    this.stats.restarts++;
    for (const x of this.xpays) {
      if (x.state === 'running') x.state = 'dead';
      x.lateUntilMs = 0;
    }
    this.inbox = [];
    this.timers.clear();
    this.calls = [];
    if (this.checkpointPending) this.note('restart: the pending checkpoint is lost');
    this.checkpointPending = false;
    let record = parseRecord(this.durable) as RelayRecord;
    if (o.fromOldVersion && this.durableIsGathered && active(record)) {
      record = { ...record, parts: record.parts.map(({ scid, id, amountMsat, cltvExpiry }) => ({ scid, id, amountMsat, cltvExpiry })) };
      // The file on disk is what 0.1.0 wrote: it stays that way until this rdv writes it.
      this.durable = serializeRecord(record);
    }
    this.note(`restart: record ${record.state}${o.fromOldVersion && this.durableIsGathered ? ' (as written by rdv 0.1.0)' : ''}${o.lookupFails ? ', channel lookup fails' : ''}`);
    this.relay = newRelay(record);
    this.relayHeight = this.height;
    this.lookupFails = o.lookupFails;
    for (const h of this.htlcs) {
      if ((h.status === 'resolved' || h.status === 'failed') && (h.answeredAt ?? -1) > this.steps - o.lostAnswers) {
        this.note(`restart: lightningd never took the answer (${h.status}) for ${h.label}`);
        seen(`restart: an answer (${h.status}) lost`);
        h.status = 'waiting';
      }
    }
    this.deliver({ type: 'startup', guardClaims: [] });
    const waiting = this.htlcs.filter((h) => h.status === 'waiting');
    if (o.reverse) waiting.reverse();
    // A lookup that fails does not make the runner name a part by scid alone: it asks again
    // (the HTLC waits), so the replay comes later but named by its channel_id.
    for (const h of waiting) this.inbox.push({ kind: 'replay', uid: h.uid, channelKnown: true });
  }

  rename(channel: Channel): void {
    if (!channel.hasReal) {
      channel.hasReal = true;
      channel.scid = `${this.height - 3}x7x0`;
      this.note(`channel ${channel.name}: alias -> real scid ${channel.scid}`);
    } else {
      channel.splices++;
      channel.scid = `${this.height - 1}x${channel.splices + 10}x${channel.name.charCodeAt(0) % 4}`;
      this.note(`channel ${channel.name}: spliced, now ${channel.scid}`);
    }
  }

  /**
   * Quiescence: deliver everything pending (query answers, xpay results, block
   * notifications, replays) and fire every armed timer (all are seconds, a block is
   * minutes), let an xpay that can do nothing more give up (it does at once), until
   * nothing is left. A relay waiting on a pending outgoing part asks again forever:
   * stop after a few such rounds.
   */
  drain(): void {
    let requeries = 0;
    for (let i = 0; i < 400; i++) {
      if (this.inbox.length > 0) {
        this.deliverPending(0);
        continue;
      }
      const stuck = this.xpays.find((x) => x.state === 'running' && !this.canCreate(x) && !this.out.some((p) => p.xpay === x.n && p.status === 'pending'));
      if (stuck) {
        this.note(`xpay x${stuck.n} gives up (nothing pending, no new attempt possible)`);
        this.answerXpay(stuck, { ok: false, definite: true, message: 'Failed after retries (no route left)' });
        continue;
      }
      // An xpay that could inject would do so at once; where lightningd's check_progress
      // refuses any inject (a part complete, or another xpay's part pending), it answers now.
      const refused = this.xpays.find(
        (x) => x.state === 'running' && this.canCreate(x) && !this.out.some((p) => p.xpay === x.n && p.status === 'pending') && this.out.some((p) => p.status === 'complete' || (p.status === 'pending' && p.xpay !== x.n)),
      );
      if (refused) {
        this.inject(refused, 1, msat(0n));
        continue;
      }
      if (this.timers.size === 0) break;
      const [timer] = [...this.timers].sort((a, b) => a[1] - b[1])[0] ?? [];
      if (timer === 'requery' && ++requeries > 4) break;
      this.fireTimer([...this.timers.keys()].indexOf(timer as TimerName));
    }
  }

  /**
   * Invariants checked at quiescence (after drain at the current height).
   *
   * 3: every held HTLC is answered before its deadline. Exactly: after a drain at
   *    height h, every HTLC still waiting for rdv's answer has cltv_expiry - h >=
   *    safety_margin - max(0, b - 1), where b is the number of blocks found since the
   *    previous drain (blocks the relay got no chance to react to may each eat one
   *    block of the margin; with a drain at every height, b = 1 and the bound is the
   *    full margin), unless an outgoing part is still pending. Why >= and not >:
   *    rdv keeps every outgoing part's expiry <= earliest incoming expiry - margin
   *    (3a, checked when a part is made), and a part is pending only below its
   *    expiry; so in the worst case (xpay used all its block allowance) the last
   *    outgoing part fails at height E - margin, and the relay can answer only then,
   *    with exactly `margin` blocks left. One block later is a breach.
   * 5: once an outgoing part completed, every HTLC of the paid set is resolved
   *    (the drain has delivered every replay).
   */
  checkQuiescent(): void {
    const margin = this.record.safetyMargin;
    const slack = Math.max(0, this.blocksSinceDrain - 1);
    const pendingOut = this.out.some((p) => p.status === 'pending');
    for (const h of this.htlcs) {
      if (h.status !== 'waiting') continue;
      const left = h.cltvExpiry - this.height;
      if (left < margin - slack && !pendingOut) {
        this.violation('3', `${h.label} (cltv_expiry ${h.cltvExpiry}) is still held at height ${this.height}: ${left} blocks left, safety margin ${margin}${slack ? ` (less ${slack} for blocks found without a drain)` : ''}`);
      }
    }
    const paid = this.paidSet();
    if (paid) {
      for (const u of paid) {
        const h = this.htlc(u);
        const lastCall = this.calls.filter((c) => c.uid === u).at(-1);
        const stoodIn = h.status === 'failed' && this.standsIn(h, lastCall?.part.channelId === undefined);
        if (h.status !== 'resolved' && !stoodIn) this.violation('5', `the outgoing payment completed but ${h.label} of the paid set is ${h.status} at quiescence`);
      }
    }
    this.blocksSinceDrain = 0;
  }

  /** The incoming set whose outgoing payment completed, if one did. */
  paidSet(): number[] | undefined {
    const done = this.out.find((p) => p.status === 'complete');
    if (!done) return undefined;
    const x = this.xpays[done.xpay];
    return x ? (this.recorded.get(x.round) ?? []) : [];
  }

  quiesce(): void {
    this.drain();
    this.checkQuiescent();
  }

  /** One block with the notification delivered at once and the world drained after it. */
  calmBlock(secs: number): void {
    this.mineBlock(secs);
    this.quiesce();
  }

  /**
   * End of a run: the downstream decides what is still pending (`succeed`: the payee
   * claims if she can), xpay finishes, blocks are found (with a drain each) until
   * no HTLC waits on rdv. Then invariant 7.
   */
  finish(succeed: boolean): void {
    this.note(`--- end of run (downstream ${succeed ? 'claims if it can' : 'fails what is pending'}) ---`);
    for (let i = 0; i < 400; i++) {
      this.quiesce();
      for (const p of this.out.filter((o) => o.status === 'pending')) this.resolveOut(p, succeed ? 'complete' : 'fail');
      const x = this.runningXpay() ?? this.xpays.find((y) => y.state === 'running');
      if (x && !this.out.some((p) => p.xpay === x.n && p.status === 'pending')) {
        if (succeed && this.canCreate(x) && this.height - this.relayHeight <= 1 && !this.out.some((p) => p.status === 'complete')) this.inject(x, 1, msat(0n));
        else this.answerXpay(x, { ok: false, definite: true, message: 'Failed after retries' });
      }
      this.quiesce();
      const busy = this.htlcs.some((h) => h.status === 'waiting') || this.xpays.some((y) => y.state === 'running') || this.out.some((p) => p.status === 'pending') || active(this.record);
      if (!busy) break;
      this.calmBlock(600);
    }
    seen(`end: ${this.record.state}, ${this.stats.pays} pay(s), ${this.stats.restarts} restart(s)`.replace(/\d+ /g, (m) => (Number(m) > 2 ? '3+ ' : m)));
    this.checkConservation();
  }

  /**
   * Invariant 7 (Jepsen-style, over the whole history): money in = resolved
   * incoming HTLCs, money out = completed outgoing parts. At the end either the
   * payment onward completed and every HTLC of the paid set was resolved, earning
   * at least the payout; or nothing completed and every HTLC that reached us was
   * failed. Never money out with nothing in.
   */
  checkConservation(): void {
    const moneyIn = sumMsat(this.htlcs.filter((h) => h.status === 'resolved').map((h) => h.amountMsat));
    const moneyOut = sumMsat(this.out.filter((p) => p.status === 'complete').map((p) => p.amountMsat));
    const waiting = this.htlcs.filter((h) => h.status === 'waiting');
    if (waiting.length > 0) this.violation('7', `the run ended with ${waiting.map((h) => h.label).join(',')} still held (relay ${this.record.state})`);
    if (moneyOut > 0n && moneyIn === 0n) this.violation('7', `paid ${moneyOut} msat onward and received nothing`);
    if (moneyOut > 0n) {
      const paid = this.paidSet() ?? [];
      const missing = paid.filter((u) => {
        const h = this.htlc(u);
        if (h.status === 'resolved') return false;
        // A look-alike rdv cannot tell from it was claimed instead (see standsIn): the earnings check below still holds.
        return !(h.status === 'failed' && this.standsIn(h, this.calls.filter((c) => c.uid === u).at(-1)?.part.channelId === undefined));
      });
      if (missing.length > 0) this.violation('7', `paid onward but ${missing.map((u) => this.htlc(u).label).join(',')} of the paid set were not resolved`);
      if (moneyIn - moneyOut < this.record.payoutMsat) this.violation('7', `earned ${moneyIn - moneyOut} msat (in ${moneyIn}, out ${moneyOut}), less than the payout ${this.record.payoutMsat}`);
    } else {
      const notFailed = this.htlcs.filter((h) => h.status !== 'upstream' && h.status !== 'failed');
      if (notFailed.length > 0) this.violation('7', `nothing was paid onward but ${notFailed.map((h) => `${h.label}=${h.status}`).join(',')} were not failed`);
    }
  }

  /** The valid fields of a part of a set with total `totalMsat`, expiring `extra` blocks after min_final_cltv. */
  validFields(amountMsat: Msat, totalMsat: Msat, extra: number): Omit<Htlc, 'uid' | 'label' | 'channel' | 'htlcId' | 'status'> {
    const cltvExpiry = this.height + this.record.minFinalCltv + extra;
    return { amountMsat, cltvExpiry, paymentSecret: SECRET, totalMsat, forwardMsat: amountMsat, outgoingCltv: cltvExpiry, paymentMetadata: undefined };
  }
}

export function describeEvent(e: RelayEvent): string {
  switch (e.type) {
    case 'htlc': {
      const p = e.part;
      return `htlc ${short(partKey(p))} ${p.amountMsat} cltv ${p.cltvExpiry} @${p.height}`;
    }
    case 'timer':
      return `timer ${e.timer}`;
    case 'pay_result':
      return e.result.ok ? 'pay_result ok' : `pay_result ${e.result.definite ? 'FAILED' : 'indefinite'} (${e.result.message.slice(0, 40)})`;
    case 'outgoing_status':
      return `outgoing_status [${e.parts.map((p) => p.status).join(',')}]`;
    case 'block':
      return `block ${e.height}`;
    case 'requery':
      return 'requery';
    case 'startup':
      return 'startup';
    case 'persist_failed':
      return 'persist_failed';
    default:
      return 'unknown';
  }
}

export function describeEffect(e: Effect): string {
  switch (e.type) {
    case 'hold':
      return `hold ${short(e.part)}`;
    case 'resolve':
      return `RESOLVE ${short(e.part)}`;
    case 'fail':
      return `FAIL ${short(e.part)} ${e.failureMessage.slice(0, 4)} (${e.reason.slice(0, 50)})`;
    case 'persist':
      return `persist ${e.record.state}`;
    case 'checkpoint':
      return 'checkpoint';
    case 'pay':
      return `PAY maxdelay ${e.maxdelay}`;
    case 'close_route':
      return 'close_route';
    case 'query_outgoing':
      return 'query';
    case 'start_timer':
      return `start ${e.timer} ${e.ms}`;
    case 'cancel_timer':
      return `cancel ${e.timer}`;
    case 'log':
      return e.level === 'error' || e.level === 'warn' ? `log ${e.level}: ${e.message.slice(0, 60)}` : '';
    default:
      return '';
  }
}
