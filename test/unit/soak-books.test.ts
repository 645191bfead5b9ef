/**
 * The regtest soak's audit from lightningd's books (src/soak-regtest/books.ts):
 * nets from channel moves, cross-checks against listsendpays, Carol's invoice and
 * bookkeeper, expiries counted once per HTLC, stuck HTLCs, force closes and the
 * balance conservation check. Pure: built books in, verdicts out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PaymentTerms } from '../../src/simnet/soak/audit.js';
import {
  auditFromBooks,
  balanceMismatches,
  expiredHeld,
  forceCloses,
  recordMismatches,
  stuckHtlcs,
  type ChannelMove,
  type ExpirySeen,
  type NodeBooks,
} from '../../src/soak-regtest/books.js';

const H = 'cd'.repeat(32);
const OTHER = 'ef'.repeat(32);

/** Carol 100 003 sat; Bob payout 5 007 + fee 1 009; Alice payout 2 011 + fee 1 013. */
const TERMS: PaymentTerms = {
  paymentHash: H,
  names: { payer: 'payer', alice: 'alice', bob: 'bob', carol: 'carol' },
  carolAmountMsat: 100_003_000n,
  bobAmountMsat: 106_019_000n,
  aliceAmountMsat: 109_043_000n,
  payoutMsat: { alice: 2_011_000n, bob: 5_007_000n },
  feeBudgetMsat: { alice: 1_013_000n, bob: 1_009_000n },
};
const A = TERMS.aliceAmountMsat;
const B = TERMS.bobAmountMsat;
const C = TERMS.carolAmountMsat;

let index = 0;
const credit = (msat: bigint, hash = H): ChannelMove => ({ createdIndex: ++index, accountId: '11'.repeat(32), tag: 'invoice', paymentHash: hash, creditMsat: msat, debitMsat: 0n });
const debit = (msat: bigint, hash = H): ChannelMove => ({ createdIndex: ++index, accountId: '22'.repeat(32), tag: 'invoice', paymentHash: hash, creditMsat: 0n, debitMsat: msat });

function node(name: string, b: Partial<NodeBooks> = {}): NodeBooks {
  return { name, moves: [], sendpays: [], invoices: [], accountEvents: undefined, channels: [], closed: [], ...b };
}
const paid = (msat: bigint, status = 'complete') => ({ paymentHash: H, status, groupid: 1n, partid: 0, amountSentMsat: msat });
const carolInvoice = (status: string, received?: bigint) => [{ paymentHash: H, label: 'rdv-1', status, amountReceivedMsat: received }];

/** Books of a payment that went through end to end over direct channels. */
function settledBooks(): NodeBooks[] {
  return [
    node('payer', { moves: [debit(A)], sendpays: [paid(A)] }),
    node('alice', { moves: [credit(A), debit(B)], sendpays: [paid(B)] }),
    node('bob', { moves: [credit(B), debit(C)], sendpays: [paid(C)] }),
    node('carol', { moves: [credit(C)], invoices: carolInvoice('paid', C) }),
  ];
}

/** Books of a payment everyone failed back. */
function failedBooks(): NodeBooks[] {
  return [
    node('payer', { sendpays: [paid(A, 'failed')] }),
    node('alice', { sendpays: [paid(B, 'failed')] }),
    node('bob', { sendpays: [paid(C, 'failed')] }),
    node('carol', { invoices: carolInvoice('unpaid') }),
  ];
}

function edit(books: NodeBooks[], name: string, change: (b: NodeBooks) => NodeBooks): NodeBooks[] {
  return books.map((b) => (b.name === name ? change(b) : b));
}

