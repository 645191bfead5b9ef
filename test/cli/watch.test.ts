/** `rdv watch`: plugin checks, starting it, and the live view while a payment goes through. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import type { RelayRecord } from '../../src/chain/record.js';
import { makeRecord } from '../helpers/builders.js';
import { buildChain, pay } from '../helpers/chain.js';
import { seedRecord, withFakeLightningd, type Fake } from '../helpers/fake-lightningd.js';
import { RDV_BIN } from '../helpers/paths.js';
import { startInPty, type PtySession } from '../helpers/pty.js';
import { at, runRdv, startRdv } from '../helpers/rdv.js';
import { eventually, withSimNet } from '../helpers/sim.js';
import { textWidth } from '../../src/ui/text.js';
import { VirtualTerminal, type Frame } from '../helpers/vt.js';

const XPAY_ERROR = `xpay: Failed after 7 attempts. ${'We got temporary_channel_failure for 103x1x0, assuming it cannot carry 100000011msat. '.repeat(6)}`.slice(0, 500);

/** Bob's node after months of relaying: 24 in flight (one with a 500-character error), 24 settled, and the rest. */
async function seedMonths(f: Fake): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const midnight = new Date(now * 1000);
  midnight.setHours(0, 0, 0, 0);
  const dayStart = Math.floor(midnight.getTime() / 1000);
  const states: Array<[RelayRecord['state'], number]> = [['paying', 24], ['settled', 24], ['failed', 3], ['expired', 2], ['open', 2]];
  let n = 0;
  for (const [state, count] of states) {
    for (let i = 0; i < count; i++, n++) {
      const hash = createHash('sha256').update(`relay ${n}`).digest('hex') as PaymentHash;
      const expiry = f.net.height + 20 + 7 * i;
      const part = { scid: '110x1x0', id: String(n), amountMsat: msat(106_000_000n), cltvExpiry: expiry };
      seedRecord(f.node, {
        ...makeRecord({ paymentHash: hash, state, expiresAt: now + 3_600, createdAt: now - 86_400, updatedAt: now - n }),
        ...(state === 'paying' || state === 'settled' ? { parts: [part], earliestExpiry: expiry, gatheredAt: now - 60 } : {}),
        // Settled today whatever the hour the suite runs (every 10 minutes back, but never before the local midnight).
        ...(state === 'settled' ? { settledAt: Math.max(now - 600 * i, dayStart), earnedMsat: msat(5_999_989n) } : {}),
        ...((state === 'paying' && i === 0) || state === 'failed' ? { lastError: XPAY_ERROR } : {}),
      });
    }
  }
  await f.node.plugin?.request('rdv-reload', {});
}

/** The terminal model fed with everything the session wrote so far. */
function follow(pty: PtySession): () => VirtualTerminal {
  const vt = new VirtualTerminal();
  let fed = 0;
  return () => {
    vt.write(pty.output.slice(fed));
    fed = pty.output.length;
    return vt;
  };
}

function assertFits(frame: Frame, columns: number, rows: number): void {
  assert.ok(frame.lines.length <= rows, `${frame.lines.length} lines on a ${rows}-row terminal:\n${frame.lines.join('\n')}`);
  for (const l of frame.lines) assert.ok(textWidth(l) <= columns, `a line of ${textWidth(l)} columns on a ${columns}-column terminal: ${l}`);
  assert.equal(frame.lines.filter((l) => /^HASH\s/.test(l)).length, 1, `the header once:\n${frame.lines.join('\n')}`);
  assert.equal(frame.lines.filter((l) => /^rdv watch · block/.test(l)).length, 1, 'the title once');
}

