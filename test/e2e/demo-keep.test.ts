/**
 * `rdv demo --regtest --keep` on real CLN: the demo's nodes outlive it, so a new
 * operator can look around with rdv status and rdv doctor, then stop them by PID.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { isObject } from '../../src/chain/read.js';
import { isAlive, poll } from '../../src/regtest/process.js';
import { at, runRdv } from '../helpers/rdv.js';
import { e2eBinaries } from './lib.js';

const { bins, skip } = e2eBinaries();

describe('rdv demo --regtest --keep on real CLN', { skip }, () => {
  let pids: number[] = [];
  after(async () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
    await poll('the kept demo processes to stop', () => (pids.every((p) => !isAlive(p)) ? true : undefined), 30_000).catch(() => {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
  });

  test('the demo exits 0, its bitcoind and lightningd keep running, and rdv status and rdv doctor work on a payee', async () => {
    const env = { RDV_LIGHTNINGD: bins?.lightningd ?? '', RDV_BITCOIND: bins?.bitcoind ?? '' };
    const demo = await runRdv(['--json', 'demo', '--regtest', '--keep'], { env, timeoutMs: 240_000 });
    assert.equal(demo.code, 0, `demo exited ${demo.code}\n${demo.stderr}`);
    const out: unknown = JSON.parse(demo.stdout);
    assert.ok(isObject(out) && isObject(out.kept), 'demo --json says what it kept');
    const kept = out.kept as { nodes: Array<{ name: string; lightning_dir: string }>; pids: number[] };
    pids = kept.pids;
    assert.equal(kept.nodes.length, 4, 'payer and three payees');
    assert.equal(pids.length, 5, 'bitcoind and four lightningd');
    for (const pid of pids) assert.ok(isAlive(pid), `pid ${pid} is still running after the demo exited`);

    const first = kept.nodes[1];
    assert.ok(first);
    const status = await runRdv(['--json', ...at({ dir: first.lightning_dir }), 'status']);
    assert.equal(status.code, 0, status.stderr);
    const records = (JSON.parse(status.stdout) as { records: Array<{ state: string; role: string }> }).records;
    assert.deepEqual(
      records.map((r) => [r.role, r.state]),
      [['relay', 'settled']],
      "the first payee's record of the demo's payment",
    );

    const doctor = await runRdv(['--json', ...at({ dir: first.lightning_dir }), 'doctor']);
    const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; message: string }> }).checks;
    const failing = checks.filter((c) => c.status === 'fail');
    assert.deepEqual(failing, [], `doctor on a demo payee: ${doctor.stdout}`);
    assert.equal(doctor.code, 0);
    assert.ok(checks.length >= 8, `doctor ran ${checks.length} checks`);
  });
});
