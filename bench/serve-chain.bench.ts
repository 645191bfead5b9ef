/**
 * Issue 17's figure: an HTTP request to rdv serve's LNURL callback -> the first
 * invoice of a 3-payee chain, on REAL regtest (bitcoind and three lightningd
 * with the rdv plugin: the README's marketplace, Alice -> Bob -> Carol, each
 * payee with one policy), `bin/rdv serve` in its own process in front of Alice.
 * Each request makes the whole chain: Alice asks Bob, Bob asks Carol, Carol
 * invoices, Bob and Alice join on the way back, rdv serve checks the invoice
 * and stores a verify token. p50/p99 over 50 requests one after another, and
 * over rounds of 20 at once. Target: p50 < 500 ms, p99 < 1 s.
 * Needs RDV_LIGHTNINGD and RDV_BITCOIND (or both on PATH); prints a skip line
 * otherwise.
 */
import { startServe } from '../src/demo/serve.js';
import { locateBinaries } from '../src/regtest/binaries.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { startMarketplace } from '../test/e2e/lib.js';
import { report, rssMb } from './lib.js';
import { figures, timeCallbacks } from './serve-lib.js';

const SEQUENTIAL = Number(process.env.RDV_BENCH_REQUESTS ?? 50);
const AT_ONCE = Number(process.env.RDV_BENCH_AT_ONCE ?? 20);
const ROUNDS = Number(process.env.RDV_BENCH_ROUNDS ?? 5);
const NAME = 'serve-chain-regtest';

const bins = locateBinaries();
if (!bins.ok) {
  report(NAME, { skipped: `no real CLN: ${bins.error}` }, {});
  process.exit(0);
}

// The policies' own bounds (30 joins a minute, 100 open) would refuse a benchmark's flood: raise them, as a busy shop would.
const m = await startMarketplace(bins.value, {
  bounds: { relay: ['--max-per-minute', '1000', '--max-open', '10000'], last: ['--max-per-minute', '1000', '--max-unpaid', '10000'] },
});
try {
  const alice = m.rt.node('alice');
  const serve = await startServe(RDV_BIN, alice.dir, ['--address', `shop=${m.alicePolicy}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0', '--rate', '100000', '--max-chains', '32']);
  try {
    // Warm up: the JIT in three plugins and rdv serve, the peer connections, askrene's first routes.
    const t = await timeCallbacks(serve.listening, { warmUp: 5, sequential: SEQUENTIAL, atOnce: AT_ONCE, rounds: ROUNDS });
    report(
      NAME,
      { chain: 'real regtest, alice -> bob -> carol (two relays, a last payee), one policy each', sequential: SEQUENTIAL, at_once: AT_ONCE, rounds: ROUNDS, server: 'bin/rdv serve, own process' },
      {
        callback_ms: figures(t.sequential),
        callback_20_at_once_ms: figures(t.concurrent),
        round_of_20_ms: figures(t.roundMs),
        failed: t.failures.length,
        first_failures: t.failures.slice(0, 3),
        server_rss_mb: serve.child.pid ? rssMb(serve.child.pid) : undefined,
        target: { p50_ms: 500, p99_ms: 1000 },
      },
    );
  } finally {
    await serve.stop();
  }
} finally {
  await m.rt.stop();
}