describe('rdv watch', () => {
  test('without the plugin and without a terminal it says how to load it, and exits 1', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const r = await runRdv([...at(bob), 'watch', '--once']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not loaded/);
      assert.match(r.stderr, /rdv: not started: load them with important-plugin=.*bin\/rdv and important-plugin=.*bin\/rdv-guard .*or run rdv watch --start/);
    });
  });

  test('--start starts rdv and rdv-guard, then warns that rdv is not an important plugin', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob');
      const r = await runRdv([...at(bob), 'watch', '--once', '--start']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /started .*bin\/rdv\n.*started .*bin\/rdv-guard/s);
      assert.match(r.stderr, /rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it; load it with important-plugin=/);
      assert.deepEqual(bob.plugins.map((p) => [p.path.split('/').at(-1), p.host?.alive]), [['rdv', true], ['rdv-guard', true]]);
    });
  });

  test('rdv without rdv-guard: a clear warning that a crash can cost money', async () => {
    await withSimNet(async (net) => {
      const bob = await net.addNode('bob', { plugin: true, guard: false });
      const r = await runRdv([...at(bob), 'status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them .* you lose that money; add important-plugin=.*rdv-guard/);
    });
  });

  test('as an important plugin: no warning, and the dashboard lists relays', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const r = await runRdv([...at(chain.bob), 'watch', '--once']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /loaded as an important plugin .*with rdv-guard/);
      assert.match(r.stdout, new RegExp(`${chain.hash.slice(0, 8)}\\s+open\\s+106,000 sat\\s+-\\s+-\\s+-\\s+waiting for the payer`));
    });
  });

  test('--json streams one event per line as the payment goes through, and Ctrl-C leaves the plugin running', async () => {
    await withSimNet(async (net) => {
      const chain = await buildChain(net);
      const watching = startRdv([...at(chain.bob), '--json', 'watch', '--interval', '100']);
      // Pay once watch has shown the relay open (a fixed wait was too short on a busy machine).
      await eventually(() => watching.stdout.includes(chain.hash), 'watch shows the relay');
      assert.ok((await pay(chain)).ok);
      await eventually(() => watching.stdout.includes('"settled"'), 'watch shows it settled');
      watching.child.kill('SIGINT');
      assert.equal(await watching.exited, 0);
      const events = watching.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; state?: string; payment_hash?: string });
      assert.deepEqual(events[0], { event: 'plugin', loaded: true, important: true, path: RDV_BIN, guard: true });
      const states = events.filter((e) => e.payment_hash === chain.hash).map((e) => e.state);
      assert.equal(states[0], 'open');
      assert.equal(states.at(-1), 'settled');
      assert.equal(chain.bob.plugin?.alive, true);
    });
  });

  test('on a 100x20 terminal with 55 records and a 500-character error: one screen that fits, redrawn at once when resized; q gives the terminal back', async () => {
    await withFakeLightningd(async (f) => {
      await seedMonths(f);
      // A long interval: a frame after the resize can only be the resize's own redraw.
      const pty = await startInPty([...at(f.node), 'watch', '--interval', '60000'], { columns: 100, rows: 20 });
      const screen = follow(pty);
      await pty.waitFor(() => screen().frames.length >= 1, 'the first frame');
      const first = screen().frames[0];
      assert.ok(first);
      assertFits(first, 100, 20);
      assert.equal(first.lines.length, 20, 'the relays in flight fill the screen');
      assert.equal(first.lines[18], '… and 8 more in progress');
      assert.match(first.lines[2] ?? '', /^[0-9a-f]{8}\s+paying\s+106,000 sat\s+-\s+-\s+20  last error: xpay: Failed after 7 .*…$/, 'the most urgent first, its error cut to the line');
      assert.match(first.lines[19] ?? '', /^today 24 settled|^settled: 24 today/);

      // stty sets the columns, then the rows: one or two SIGWINCH, each redrawn at once.
      await pty.resize(60, 12);
      await pty.waitFor(() => (screen().frames.at(-1)?.lines.length ?? 0) <= 12, 'a redraw for 60x12');
      const redraws = screen().frames.slice(1);
      assert.ok(redraws.length === 1 || redraws.length === 2, `${redraws.length} redraws`);
      for (const r of redraws) assertFits(r, 60, 20);
      const resized = redraws.at(-1);
      assert.ok(resized);
      assertFits(resized, 60, 12);
      assert.equal(resized.lines[10], '… and 16 more in progress');

      pty.send('q');
      assert.equal(await pty.exited, 0);
      const vt = screen();
      assert.equal(vt.frames.length, 1 + redraws.length, 'nothing redrawn but for the resize');
      assert.deepEqual([vt.entered, vt.left, vt.cursorVisible], [1, 1, true], 'the normal screen and the cursor are given back');
      const main = vt.mainLines().join('\n');
      assert.match(main, /rdv is loaded as an important plugin .*with rdv-guard\n[^]*stopped watching; the rdv plugin keeps relaying inside lightningd/);
      assert.doesNotMatch(main, /HASH|in progress/, 'the frames are not left in the scrollback');
    });
  });

  for (const [how, stop] of [
    ['Ctrl-C', (pty: PtySession) => pty.send('\u0003')],
    ['SIGTERM', (pty: PtySession) => process.kill(pty.pid, 'SIGTERM')],
  ] as const) {
    test(`on a terminal, ${how} also stops watching and gives the screen and the cursor back`, async () => {
      await withFakeLightningd(async (f) => {
        await seedMonths(f);
        const pty = await startInPty([...at(f.node), 'watch', '--interval', '60000'], { columns: 80, rows: 24 });
        const screen = follow(pty);
        await pty.waitFor(() => screen().frames.length >= 1, 'the first frame');
        stop(pty);
        assert.equal(await pty.exited, 0);
        const vt = screen();
        assert.deepEqual([vt.entered, vt.left, vt.cursorVisible], [1, 1, true]);
        assert.match(vt.mainLines().join('\n'), /stopped watching/);
      });
    });
  }

  test('lightningd going away mid-watch: the screen is given back first, so its one-line error stays readable; exit 3', async () => {
    await withFakeLightningd(async (f) => {
      await seedMonths(f);
      const pty = await startInPty([...at(f.node), 'watch', '--interval', '100'], { columns: 80, rows: 24 });
      const screen = follow(pty);
      await pty.waitFor(() => screen().frames.length >= 1, 'the first frame');
      await f.node.crash();
      assert.equal(await pty.exited, 3);
      const vt = screen();
      assert.deepEqual([vt.entered, vt.left, vt.cursorVisible], [1, 1, true]);
      assert.match(vt.mainLines().at(-1) ?? '', /^rdv: .*(lightningd closed the RPC connection|lost the connection to lightningd)/);
    });
  });

  test('--once on a terminal prints one frame sized to it, on the normal screen', async () => {
    await withFakeLightningd(async (f) => {
      await seedMonths(f);
      const pty = await startInPty([...at(f.node), 'watch', '--once'], { columns: 70, rows: 15 });
      assert.equal(await pty.exited, 0);
      const vt = new VirtualTerminal();
      vt.write(pty.output);
      assert.equal(vt.entered, 0, 'no alternate screen');
      const lines = vt.mainLines();
      const start = lines.findIndex((l) => l.startsWith('rdv watch · block'));
      const frame = lines.slice(start);
      assert.ok(start > 0 && frame.length <= 14, `one line spare for the prompt:\n${frame.join('\n')}`);
      assertFits({ lines: frame }, 70, 14);
      assert.match(frame.at(-1) ?? '', /^today 24 settled/);
    });
  });
});