describe('soak audit from lightningd\'s books', () => {
  const cases: Array<{ description: string; given: NodeBooks[]; expected: { outcome: string; lostMsat: bigint; preimageRevealed: boolean; anomalies: string[] } }> = [
    {
      description: 'settled end to end: each relay kept payout + fee budget; the books agree',
      given: settledBooks(),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: [] },
    },
    {
      description: 'failed back end to end: no move anywhere, everyone at 0',
      given: failedBooks(),
      expected: { outcome: 'failed_back', lostMsat: 0n, preimageRevealed: false, anomalies: [] },
    },
    {
      description: 'Carol was paid but Alice failed the payer back: Alice is short by her payout plus what she paid Bob',
      given: edit(edit(settledBooks(), 'payer', (b) => ({ ...b, moves: [], sendpays: [paid(A, 'failed')] })), 'alice', (b) => ({ ...b, moves: [debit(B)] })),
      expected: { outcome: 'settled', lostMsat: 2_011_000n + B, preimageRevealed: false, anomalies: [`alice kept ${-B} msat, not payout + fee budget = 3024000 msat (direct channels)`] },
    },
    {
      description: 'Bob paid Carol twice (two complete groups): Bob is short, and his sendpays agree with his moves',
      given: edit(settledBooks(), 'bob', (b) => ({ ...b, moves: [credit(B), debit(C), debit(C)], sendpays: [paid(C), { ...paid(C), groupid: 2n }] })),
      expected: { outcome: 'settled', lostMsat: C - 6_016_000n + 5_007_000n, preimageRevealed: false, anomalies: [`bob kept ${B - 2n * C} msat, not payout + fee budget = 6016000 msat (direct channels)`] },
    },
    {
      description: 'a failed payment a relay was credited for: the preimage got out, and the payer is short',
      given: edit(edit(failedBooks(), 'alice', (b) => ({ ...b, moves: [credit(A)] })), 'payer', (b) => ({ ...b, moves: [debit(A)], sendpays: [paid(A)] })),
      expected: { outcome: 'failed_back', lostMsat: A, preimageRevealed: true, anomalies: [`alice gained ${A} msat on a payment that failed`] },
    },
    {
      description: 'listsendpays says Alice paid, her channel moves do not: the books disagree (an anomaly, not a loss)',
      given: edit(settledBooks(), 'alice', (b) => ({ ...b, sendpays: [paid(B), { ...paid(B - 1n), groupid: 2n }] })),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: [`alice: listsendpays says ${2n * B - 1n} msat paid out, its channel moves ${B} msat`] },
    },
    {
      description: 'Carol\'s invoice says paid for less than her moves: an anomaly',
      given: edit(settledBooks(), 'carol', (b) => ({ ...b, invoices: carolInvoice('paid', C - 7n) })),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: [`carol: listinvoices says ${C - 7n} msat received, her channel moves ${C} msat`] },
    },
    {
      description: 'bookkeeper missed Bob\'s debit: an anomaly',
      given: edit(settledBooks(), 'bob', (b) => ({ ...b, accountEvents: [{ account: '11'.repeat(32), tag: 'invoice', paymentId: H, creditMsat: B, debitMsat: 0n }] })),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: [`bob: bookkeeper says +${B}/-0 msat, the channel moves +${B}/-${C} msat`] },
    },
    {
      description: 'moves of another payment are not this one\'s',
      given: edit(settledBooks(), 'alice', (b) => ({ ...b, moves: [...b.moves, credit(999_999n, OTHER)] })),
      expected: { outcome: 'settled', lostMsat: 0n, preimageRevealed: false, anomalies: [] },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const v = auditFromBooks(TERMS, c.given, []);
      assert.deepEqual({ outcome: v.outcome, lostMsat: v.lostMsat, preimageRevealed: v.preimageRevealed, anomalies: v.anomalies }, c.expected);
    });
  }

  test('an HTLC sampled many times at its expiry counts once; at a relay a relay expiry, at Carol a payee expiry', () => {
    const seen = (node: string, id: string, height: number): ExpirySeen => ({ node, paymentHash: H, scid: '103x1x0', id, expiry: 150, height });
    const expiries = [seen('bob', '7', 150), seen('bob', '7', 151), seen('bob', '7', 152), seen('carol', '3', 150), { ...seen('alice', '9', 150), paymentHash: OTHER }];
    const v = auditFromBooks(TERMS, settledBooks(), expiries);
    assert.deepEqual([v.relayExpiries, v.payeeExpiries], [1, 1]);
  });

  test('expiredHeld: only incoming HTLCs still added (not being removed) at or past their expiry', () => {
    const row = (id: string, direction: 'in' | 'out', state: string, expiry: number) => ({ scid: '103x1x0', id, direction, state, paymentHash: H, amountMsat: 1n, expiry });
    const rows = [
      row('1', 'in', 'RCVD_ADD_ACK_REVOCATION', 200),
      row('2', 'in', 'RCVD_ADD_ACK_REVOCATION', 201),
      row('3', 'in', 'SENT_REMOVE_HTLC', 190),
      row('4', 'out', 'SENT_ADD_ACK_REVOCATION', 190),
      row('5', 'in', 'SENT_ADD_REVOCATION', 199),
    ];
    assert.deepEqual(
      expiredHeld('bob', rows, 200).map((e) => e.id),
      ['1', '5'],
    );
  });
});

