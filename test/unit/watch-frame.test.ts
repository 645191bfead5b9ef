/** The full-screen view of rdv watch (src/ui/watch-frame.ts): it fits any terminal, most urgent first. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { renderFrame, tally, type FrameOptions } from '../../src/ui/watch-frame.js';
import { textWidth } from '../../src/ui/text.js';
import { dashboardRows, type RelayRow, type Snapshot } from '../../src/ui/watch-view.js';

const NOW = 1_795_620_807; // 2026-11-23T15:33:27Z
const DAY_START = NOW - 56_007; // that day's midnight, UTC
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visible = (s: string): number => textWidth(s.replace(ANSI, ''));

let serial = 0;
function row(over: Partial<RelayRow> = {}): RelayRow {
  serial++;
  return {
    paymentHash: serial.toString(16).padStart(8, '0') + 'e7'.repeat(28),
    role: 'relay',
    state: 'open',
    amountMsat: 106_000_000n,
    heldParts: 0,
    heldMsat: 0n,
    heldSince: undefined,
    blocksToExpiry: undefined,
    outgoing: undefined,
    payInFlight: false,
    earnedMsat: undefined,
    settledAt: undefined,
    lastError: undefined,
    ...over,
  };
}
const paying = (blocks: number, over: Partial<RelayRow> = {}): RelayRow =>
  row({ state: 'paying', heldParts: 1, heldMsat: 106_000_000n, heldSince: NOW - 43, blocksToExpiry: blocks, outgoing: 'pending', payInFlight: true, ...over });
const settled = (at: number, over: Partial<RelayRow> = {}): RelayRow => row({ state: 'settled', earnedMsat: 5_999_989n, settledAt: at, blocksToExpiry: 85, ...over });
const snapshot = (rows: RelayRow[], over: Partial<Snapshot> = {}): Snapshot => ({ relaying: true, reason: undefined, blockheight: 812_345, rows, ...over });
const frame = (s: Snapshot, columns: number, rows: number, over: Partial<FrameOptions> = {}): string[] => renderFrame(s, { columns, rows, now: NOW, dayStart: DAY_START, ...over });

const XPAY_ERROR = `xpay: Failed after 7 attempts. ${'We got temporary_channel_failure for 103x1x0, assuming it cannot carry 100000011msat. '.repeat(6)}`.slice(0, 500);

/** What a user saw on real CLN: 23 records, 2 in flight, one with a long xpay error. */
const realCln = snapshot([
  ...Array.from({ length: 17 }, (_, i) => settled(NOW - i * 3_600)),
  paying(140),
  paying(61, { lastError: XPAY_ERROR, outgoing: 'failed', payInFlight: false }),
  row({ state: 'failed', lastError: XPAY_ERROR }),
  row({ state: 'expired' }),
  row({ lastError: XPAY_ERROR }),
  row(),
]);
const huge = snapshot([
  ...Array.from({ length: 7_000 }, (_, i) => settled(NOW - i * 60)),
  ...Array.from({ length: 2_997 }, (_, i) => paying(10 + (i % 500))),
  paying(3, { lastError: XPAY_ERROR }),
  row({ state: 'failed' }),
  row({ heldParts: 1, heldMsat: 40_000_000n, heldSince: NOW - 7, blocksToExpiry: 95 }),
]);
const errorOnly = snapshot([paying(37, { lastError: `${'x'.repeat(250)}\n${'y'.repeat(249)}` })]);

