/**
 * The commands of the model-based relay test: what the world may do next, each
 * with a readable toString so that a shrunk failure reads as a script.
 *
 * Why fast-check (dubzzz/fast-check): it generates random command sequences and
 * runs them with fc.modelRun, SHRINKS a failing sequence to a minimal one with a
 * shrinker made for command lists, prints the seed and path to replay it exactly,
 * and is well maintained and typed. A hand-made random walk (like the one in
 * relay.test.ts) finds bugs but leaves a 40-step history to read by hand.
 */
import fc from 'fast-check';
import { msat, type Msat } from '../../src/chain/amount.js';
import { World, WRONG_SECRET, type RestartOptions } from './relay-world.js';

type Cmd = fc.Command<World, World>;

const INVOICE_MSAT = 106_000_000n;

/** The payer sends a set of parts for our invoice (total = amount + overpay), some now, the rest later (PayerRest). */
export class PayerSends implements Cmd {
  constructor(readonly p: { weights: number[]; channels: number[]; extras: number[]; overpayMsat: bigint; now: number; whileHeld: boolean }) {}
  check(w: World): boolean {
    // A payer sends again while its earlier HTLCs are still held only sometimes (a retry, or an upstream misbehaving).
    return w.sets < 4 && (this.p.whileHeld || !w.htlcs.some((h) => h.status === 'waiting' || h.status === 'upstream'));
  }
  run(w: World): void {
    w.sets++;
    const total = msat(INVOICE_MSAT + this.p.overpayMsat);
    const sum = this.p.weights.reduce((a, b) => a + b, 0);
    let left = total as bigint;
    const made = this.p.weights.map((wt, i) => {
      const amount = i === this.p.weights.length - 1 ? left : (total * BigInt(wt)) / BigInt(sum);
      left -= amount;
      const channel = w.channels[this.p.channels[i] ?? 0] ?? w.channels[0];
      if (!channel) throw new Error('no channel');
      return w.newHtlc(channel, w.validFields(msat(amount), total, this.p.extras[i] ?? 0), `s${w.sets}`);
    });
    w.note(`payer sends set ${w.sets}: ${made.map((h) => `${h.label} ${h.amountMsat} cltv ${h.cltvExpiry}`).join(', ')} (now ${Math.min(this.p.now, made.length)})`);
    for (const h of made.slice(0, this.p.now)) w.hookCall(h);
  }
  toString(): string {
    return `PayerSends(weights=${this.p.weights.join('/')} on ${this.p.channels.map((c) => 'ABC'[c]).join('')} cltv+${this.p.extras.join('/')}${this.p.overpayMsat ? ` overpay ${this.p.overpayMsat}` : ''} now=${this.p.now}${this.p.whileHeld ? ' whileHeld' : ''})`;
  }
}

export class PayerRest implements Cmd {
  check(w: World): boolean {
    return w.htlcs.some((h) => h.status === 'upstream');
  }
  run(w: World): void {
    for (const h of w.htlcs.filter((x) => x.status === 'upstream')) w.hookCall(h);
  }
  toString(): string {
    return 'PayerRest';
  }
}

export type ProbeKind = 'wrongSecret' | 'lowCltv' | 'withinCltvFinal' | 'forwardAbove' | 'outgoingCltvAbove' | 'metadata' | 'totalLow' | 'totalHigh' | 'extra';

