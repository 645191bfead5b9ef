/**
 * `rdv demo --regtest --serve` on real CLN: the marketplace story end to end,
 * a wallet paying the first payee's Lightning Address (rdv serve, its own
 * process) and three payees paid by that one payment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isObject } from '../../src/chain/read.js';
import { runRdv } from '../helpers/rdv.js';
import { e2eBinaries } from './lib.js';

const { bins, skip } = e2eBinaries();

describe('rdv demo --regtest --serve on real CLN', { skip }, () => {
  test('a wallet pays shop@127.0.0.1:<port>; alice, bob and carol are paid; verify says settled; the demo exits 0 and keeps nothing without --keep', async () => {
    const env = { RDV_LIGHTNINGD: bins?.lightningd ?? '', RDV_BITCOIND: bins?.bitcoind ?? '' };
    const demo = await runRdv(['--json', 'demo', '--regtest', '--serve'], { env, timeoutMs: 300_000 });
    assert.equal(demo.code, 0, `demo exited ${demo.code}\n${demo.stderr}`);
    const out: unknown = JSON.parse(demo.stdout);
    assert.ok(isObject(out));
    assert.deepEqual([out.network, out.settled, out.verified, out.payer_paid_msat], ['regtest', true, true, 108_690_000]);
    assert.match(String(out.lightning_address), /^shop@127\.0\.0\.1:\d+$/);
    assert.deepEqual(out.payees, [
      { name: 'alice', role: 'relay', received_msat: 108_690_000, paid_on_msat: 105_690_000, kept_msat: 3_000_000 },
      { name: 'bob', role: 'relay', received_msat: 105_690_000, paid_on_msat: 99_690_000, kept_msat: 6_000_000 },
      { name: 'carol', role: 'last', received_msat: 99_690_000, paid_on_msat: 0, kept_msat: 99_690_000 },
    ]);
    assert.equal(out.kept, undefined, 'without --keep nothing is left running');
  });
});
