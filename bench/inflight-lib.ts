/** Shared by the in-flight benchmark: the network, invoices made in bounded batches, and payments fired all at once. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Msat } from '../src/chain/amount.js';
import { Reader } from '../src/chain/read.js';
import type { Binaries } from '../src/regtest/binaries.js';
import { Regtest } from '../src/regtest/harness.js';
import type { RegtestNode } from '../src/regtest/lightningd.js';
import { childProcesses, poll } from '../src/regtest/process.js';
import { htlcsInChannels } from '../src/regtest/queries.js';
import type { LightningNode } from '../src/rpc/node.js';
import { addMarketplacePolicies, KEEP, MARKETPLACE, type Marketplace } from '../test/e2e/lib.js';
import { hrms, percentile, round, rssMb } from './lib.js';

export interface Invoice {
  bolt11: string;
  hash: string;
}

/**
 * The marketplace (payer -> alice -> bob -> carol, one policy each, the
 * policies' rate bounds raised as a busy shop would) with channels of
 * `channelSat` and every lightningd given `extraArgs`. The caller stops `rt`.
 */
export async function startNetwork(bins: Binaries, channelSat: number, extraArgs: string[]): Promise<Marketplace> {
  const started = await Regtest.start({ binaries: bins, nodes: MARKETPLACE.nodes.map((n) => ({ ...n, extraArgs })), keep: KEEP });
  if (!started.ok) throw new Error(started.error);
  const rt = started.value;
  try {
    // One output per funder, a little over the channel (fees).
    await rt.fund(['payer', 'alice', 'bob'], { btc: channelSat / 1e8 + 0.01, utxos: 1 });
    await rt.openChannels((MARKETPLACE.channels ?? []).map((c) => ({ ...c, amountSat: channelSat })), { gossipTo: ['payer'] });
    const bounds = { relay: ['--max-per-minute', '1000', '--max-open', '10000'], last: ['--max-per-minute', '1000', '--max-unpaid', '10000'] };
    return { rt, ...(await addMarketplacePolicies(rt, bounds)) };
  } catch (e) {
    await rt.stop();
    throw e;
  }
}

/** `n` results of `make`, at most `atOnce` under way (the plugin refuses more than 32 requests at once). */
export async function batched<T>(n: number, atOnce: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += atOnce) out.push(...(await Promise.all(Array.from({ length: Math.min(atOnce, n - i) }, (_, k) => make(i + k)))));
  return out;
}

/** rdv-request calls a policy's rate bound (--max-per-minute, at most 1,000) refused and the bench asked again. */
export const rateRefusals = { count: 0 };

/**
 * The first invoice of a new 3-payee chain: rdv-request on Alice's node, through
 * her policy. A refusal by a policy's rate bound is asked again a second later
 * (counted); any other refusal throws.
 */