/** One odd HTLC for our hash: a probe, or a late extra part with our secret. */
export class Probe implements Cmd {
  constructor(readonly p: { kind: ProbeKind; channel: number; amountMsat: bigint; extra: number }) {}
  check(): boolean {
    return true;
  }
  run(w: World): void {
    const channel = w.channels[this.p.channel] ?? w.channels[0];
    if (!channel) throw new Error('no channel');
    const amount = msat(this.p.amountMsat);
    const f = w.validFields(amount, msat(INVOICE_MSAT), this.p.extra);
    switch (this.p.kind) {
      case 'wrongSecret':
        f.paymentSecret = WRONG_SECRET;
        break;
      case 'lowCltv':
        f.cltvExpiry = w.height + 40;
        f.outgoingCltv = f.cltvExpiry;
        break;
      case 'withinCltvFinal':
        f.cltvExpiry = w.height + 10;
        f.outgoingCltv = f.cltvExpiry;
        break;
      case 'forwardAbove':
        f.forwardMsat = msat(amount + 1n);
        break;
      case 'outgoingCltvAbove':
        f.outgoingCltv = f.cltvExpiry + 1;
        break;
      case 'metadata':
        f.paymentMetadata = '01';
        break;
      case 'totalLow':
        f.totalMsat = msat(INVOICE_MSAT - 1n);
        break;
      case 'totalHigh':
        f.totalMsat = msat(INVOICE_MSAT * 2n + 1n);
        break;
      case 'extra':
        break;
    }
    const h = w.newHtlc(channel, f, this.p.kind === 'extra' ? 'x' : 'p');
    w.note(`probe ${this.p.kind}: ${h.label} ${h.amountMsat} cltv ${h.cltvExpiry}`);
    w.hookCall(h);
  }
  toString(): string {
    return `Probe(${this.p.kind} on ${'ABC'[this.p.channel]} ${this.p.amountMsat} cltv+${this.p.extra})`;
  }
}

/** A second hook call for an HTLC that already waits (the runner adds a waiter under the same key). */
export class Duplicate implements Cmd {
  constructor(readonly i: number) {}
  check(w: World): boolean {
    return w.calls.length > 0;
  }
  run(w: World): void {
    const c = w.calls[this.i % w.calls.length];
    if (!c) return;
    const h = w.htlc(c.uid);
    w.note(`duplicate hook call for ${h.label}`);
    w.hookCall(h, true, c.part);
  }
  toString(): string {
    return `Duplicate(${this.i})`;
  }
}

export class Deliver implements Cmd {
  constructor(readonly i: number) {}
  check(w: World): boolean {
    return w.inbox.length > 0;
  }
  run(w: World): void {
    w.deliverPending(this.i);
  }
  toString(): string {
    return `Deliver(${this.i})`;
  }
}

/** lightningd answers the pending listsendpays now; the runner sees the answer only when Deliver brings it. */
export class AnswerQuery implements Cmd {
  check(w: World): boolean {
    return w.inbox.some((p) => p.kind === 'query' && p.answer === undefined);
  }
  run(w: World): void {
    w.answerQuery();
  }
  toString(): string {
    return 'AnswerQuery';
  }
}

export class FireTimer implements Cmd {
  constructor(readonly i: number) {}
  check(w: World): boolean {
    return w.timers.size > 0;
  }
  run(w: World): void {
    w.fireTimer(this.i);
  }
  toString(): string {
    return `FireTimer(${this.i})`;
  }
}

export class FlushCheckpoint implements Cmd {
  check(w: World): boolean {
    return w.checkpointPending;
  }
  run(w: World): void {
    w.flushCheckpoint();
  }
  toString(): string {
    return 'FlushCheckpoint';
  }
}

/** The next persist fails (a datastore error, or the CLI wrote the record meanwhile: generation mismatch). */
export class FailNextPersist implements Cmd {
  check(w: World): boolean {
    return !w.failNextPersist;
  }
  run(w: World): void {
    w.failNextPersist = true;
  }
  toString(): string {
    return 'FailNextPersist';
  }
}

export class Restart implements Cmd {
  constructor(readonly o: RestartOptions & { renames: number[] }) {}
  check(): boolean {
    return true;
  }
  run(w: World): void {
    for (const c of this.o.renames) {
      const ch = w.channels[c];
      if (ch) w.rename(ch);
    }
    w.restart(this.o);
  }
  toString(): string {
    const flags = [this.o.fromOldVersion && 'fromOldVersion', this.o.lookupFails && 'lookupFails', this.o.reverse && 'reverse', this.o.lostAnswers > 0 && `lostAnswers ${this.o.lostAnswers}`, this.o.renames.length > 0 && `rename ${this.o.renames.map((c) => 'ABC'[c]).join('')}`].filter(Boolean);
    return `Restart(${flags.join(', ')})`;
  }
}

export class Rename implements Cmd {
  constructor(readonly channel: number) {}
  check(): boolean {
    return true;
  }
  run(w: World): void {
    const ch = w.channels[this.channel];
    if (ch) w.rename(ch);
  }
  toString(): string {
    return `Rename(${'ABC'[this.channel]})`;
  }
}

