/**
 * Issue 18's throughput figure: many rendez-vous in flight at once through one
 * relay, on REAL regtest (bitcoind and four lightningd: payer -> alice -> bob ->
 * carol, the payer without rdv, alice and bob relays, carol the last payee; the
 * README's marketplace policies). Each round fires N plain payments from the
 * payer to Carol (3 hops, alice and bob forward) all at once, each its own
 * xpay, and times until the last has settled; then N rendez-vous payments of
 * the same amount (the first invoices of N chains, made beforehand by
 * rdv-request on Alice's node: the payer pays Alice, Alice's plugin pays Bob,
 * Bob's pays Carol), all at once. Rounds alternate which goes first; figures
 * are medians over rounds. Target: rdv total time / plain total time <= 1.3.
 * Reports per-payment latency, failures (never hidden), CPU per payment by
 * node (on a small machine running all four, throughput is CPU), the relays'
 * plugin memory (/proc) and their rdv-status hook timings. N = RDV_BENCH_INFLIGHT
 * (100), then RDV_BENCH_INFLIGHT_MORE (500; 0 skips it); RDV_BENCH_ROUNDS (3).
 * Needs RDV_LIGHTNINGD and RDV_BITCOIND (or both on PATH); prints a skip line
 * otherwise.
 */
import { locateBinaries } from '../src/regtest/binaries.js';
import { Reader } from '../src/chain/read.js';
import { median, report, round } from './lib.js';
import { batched, chainInvoice, cpuMs, failureKinds, fire, rateRefusals, plainInvoice, pluginRss, quiet, relayStatus, spread, startNetwork, type Fired, type Invoice } from './inflight-lib.js';

const SIZES = [Number(process.env.RDV_BENCH_INFLIGHT ?? 100), Number(process.env.RDV_BENCH_INFLIGHT_MORE ?? 500)].filter((n) => n > 0);
const ROUNDS = Number(process.env.RDV_BENCH_ROUNDS ?? 3);
const NAME = 'inflight-regtest';
/** What the payer pays per payment, plain or rendez-vous: Alice's invoice; Bob's is 26,000 sat, Carol's 20,000 sat (Bob's fee budget, 1,000 sat, within 5%). */
const AMOUNT_MSAT = 26_650_000n;
/** BOLT 2's most HTLCs one channel may carry each way (CLN's regtest default; mainnet's is 30), on every node, for both kinds. */
const MAX_HTLCS = 483;
/** Room for every round of both sizes one way: 3 x (100 + 100 + 500 + 500) x 26,650 sat is 96 M sat. */
const CHANNEL_SAT = 150_000_000;
/**
 * lightningd's log level (the harness logs at debug): debug logs every HTLC of
 * every commitment signed, twice, and that cost grows with the HTLCs held, so
 * it weighs on rendez-vous (held longer) more than on forwards. A node's default is info.
 */
const LOG_LEVEL = process.env.RDV_BENCH_LOG_LEVEL ?? 'info';
/** rdv-request calls under way at once while making invoices (the plugin takes 32). */
const MAKE_AT_ONCE = 16;

const bins = locateBinaries();
if (!bins.ok) {
  report(NAME, { skipped: `no real CLN: ${bins.error}` }, {});
  process.exit(0);
}

