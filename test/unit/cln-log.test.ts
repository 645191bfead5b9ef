/**
 * The relay-turnaround benchmark's reading of a relay's own lightningd log
 * (bench/cln-log.ts), on a real CLN v26.06.6 log: Alice forwards one plain
 * payment and relays one rendez-vous (test/fixtures/cln-log-v26.06).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { summarise, turnarounds } from '../../bench/cln-log.js';
import { percentile } from '../../bench/lib.js';
import { ROOT } from '../helpers/paths.js';

const fixture = (name: string): string => readFileSync(join(ROOT, 'test', 'fixtures', 'cln-log-v26.06', name), 'utf8');
const LOG = fixture('alice.log');
const PEERS = {
  fromPeer: '02bae86c0c95bd82a3bf8d1e619a8d18c941faa1bacb82b517b5bce360b4c06dee',
  toPeer: '03ee56d28012492274cb303f1e5c9ccb80e8b37d2e80a47f69b0abfbce03ecaace',
};

describe("a relay's turnaround, read from its lightningd log", () => {
  test('Alice forwards HTLC 10 in 17 ms, and passes its preimage back in 3', () => {
    const forward = turnarounds(LOG, PEERS).find((t) => t.htlcIn === 10);
    assert.deepEqual(forward, { kind: 'forward', htlcIn: 10, totalMs: 17, steps: { hook_and_forward: 4, commit_out: 13 }, back: { totalMs: 3, steps: { fulfill_in: 3 } } });
  });

  test('Alice relays HTLC 11 in 24 ms: hook, "gathered" written, xpay, onion, channeld, commitment; and back through xpay and rdv in 7', () => {
    const relay = turnarounds(LOG, PEERS).find((t) => t.htlcIn === 11);
    assert.deepEqual(relay, {
      kind: 'relay',
      htlcIn: 11,
      totalMs: 24,
      steps: { hook_and_decide: 3, persist_gathered: 2, payment_start: 1, route_and_onion: 2, offer_to_channeld: 2, commit_out: 14 },
      back: { totalMs: 7, steps: { to_payment_success: 5, to_rdv_resolve: 1, fulfill_in: 1 } },
    });
  });

  test('Alice relays HTLC 5 by sendpay (rdv 0.2) in 32 ms: the route askrene was asked for beside the write, sendpay, channeld; back in 7', () => {
    const peers = { fromPeer: '035a0f162deca0b980ad4062c4f5eedc742e3b46566ee203e03ec86d210b9335d9', toPeer: '024b5cf9b5aa12fc9fe07ae0545d46c3cfca524a53cdf98cfc539bea17c81f7046' };
    assert.deepEqual(turnarounds(fixture('alice-sendpay.log'), peers), [
      {
        kind: 'relay',
        htlcIn: 5,
        totalMs: 32,
        steps: { hook_and_decide: 6, persist_gathered: 3, payment_start: 5, offer_to_channeld: 3, commit_out: 15 },
        back: { totalMs: 7, steps: { to_payment_success: 5, to_rdv_resolve: 0, fulfill_in: 2 } },
      },
    ]);
  });

  test("every turnaround's steps add up to its total", () => {
    const all = turnarounds(LOG, PEERS);
    assert.equal(all.length, 2);
    for (const t of all) {
      assert.equal(Object.values(t.steps).reduce((a, b) => a + b, 0), t.totalMs);
      if (t.back) assert.equal(Object.values(t.back.steps).reduce((a, b) => a + b, 0), t.back.totalMs);
    }
  });

  test('an HTLC that never went out is not measured: the next incoming one ends its window', () => {
    const without = LOG.split('\n')
      .filter((l) => !/Adding HTLC 10 /.test(l))
      .join('\n');
    assert.deepEqual(
      turnarounds(without, PEERS).map((t) => t.htlcIn),
      [11],
    );
  });

  test("another peer's HTLCs are not counted", () => {
    assert.deepEqual(turnarounds(LOG, { fromPeer: PEERS.toPeer, toPeer: PEERS.fromPeer }), []);
  });

  test("the summary says how much longer the relay's p50 is than the forward's", () => {
    const s = summarise(turnarounds(LOG, PEERS), percentile);
    assert.equal(s.relay_minus_forward_p50_ms, 7);
  });
});