/**
 * `n` blocks. calm: each notification reaches rdv at once and the world is drained
 * after each (blocks are minutes apart). Otherwise a quick burst: lightningd sees
 * them now, rdv when Deliver brings the notifications.
 */
export class Blocks implements Cmd {
  constructor(readonly p: { n: number; calm: boolean; secs: number }) {}
  check(): boolean {
    return true;
  }
  run(w: World): void {
    for (let i = 0; i < this.p.n; i++) {
      if (this.p.calm) w.calmBlock(this.p.secs);
      else w.mineBlock(this.p.secs);
    }
  }
  toString(): string {
    return `Blocks(${this.p.n}${this.p.calm ? ' calm' : ' burst'}, ${this.p.secs}s each)`;
  }
}

/** xpay routes and injects an attempt (only while rdv has seen all but at most the last block). */
export class XpayAttempt implements Cmd {
  constructor(readonly p: { parts: number; feeMsat: bigint }) {}
  check(w: World): boolean {
    const x = w.runningXpay();
    return x !== undefined && w.canRouteNow(x) && !w.out.some((o) => o.xpay === x.n && o.status === 'pending');
  }
  run(w: World): void {
    const x = w.runningXpay();
    if (x) w.inject(x, this.p.parts, this.fee(w));
  }
  fee(w: World): Msat {
    return msat(this.p.feeMsat > w.record.feeBudgetMsat ? w.record.feeBudgetMsat : this.p.feeMsat);
  }
  toString(): string {
    return `XpayAttempt(${this.p.parts} part(s), fee ${this.p.feeMsat})`;
  }
}

/** xpay gives up: a definite failure (maybe while a part is still pending). */
export class XpayGiveUp implements Cmd {
  check(w: World): boolean {
    return w.runningXpay() !== undefined;
  }
  run(w: World): void {
    const x = w.runningXpay();
    if (!x) return;
    w.openLateWindow(x);
    w.note(`xpay x${x.n} gives up`);
    w.answerXpay(x, { ok: false, definite: true, message: 'Destination said it does not know invoice (code 203)' });
  }
  toString(): string {
    return 'XpayGiveUp';
  }
}

/** Right after answering, xpay injects an attempt it had routed before (once). */
export class XpayLateInject implements Cmd {
  check(w: World): boolean {
    return w.xpays.some((x) => w.lateOpen(x));
  }
  run(w: World): void {
    const x = w.xpays.find((y) => w.lateOpen(y));
    if (!x) return;
    x.lateUsed = true;
    w.note(`xpay x${x.n} late inject`);
    w.inject(x, 1, msat(0n), x.lateHeight);
  }
  toString(): string {
    return 'XpayLateInject';
  }
}

/**
 * rdv's RPC connection drops while xpay runs: rdv gets an error (indefinite);
 * xpay goes on in lightningd, its result lost. The runner leaves the attempt's
 * layer alone (removing it under a running getroutes makes askrene abort), so
 * xpay may go on routing new attempts until its retry_for is over, or until the
 * relay closes its route.
 */
export class XpayConnLost implements Cmd {
  check(w: World): boolean {
    const x = w.runningXpay();
    return x !== undefined && !x.connLost;
  }
  run(w: World): void {
    const x = w.runningXpay();
    if (!x) return;
    w.inbox.push({ kind: 'pay_result', xpay: x.n, result: { ok: false, definite: false, message: 'lost the connection to lightningd' } });
    x.connLost = true;
    w.note(`xpay x${x.n}: rdv lost its connection; xpay goes on, its layer kept`);
  }
  toString(): string {
    return 'XpayConnLost';
  }
}

/** The xpay plugin dies (-4): no more attempts; its parts stay pending. */
export class XpayCrash implements Cmd {
  check(w: World): boolean {
    return w.runningXpay() !== undefined;
  }
  run(w: World): void {
    const x = w.runningXpay();
    if (!x) return;
    w.answerXpay(x, { ok: false, definite: false, message: 'Plugin terminated before replying to RPC call. (code -4)' });
    x.state = 'dead';
    w.note(`xpay x${x.n} crashed`);
  }
  toString(): string {
    return 'XpayCrash';
  }
}

