/**
 * rdv serve's own cost: an HTTP request to the LNURL callback -> the first
 * invoice, with `rdv serve` running as the real command (bin/rdv serve) in front
 * of a simulated lightningd whose rdv-request answers at once, as a fake chain
 * (an invoice signed by the node's key for exactly the asked amount, with the
 * description hash asked). So the figure is what rdv serve adds to a chain's own
 * time (the 3-payee chain on real regtest: bench/serve-chain.bench.ts). p50/p99
 * over 50 requests one after another, and over 20 rounds of 20 at once; also a
 * wallet's whole exchange (pay parameters, then callback).
 */
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import { startServe } from '../src/demo/serve.js';
import { SimNetwork } from '../src/simnet/network.js';
import { makeInvoice } from '../test/helpers/invoices.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { setPolicies } from '../test/helpers/policies.js';
import { BOB_ID, POLICY_ID } from '../test/helpers/serve.js';
import { report, rssMb } from './lib.js';
import { figures, timeCallbacks } from './serve-lib.js';

const SEQUENTIAL = Number(process.env.RDV_BENCH_REQUESTS ?? 50);
const AT_ONCE = Number(process.env.RDV_BENCH_AT_ONCE ?? 20);
const ROUNDS = Number(process.env.RDV_BENCH_ROUNDS ?? 20);

const net = new SimNetwork();
try {
  const alice = await net.addNode('alice');
  setPolicies(alice, [{ id: POLICY_ID, from: BOB_ID, payout: '2%', feeBudget: '0.5%', delayBudget: '80' }]);
  let chainCalls = 0;
  alice.overrides.set('rdv-request', async (p) => {
    chainCalls++;
    const paymentHash = createHash('sha256').update(randomBytes(32)).digest('hex') as PaymentHash;
    const amount = BigInt(String(p.amount_msat));
    const bolt11 = makeInvoice('alice', { amountMsat: msat(amount), paymentHash, descriptionHash: String(p.description_hash), description: undefined });
    return { bolt11, payment_hash: paymentHash, amount_msat: amount, expires_at: Math.floor(Date.now() / 1000) + 3600, policy: POLICY_ID };
  });

  const serve = await startServe(RDV_BIN, alice.dir, ['--address', `shop=${POLICY_ID}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0', '--max-chains', '32', '--rate', '100000']);
  try {
    // Warm up (JIT, the connection, bolt11's first load in both processes).
    const t = await timeCallbacks(serve.listening, { warmUp: 5, sequential: SEQUENTIAL, atOnce: AT_ONCE, rounds: ROUNDS, wallet: true });
    report(
      'serve-callback',
      { chain: 'fake (rdv-request answers at once)', sequential: SEQUENTIAL, at_once: AT_ONCE, rounds: ROUNDS, server: 'bin/rdv serve, own process' },
      {
        callback_ms: figures(t.sequential),
        wallet_params_then_callback_ms: figures(t.walletMs),
        callback_20_at_once_ms: figures(t.concurrent),
        round_of_20_ms: figures(t.roundMs),
        failed: t.failures.length,
        rdv_request_calls: chainCalls,
        server_rss_mb: serve.child.pid ? rssMb(serve.child.pid) : undefined,
        target_whole_chain: { p50_ms: 500, p99_ms: 1000, measured_by: 'bench/serve-chain.bench.ts' },
      },
    );
  } finally {
    await serve.stop();
  }
} finally {
  await net.stop();
}