export async function chainInvoice(alice: RegtestNode, via: string, amountMsat: bigint): Promise<Invoice> {
  for (;;) {
    try {
      const r = Reader.of(await alice.rpc.rpc.call('rdv-request', { amount_msat: Number(amountMsat), via }, { timeoutMs: 120_000 }), 'rdv-request');
      return { bolt11: r.str('bolt11'), hash: r.str('payment_hash') };
    } catch (e) {
      if (!(e instanceof Error && /began in the last minute, its limit/.test(e.message)) || rateRefusals.count++ > 10_000) throw e;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

let plainLabel = 0;
/** A normal invoice of Carol's. */
export async function plainInvoice(carol: RegtestNode, amountMsat: bigint): Promise<Invoice> {
  const r = await carol.rpc.invoice({ amountMsat: amountMsat as Msat, label: `inflight-${process.pid}-${plainLabel++}`, description: 'plain' });
  return { bolt11: r.bolt11, hash: r.paymentHash };
}

export interface Fired {
  totalMs: number;
  /** Each settled payment's time, from the moment all were fired. */
  latencyMs: number[];
  /** Each failure: the hash's first digits and xpay's message (cut: xpay lists every reservation in it). */
  failures: string[];
  /** The most HTLCs seen at once in the payer's channel (to Alice), sampled every 100 ms. */
  peakHtlcs: number;
}

/**
 * Every invoice paid by its own xpay, all started together over one RPC
 * connection; over when the last has answered. Settled: xpay ok with the preimage
 * of the invoice's hash; anything else is a failure, with xpay's message.
 */
export async function fire(payer: LightningNode, invoices: Invoice[]): Promise<Fired> {
  const failures: string[] = [];
  const latencyMs: number[] = [];
  let peakHtlcs = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peakHtlcs = Math.max(peakHtlcs, await htlcsInChannels(payer).catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    invoices.map(async (inv) => {
      const r = await payer.xpay({ invstring: inv.bolt11, maxfeeMsat: 1_000_000n as Msat, maxdelay: 2016, retryForSeconds: 120 });
      const ms = hrms(t0);
      if (!r.ok) failures.push(`${inv.hash.slice(0, 8)}: ${r.message.slice(0, 300)}`);
      else if (createHash('sha256').update(Buffer.from(r.preimage, 'hex')).digest('hex') !== inv.hash) failures.push(`${inv.hash.slice(0, 8)}: a preimage not of the hash`);
      else latencyMs.push(ms);
    }),
  );
  const totalMs = hrms(t0);
  done = true;
  await sampler;
  return { totalMs, latencyMs, failures, peakHtlcs };
}

/** Failures counted by kind: the per-channel HTLC limit, or xpay's message without the hash. */
export function failureKinds(failures: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of failures) {
    const kind = /Too many HTLCs/.test(f) ? 'the channel payer-alice was at its HTLC limit (Too many HTLCs)' : f.replace(/^\w+: /, '').slice(0, 120);
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Wait until no channel of the network holds an HTLC; false (a finding) if some are still there after `timeoutMs`. */
export async function quiet(rt: Regtest, timeoutMs: number): Promise<boolean> {
  try {
    for (const n of rt.nodes) await poll(`no HTLC left at ${n.name}`, async () => ((await htlcsInChannels(n.rpc)) === 0 ? true : undefined), timeoutMs, 100);
    return true;
  } catch {
    return false;
  }
}

/** The rdv plugin's resident and peak memory in one node (MB), from /proc. */
export async function pluginRss(node: RegtestNode): Promise<{ rss: number; peak: number } | undefined> {
  const [p] = await node.rdvPluginProcesses();
  return p ? rssMb(p.pid) : undefined;
}

/** CPU time of a process and its reaped children (user + system), ms (Linux /proc; USER_HZ 100); 0 once gone. */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) * 10;
  } catch {
    return 0;
  }
}

/** A process's short name: its program's, or for `node <script>` (rdv, rdv-guard) the script's. */
function processName(args: string): string {
  const [program = '?', ...rest] = args.split(/\s+/);
  const script = rest.find((a) => !a.startsWith('-'));
  return basename(basename(program) === 'node' && script !== undefined ? script : program);
}

/**
 * CPU time used so far, ms, by each node's lightningd with its subdaemons and
 * plugins (direct children; what they forked and reaped is in theirs), and, for
 * `detail`, by each of those processes (`alice/lightningd`, `alice/cln-xpay`,
 * `alice/rdv`, ...; subdaemons of one kind summed).
 */
export async function cpuMs(rt: Regtest, detail: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const add = (key: string, ms: number): void => void (out[key] = (out[key] ?? 0) + ms);
  for (const n of rt.nodes) {
    if (n.pid === undefined) continue;
    const procs = [{ pid: n.pid, name: 'lightningd' }, ...(await childProcesses(n.pid)).map((c) => ({ pid: c.pid, name: processName(c.args) }))];
    for (const p of procs) {
      const ms = processCpuMs(p.pid);
      add(n.name, ms);
      if (detail.includes(n.name)) add(`${n.name}/${p.name}`, ms);
    }
  }
  return out;
}

/** What rdv-status says of a relay's work: its hook and resolve timings, its records by state, its own memory. */
export async function relayStatus(node: RegtestNode): Promise<Record<string, unknown>> {
  const s = Reader.of(await node.rpc.rpc.call('rdv-status', { brief: true }, { timeoutMs: 60_000 }), 'rdv-status');
  return { timing: s.value.timing, by_state: s.optObj('totals')?.value.by_state, memory_mb: s.value.memory_mb, held_htlcs: s.value.held_htlcs };
}

/** p50, p99 and max of some times, ms. */
export const spread = (v: number[]): Record<string, number> =>
  v.length === 0 ? {} : { p50: round(percentile(v, 50), 0), p99: round(percentile(v, 99), 0), max: round(Math.max(...v), 0) };
