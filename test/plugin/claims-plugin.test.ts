/**
 * After a restart, a settled relay with parts not counted as received asks
 * lightningd's channel moves (check_claims). On a node with a long history
 * that must be read in pages, and several such relays must share one read.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash, Preimage } from '../../src/chain/ids.js';
import { relayKey, parseRecord, type RelayRecord } from '../../src/chain/record.js';
import { makeRecord } from '../helpers/builders.js';
import { sat, seedRecord, withFakeLightningd } from '../helpers/fake-lightningd.js';
import { eventually } from '../helpers/sim.js';

const preimageOf = (i: number): Preimage => createHash('sha256').update(`claims ${i}`).digest('hex') as Preimage;
const hashOf = (i: number): PaymentHash => createHash('sha256').update(Buffer.from(preimageOf(i), 'hex')).digest('hex') as PaymentHash;
const CH_A = '5a'.repeat(32);
const CH_B = '6b'.repeat(32);

describe('check_claims on a node with a long history', () => {
  test('two settled relays, 2 500 channel moves: one scan in pages of 1000, and each relay counts only its own credits', async () => {
    await withFakeLightningd(async (f) => {
      const now = Math.floor(Date.now() / 1000);
      const part = (id: string, channelId: string) => ({ scid: '110x1x0', id, channelId, amountMsat: sat(53_011), cltvExpiry: f.net.height + 81 });
      for (const i of [1, 2]) {
        seedRecord(f.node, makeRecord({ paymentHash: hashOf(i), state: 'settled', round: 1, parts: [part('11', CH_A), part('12', CH_B)], claimed: [], preimage: preimageOf(i), sentMsat: msat(100_000_011n), settledAt: now - 60, createdAt: now - 600, updatedAt: now - 60 }));
      }
      // A busy node's history: forwards and our own payments (their u64 group_id), with
      // relay 1's two credits and relay 2's one far apart, and look-alikes that are not credits of theirs.
      for (let i = 1; i <= 2_500; i++) {
        const hash = i === 1_999 ? hashOf(2) : createHash('sha256').update(`other ${i}`).digest('hex');
        const move =
          i === 7 ? { account_id: CH_A, credit_msat: sat(53_011), primary_tag: 'invoice', payment_hash: hashOf(1) }
          : i === 1_777 ? { account_id: CH_B, credit_msat: sat(53_011), primary_tag: 'invoice', payment_hash: hashOf(1) }
          : i === 2_401 ? { account_id: CH_B, credit_msat: sat(53_011), primary_tag: 'invoice', payment_hash: hashOf(2) }
          : i === 1_999 ? { account_id: CH_A, credit_msat: sat(53_011), primary_tag: 'routed', payment_hash: hash }
          : { account_id: CH_A, credit_msat: 0n, debit_msat: sat(1_000 + i), primary_tag: 'invoice', payment_hash: hash, part_id: i % 4, group_id: 18_000_000_000_000_000_000n + BigInt(i), fees_msat: 1_001n };
        f.node.addChannelMove({ debit_msat: 0n, ...move });
      }
      await f.node.restart();

      const record = (i: number): RelayRecord => parseRecord(f.node.datastore.get(relayKey(hashOf(i))) ?? '{}') as RelayRecord;
      await eventually(() => record(1).claimed?.length === 2 && record(2).claimed?.length === 1, 'both relays wrote what the channel moves say');
      assert.equal(record(1).receivedMsat, sat(106_022));
      assert.equal(record(1).lastError, undefined);
      assert.equal(record(2).receivedMsat, sat(53_011));
      assert.match(record(2).lastError ?? '', /not received/);

      const calls = f.node.server.calls.filter((c) => c.method === 'listchannelmoves').map((c) => c.params);
      assert.ok(calls.length > 0, 'listchannelmoves was asked');
      for (const p of calls) assert.deepEqual([p.index, p.limit], ['created', 1000], `a call without paging: ${JSON.stringify(p)}`);
      // One pass is three pages; a relay that asked once the first page was read joins and sees page one again (four).
      assert.ok(calls.length === 3 || calls.length === 4, `${calls.length} calls: ${JSON.stringify(calls.map((p) => p.start))}`);
      assert.deepEqual(calls.slice(0, 3).map((p) => p.start), [1, 1001, 2001]);
    });
  });
});
