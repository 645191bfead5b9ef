/**
 * The regtest soak's audit on the books of a real run (CLN v26.06.6, captured in
 * test/fixtures/soak-regtest-v26.06): the parsers read every reply as lightningd
 * sends it, and the verdicts of its five settled payments are clean.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseJson } from '../../src/rpc/json.js';
import type { PaymentTerms } from '../../src/simnet/soak/audit.js';
import { planPayment } from '../../src/simnet/soak/plan.js';
import {
  auditFromBooks,
  forceCloses,
  parseAccountEvents,
  parseChannelMoves,
  parseClosedChannels,
  parseInvoices,
  parsePeerChannels,
  parseSendpays,
  stuckHtlcs,
  type NodeBooks,
} from '../../src/soak-regtest/books.js';
import { ROOT } from '../helpers/paths.js';

const DIR = join(ROOT, 'test', 'fixtures', 'soak-regtest-v26.06');
const reply = (node: string, method: string): unknown => parseJson(readFileSync(join(DIR, `${node}-${method}.json`), 'utf8'));

function books(node: string): NodeBooks {
  return {
    name: node,
    moves: parseChannelMoves(reply(node, 'listchannelmoves')),
    sendpays: parseSendpays(reply(node, 'listsendpays')),
    invoices: parseInvoices(reply(node, 'listinvoices')),
    accountEvents: parseAccountEvents(reply(node, 'bkpr-listaccountevents')),
    channels: parsePeerChannels(reply(node, 'listpeerchannels')),
    closed: parseClosedChannels(reply(node, 'listclosedchannels')),
  };
}

const ALL = ['payer', 'alice', 'bob', 'carol'].map(books);
const carol = ALL[3] as NodeBooks;

/** The terms of payment `index` of seed 3, as the soak made them (amounts from its plan). */
function terms(index: number): PaymentTerms {
  const plan = planPayment(3, index, { withClosing: false, vocabulary: 'regtest' });
  const invoice = carol.invoices.find((i) => descriptionOf(i.paymentHash) === `soak ${index}`);
  assert.ok(invoice, `no invoice of payment ${index}`);
  const sat = 1000n;
  const carolMsat = plan.carolSat * sat;
  const bobMsat = carolMsat + (plan.payoutSat.bob + plan.feeBudgetSat.bob) * sat;
  return {
    paymentHash: invoice.paymentHash,
    names: { payer: 'payer', alice: 'alice', bob: 'bob', carol: 'carol' },
    carolAmountMsat: carolMsat,
    bobAmountMsat: bobMsat,
    aliceAmountMsat: bobMsat + (plan.payoutSat.alice + plan.feeBudgetSat.alice) * sat,
    payoutMsat: { alice: plan.payoutSat.alice * sat, bob: plan.payoutSat.bob * sat },
    feeBudgetMsat: { alice: plan.feeBudgetSat.alice * sat, bob: plan.feeBudgetSat.bob * sat },
  };
}

function descriptionOf(hash: string): string | undefined {
  const raw = reply('carol', 'listinvoices') as { invoices: Array<{ payment_hash: string; description?: string }> };
  return raw.invoices.find((i) => i.payment_hash === hash)?.description;
}

describe('soak audit on the books of a real regtest run', () => {
  test('every reply parses; u64 group ids past 2^53 come through exactly', () => {
    const payer = ALL[0] as NodeBooks;
    assert.equal(payer.sendpays.length, 14);
    assert.ok(payer.sendpays.some((p) => p.groupid === 5258705255681111324n));
    assert.equal(carol.invoices.filter((i) => i.status === 'paid').length, 5);
    for (const b of ALL) {
      assert.ok(b.moves.length > 0, `${b.name} has channel moves`);
      assert.ok((b.accountEvents ?? []).length > 0, `${b.name} has bookkeeper events`);
      assert.ok(b.channels.every((c) => c.state === 'CHANNELD_NORMAL'), `${b.name}'s channels`);
    }
  });

  test('five settled payments: each relay kept payout + fee budget; moves, sendpays, invoices and bookkeeper agree', () => {
    for (let i = 0; i < 5; i++) {
      const t = terms(i);
      const v = auditFromBooks(t, ALL, []);
      const full = (r: 'alice' | 'bob'): bigint => t.payoutMsat[r] + t.feeBudgetMsat[r];
      assert.deepEqual(
        { outcome: v.outcome, lost: v.lostMsat, anomalies: v.anomalies, alice: v.netMsat.alice, bob: v.netMsat.bob, carol: v.netMsat.carol, payer: v.netMsat.payer },
        { outcome: 'settled', lost: 0n, anomalies: [], alice: full('alice'), bob: full('bob'), carol: t.carolAmountMsat, payer: -t.aliceAmountMsat },
        `payment ${i}`,
      );
    }
  });

  test('the payments that reached Alice in parts: soak 0 in three, soak 2 in two', () => {
    const payer = ALL[0] as NodeBooks;
    const parts = (i: number): number => payer.sendpays.filter((p) => p.paymentHash === terms(i).paymentHash && p.status === 'complete').length;
    assert.deepEqual([0, 1, 2, 3, 4].map(parts), [3, 1, 2, 1, 1]);
  });

  test('nothing stuck, nothing closed', () => {
    assert.deepEqual(stuckHtlcs(ALL), []);
    assert.deepEqual(forceCloses(ALL), []);
  });
});
