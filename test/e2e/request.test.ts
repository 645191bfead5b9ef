/**
 * Real CLN (regtest): an on-demand chain. Alice, Bob and Carol each set one rdv
 * policy; then, per payment, nobody types anything: `lightning-cli rdv-request` on
 * Alice's node asks the chain (Alice -> Bob -> Carol), and the payer pays the
 * invoice it returns. A refusal halfway travels back; a shop's backend on another
 * node asks over commando with a rune limited to rdv-request.
 *
 *   payer --(1M)-- alice --(2M)-- bob --(2M)-- carol
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { Reader } from '../../src/chain/read.js';
import { parseJson } from '../../src/chain/json.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { assertChainPaid, e2eBinaries, marketplaceNetwork, rdv, rdvJson } from './lib.js';

const { bins, skip } = e2eBinaries();

/** lightning-cli against a node, as a shop's backend would run it: exit code, and its JSON (result or error). */
function cli(node: RegtestNode, args: string[]): Promise<{ code: number; json: Reader; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(bins?.lightningCli ?? 'lightning-cli', [`--lightning-dir=${node.dir}`, '--network=regtest', ...args], { timeout: 90_000 }, (error, stdout) => {
      const ms = performance.now() - t0;
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      // lightning-cli prints the result, or the error object, as JSON (after any "# ..." lines).
      const text = stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
      try {
        resolve({ code, json: Reader.of(parseJson(text), `lightning-cli ${args[0] ?? ''}`), ms });
      } catch {
        reject(new Error(`lightning-cli ${args.join(' ')} printed no JSON (exit ${code}): ${stdout}`));
      }
    });
  });
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
};