/** The downstream settles (when the pending parts cover the amount) or fails a pending part. */
export class Downstream implements Cmd {
  constructor(readonly p: { i: number; complete: boolean }) {}
  check(w: World): boolean {
    return w.out.some((o) => o.status === 'pending');
  }
  run(w: World): void {
    const pending = w.out.filter((o) => o.status === 'pending');
    const part = pending[this.p.i % pending.length];
    if (part) w.resolveOut(part, this.p.complete ? 'complete' : 'fail');
  }
  toString(): string {
    return `Downstream(${this.p.i}, ${this.p.complete ? 'complete' : 'fail'})`;
  }
}

/** The happy path, one stretch of it: deliver what is pending, and let a running xpay with nothing pending make an attempt. */
export class Advance implements Cmd {
  check(w: World): boolean {
    return w.inbox.length > 0 || new XpayAttempt({ parts: 1, feeMsat: 0n }).check(w);
  }
  run(w: World): void {
    for (let i = 0; i < 20 && w.inbox.length > 0; i++) w.deliverPending(0);
    const attempt = new XpayAttempt({ parts: 1, feeMsat: 1_111n });
    if (attempt.check(w)) attempt.run(w);
  }
  toString(): string {
    return 'Advance';
  }
}

export class Quiesce implements Cmd {
  check(): boolean {
    return true;
  }
  run(w: World): void {
    w.quiesce();
  }
  toString(): string {
    return 'Quiesce';
  }
}

const channel = fc.integer({ min: 0, max: 2 });

/**
 * How a run's world behaves. `mixed`: everything, weighted towards moving a payment
 * along. `deadline`: the downstream never settles nor fails a part by itself (it
 * holds them until they expire) and blocks come in larger numbers, so the held
 * HTLCs get close to their deadlines. `restarts`: many restarts, renames, lost
 * answers and written checkpoints (the replays and part identities).
 */
export type Profile = 'mixed' | 'deadline' | 'restarts';

/**
 * Every command, weighted by `profile`. `without` leaves some out by class name, or
 * a Restart flag (fromOldVersion, lookupFails), `lookalike` (no two channels'
 * HTLCs share an id), or `softN` (invariant N only counted), to look past a known
 * finding: `npm run fuzz -- --without XpayConnLost`.
 */
