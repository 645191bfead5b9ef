/**
 * 1000 concurrent rendez-vous on one relay node (a fake lightningd hosting the
 * real bin/rdv): 1000 records, 1000 HTLCs arriving at once, each relay paying
 * downstream (xpay answers after a short delay), all must settle with the right
 * preimage. Reports wall time and the plugin's RSS. Target: RSS < 100 MB.
 */
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash, Preimage } from '../src/chain/ids.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord, sendHtlc, withFakeLightningd } from '../test/helpers/fake-lightningd.js';
import { hrms, report, round, rssMb } from './lib.js';

const N = Number(process.env.RDV_BENCH_RELAYS ?? 1000);
const XPAY_MS = Number(process.env.RDV_BENCH_XPAY_MS ?? 50);

await withFakeLightningd(async (f) => {
  const now = Math.floor(Date.now() / 1000);
  const height = f.net.height;
  const preimageOf = new Map<string, Preimage>();
  f.node.overrides.set('xpay', async (params) => {
    await new Promise((r) => setTimeout(r, XPAY_MS));
    return { payment_preimage: preimageOf.get(String(params.invstring)), amount_msat: 100_000_000, amount_sent_msat: 100_000_000, failed_parts: 0, successful_parts: 1 };
  });
  const relays = Array.from({ length: N }, () => {
    const preimage = randomBytes(32).toString('hex') as Preimage;
    const hash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') as PaymentHash;
    const bolt11 = `downstream-${hash}`;
    preimageOf.set(bolt11, preimage);
    seedRecord(f.node, { ...makeRecord({ paymentHash: hash, expiresAt: now + 3_600 }), downstreamInvoice: bolt11 });
    return { hash, preimage };
  });
  const pid = f.node.plugin?.pid;
  const before = pid ? rssMb(pid) : undefined;
  let peakDuring = 0;
  const sampler = setInterval(() => {
    const m = pid ? rssMb(pid) : undefined;
    if (m) peakDuring = Math.max(peakDuring, m.rss);
  }, 20);
  const t0 = process.hrtime.bigint();
  const replies = await Promise.all(
    relays.map((r, i) => sendHtlc(f.node, { paymentHash: r.hash, id: i, amountMsat: msat(106_000_000n), paymentSecret: makeRecord().paymentSecret, cltvExpiry: height + 81, height })),
  );
  const wallMs = hrms(t0);
  clearInterval(sampler);
  const settled = replies.filter((rep, i) => rep.result === 'resolve' && rep.payment_key === relays[i]?.preimage).length;
  const after = pid ? rssMb(pid) : undefined;
  const status = (await f.node.plugin?.request('rdv-status', {})) as { memory_mb?: Record<string, number> } | undefined;
  report(
    'concurrent-relays',
    { relays: N, xpay_ms: XPAY_MS },
    {
      settled,
      all_settled: settled === N,
      wall_ms: round(wallMs, 0),
      per_relay_ms: round(wallMs / N, 3),
      plugin_rss_mb: { before: before?.rss, peak_sampled: peakDuring, peak_vmhwm: after?.peak, after: after?.rss },
      plugin_memory_after_mb: status?.memory_mb,
      target_rss_mb: 100,
    },
  );
  if (settled !== N) process.exitCode = 1;
});