describe('e2e: on-demand chains, lightning-cli rdv-request', () => {
  const { net, node, withLogs, policies } = marketplaceNetwork();
  let alicePolicy = '';
  let bobPolicy = '';
  let carolPolicy = '';

  before(async () => {
    if (!bins) return;
    // Each payee, once: the README's marketplace.
    ({ alicePolicy, bobPolicy, carolPolicy } = policies());
  });

  test("lightning-cli rdv-request 108690000 on Alice's node: Bob asks Carol, all join, Alice's invoice is exactly 108,690 sat; the payer pays it: Carol is paid, Alice and Bob keep payout + fee budget (records and books), the payer's preimage is the proof", { skip, timeout: 180_000 }, async () => {
    await withLogs(async () => {
      const [payer, alice, bob, carol] = [node('payer'), node('alice'), node('bob'), node('carol')];
      // By position, as a shell script would.
      const asked = await cli(alice, ['rdv-request', '108690000', alicePolicy, 'a coffee grinder']);
      assert.equal(asked.code, 0, JSON.stringify(asked.json.value));
      process.stdout.write(`# real CLN: lightning-cli rdv-request -> invoice, three payees: ${asked.ms.toFixed(0)} ms (lightning-cli process included)\n`);
      const bolt11 = asked.json.str('bolt11');
      const hash = asked.json.str('payment_hash');
      assert.equal(asked.json.msat('amount_msat'), 108_690_000n);
      assert.equal(asked.json.str('policy'), alicePolicy);
      const decoded = await payer.rpc.decode(bolt11);
      assert.deepEqual([decoded.payee, decoded.amountMsat, decoded.paymentHash], [alice.id, 108_690_000n, hash]);

      const a = (await rdvJson(alice, ['status', hash.slice(0, 10)])).objects('records')[0];
      const b = (await rdvJson(bob, ['status', hash.slice(0, 10)])).objects('records')[0];
      assert.deepEqual([a?.msat('downstream_amount_msat'), a?.msat('payout_msat'), a?.msat('fee_budget_msat'), a?.str('requested_by')], [106_039_024n, 2_120_781n, 530_195n, 'rpc']);
      assert.deepEqual([b?.msat('downstream_amount_msat'), b?.msat('amount_msat'), b?.str('requested_by')], [100_039_024n, 106_039_024n, alice.id]);
      const shown = await rdv(carol, ['status', hash.slice(0, 10)]);
      assert.match(shown.stdout, new RegExp(`detail +unpaid, made for a request from ${bob.id.slice(0, 8)}…; expires in .*; policy ${carolPolicy}`));

      const paid = Reader.of(await payer.rpc.rpc.call('xpay', { invstring: bolt11, retry_for: 60 }), 'xpay');
      assert.equal(paid.msat('amount_msat'), 108_690_000n);
      // Alice and Bob pay the next payee over a direct channel: no routing fee, each keeps payout + fee budget.
      await assertChainPaid(net(), {
        hash,
        preimage: paid.str('payment_preimage'),
        last: { node: carol, amountMsat: 100_039_024n },
        relays: [
          { node: alice, policy: alicePolicy, payoutMsat: 2_120_781n, keptMsat: 2_120_781n + 530_195n },
          { node: bob, policy: bobPolicy, payoutMsat: 5_000_000n, keptMsat: 5_000_000n + 1_000_000n },
        ],
      });
    });
  });

  test('request -> invoice timing over 20 requests, 10 one at a time and 10 at once (rdv-request over the RPC socket)', { skip, timeout: 180_000 }, async () => {
    await withLogs(async () => {
      const alice = node('alice');
      const one = async (i: number): Promise<number> => {
        const t0 = performance.now();
        const r = Reader.of(await alice.rpc.rpc.call('rdv-request', { amount_msat: 10_250_000 + i, via: alicePolicy }, { timeoutMs: 60_000 }), 'rdv-request');
        assert.equal(r.msat('amount_msat'), BigInt(10_250_000 + i));
        return performance.now() - t0;
      };
      const serial: number[] = [];
      for (let i = 0; i < 10; i++) serial.push(await one(i));
      const parallel = (await Promise.all(Array.from({ length: 10 }, (_, i) => one(100 + i)))).flat();
      const f = (v: number[]): string => `p50 ${percentile(v, 0.5).toFixed(0)} ms, p99 ${percentile(v, 0.99).toFixed(0)} ms, max ${Math.max(...v).toFixed(0)} ms`;
      process.stdout.write(`# real CLN, three payees, one at a time (10): ${f(serial)}\n# real CLN, three payees, 10 at once: ${f(parallel)}\n`);
      assert.equal(serial.length + parallel.length, 20);
    });
  });

  test("a request over Carol's maximum is refused halfway: lightning-cli rdv-request fails with code 1701, Carol's reason and the path; nobody writes anything", { skip, timeout: 90_000 }, async () => {
    await withLogs(async () => {
      const [alice, bob, carol] = [node('alice'), node('bob'), node('carol')];
      const before = await Promise.all([alice, bob, carol].map(async (n) => (await rdvJson(n, ['status'])).objects('records').length));
      const r = await cli(alice, ['rdv-request', '-k', 'amount_msat=2000000000', `via=${alicePolicy}`]);
      assert.notEqual(r.code, 0);
      assert.equal(r.json.int('code'), 1701);
      assert.match(r.json.str('message'), new RegExp(`^${bob.id.slice(0, 8)}: ${carol.id.slice(0, 8)}: policy ${carolPolicy}: [\\d,.]+ sat is over policy ${carolPolicy}'s maximum of 1,000,000 sat$`));
      const afterCounts = await Promise.all([alice, bob, carol].map(async (n) => (await rdvJson(n, ['status'])).objects('records').length));
      assert.deepEqual(afterCounts, before);
    });
  });

  test("a shop's backend on the payer's node asks over commando with a rune that allows rdv-request and nothing else", { skip, timeout: 90_000 }, async () => {
    await withLogs(async () => {
      const [payer, alice] = [node('payer'), node('alice')];
      // The README's rune: this one method, 60 a minute, this one policy.
      const rune = await cli(alice, ['createrune', `restrictions=[["method=rdv-request"],["rate=60"],["pnamevia=${alicePolicy}","parr1=${alicePolicy}"]]`]);
      assert.equal(rune.code, 0, JSON.stringify(rune.json.value));
      const r = rune.json.str('rune');
      const asked = await cli(payer, ['commando', `peer_id=${alice.id}`, `rune=${r}`, 'method=rdv-request', `params={"amount_msat": 51250000, "via": "${alicePolicy}", "description": "from the shop's backend"}`]);
      assert.equal(asked.code, 0, JSON.stringify(asked.json.value));
      const decoded = await payer.rpc.decode(asked.json.str('bolt11'));
      assert.deepEqual([decoded.payee, decoded.amountMsat], [alice.id, 51_250_000n]);
      const other = await cli(payer, ['commando', `peer_id=${alice.id}`, `rune=${r}`, 'method=getinfo']);
      assert.notEqual(other.code, 0, 'the rune allows nothing but rdv-request');
      const otherPolicy = await cli(payer, ['commando', `peer_id=${alice.id}`, `rune=${r}`, 'method=rdv-request', 'params={"amount_msat": 51250000, "via": "ffffffff"}']);
      assert.notEqual(otherPolicy.code, 0, 'nor another policy');
      assert.doesNotMatch(JSON.stringify(otherPolicy.json.value), /no relay policy/, 'refused by the rune, before rdv saw it');
    });
  });
});
