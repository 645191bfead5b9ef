/**
 * Real CLN (regtest): a smoke run of the chaos soak's real mode (src/soak-regtest),
 * two payments and the one fault seed 88 plans for them (kill -9 of Bob's rdv
 * once Bob holds the first payment's HTLC). The full run is
 * `npm run soak -- --regtest --payments 60`, not part of npm test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRegtestSoak } from '../../src/soak-regtest/engine.js';
import { e2eBinaries, KEEP } from './lib.js';

const { skip } = e2eBinaries();

test('the regtest soak, 2 payments, seed 88: the fault is made; no msat lost, nothing stuck, no force close; the books agree', { skip, timeout: 600_000 }, async () => {
  const r = await runRegtestSoak({ payments: 2, seed: 88, concurrency: 1, blockIntervalMs: 2_000, keep: KEEP });
  assert.ok(r.ok, r.ok ? '' : r.error);
  const { summary: s, bad, recordMismatches, balanceMismatches, forceCloses, setupFailures } = r.value;
  const detail = [JSON.stringify(s), ...bad.map((b) => b.dump), ...recordMismatches, ...balanceMismatches, ...forceCloses, ...setupFailures.map((f) => `setup of #${f.index}: ${f.error}`)].join('\n');
  assert.equal(s.mode, 'regtest');
  assert.equal(s.payments, 2, detail);
  assert.deepEqual(
    [s.lost_msat, s.stuck_htlcs, s.force_closes, s.preimage_leaks, s.payee_expiries, s.setup_failed, s.balance_mismatches, s.record_mismatches, s.anomalies],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    detail,
  );
  assert.equal((s.faults_by_kind as Record<string, number>).kill_rdv, 1, detail);
  assert.equal(Number(s.settled) + Number(s.failed_back), 2, detail);
  assert.ok(r.value.ok, detail);
});
