/**
 * `rdv watch` facing 10 000 records: one relay node (a fake lightningd hosting
 * the real bin/rdv) with N records in every state, long invoices and errors as
 * real ones have. Reports the size and time of one `rdv-status` reply, full
 * and brief (what watch asks for), how long `rdv watch --once` takes to print
 * without a terminal (the full list), how long `rdv watch` takes to draw its
 * first frame in a pseudo-terminal, and renderFrame alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import type { RelayRecord } from '../src/chain/record.js';
import { LightningNode } from '../src/rpc/node.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord, withFakeLightningd } from '../test/helpers/fake-lightningd.js';
import { startInPty } from '../test/helpers/pty.js';
import { at, runRdv } from '../test/helpers/rdv.js';
import { renderFrame } from '../src/ui/watch-frame.js';
import { readSnapshot } from '../src/ui/watch-view.js';
import { hrms, median, report, round } from './lib.js';

const N = Number(process.env.RDV_BENCH_RECORDS ?? 10_000);
const STATES: Array<RelayRecord['state']> = ['settled', 'settled', 'settled', 'settled', 'settled', 'settled', 'failed', 'expired', 'open', 'paying'];

await withFakeLightningd(async (f) => {
  const now = Math.floor(Date.now() / 1000);
  const invoice = (tag: string): string => `lnbcrt1060u1${tag}${'q'.repeat(420)}`;
  for (let i = 0; i < N; i++) {
    const hash = createHash('sha256').update(randomBytes(32)).digest('hex') as PaymentHash;
    const state = STATES[i % STATES.length] ?? 'open';
    const held = state === 'paying';
    const part = { scid: '110x1x0', id: String(i), channelId: 'c4'.repeat(32), peerId: `02${'d5'.repeat(32)}`, amountMsat: msat(106_000_000n), cltvExpiry: f.net.height + 140 };
    seedRecord(f.node, {
      ...makeRecord({ paymentHash: hash, expiresAt: now + 3_600, state, createdAt: now - 86_400, updatedAt: now - i }),
      bolt11: invoice('bob'),
      downstreamInvoice: invoice('carol'),
      ...(held || state === 'settled' ? { parts: [part], earliestExpiry: part.cltvExpiry, gatheredAt: now - i } : {}),
      ...(state === 'settled' ? { settledAt: now - i * 60, earnedMsat: msat(5_999_989n), preimage: 'a1'.repeat(32) } : {}),
      ...(state !== 'open' ? { attempts: [{ round: 0, startedAt: now - i, startHeight: f.net.height, layer: `rdv-${hash.slice(0, 16)}`, maxdelay: 44, maxfeeMsat: msat(1_000_000n), ...(state === 'settled' ? { outcome: 'success', finishedAt: now - i, sentMsat: msat(100_000_011n) } : {}) }] } : {}),
      ...(state === 'failed' ? { lastError: `xpay: Failed after 7 attempts. ${'We got temporary_channel_failure for 103x1x0, assuming it cannot carry 100000011msat. '.repeat(4)}` } : {}),
    } as RelayRecord);
  }
  const node = await LightningNode.connect(f.node.socketPath);
  try {
    await node.rpc.call('rdv-reload', {});
    const status = async (params: Record<string, unknown>): Promise<{ ms: number; bytes: number; reply: unknown }> => {
      const times: number[] = [];
      let reply: unknown;
      for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        reply = await node.rpc.call('rdv-status', params);
        times.push(hrms(t0));
      }
      return { ms: round(median(times), 0), bytes: JSON.stringify(reply).length, reply };
    };
    const full = await status({});
    const brief = await status({ brief: true });
    const once: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runRdv([...at(f.node), 'watch', '--once'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(r.stderr);
      once.push(r.ms);
    }
    const firstFrame: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      const pty = await startInPty([...at(f.node), 'watch', '--interval', '60000'], { columns: 130, rows: 30 });
      await pty.waitFor((o) => o.includes('\u001b[?2026l'), 'the first frame', 60_000);
      firstFrame.push(hrms(t0));
      pty.send('q');
      if ((await pty.exited) !== 0) throw new Error('rdv watch did not exit 0');
    }
    const snapshot = readSnapshot(brief.reply);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) renderFrame(snapshot, { columns: 130, rows: 30, now, dayStart: now - 3_600 });
    const renderMs = hrms(t0) / 10;
    report(
      'watch-scale',
      { records: N },
      {
        rdv_status_full: { bytes: full.bytes, ms_median: full.ms },
        rdv_status_brief: { bytes: brief.bytes, ms_median: brief.ms },
        watch_once_no_tty_ms_median: round(median(once), 0),
        watch_first_frame_pty_ms_median: round(median(firstFrame), 0),
        render_frame_ms: round(renderMs, 2),
      },
    );
  } finally {
    node.close();
  }
});
