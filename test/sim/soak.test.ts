/**
 * The chaos soak (src/simnet/soak/): its fault plans repeat from a seed, its
 * audit counts every shortfall over the HTLC history, and a short run of it on
 * the simulated network loses nothing, leaves nothing stuck and closes no channel.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerEntry, LedgerKind } from '../../src/simnet/ledger.js';
import { auditPayment, type PaymentTerms } from '../../src/simnet/soak/audit.js';
import { planPayment } from '../../src/simnet/soak/plan.js';
import { runSoak } from '../../src/simnet/soak/engine.js';
import { soakSummary } from '../../src/simnet/soak/summary.js';

const HASH = 'ab'.repeat(32);

/** Terms with distinctive numbers: Carol 100 003 sat, Bob payout 5 007 + fee 1 009, Alice payout 2 011 + fee 1 013. */
const TERMS: PaymentTerms = {
  paymentHash: HASH,
  names: { payer: 'payer0', alice: 'alice', bob: 'bob', carol: 'carol' },
  carolAmountMsat: 100_003_000n,
  bobAmountMsat: 106_019_000n,
  aliceAmountMsat: 109_043_000n,
  payoutMsat: { alice: 2_011_000n, bob: 5_007_000n },
  feeBudgetMsat: { alice: 1_013_000n, bob: 1_009_000n },
};

let seq = 0;
function entry(kind: LedgerKind, from: string, to: string, amountMsat: bigint): LedgerEntry {
  return { seq: seq++, atMs: 0, height: 110, kind, paymentHash: HASH, from, to, channel: '1x1x0', channelId: '00', htlcId: 0n, amountMsat, cltvExpiry: 200 };
}

/** The HTLCs of a whole chain, each added then settled (or failed) hop by hop. */
function hops(outcome: (hop: string) => LedgerKind): LedgerEntry[] {
  const list: Array<[string, string, bigint]> = [
    ['payer0', 'alice', TERMS.aliceAmountMsat],
    ['alice', 'bob', TERMS.bobAmountMsat],
    ['bob', 'carol', TERMS.carolAmountMsat],
  ];
  return [...list.map(([f, t, a]) => entry('add', f, t, a)), ...list.reverse().map(([f, t, a]) => entry(outcome(`${f}-${t}`), f, t, a))];
}

