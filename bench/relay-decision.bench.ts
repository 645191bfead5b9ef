/**
 * Relay decision time, seen from lightningd (a fake one, hosting the real
 * bin/rdv): htlc_accepted in -> xpay call out (including the "gathered" and
 * "paying" datastore writes and the listsendpays check), and xpay result ->
 * resolve out (including the "settled" write), with 1, 100 and 1000 other
 * relays held at once. Target: p99 < 5 ms at 1000. The plugin's own view (from
 * rdv-status: HTLC in -> xpay out inside the plugin, without the fake lightningd's
 * side of each round trip) is reported next to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash, Preimage } from '../src/chain/ids.js';
import { makeRecord } from '../test/helpers/builders.js';
import { seedRecord, sendHtlc, withFakeLightningd } from '../test/helpers/fake-lightningd.js';
import { hrms, percentile, report, round, rssMb } from './lib.js';

const LEVELS = (process.env.RDV_BENCH_LEVELS ?? '1,100,1000').split(',').map(Number);
const SAMPLES = Number(process.env.RDV_BENCH_SAMPLES ?? 200);

function relayFor(now: number): { hash: PaymentHash; preimage: Preimage; record: ReturnType<typeof makeRecord> } {
  const preimage = randomBytes(32).toString('hex') as Preimage;
  const hash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') as PaymentHash;
  return { hash, preimage, record: makeRecord({ paymentHash: hash, expiresAt: now + 3_600 }) };
}

await withFakeLightningd(async (f) => {
  const now = Math.floor(Date.now() / 1000);
  const height = f.net.height;
  const pending = new Map<string, { resolve: (v: unknown) => void; calledAt: bigint }>();
  const preimages = new Map<string, Preimage>();
  f.node.overrides.set('xpay', (params) => {
    const calledAt = process.hrtime.bigint();
    return new Promise((resolve) => pending.set(String(params.invstring), { resolve, calledAt }));
  });
  let held = 0;
  let id = 1;
  const part = (hash: string) => ({ paymentHash: hash, id: id++, amountMsat: msat(106_000_000n), paymentSecret: makeRecord().paymentSecret, cltvExpiry: height + 81, height });

  for (const level of LEVELS) {
    // Bring the number of relays held (paying, HTLC held) up to `level`.
    while (held < level) {
      const r = relayFor(now);
      seedRecord(f.node, { ...r.record, downstreamInvoice: `held-${r.hash}` });
      void sendHtlc(f.node, part(r.hash));
      held++;
    }
    const deadline = Date.now() + 60_000;
    while (pending.size < held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const inMs: number[] = [];
    const outMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const r = relayFor(now);
      const bolt11 = `measured-${r.hash}`;
      preimages.set(bolt11, r.preimage);
      seedRecord(f.node, { ...r.record, downstreamInvoice: bolt11 });
      const t0 = process.hrtime.bigint();
      const reply = sendHtlc(f.node, part(r.hash));
      while (!pending.has(bolt11)) await new Promise((res) => setImmediate(res));
      const call = pending.get(bolt11);
      if (!call) throw new Error('no xpay');
      inMs.push(Number(call.calledAt - t0) / 1e6);
      pending.delete(bolt11);
      const t1 = process.hrtime.bigint();
      call.resolve({ payment_preimage: r.preimage, amount_msat: 100_000_000, amount_sent_msat: 100_000_000, failed_parts: 0, successful_parts: 1 });
      const answer = await reply;
      outMs.push(hrms(t1));
      if (answer.result !== 'resolve' || answer.payment_key !== r.preimage) throw new Error(`unexpected reply ${JSON.stringify(answer)}`);
    }
    const pid = f.node.plugin?.pid;
    const status = (await f.node.plugin?.request('rdv-status', {})) as { timing?: Record<string, unknown> } | undefined;
    report(
      'relay-decision',
      { held_relays: level, samples: SAMPLES },
      {
        hook_to_xpay_ms: { p50: round(percentile(inMs, 50), 3), p99: round(percentile(inMs, 99), 3) },
        xpay_result_to_resolve_ms: { p50: round(percentile(outMs, 50), 3), p99: round(percentile(outMs, 99), 3) },
        plugin_rss_mb: pid ? rssMb(pid) : null,
        inside_plugin: status?.timing ?? null,
        target_p99_ms: 5,
      },
    );
  }

});