const m = await startNetwork(bins.value, CHANNEL_SAT, [`--max-concurrent-htlcs=${MAX_HTLCS}`, `--log-level=${LOG_LEVEL}`]);
try {
  const [payer, alice, bob, carol] = [m.rt.node('payer'), m.rt.node('alice'), m.rt.node('bob'), m.rt.node('carol')];
  const configured = Reader.of(await alice.rpc.rpc.call('listconfigs', { config: 'max-concurrent-htlcs' }), 'listconfigs').obj('configs').obj('max-concurrent-htlcs').int('value_int');
  const chains = (n: number): Promise<Invoice[]> => batched(n, MAKE_AT_ONCE, () => chainInvoice(alice, m.alicePolicy, AMOUNT_MSAT));
  const plains = (n: number): Promise<Invoice[]> => batched(n, MAKE_AT_ONCE, () => plainInvoice(carol, AMOUNT_MSAT));

  // Warm up: the JIT in the plugins, askrene's first routes, each kind a few at once.
  for (const make of [plains, chains]) await fire(payer.rpc, await make(5));
  await quiet(m.rt, 30_000);
  const rssBefore = { alice: await pluginRss(alice), bob: await pluginRss(bob) };

  for (const n of SIZES) {
    const plain: Fired[] = [];
    const rdv: Fired[] = [];
    const stuck: string[] = [];
    // CPU ms per node from just before each run to its quiet end, summed by kind.
    const cpu: Record<string, Record<string, number>> = { plain: {}, rdv: {} };
    let error: string | undefined;
    try {
      for (let r = 0; r < ROUNDS; r++) {
        // Invoices first (not timed), then both kinds, the first kind alternating by round.
        const [p, c] = [await plains(n), await chains(n)];
        const order: Array<[Fired[], Invoice[], string]> = r % 2 === 0 ? [[plain, p, 'plain'], [rdv, c, 'rdv']] : [[rdv, c, 'rdv'], [plain, p, 'plain']];
        for (const [into, invoices, kind] of order) {
          const cpuBefore = await cpuMs(m.rt, ['alice']);
          into.push(await fire(payer.rpc, invoices));
          // The next run starts on empty channels; HTLCs still there long after every xpay answered are a finding.
          if (!(await quiet(m.rt, 60_000))) stuck.push(`round ${r + 1}, ${kind}: HTLCs still in channels 60 s after the last xpay answered`);
          const sums = cpu[kind] ?? {};
          for (const [name, ms] of Object.entries(await cpuMs(m.rt, ['alice']))) sums[name] = (sums[name] ?? 0) + ms - (cpuBefore[name] ?? 0);
        }
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const totals = (f: Fired[]): number[] => f.map((x) => round(x.totalMs, 0));
    const failures = (f: Fired[]): string[] => f.flatMap((x) => x.failures);
    const plainMedian = median(totals(plain));
    const rdvMedian = median(totals(rdv));
    report(
      NAME,
      {
        in_flight: n,
        rounds: ROUNDS,
        amount_msat: Number(AMOUNT_MSAT),
        chain: 'real regtest (CLN v26.06.6, Bitcoin Core v29.3): payer -> alice -> bob -> carol; rdv: three xpays (payer, alice, bob), one hop each; plain: one xpay, 3 hops',
        channel_sat: CHANNEL_SAT,
        max_concurrent_htlcs: configured,
        max_concurrent_htlcs_note: `--max-concurrent-htlcs=${MAX_HTLCS} on every lightningd, for both kinds (regtest's default; mainnet's is 30)`,
        log_level: LOG_LEVEL,
        order: 'round 1 plain then rdv, round 2 rdv then plain, ...; each kind all at once, each payment its own xpay over one RPC connection',
      },
      {
        plain_total_ms: { rounds: totals(plain), median: plainMedian },
        rdv_total_ms: { rounds: totals(rdv), median: rdvMedian },
        ratio_rdv_plain: plain.length > 0 && rdv.length > 0 ? round(rdvMedian / plainMedian, 3) : null,
        target_ratio: 1.3,
        plain_payment_ms: spread(plain.flatMap((x) => x.latencyMs)),
        rdv_payment_ms: spread(rdv.flatMap((x) => x.latencyMs)),
        failed: { plain: failures(plain).length, rdv: failures(rdv).length },
        failure_kinds: { plain: failureKinds(failures(plain)), rdv: failureKinds(failures(rdv)) },
        first_failures: [...failures(plain).slice(0, 2).map((f) => `plain ${f}`), ...failures(rdv).slice(0, 2).map((f) => `rdv ${f}`)],
        cpu_ms_per_payment: Object.fromEntries(Object.entries(cpu).map(([kind, sums]) => [kind, Object.fromEntries(Object.entries(sums).flatMap(([name, ms]) => (ms > 0 ? [[name, round(ms / (n * (kind === 'plain' ? plain : rdv).length), 1)]] : [])))])),
        peak_htlcs_payer_alice: { plain: plain.map((x) => x.peakHtlcs), rdv: rdv.map((x) => x.peakHtlcs) },
        stuck,
        rate_refusals_asked_again: rateRefusals.count,
        ...(error !== undefined ? { error } : {}),
        plugin_rss_mb: { before: rssBefore, after: { alice: await pluginRss(alice), bob: await pluginRss(bob) } },
        relays: { alice: await relayStatus(alice).catch((e: Error) => e.message), bob: await relayStatus(bob).catch((e: Error) => e.message) },
      },
    );
  }
} finally {
  await m.rt.stop();
}