describe('soak fault plans', () => {
  test('the same seed gives the same plan for each payment, another seed another one', () => {
    const a = Array.from({ length: 20 }, (_, i) => planPayment(17, i, { withClosing: false }));
    const b = Array.from({ length: 20 }, (_, i) => planPayment(17, i, { withClosing: false }));
    const c = Array.from({ length: 20 }, (_, i) => planPayment(18, i, { withClosing: false }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('closing faults only with --with-closing; every fault has a phase and a node', () => {
    const plans = Array.from({ length: 300 }, (_, i) => planPayment(3, i, { withClosing: false }));
    assert.equal(plans.flatMap((p) => p.faults).filter((f) => f.kind === 'closing').length, 0);
    const closing = Array.from({ length: 300 }, (_, i) => planPayment(3, i, { withClosing: true }));
    assert.ok(closing.flatMap((p) => p.faults).some((f) => f.kind === 'closing'));
    for (const f of plans.flatMap((p) => p.faults)) assert.ok(f.phase && f.node, f.id);
  });

  test('the regtest vocabulary draws only faults real lightningd can be given, on the same amounts as the simulated plan, and offers for about a quarter of the payments', () => {
    const real = new Set(['kill_rdv', 'crash', 'restart', 'stall', 'invoice_deleted', 'payee_fails', 'disconnect', 'block_burst']);
    for (let i = 0; i < 300; i++) {
      const sim = planPayment(11, i, { withClosing: false });
      const reg = planPayment(11, i, { withClosing: false, vocabulary: 'regtest' });
      assert.deepEqual([reg.carolSat, reg.payoutSat, reg.feeBudgetSat, reg.payerChannelsSat], [sim.carolSat, sim.payoutSat, sim.feeBudgetSat, sim.payerChannelsSat], `payment ${i}`);
      for (const f of reg.faults) assert.ok(real.has(f.kind), `${f.id}: ${f.kind}`);
      for (const f of sim.faults) assert.ok(f.kind !== 'disconnect' && f.kind !== 'payee_fails', `${f.id}: ${f.kind} in a simulated plan`);
    }
    const offers = Array.from({ length: 300 }, (_, i) => planPayment(11, i, { withClosing: false, vocabulary: 'regtest' })).filter((p) => p.offer).length;
    assert.ok(offers >= 50 && offers <= 100, `${offers} of 300 regtest payments through an offer`);
    const kinds = new Set(Array.from({ length: 300 }, (_, i) => planPayment(11, i, { withClosing: false, vocabulary: 'regtest' }).faults.map((f) => f.kind)).flat());
    assert.deepEqual([...kinds].sort(), [...real].sort());
  });
});

describe('soak summary line', () => {
  test('both modes print the same keys in the same order; a mode\'s own keys come last', () => {
    const figures = { seed: 7, payments: 0, concurrency: 1, faultsByKind: {}, faultsByPhase: {}, faultsSkipped: {}, networkEvents: {}, verdicts: [], stuckHtlcs: 0, forceCloses: 0, recordMismatches: 0, setupFailed: 0, withClosing: false, blocks: 0, htlcs: 0, durationS: 1.26 };
    const keys = ['name', 'seed', 'payments', 'concurrency', 'faults', 'settled', 'failed_back', 'lost_msat', 'stuck_htlcs', 'force_closes', 'faults_by_kind', 'faults_by_phase', 'faults_skipped', 'network_events', 'preimage_leaks', 'payee_expiries', 'anomalies', 'record_mismatches', 'setup_failed', 'with_closing', 'blocks', 'htlcs', 'duration_s'];
    assert.deepEqual(Object.keys(soakSummary(figures)), keys);
    const regtest = soakSummary(figures, { mode: 'regtest' });
    assert.deepEqual(Object.keys(regtest), [...keys, 'mode']);
    assert.equal(regtest.duration_s, 1.3);
  });
});

describe('soak ledger audit', () => {
  const cases: Array<{ description: string; given: LedgerEntry[]; expected: { outcome: string; lostMsat: bigint; preimageRevealed: boolean; anomalies: number } }> = [
    {
      description: 'settled end to end: each relay keeps payout + fee budget, nothing lost',
      given: hops(() => 'settle'),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: 0 },
    },
    {
      description: 'failed back end to end: everyone at 0',
      given: hops(() => 'fail'),
      expected: { outcome: 'failed_back', lostMsat: 0n, preimageRevealed: false, anomalies: 0 },
    },
    {
      description: 'Carol paid but Alice failed the payer back: Alice is short by her payout plus what she paid Bob',
      given: hops((h) => (h === 'payer0-alice' ? 'fail' : 'settle')),
      expected: { outcome: 'settled', lostMsat: 2_011_000n + 106_019_000n, preimageRevealed: false, anomalies: 1 },
    },
    {
      description: "Bob's incoming HTLC expired while Carol settled his: Bob is short by payout + what he paid; Alice kept the lot (an anomaly, not a loss)",
      given: hops((h) => (h === 'alice-bob' ? 'expire' : 'settle')),
      expected: { outcome: 'settled', lostMsat: 5_007_000n + 100_003_000n, preimageRevealed: false, anomalies: 2 },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const v = auditPayment(TERMS, c.given);
      assert.deepEqual({ outcome: v.outcome, lostMsat: v.lostMsat, preimageRevealed: v.preimageRevealed, anomalies: v.anomalies.length }, c.expected, JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
    });
  }

  test('a failed payment one of whose HTLCs was settled gave the preimage away', () => {
    // Carol answered after the HTLC had expired: no money moved, but the preimage is out.
    const onlyLast = [entry('add', 'bob', 'carol', 1n), entry('late_settle', 'bob', 'carol', 1n)];
    const v = auditPayment(TERMS, onlyLast);
    assert.deepEqual([v.outcome, v.preimageRevealed, v.lostMsat], ['failed_back', true, 0n]);
  });

  test('a relay HTLC that expired counts as a force close; one at Carol as a payee expiry', () => {
    const v = auditPayment(TERMS, [entry('add', 'payer0', 'alice', 7n), entry('expire', 'payer0', 'alice', 7n), entry('add', 'bob', 'carol', 3n), entry('expire', 'bob', 'carol', 3n)]);
    assert.deepEqual([v.relayExpiries, v.payeeExpiries, v.lostMsat], [1, 1, 0n]);
  });
});

describe('a short chaos soak', () => {
  // The timeout is there for a hang, not a pace: about 30 s on an idle two-core machine,
  // and 90 s (the old timeout, which then failed the test) beside other suites and busy loops.
  test('8 payments, seed 256, 4 at a time: no msat lost, no HTLC stuck, no force close, no preimage given away', { timeout: 600_000 }, async () => {
    const r = await runSoak({ payments: 8, seed: 256, concurrency: 4, withClosing: false, blockIntervalMs: 2_000 });
    const s = r.summary;
    const detail = `${JSON.stringify(s)}\n${r.setupFailures.map((f) => `setup of payment ${f.index} failed: ${f.error}`).join('\n')}\n${r.bad.map((b) => b.dump).join('\n\n')}`;
    assert.deepEqual([s.lost_msat, s.stuck_htlcs, s.force_closes, s.preimage_leaks, s.payee_expiries, s.setup_failed], [0, 0, 0, 0, 0, 0], detail);
    assert.equal(s.payments, 8);
    assert.ok(Number(s.faults) >= 8, `only ${String(s.faults)} faults injected\n${detail}`);
    assert.ok(r.ok);
  });
});
