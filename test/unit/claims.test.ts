/**
 * The claims scanner (src/rpc/claims.ts): lightningd's channel moves read in
 * pages, one call at a time, one scan shared by every hash asked while it runs,
 * each hash seeing every move once. Driven by a hand-written moves source whose
 * pages the test hands out one by one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { msat } from '../../src/chain/amount.js';
import { ClaimScanner, type Credit } from '../../src/rpc/claims.js';
import type { ChannelCredit, ChannelMovesPage } from '../../src/rpc/node.js';

const H1 = 'a1'.repeat(32);
const H2 = 'b2'.repeat(32);
const H3 = 'c3'.repeat(32);

interface Move {
  createdIndex: number;
  /** A credit for this hash, or a move of no interest (routed, a debit, a fee). */
  credit?: { paymentHash: string; channelId: string; amountMsat: bigint };
}

/** `n` moves; `credits` places a credit at a created_index. */
function history(n: number, credits: Record<number, Move['credit']> = {}): Move[] {
  return Array.from({ length: n }, (_, i) => ({ createdIndex: i + 1, credit: credits[i + 1] }));
}

/** listchannelmoves index=created start limit over `moves`, each page answered when the test says. */
class Moves {
  readonly calls: Array<{ start: number; limit: number }> = [];
  private waiting: Array<() => void> = [];
  inFlight = 0;
  maxInFlight = 0;
  fail: Error | undefined;
  unknownCommand = false;

  constructor(public moves: Move[]) {}

  channelMovesPage(start: number, limit: number): Promise<ChannelMovesPage | undefined> {
    this.calls.push({ start, limit });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.waiting.push(() => {
        this.inFlight--;
        if (this.fail) return reject(this.fail);
        if (this.unknownCommand) return resolve(undefined);
        const rows = this.moves.filter((m) => m.createdIndex >= start).slice(0, limit);
        const credits: ChannelCredit[] = rows.flatMap((m) => (m.credit ? [{ createdIndex: m.createdIndex, ...m.credit, amountMsat: msat(m.credit.amountMsat) }] : []));
        resolve({ moves: rows.length, lastIndex: rows.at(-1)?.createdIndex, credits });
      });
    });
  }

  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /** Answer the page asked for, and let the scanner ask for the next one. */
  async deliver(): Promise<void> {
    const next = this.waiting.shift();
    assert.ok(next, 'no listchannelmoves call is waiting for its answer');
    next();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }

  /** Answer pages until none is asked for. */
  async drain(): Promise<void> {
    while (this.pending) await this.deliver();
  }
}

const credit = (paymentHash: string, channelId: string, amountMsat: bigint): Move['credit'] => ({ paymentHash, channelId, amountMsat });
const sorted = (credits: Credit[]): string[] => credits.map((c) => `${c.channelId}:${c.amountMsat}`).sort();

