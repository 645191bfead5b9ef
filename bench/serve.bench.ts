/**
 * rdv serve's own cost: an HTTP request to the LNURL callback -> the first
 * invoice, with `rdv serve` running as the real command (bin/rdv serve) in front
 * of a simulated lightningd whose rdv-request answers at once, as a fake chain
 * (an invoice signed by the node's key for exactly the asked amount, with the
 * description hash asked). So the figure is what rdv serve adds to a chain's own
 * time (the 3-payee chain on real regtest comes with rdv-request). p50/p99 over
 * 50 requests one after another, and over 20 rounds of 20 at once; also a
 * wallet's whole exchange (pay parameters, then callback). Target for the whole
 * chain (issue 17): p50 < 500 ms, p99 < 1 s.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../src/chain/amount.js';
import type { PaymentHash } from '../src/chain/ids.js';
import { SimNetwork } from '../src/simnet/network.js';
import { makeInvoice } from '../test/helpers/invoices.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { setPolicies } from '../test/helpers/policies.js';
import { BOB_ID, POLICY_ID } from '../test/helpers/serve.js';
import { hrms, median, percentile, report, round, rssMb } from './lib.js';

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

  const child = spawn(RDV_BIN, ['--lightning-dir', alice.dir, '--network', 'regtest', '--json', 'serve', '--address', `shop=${POLICY_ID}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0', '--max-chains', '32', '--rate', '100000'], {
    env: { ...process.env, LIGHTNINGD_PLUGIN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const started = await new Promise<{ listening: string }>((resolve, reject) => {
      let out = '';
      let errText = '';
      child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] ?? '') as { listening: string });
      });
      child.on('close', (code) => reject(new Error(`rdv serve exited ${code}: ${errText}`)));
    });
    const base = started.listening;
    let amount = 21_000_000;
    const callback = async (): Promise<number> => {
      const t = process.hrtime.bigint();
      const res = await fetch(`${base}/lnurlp/shop/callback?amount=${amount++}`);
      const body = (await res.json()) as { pr?: string; reason?: string };
      const ms = hrms(t);
      if (!body.pr) throw new Error(`no invoice: ${res.status} ${body.reason ?? ''}`);
      return ms;
    };
    const wallet = async (): Promise<number> => {
      const t = process.hrtime.bigint();
      const params = (await (await fetch(`${base}/.well-known/lnurlp/shop`)).json()) as { callback: string };
      const res = await fetch(`${params.callback}?amount=${amount++}`);
      if (!((await res.json()) as { pr?: string }).pr) throw new Error(`no invoice: ${res.status}`);
      return hrms(t);
    };
    // Warm up (JIT, the connection, bolt11's first load in both processes).
    for (let i = 0; i < 5; i++) await callback();
    const sequential: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await callback());
    const walletMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) walletMs.push(await wallet());
    const concurrent: number[] = [];
    const roundMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = process.hrtime.bigint();
      concurrent.push(...(await Promise.all(Array.from({ length: AT_ONCE }, () => callback()))));
      roundMs.push(hrms(t));
    }
    const fig = (v: number[]): Record<string, number> => ({ p50: round(median(v), 1), p99: round(percentile(v, 99), 1), max: round(Math.max(...v), 1) });
    report(
      'serve-callback',
      { chain: 'fake (rdv-request answers at once)', sequential: SEQUENTIAL, at_once: AT_ONCE, rounds: ROUNDS, server: 'bin/rdv serve, own process' },
      {
        callback_ms: fig(sequential),
        wallet_params_then_callback_ms: fig(walletMs),
        callback_20_at_once_ms: fig(concurrent),
        round_of_20_ms: fig(roundMs),
        rdv_request_calls: chainCalls,
        server_rss_mb: child.pid ? rssMb(child.pid) : undefined,
        target_whole_chain: { p50_ms: 500, p99_ms: 1000 },
      },
    );
  } finally {
    child.kill('SIGTERM');
  }
} finally {
  await net.stop();
}
