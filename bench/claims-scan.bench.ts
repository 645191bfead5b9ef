/**
 * The restart's check for claimed parts on a node with a long history:
 * RDV_BENCH_MOVES (default 100000; "100000,400000" for several) channel moves
 * on a simulated lightningd, most of them our payments' debits with their u64
 * group_id; three settled relays ask at once (ClaimScanner over the real
 * socket). Gives the listchannelmoves calls made, the largest reply, and the
 * time until all three have their answer. `unpaged` is what rdv 0.1 asked
 * instead: the whole table, once per relay, all at once (parsed by today's
 * parser; the simulated lightningd's own work is in the same process and times).
 */
import { createHash } from 'node:crypto';
import { ClaimScanner, PAGE_MOVES } from '../src/rpc/claims.js';
import { LightningNode } from '../src/rpc/node.js';
import { stringifyJson } from '../src/rpc/json.js';
import { SimNetwork } from '../src/simnet/network.js';
import { hrms, report, round, rssMb } from './lib.js';

const sizes = (process.env.RDV_BENCH_MOVES ?? '100000').split(',').map(Number);
const hashOf = (i: number): string => createHash('sha256').update(`bench claims ${i}`).digest('hex');

for (const n of sizes) {
  const net = new SimNetwork();
  try {
    const bob = await net.addNode('bob');
    const wanted = [hashOf(-1), hashOf(-2), hashOf(-3)];
    for (let i = 1; i <= n; i++) {
      const credit = i % 10_007 === 0;
      bob.addChannelMove(
        credit
          ? { account_id: '5a'.repeat(32), credit_msat: 53_011_000n, debit_msat: 0n, primary_tag: 'invoice', payment_hash: wanted[i % 3] ?? '' }
          : { account_id: '6b'.repeat(32), credit_msat: 0n, debit_msat: 1_000_000n + BigInt(i), primary_tag: 'invoice', payment_hash: hashOf(i), part_id: i % 4, group_id: 18_000_000_000_000_000_000n - BigInt(i), fees_msat: 1_001n },
      );
    }
    const node = await LightningNode.connect(bob.socketPath, 'rdv-bench', { reconnect: true });
    try {
      const scanner = new ClaimScanner(node);
      const t0 = process.hrtime.bigint();
      const answers = await Promise.all(wanted.map((h) => scanner.credits(h)));
      const pagedMs = hrms(t0);
      const pagedCalls = bob.server.calls.filter((c) => c.method === 'listchannelmoves').length;
      const firstPage = (await node.rpc.call('listchannelmoves', { index: 'created', start: 1, limit: PAGE_MOVES })) as { channelmoves: unknown[] };
      const pageBytes = stringifyJson(firstPage).length;
      // rdv 0.1: each relay asked for the whole table, all at once, on the one connection.
      const t1 = process.hrtime.bigint();
      const wholes = (await Promise.all(wanted.map(() => node.rpc.call('listchannelmoves', {})))) as Array<{ channelmoves: unknown[] }>;
      const unpagedMs = hrms(t1);
      const wholeBytes = stringifyJson(wholes[0]).length;
      report('claims-scan', { moves: n, relays_asking: wanted.length, page_moves: PAGE_MOVES }, {
        paged: { calls: pagedCalls, page_reply_mb: round(pageBytes / 1e6, 2), all_answered_ms: round(pagedMs, 0), credits_found: answers.map((a) => a.length) },
        unpaged: { calls: wanted.length, reply_mb_each: round(wholeBytes / 1e6, 1), all_answered_ms: round(unpagedMs, 0) },
        process_peak_rss_mb: rssMb(process.pid)?.peak,
      });
    } finally {
      node.close();
    }
  } finally {
    await net.stop();
  }
}
