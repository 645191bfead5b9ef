/**
 * The first attempt's wrappers (src/rpc/node/sendpay.ts) never throw, and call
 * a failure definite (xpay may pay next) only when lightningd says the part
 * failed or was never sent: anything else (in progress, already paid, a lost
 * connection, lightningd stopping) is left to listsendpays (rule 5), since
 * paying again then could pay Carol twice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import { RpcError } from '../../src/rpc/client.js';
import { LightningNode } from '../../src/rpc/node.js';

const HASH = 'ab'.repeat(32) as PaymentHash;
const CAROL = `02${'c'.repeat(64)}`;
const rpc = (method: string, code: number, message: string): RpcError => new RpcError(method, code, message, undefined);
const nodeAnswering = (answer: (method: string) => Promise<unknown>): LightningNode => new LightningNode({ socketPath: '/nowhere', call: (method: string) => answer(method), close: () => undefined });
const send = (node: LightningNode) =>
  node.sendpay({ hops: [{ id: CAROL as never, channel: '103x1x0', direction: 0, amount_msat: msat(1_000_000n), delay: 18 }], paymentHash: HASH, amountMsat: msat(1_000_000n), invoice: { paymentSecret: 'cd'.repeat(32) }, bolt11: 'lnbcrt10u1carol' });

describe('sendpay: sent, or why not', () => {
  test('sent: the part is pending in the group lightningd numbered (past 2^53 read exactly)', async () => {
    const r = await send(nodeAnswering(async () => ({ message: 'Monitor status with listpays or waitsendpay', groupid: 9_007_199_254_740_993n, partid: 0, status: 'pending' })));
    assert.deepEqual(r, { sent: true, groupid: 9_007_199_254_740_993n });
  });

  const cases: Array<[string, () => Promise<unknown>, boolean]> = [
    ['204 no connection to the first peer: definite, xpay pays', async () => Promise.reject(rpc('sendpay', 204, 'No connection to first peer found')), true],
    ['-32602 a parameter lightningd refused: definite (nothing was sent)', async () => Promise.reject(rpc('sendpay', -32602, 'route: bad')), true],
    ['200 another group in progress: not definite', async () => Promise.reject(rpc('sendpay', 200, 'Payment with groupid=7 still in progress')), false],
    ['201 already succeeded: not definite (listsendpays has the preimage)', async () => Promise.reject(rpc('sendpay', 201, 'Already succeeded other parts')), false],
    ['-5 lightningd stopping: not definite', async () => Promise.reject(rpc('sendpay', -5, 'lightningd is shutting down')), false],
    ['the connection dropped: not definite (lightningd may have sent it)', async () => Promise.reject(new Error('lightningd closed the RPC connection')), false],
    ['an answer rdv cannot read: not definite', async () => ({ groupid: 'seven' }), false],
  ];
  for (const [what, answer, definite] of cases) {
    test(what, async () => {
      const r = await send(nodeAnswering(answer));
      assert.equal(r.sent, false);
      if (!r.sent) assert.deepEqual([r.ok, !r.ok && r.definite], [false, definite]);
    });
  }
});

describe('waitsendpay: the part resolved', () => {
  const wait = (answer: () => Promise<unknown>) => nodeAnswering(answer).waitsendpay(HASH, 1n);
  test('complete: its preimage and what it cost', async () => {
    const preimage = 'a1'.repeat(32);
    assert.deepEqual(await wait(async () => ({ status: 'complete', payment_preimage: preimage, amount_sent_msat: 1_000_011 })), { ok: true, preimage, amountSentMsat: 1_000_011n });
  });

  const cases: Array<[string, () => Promise<unknown>, boolean]> = [
    ['204 failed on the way: definite, xpay pays', async () => Promise.reject(rpc('waitsendpay', 204, 'failed: WIRE_TEMPORARY_CHANNEL_FAILURE (reply from remote)')), true],
    ['203 Carol refused it: definite', async () => Promise.reject(rpc('waitsendpay', 203, 'failed: WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS (reply from remote)')), true],
    ['202 an unreadable onion reply: definite (lightningd failed the part)', async () => Promise.reject(rpc('waitsendpay', 202, 'Malformed error reply')), true],
    ['208 never attempted: not definite', async () => Promise.reject(rpc('waitsendpay', 208, 'Never attempted payment part 0')), false],
    ['-32602 a parameter refused: not definite (the part sendpay started may be pending)', async () => Promise.reject(rpc('waitsendpay', -32602, 'groupid: should be an unsigned 64 bit integer')), false],
    ['209 timed out: not definite (still pending)', async () => Promise.reject(rpc('waitsendpay', 209, 'Timed out while waiting')), false],
    ['-5 lightningd stopping: not definite', async () => Promise.reject(rpc('waitsendpay', -5, 'lightningd is shutting down')), false],
    ['the connection dropped: not definite', async () => Promise.reject(new Error('lightningd closed the RPC connection')), false],
    ['complete, in a shape rdv cannot read: not definite', async () => ({ status: 'complete', payment_preimage: 'zz' }), false],
  ];
  for (const [what, answer, definite] of cases) {
    test(what, async () => {
      const r = await wait(answer);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.definite, definite);
    });
  }
});