describe('soak audit: the whole network', () => {
  const channel = (channelId: string, state: string, toUsMsat: bigint, htlcs: Array<'in' | 'out'> = []) => ({
    channelId,
    peerId: '02'.padEnd(66, '0'),
    state,
    toUsMsat,
    htlcs: htlcs.map((direction, i) => ({ direction, id: String(i), paymentHash: H, amountMsat: 5n, expiry: 300, state: 'RCVD_ADD_ACK_REVOCATION' })),
  });

  test('stuck HTLCs are counted at the node they were offered to, so each once', () => {
    const books = [node('alice', { channels: [channel('a1', 'CHANNELD_NORMAL', 0n, ['out'])] }), node('bob', { channels: [channel('a1', 'CHANNELD_NORMAL', 0n, ['in', 'in'])] })];
    assert.equal(stuckHtlcs(books).length, 2);
  });

  test('a force close is any closed channel or one not CHANNELD_NORMAL, each channel once whichever side says so', () => {
    const books = [
      node('alice', { channels: [channel('a1', 'AWAITING_UNILATERAL', 0n), channel('a2', 'CHANNELD_NORMAL', 0n)] }),
      node('bob', { channels: [channel('a1', 'FUNDING_SPEND_SEEN', 0n)], closed: [{ channelId: 'b7', peerId: undefined, closeCause: 'remote', finalToUsMsat: 3n }] }),
    ];
    assert.deepEqual(
      forceCloses(books).map((c) => [c.channelId, c.seenBy.join('+'), c.why]),
      [
        ['a1', 'alice+bob', 'state AWAITING_UNILATERAL'],
        ['b7', 'bob', 'closed (cause remote)'],
      ],
    );
  });

  test('balances must move by exactly the channel moves since the baseline, and those must be the soak\'s', () => {
    const before = { createdIndex: 3, accountId: 'x', tag: 'pushed', paymentHash: undefined, creditMsat: 0n, debitMsat: 500n };
    const books = [
      node('alice', { channels: [channel('a1', 'CHANNELD_NORMAL', 1_000_000n + 3_024_000n)], moves: [before, { ...credit(A), createdIndex: 4 }, { ...debit(B), createdIndex: 5 }] }),
      node('bob', { channels: [channel('a1', 'CHANNELD_NORMAL', 2_000_000n + 6_016_000n - 1n)], moves: [{ ...credit(B), createdIndex: 4 }, { ...debit(C), createdIndex: 5 }] }),
      node('carol', { channels: [channel('c1', 'CHANNELD_NORMAL', C)], moves: [{ ...credit(C), createdIndex: 1 }, { ...credit(17n, OTHER), createdIndex: 2 }] }),
    ];
    const baselines = new Map([
      ['alice', { toUsMsat: 1_000_000n, movesIndex: 3 }],
      ['bob', { toUsMsat: 2_000_000n, movesIndex: 3 }],
      ['carol', { toUsMsat: -17n, movesIndex: 0 }],
    ]);
    assert.deepEqual(balanceMismatches(books, baselines, new Set([H])), [
      'bob: its channel balances moved by 6015999 msat, its channel moves say 6016000 msat',
      'carol: 17 msat of channel moves are not the soak\'s payments',
    ]);
  });

  test('a relay\'s record must say settled and earned what the books say it kept; of a failed payment, not settled', () => {
    const settled = auditFromBooks(TERMS, settledBooks(), []);
    const failed = auditFromBooks(TERMS, failedBooks(), []);
    assert.equal(recordMismatches('#1', settled, 'bob', { state: 'settled', earnedMsat: 6_016_000n }), undefined);
    assert.equal(recordMismatches('#1', settled, 'bob', { state: 'settled', earnedMsat: 6_015_999n }), '#1 bob: record settled, earned 6015999 msat; lightningd\'s books say it kept 6016000 msat');
    assert.equal(recordMismatches('#1', settled, 'alice', undefined), '#1 alice: record missing, earned - msat; lightningd\'s books say it kept 3024000 msat');
    assert.equal(recordMismatches('#2', failed, 'alice', { state: 'open', earnedMsat: undefined }), undefined);
    assert.equal(recordMismatches('#2', failed, 'alice', { state: 'settled', earnedMsat: 1n }), '#2 alice: record settled (earned 1 msat) for a payment Carol was not paid for');
  });
});