describe('ClaimScanner: pages of lightningd channel moves, one scan for every hash asked', () => {
  test('one hash on 2 500 moves: three calls of at most 1000 moves, one at a time, from created_index 1', async () => {
    const moves = new Moves(history(2_500, { 7: credit(H1, 'ch-a', 53_000_011n), 1_777: credit(H1, 'ch-b', 53_000_013n), 2_499: credit(H2, 'ch-a', 1n) }));
    const scanner = new ClaimScanner(moves);
    const answer = scanner.credits(H1);
    await moves.drain();
    assert.deepEqual(sorted(await answer), ['ch-a:53000011', 'ch-b:53000013']);
    assert.deepEqual(moves.calls, [{ start: 1, limit: 1000 }, { start: 1001, limit: 1000 }, { start: 2001, limit: 1000 }]);
    assert.equal(moves.maxInFlight, 1);
  });

  test('two hashes asked together share the one scan', async () => {
    const moves = new Moves(history(2_500, { 5: credit(H1, 'ch-a', 11n), 1_500: credit(H2, 'ch-b', 13n), 2_500: credit(H2, 'ch-c', 17n) }));
    const scanner = new ClaimScanner(moves);
    const [one, two] = [scanner.credits(H1), scanner.credits(H2)];
    await moves.drain();
    assert.deepEqual(sorted(await one), ['ch-a:11']);
    assert.deepEqual(sorted(await two), ['ch-b:13', 'ch-c:17']);
    assert.equal(moves.calls.length, 3);
  });

  test('a hash asked while the second page is read joins: the scan goes to the end, then reads the first page again for it alone', async () => {
    const moves = new Moves(history(2_500, { 3: credit(H2, 'ch-a', 19n), 1_200: credit(H2, 'ch-b', 23n), 2_100: credit(H1, 'ch-a', 29n), 2_200: credit(H2, 'ch-c', 31n) }));
    const scanner = new ClaimScanner(moves);
    const one = scanner.credits(H1);
    await moves.deliver();
    const two = scanner.credits(H2); // while [1001, 2000] is asked
    await moves.drain();
    assert.deepEqual(sorted(await one), ['ch-a:29']);
    assert.deepEqual(sorted(await two), ['ch-a:19', 'ch-b:23', 'ch-c:31'], 'every credit once: the second page is not counted twice');
    assert.deepEqual(
      moves.calls.map((c) => c.start),
      [1, 1001, 2001, 1],
    );
  });

  test('a hash asked while the last page is read: after the end, the scan reads every page before it', async () => {
    const moves = new Moves(history(2_500, { 1_000: credit(H3, 'ch-a', 37n), 2_001: credit(H3, 'ch-b', 41n) }));
    const scanner = new ClaimScanner(moves);
    const one = scanner.credits(H1);
    await moves.deliver();
    await moves.deliver();
    const three = scanner.credits(H3); // while [2001, 2500] is asked
    await moves.drain();
    assert.deepEqual(await one, []);
    assert.deepEqual(sorted(await three), ['ch-a:37', 'ch-b:41']);
    assert.deepEqual(
      moves.calls.map((c) => c.start),
      [1, 1001, 2001, 1, 1001],
    );
  });

  test('the same hash asked twice gets the same answer from one scan', async () => {
    const moves = new Moves(history(1_500, { 1_499: credit(H1, 'ch-a', 43n) }));
    const scanner = new ClaimScanner(moves);
    const [a, b] = [scanner.credits(H1), scanner.credits(H1)];
    await moves.drain();
    assert.deepEqual(sorted(await a), ['ch-a:43']);
    assert.deepEqual(sorted(await b), ['ch-a:43']);
    assert.equal(moves.calls.length, 2);
  });

  test('exactly two full pages: the end is the empty third page', async () => {
    const moves = new Moves(history(2_000, { 2_000: credit(H1, 'ch-a', 47n) }));
    const scanner = new ClaimScanner(moves);
    const one = scanner.credits(H1);
    await moves.drain();
    assert.deepEqual(sorted(await one), ['ch-a:47']);
    assert.deepEqual(
      moves.calls.map((c) => c.start),
      [1, 1001, 2001],
    );
  });

  test('no moves at all: one call, nothing received', async () => {
    const moves = new Moves([]);
    const one = new ClaimScanner(moves).credits(H1);
    await moves.drain();
    assert.deepEqual(await one, []);
    assert.equal(moves.calls.length, 1);
  });

  test('a CLN without listchannelmoves: every hash waiting gets nothing, at once', async () => {
    const moves = new Moves(history(10));
    moves.unknownCommand = true;
    const scanner = new ClaimScanner(moves);
    const [one, two] = [scanner.credits(H1), scanner.credits(H2)];
    await moves.drain();
    assert.deepEqual([await one, await two], [[], []]);
    assert.equal(moves.calls.length, 1);
  });

  test('a lost call fails every hash waiting; the next ask scans again from the first move', async () => {
    const moves = new Moves(history(1_500, { 9: credit(H1, 'ch-a', 53n) }));
    const scanner = new ClaimScanner(moves);
    const [one, two] = [scanner.credits(H1), scanner.credits(H2)];
    await moves.deliver();
    moves.fail = new Error('lightningd closed the connection');
    await moves.deliver();
    await assert.rejects(one, /closed the connection/);
    await assert.rejects(two, /closed the connection/);
    moves.fail = undefined;
    const again = scanner.credits(H1);
    await moves.drain();
    assert.deepEqual(sorted(await again), ['ch-a:53']);
    assert.deepEqual(
      moves.calls.map((c) => c.start),
      [1, 1001, 1, 1001],
    );
  });

  test('property: whenever each hash is asked, it gets every credit of its own once, one call at a time', async () => {
    const hashes = [H1, H2, H3];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.option(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 9 })), { nil: undefined }), { maxLength: 40 }),
        fc.array(fc.oneof(fc.record({ ask: fc.integer({ min: 0, max: 2 }) }), fc.constant({ deliver: true })), { maxLength: 40 }),
        async (pageMoves, layout, schedule) => {
          const moves = new Moves(layout.map((c, i) => ({ createdIndex: i + 1, credit: c && credit(hashes[c[0]] ?? H1, `ch-${i}`, BigInt(c[1])) })));
          const scanner = new ClaimScanner(moves, pageMoves);
          const answers: Array<{ hash: string; credits: Promise<Credit[]> }> = [];
          for (const step of schedule) {
            if ('ask' in step) {
              const hash = hashes[step.ask] ?? H1;
              answers.push({ hash, credits: scanner.credits(hash) });
            } else if (moves.pending) {
              await moves.deliver();
            }
          }
          await moves.drain();
          for (const a of answers) {
            const expected = moves.moves.flatMap((m) => (m.credit?.paymentHash === a.hash ? [{ channelId: m.credit.channelId, amountMsat: msat(m.credit.amountMsat) }] : []));
            assert.deepEqual(sorted(await a.credits), sorted(expected));
          }
          assert.ok(moves.maxInFlight <= 1, 'two listchannelmoves calls at once');
          assert.ok(moves.calls.every((c) => c.limit === pageMoves));
        },
      ),
      { numRuns: 500, includeErrorInReport: true },
    );
  });
});
