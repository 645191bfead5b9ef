/**
 * The pieces both chaos soaks share (src/simnet/soak/: blocks.ts, report.ts,
 * run.ts, pool.ts): when the stall valve ends a stall, which payments are bad and
 * shown, faults set off once per phase, the payer's retries, the payment pool.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PaymentVerdict } from '../../src/simnet/soak/audit.js';
import { addedNearDeadline, settledNearDeadline, stallDue, type Stall } from '../../src/simnet/soak/blocks.js';
import { planPayment, type FaultPlan, type PaymentPlan } from '../../src/simnet/soak/plan.js';
import { runPool } from '../../src/simnet/soak/pool.js';
import { isBad, sortOut } from '../../src/simnet/soak/report.js';
import { newRun, payWithRetries, reachPhase, type PaymentRun } from '../../src/simnet/soak/run.js';

const HASH = 'cd'.repeat(32);

function makeRun(plan: Partial<PaymentPlan> = {}): PaymentRun {
  const base = planPayment(41, 3, { withClosing: false });
  return newRun({
    plan: { ...base, faults: [], retries: 0, retryDelayMs: 1, ...plan },
    hash: HASH,
    bolt11: 'lnbcrt1soak',
    terms: {
      paymentHash: HASH,
      names: { payer: 'payer3', alice: 'alice', bob: 'bob', carol: 'carol' },
      aliceAmountMsat: 109_043_000n,
      bobAmountMsat: 106_019_000n,
      carolAmountMsat: 100_003_000n,
      payoutMsat: { alice: 2_011_000n, bob: 5_007_000n },
      feeBudgetMsat: { alice: 1_013_000n, bob: 1_009_000n },
    },
    startedMs: 17,
  });
}

function fault(id: string, over: Partial<FaultPlan> = {}): FaultPlan {
  return { id, kind: 'crash', node: 'bob', phase: 'bob_holds', delayMs: 0, ms: 1, blocks: 0, thenRestart: false, afterMs: 0, ...over };
}

function verdict(over: Partial<PaymentVerdict> = {}): PaymentVerdict {
  return { paymentHash: HASH, outcome: 'settled', netMsat: { payer: 0n, alice: 0n, bob: 0n, carol: 0n }, shortfalls: [], lostMsat: 0n, preimageRevealed: false, relayExpiries: 0, payeeExpiries: 0, anomalies: [], ...over };
}

describe('the stall valve (stallDue)', () => {
  const cases: Array<{ description: string; given: { sinceHeight: number; blocks: number; next: number; expiries: number[] }; expected: string | undefined }> = [
    { description: 'its block count reached', given: { sinceHeight: 131, blocks: 3, next: 134, expiries: [170] }, expected: 'after 3 block(s)' },
    { description: 'one block short of its count', given: { sinceHeight: 131, blocks: 3, next: 133, expiries: [170] }, expected: undefined },
    { description: 'the next block brings an HTLC within the valve of its expiry', given: { sinceHeight: 131, blocks: 0, next: 134, expiries: [170, 137] }, expected: 'near its expiry' },
    { description: 'one block further from the expiry than the valve', given: { sinceHeight: 131, blocks: 0, next: 134, expiries: [138] }, expected: undefined },
    { description: 'no block count and no HTLC held: only its time ends it', given: { sinceHeight: 131, blocks: 0, next: 999, expiries: [] }, expected: undefined },
    { description: 'near the expiry wins over the count', given: { sinceHeight: 131, blocks: 2, next: 134, expiries: [136] }, expected: 'near its expiry' },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const stall: Stall<PaymentRun> = { run: makeRun(), sinceHeight: c.given.sinceHeight, blocks: c.given.blocks, timer: setTimeout(() => undefined, 0) };
      clearTimeout(stall.timer);
      assert.equal(stallDue(stall, c.given.next, c.given.expiries, 3)?.why, c.expected);
    });
  }
});

describe("the regtest soak's removal valve (settledNearDeadline): Carol's settled HTLC leaves her channel before lightningd's on-chain deadline", () => {
  const none = new Set<string>();
  const row = (paymentHash: string, state: string, expiry: number, direction: 'in' | 'out' = 'in') => ({ paymentHash, direction, state, expiry });
  test('an incoming HTLC she has fulfilled, Bob away, the next block 5 from its expiry: wait for it; 6 away: mine', () => {
    assert.deepEqual(settledNearDeadline([row('aa', 'SENT_REMOVE_COMMIT', 139)], 134, 5, none), ['aa']);
    assert.deepEqual(settledNearDeadline([row('aa', 'SENT_REMOVE_COMMIT', 140)], 134, 5, none), []);
  });
  test('every removal state until SENT_REMOVE_ACK_REVOCATION (gone from the channel) counts; held (ADD) ones only once their invoice is paid, outgoing ones never', () => {
    const rows = [
      row('a1', 'SENT_REMOVE_HTLC', 135),
      row('a2', 'RCVD_REMOVE_REVOCATION', 135),
      row('a3', 'RCVD_REMOVE_ACK_COMMIT', 135),
      row('b1', 'SENT_REMOVE_ACK_REVOCATION', 135),
      row('b2', 'RCVD_ADD_ACK_REVOCATION', 135),
      row('b3', 'SENT_REMOVE_COMMIT', 135, 'out'),
    ];
    assert.deepEqual(settledNearDeadline(rows, 134, 5, none), ['a1', 'a2', 'a3']);
    assert.deepEqual(addedNearDeadline(rows, 134, 5), ['b2']);
  });
  test('still added, but her invoice is paid (Bob was away when she settled): lightningd has the preimage, so wait for it too', () => {
    const rows = [row('cc', 'RCVD_ADD_ACK_REVOCATION', 137), row('dd', 'RCVD_ADD_ACK_REVOCATION', 137)];
    assert.deepEqual(settledNearDeadline(rows, 134, 5, new Set(['cc'])), ['cc']);
  });
  test('two parts of one payment: its hash once', () => {
    assert.deepEqual(settledNearDeadline([row('aa', 'SENT_REMOVE_HTLC', 136), row('aa', 'SENT_REMOVE_COMMIT', 137)], 134, 5, none), ['aa']);
  });
});

describe('bad and shown payments (report.ts)', () => {
  test('lost msat, a stuck HTLC, an expiry at a relay or the payee, or a preimage given away make a payment bad; an anomaly alone does not', () => {
    assert.equal(isBad(verdict(), 0), false);
    assert.equal(isBad(verdict({ anomalies: ['kept 7 msat more'] }), 0), false);
    assert.equal(isBad(verdict({ lostMsat: 1n }), 0), true);
    assert.equal(isBad(verdict(), 1), true);
    assert.equal(isBad(verdict({ relayExpiries: 1 }), 0), true);
    assert.equal(isBad(verdict({ payeeExpiries: 1 }), 0), true);
    assert.equal(isBad(verdict({ outcome: 'failed_back', preimageRevealed: true }), 0), true);
  });

  test('every run gets a verdict in order; bad ones are dumped, and the good ones asked for are shown', () => {
    const runs = [3, 5, 8].map((index) => ({ ...makeRun(), plan: { ...makeRun().plan, index } }));
    const lost = new Map([[5, 13n]]);
    const dumped: number[] = [];
    const out = sortOut(
      runs,
      (run) => verdict({ lostMsat: lost.get(run.plan.index) ?? 0n }),
      (run) => (run.plan.index === 8 ? 2 : 0),
      [3, 5],
      (run) => {
        dumped.push(run.plan.index);
        return `dump of #${run.plan.index}`;
      },
    );
    assert.deepEqual(out.verdicts.map((v) => v.lostMsat), [0n, 13n, 0n]);
    assert.deepEqual(out.bad.map((b) => [b.index, b.stuck, b.dump]), [[5, 0, 'dump of #5'], [8, 2, 'dump of #8']]);
    assert.deepEqual(out.shown.map((b) => b.index), [3]);
    assert.deepEqual(dumped, [3, 5, 8]);
  });
});

describe('a payment run (run.ts)', () => {
  test('a phase sets off its faults once, however often it is seen, and none once the payment has ended', async () => {
    const run = makeRun({ faults: [fault('3.0', { phase: 'bob_holds' }), fault('3.1', { phase: 'bob_holds' }), fault('3.2', { phase: 'carol_holds' })] });
    const made: string[] = [];
    const inject = async (f: FaultPlan): Promise<void> => {
      made.push(f.id);
    };
    reachPhase(run, 'bob_holds', () => 29, inject);
    reachPhase(run, 'bob_holds', () => 31, inject);
    await Promise.all(run.pending);
    assert.deepEqual(made, ['3.0', '3.1']);
    assert.deepEqual([...run.phases], [['bob_holds', 29]]);
    run.endedMs = 37;
    reachPhase(run, 'carol_holds', () => 41, inject);
    await Promise.all(run.pending);
    assert.deepEqual(made, ['3.0', '3.1']);
    assert.equal(run.phases.has('carol_holds'), false);
  });

  test('a fault that throws is noted on its payment, not thrown', async () => {
    const run = makeRun({ faults: [fault('3.4')] });
    reachPhase(run, 'bob_holds', () => 43, () => Promise.reject(new Error('lightningd went away')));
    await Promise.all(run.pending);
    assert.equal(run.notes.length, 1);
    assert.match(run.notes[0] ?? '', /^43 fault 3\.4 crash threw: Error: lightningd went away/);
  });

  test('the payer pays again after a failure, up to the plan\'s retries, each retry counted as a payer_retry fault', async () => {
    const run = makeRun({ retries: 2 });
    const answers = [{ ok: false as const, message: 'no route' }, { ok: false as const, message: 'WIRE_TEMPORARY_CHANNEL_FAILURE' }, { ok: true as const }];
    let calls = 0;
    await payWithRetries(run, 'payer3', async () => answers[calls++] ?? { ok: true }, () => 53);
    assert.equal(calls, 3);
    assert.deepEqual(run.faults.map((f) => [f.id, f.kind, f.node, f.phase]), [
      ['3.r1', 'payer_retry', 'payer3', 'retry'],
      ['3.r2', 'payer_retry', 'payer3', 'retry'],
    ]);
    assert.deepEqual(run.notes, ['53 payer attempt 1: failed: no route', '53 payer attempt 2: failed: WIRE_TEMPORARY_CHANNEL_FAILURE', '53 payer attempt 3: paid']);
  });

  test('with no retries left, a failure is the last attempt', async () => {
    const run = makeRun({ retries: 1 });
    let calls = 0;
    await payWithRetries(
      run,
      'payer3',
      async () => {
        calls++;
        return { ok: false, message: 'failed' };
      },
      () => 59,
    );
    assert.equal(calls, 2);
    assert.equal(run.faults.length, 1);
  });
});

describe('the payment pool (pool.ts)', () => {
  test('runs the indexes in order, at most `concurrency` at once; a payment that throws is its own failure, and every one counts as done', async () => {
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const failed: Array<[number, string]> = [];
    const done: number[] = [];
    await runPool(
      [7, 2, 11, 5, 13],
      2,
      async (i) => {
        started.push(i);
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        if (i === 11) throw new Error('setup blew up');
      },
      (i, error) => failed.push([i, error]),
      (count) => done.push(count),
    );
    assert.deepEqual(started, [7, 2, 11, 5, 13]);
    assert.equal(most, 2);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.[0], 11);
    assert.match(failed[0]?.[1] ?? '', /^the soak itself failed: Error: setup blew up/);
    assert.deepEqual(done, [1, 2, 3, 4, 5]);
  });
});
