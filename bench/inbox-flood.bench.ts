/**
 * A peer floods the inbox: the custommsg hook's answer time seen from lightningd
 * (a fake one, hosting the real bin/rdv), p50/p99, while one channel peer sends
 * 10,000 pass-back messages as fast as lightningd would deliver them (a stream of
 * hook calls, a bounded number in flight), and the plugin's RSS after them.
 * Target: p99 < 5 ms. A second, well-behaved peer's pass-back is timed too.
 */
import { encodePassback } from '../src/chain/passback.js';
import { KEY_ROOT } from '../src/chain/record.js';
import { makeInvoice } from '../test/helpers/invoices.js';
import { withFakeLightningd } from '../test/helpers/fake-lightningd.js';
import { hrms, percentile, report, round, rssMb } from './lib.js';

const MESSAGES = Number(process.env.RDV_BENCH_MESSAGES ?? 10_000);
/** Hook calls lightningd has outstanding at once (it does not wait for one before the next). */
const IN_FLIGHT = Number(process.env.RDV_BENCH_IN_FLIGHT ?? 8);

await withFakeLightningd(async (f) => {
  const mallory = await f.net.addNode('mallory');
  const carol = await f.net.addNode('carol');
  f.net.openChannel(mallory, f.node, 1_000_000n);
  f.net.openChannel(carol, f.node, 1_000_000n);
  const payloads = Array.from({ length: 40 }, () => encodePassback({ kind: 'invoice', bolt11: makeInvoice('mallory') }));
  const pid = f.node.plugin?.pid;
  const rssBefore = pid ? rssMb(pid) : undefined;
  const answerMs: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const payload = payloads[next++ % payloads.length] ?? '';
      const t = process.hrtime.bigint();
      const r = await f.node.callHook('custommsg', () => ({ payload, peer_id: mallory.id }));
      answerMs.push(hrms(t));
      if (r.result !== 'continue') throw new Error(`unexpected answer ${JSON.stringify(r)}`);
    }
  };
  // Meanwhile Carol passes back her invoice once: how long until it is stored.
  const carolsHash = { value: '' };
  const carolDone = (async () => {
    await new Promise((r) => setTimeout(r, 200));
    const bolt11 = makeInvoice('carol');
    const ts = process.hrtime.bigint();
    await f.node.callHook('custommsg', () => ({ payload: encodePassback({ kind: 'invoice', bolt11 }), peer_id: carol.id }));
    for (;;) {
      const entries = (f.node.datastore.listdatastore({ key: [...KEY_ROOT, 'inbox'] }) as { datastore: Array<{ key: string[] }> }).datastore;
      const found = entries.find((e) => e.key[3]?.endsWith(carol.id));
      if (found) {
        carolsHash.value = found.key[3] ?? '';
        return hrms(ts);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const floodMs = hrms(t0);
  const carolMs = await carolDone;
  await new Promise((r) => setTimeout(r, 500));
  (globalThis as { gc?: () => void }).gc?.();
  const status = (await f.node.plugin?.request('rdv-status', {})) as { inbox?: Record<string, number> } | undefined;
  const stored = (f.node.datastore.listdatastore({ key: [...KEY_ROOT, 'inbox'] }) as { datastore: unknown[] }).datastore.length;
  report(
    'inbox-flood',
    { messages: MESSAGES, in_flight: IN_FLIGHT },
    {
      hook_answer_ms: { p50: round(percentile(answerMs, 50), 3), p99: round(percentile(answerMs, 99), 3), max: round(Math.max(...answerMs), 3) },
      messages_per_second: round(MESSAGES / (floodMs / 1000), 0),
      well_behaved_peer_stored_after_ms: round(carolMs, 1),
      stored_entries: stored,
      inbox_counters: status?.inbox ?? null,
      plugin_rss_mb_before: rssBefore ?? null,
      plugin_rss_mb_after: pid ? rssMb(pid) : null,
      target_p99_ms: 5,
    },
  );
});