export function commandArbitraries(profile: Profile = 'mixed', without: readonly string[] = []): fc.Arbitrary<Cmd>[] {
  const deadline = profile === 'deadline';
  const restarts = profile === 'restarts';
  const payerSends = fc.integer({ min: 1, max: 4 }).chain((n) =>
    fc
      .record({
        weights: fc.array(fc.constantFrom(1, 1, 2, 3), { minLength: n, maxLength: n }),
        channels: fc.array(channel, { minLength: n, maxLength: n }),
        extras: fc.array(fc.constantFrom(0, 0, 1, 5), { minLength: n, maxLength: n }),
        overpayMsat: fc.constantFrom(0n, 0n, 0n, 7_777n),
        now: fc.constantFrom(n, n, n, n - 1),
        whileHeld: fc.constantFrom(false, false, false, true),
      })
      .map((p) => new PayerSends(p)),
  );
  const probe = fc
    .record({
      kind: fc.constantFrom<ProbeKind>('wrongSecret', 'lowCltv', 'withinCltvFinal', 'forwardAbove', 'outgoingCltvAbove', 'metadata', 'totalLow', 'totalHigh', 'extra', 'extra', 'extra'),
      channel,
      amountMsat: fc.constantFrom(1_000n, 35_333_333n, 53_000_000n, 106_000_000n),
      extra: fc.constantFrom(0, 1, 5),
    })
    .map((p) => new Probe(p));
  const restart = fc
    .record({
      fromOldVersion: without.includes('fromOldVersion') ? fc.constant(false) : fc.boolean(),
      lookupFails: without.includes('lookupFails') ? fc.constant(false) : fc.constantFrom(false, false, false, true),
      reverse: fc.boolean(),
      renames: fc.constantFrom<number[]>([], [], [], [0], [1], [0, 2]),
      lostAnswers: fc.constantFrom(0, 0, 0, 1, 3),
    })
    .map((o) => new Restart(o));
  const blocks = fc
    .oneof(
      { weight: 4, arbitrary: fc.record({ n: deadline ? fc.constantFrom(1, 5, 10, 20, 30) : fc.constantFrom(1, 1, 2, 5, 10, 20), calm: fc.constant(true), secs: fc.constantFrom(1, 60, 600) }) },
      { weight: 1, arbitrary: fc.record({ n: fc.constantFrom(1, 2, 3), calm: fc.constant(false), secs: fc.constantFrom(1, 30) }) },
    )
    .map((p) => new Blocks(p));
  const index = fc.nat({ max: 7 });
  const all: Array<{ name: string; weight: number; arbitrary: fc.Arbitrary<Cmd> }> = [
      { name: 'PayerSends', weight: 5, arbitrary: payerSends },
      { name: 'PayerRest', weight: 1, arbitrary: fc.constant(new PayerRest()) },
      { name: 'Probe', weight: 2, arbitrary: probe },
      { name: 'Duplicate', weight: 1, arbitrary: index.map((i) => new Duplicate(i)) },
      { name: 'Deliver', weight: 12, arbitrary: index.map((i) => new Deliver(i)) },
      { name: 'FireTimer', weight: 4, arbitrary: index.map((i) => new FireTimer(i)) },
      { name: 'AnswerQuery', weight: 2, arbitrary: fc.constant(new AnswerQuery()) },
      { name: 'FlushCheckpoint', weight: restarts ? 4 : 2, arbitrary: fc.constant(new FlushCheckpoint()) },
      { name: 'Restart', weight: restarts ? 10 : 3, arbitrary: restart },
      { name: 'FailNextPersist', weight: 1, arbitrary: fc.constant(new FailNextPersist()) },
      { name: 'Rename', weight: restarts ? 3 : 1, arbitrary: channel.map((c) => new Rename(c)) },
      { name: 'Blocks', weight: deadline ? 8 : 4, arbitrary: blocks },
      { name: 'XpayAttempt', weight: 5, arbitrary: fc.record({ parts: fc.constantFrom(1, 1, 2), feeMsat: fc.constantFrom(0n, 11n, 999_999n, 1_000_000n) }).map((p) => new XpayAttempt(p)) },
      { name: 'XpayGiveUp', weight: deadline ? 1 : 2, arbitrary: fc.constant(new XpayGiveUp()) },
      { name: 'XpayLateInject', weight: 2, arbitrary: fc.constant(new XpayLateInject()) },
      { name: 'XpayConnLost', weight: 1, arbitrary: fc.constant(new XpayConnLost()) },
      { name: 'XpayCrash', weight: 1, arbitrary: fc.constant(new XpayCrash()) },
      { name: 'Downstream', weight: deadline ? 0 : 5, arbitrary: fc.record({ i: index, complete: fc.boolean() }).map((p) => new Downstream(p)) },
      { name: 'Quiesce', weight: 2, arbitrary: fc.constant(new Quiesce()) },
      { name: 'Advance', weight: 4, arbitrary: fc.constant(new Advance()) },
  ];
  return [fc.oneof(...all.filter((c) => c.weight > 0 && !without.includes(c.name)).map(({ weight, arbitrary }) => ({ weight, arbitrary })))];
}

/** One history: the commands, then the end of the run (the downstream decides the rest), then conservation. */
export function relayModelProperty(
  maxCommands: number,
  profile: Profile = 'mixed',
  without: readonly string[] = [],
  replayPath?: string,
): fc.IPropertyWithHooks<[Iterable<Cmd>, boolean]> {
  // replayPath: fc.commands' own part of a replay (printed as /*replayPath="..."*/ in a counterexample).
  const constraints = { maxCommands, size: 'max' as const, ...(replayPath ? { replayPath } : {}) };
  return fc.property(fc.commands(commandArbitraries(profile, without), constraints), fc.boolean(), (cmds, succeed) => {
    const world = new World({ distinctHtlcIds: without.includes('lookalike'), soft: without.flatMap((w) => (w.startsWith('soft') ? [w.slice(4)] : [])) });
    fc.modelRun(() => ({ model: world, real: world }), cmds);
    world.finish(succeed);
  });
}