describe('renderFrame fits the terminal', () => {
  const sizes = [
    [130, 30],
    [80, 24],
    [40, 10],
    [20, 5],
    [9, 3],
    [300, 2],
    [1, 1],
    [80, 0],
  ] as const;
  const cases = [
    { name: 'the 23 records seen on real CLN', s: realCln },
    { name: '10 000 relays, 2 999 in progress', s: huge },
    { name: 'one relay with a 500-character error', s: errorOnly },
    { name: 'no relays at all', s: snapshot([]) },
    { name: 'a plugin that is not relaying', s: snapshot([paying(5)], { relaying: false, reason: 'CLN v24.11.2 is too old: rdv needs v25.02 or newer' }) },
  ];
  for (const c of cases) {
    for (const [columns, rows] of sizes) {
      test(`${c.name}, ${columns}x${rows}: no line wider than ${columns}, at most ${rows} lines, the header at most once`, () => {
        for (const paint of [undefined, new Chalk({ level: 1 })]) {
          const lines = frame(c.s, columns, rows, { ...(paint ? { paint } : {}), warnings: ['rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it'] });
          assert.ok(lines.length <= rows, `${lines.length} lines`);
          for (const l of lines) assert.ok(visible(l) <= columns, `${visible(l)} columns: ${l}`);
          for (const l of lines) assert.doesNotMatch(l.replace(ANSI, ''), /[\u0000-\u001f]/, 'no control character is left to move the cursor');
          assert.ok(lines.filter((l) => /HASH/.test(l)).length <= 1);
        }
      });
    }
  }

  test('130x30 on real CLN: every relay in progress and the summary, each on one line', () => {
    const lines = frame(realCln, 130, 30);
    assert.match(lines[0] ?? '', /^rdv watch · block 812345 · 15:33:27 UTC · 23 relays · q quits/);
    assert.match(lines[1] ?? '', /^HASH\s+STATE\s+AMOUNT\s+HELD\s+HELD FOR\s+BLOCKS LEFT\s+OUTGOING$/);
    assert.match(lines[2] ?? '', /^\S{8}\s+paying\s+106,000 sat\s+1 part\s+43s\s+61\s+failed · last error: xpay: Failed after 7 attempts\. We got .*…$/);
    assert.equal(lines[2]?.length, 130);
    assert.match(lines[3] ?? '', /^\S{8}\s+paying\s+106,000 sat\s+1 part\s+43s\s+140\s+pending, payment running$/);
    assert.equal(lines.length, 6, 'title, header, two relays, a blank line, the summary');
    assert.equal(lines[5], 'settled: 16 today, 17 in all · earned: 95,999.824 sat today, 101,999.813 sat in all · failed 1 · expired 1 · open 2');
  });

  test('80x24: the summary takes its short form, cut at the end', () => {
    const lines = frame(realCln, 80, 24);
    assert.equal(lines.at(-1), 'today 16 settled, 95,999.824 sat · all 17, 101,999.813 sat · failed 1 · expired…');
  });

  test('40x10: the columns that matter stay (hash, blocks left, outgoing), the others go', () => {
    const lines = frame(realCln, 40, 10);
    assert.match(lines[1] ?? '', /^HASH\s+STATE\s+BLOCKS LEFT\s+OUTGOING$/);
    assert.match(lines[2] ?? '', /^\S{8}\s+paying\s+61\s+failed ·…$/);
  });

  test('more relays in progress than fit: as many as fit, the most urgent first, then how many more', () => {
    const lines = frame(huge, 130, 30);
    assert.equal(lines.length, 30);
    const shown = lines.slice(2, 28).map((l) => Number(/^\S{8}\s+paying\s+106,000 sat\s+1 part\s+43s\s+(\d+)\s+pending/.exec(l)?.[1]));
    assert.deepEqual(shown.slice(0, 3), [3, 10, 10], 'fewest blocks left first');
    assert.deepEqual(shown, [...shown].sort((a, b) => a - b));
    assert.equal(lines[28], `… and ${2_999 - 26} more in progress`);
    assert.match(lines[29] ?? '', /^settled: 934 today, 7,000 in all · earned: 5,603,989.726 sat today, 41,999,923 sat in all · failed 1 · expired 0 · open 0$/);
  });

  test('a relay an rdv policy joined says which, after what it is doing', () => {
    const lines = frame(snapshot([paying(40, { outgoing: 'pending', policy: 'ab12cd34' })]), 130, 30);
    assert.ok(lines.some((l) => /pending.* · policy ab12cd34$/.test(l)), lines.join('\n'));
  });

  test('an open relay whose next payee runs no rdv says where its invoice was pulled from', () => {
    const rows = dashboardRows(snapshot([row({ downstream: 'address carol@carol.example' }), row()]), NOW);
    assert.deepEqual(rows.map((r) => r[6]), ['waiting for the payer (next payee: address carol@carol.example)', 'waiting for the payer']);
  });

  test('a partial set (open, 1 part held) is in progress, with what it holds', () => {
    const lines = frame(huge, 130, 30);
    const t = tally(huge.rows, DAY_START);
    assert.equal(t.inProgress.length, 2_999);
    assert.equal(t.waiting, 0);
    assert.ok(lines.every((l) => !/40,000 sat/.test(l)), '95 blocks left: not among the 26 most urgent');
    const few = frame(snapshot([row({ heldParts: 2, heldMsat: 80_000_000n, heldSince: NOW - 7, blocksToExpiry: 95 })]), 130, 30);
    assert.match(few[2] ?? '', /open\s+106,000 sat\s+2 parts, 80,000 sat\s+7s\s+95\s+not yet: gathering parts$/);
  });

  test('nothing in progress says so; a terminal too short for the table says how many', () => {
    assert.equal(frame(snapshot([settled(NOW)]), 80, 24)[1], 'nothing in progress: no HTLC held');
    assert.deepEqual(frame(snapshot([paying(5), paying(6)]), 130, 4).slice(1), ['2 in progress: make the terminal taller to see them', '', 'settled: 0 today, 0 in all · earned: 0 sat today, 0 sat in all · failed 0 · expired 0 · open 0']);
  });

  test('a settled relay never shows blocks left, even when an older plugin reports them', () => {
    const lines = frame(snapshot([settled(NOW)]), 130, 30);
    assert.ok(lines.every((l) => !/85/.test(l)));
    assert.deepEqual(dashboardRows(snapshot([settled(NOW)]), NOW)[0]?.[5], '-');
    assert.deepEqual(dashboardRows(snapshot([paying(17)]), NOW)[0]?.[5], '17');
  });

  test('settled today counts from the local midnight given, earned sums exactly', () => {
    const t = tally([settled(DAY_START), settled(DAY_START - 1), settled(NOW, { earnedMsat: 2n ** 60n }), settled(DAY_START, { settledAt: undefined })], DAY_START);
    assert.deepEqual(
      [t.settledToday, t.settled, t.earnedTodayMsat, t.earnedMsat],
      [2, 4, 5_999_989n + 2n ** 60n, 3n * 5_999_989n + 2n ** 60n],
    );
  });

  test('with the plugin\'s totals, the summary counts the finished relays it no longer lists', () => {
    const s = snapshot([paying(17), settled(NOW)], {
      totals: { byState: { open: 3, gathered: 0, paying: 1, settled: 9_000, failed: 400, expired: 599 }, earnedMsat: 54_000_000_000n, recent: { settled: 12, earnedMsat: 72_000_000n } },
    });
    const t = tally(s.rows, DAY_START, s.totals);
    assert.deepEqual([t.inProgress.length, t.settled, t.settledToday, t.earnedMsat, t.earnedTodayMsat, t.failed, t.expired, t.waiting], [1, 9_000, 12, 54_000_000_000n, 72_000_000n, 400, 599, 3]);
    assert.match(frame(s, 200, 30)[0] ?? '', / 10,003 relays | 10003 relays /);
    assert.match(frame(s, 200, 30).at(-1) ?? '', /^settled: 12 today, 9,000 in all · earned: 72,000 sat today, 54,000,000 sat in all · failed 400 · expired 599 · open 3$/);
  });

  test('a plugin that is not relaying says so in the title, in red', () => {
    const lines = frame(snapshot([], { relaying: false, reason: 'CLN v24.11.2 is too old' }), 130, 30, { paint: new Chalk({ level: 1 }) });
    assert.match(lines[0] ?? '', /\u001b\[31mNOT RELAYING: CLN v24\.11\.2 is too old\u001b\[39m/);
  });

  test('an error with a newline and escape codes stays on its line and cannot drive the terminal', () => {
    const lines = frame(snapshot([paying(9, { lastError: 'no route\n\u001b[2J\u001b[31mboom' })]), 130, 30);
    assert.match(lines[2] ?? '', /last error: no route  \[2J \[31mboom$/);
  });

  test('warnings go under the title while there is room for the table', () => {
    const w = ['rdv-guard is not loaded'];
    assert.equal(frame(realCln, 80, 24, { warnings: w })[1], 'warning: rdv-guard is not loaded');
    assert.ok(!frame(realCln, 80, 5, { warnings: w }).some((l) => /warning/.test(l)));
  });
});
