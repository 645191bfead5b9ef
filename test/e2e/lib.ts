/**
 * Shared by the e2e tests: skip when no real binaries, start the regtest network,
 * run the real CLI against a real node, build a chain of payees with it, and show
 * the plugin's log on failure.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createHash } from 'node:crypto';
import { isObject, Reader } from '../../src/chain/read.js';
import { parseJson } from '../../src/chain/json.js';
import { findBinaries, missingBinariesReason, type Binaries } from '../../src/regtest/binaries.js';
import { Regtest, type Channel, type ChannelSpec } from '../../src/regtest/harness.js';
import type { NodeOptions, RegtestNode } from '../../src/regtest/lightningd.js';
import { at, runRdv, type RdvRun } from '../helpers/rdv.js';

/** Keep the regtest dirs (logs, databases) after the run: RDV_E2E_KEEP=1. */
export const KEEP = process.env.RDV_E2E_KEEP === '1';

export interface NetworkSetUp {
  nodes: NodeOptions[];
  /** Fund these nodes before the channels open (`btc` in `utxos` outputs each). */
  fund?: { nodes: string[]; btc: number; utxos: number };
  channels?: ChannelSpec[];
  /** Nodes that must see the channels in gossip before the tests start. */
  gossipTo?: string[];
  /** Anything more once the channels are open (zero-conf channels, peer connections, clients). */
  then?: (rt: Regtest, channels: Channel[]) => Promise<void> | void;
  /** Let go of what `then` made, before the network stops. */
  tearDown?: () => Promise<void> | void;
  /** Start nothing (the tests are skipped for another reason than missing binaries). */
  skip?: string | false;
}

/**
 * The one place an e2e suite starts its real regtest network: in a before hook of
 * the describe (or file) this is called in, when the real binaries are there;
 * stopped by PID in its after hook. Returns the network once started (asserting
 * it did), its nodes by name, and withLogs for its test bodies.
 */
export function regtestNetwork(setUp: NetworkSetUp): { net: () => Regtest; node: (name: string) => RegtestNode; withLogs: (body: () => Promise<void>) => Promise<void> } {
  let rt: Regtest | undefined;
  before(async () => {
    const { bins } = e2eBinaries();
    if (!bins || setUp.skip) return;
    const result = await Regtest.start({ binaries: bins, nodes: setUp.nodes, keep: KEEP });
    if (!result.ok) throw new Error(result.error);
    rt = result.value;
    if (setUp.fund) await rt.fund(setUp.fund.nodes, { btc: setUp.fund.btc, utxos: setUp.fund.utxos });
    const channels = setUp.channels ? await rt.openChannels(setUp.channels, setUp.gossipTo ? { gossipTo: setUp.gossipTo } : {}) : [];
    await setUp.then?.(rt, channels);
  });
  after(async () => {
    try {
      await setUp.tearDown?.();
    } finally {
      await rt?.stop();
    }
  });
  const net = (): Regtest => {
    assert.ok(rt, 'the regtest network did not start');
    return rt;
  };
  return { net, node: (name) => net().node(name), withLogs: (body) => withLogs(() => rt, body) };
}

/**
 * The binaries, or a skip reason. scripts/test.mjs prints the one line that
 * says why the real-CLN suite is skipped; each test only carries the reason.
 */
export function e2eBinaries(): { bins: Binaries | undefined; skip: string | false } {
  const bins = findBinaries();
  if (bins) return { bins, skip: false };
  return { bins: undefined, skip: `no real CLN: ${missingBinariesReason() ?? 'set RDV_LIGHTNINGD and RDV_BITCOIND'}` };
}

/** Run bin/rdv against a node. */
export function rdv(node: RegtestNode, args: string[], timeoutMs = 60_000): Promise<RdvRun> {
  return runRdv([...at(node), ...args], { timeoutMs });
}

/** Run bin/rdv --json against a node; asserts exit 0 and returns the parsed JSON. */
export async function rdvJson(node: RegtestNode, args: string[], timeoutMs = 60_000): Promise<Reader> {
  const r = await rdv(node, ['--json', ...args], timeoutMs);
  assert.equal(r.code, 0, `rdv ${args.join(' ')} on ${node.name} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  let parsed: unknown;
  try {
    // Exact past 2^53, as rdv writes *_msat integers (and as src/ui reads them).
    parsed = parseJson(r.stdout);
  } catch {
    assert.fail(`rdv ${args.join(' ')} on ${node.name} printed no JSON: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  assert.ok(isObject(parsed), `rdv ${args[0] ?? ''} printed JSON that is not an object`);
  return Reader.of(parsed, `rdv ${args[0] ?? ''}`);
}

export const sha256hex = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

export interface ChainPayee {
  name: string;
  payoutSat: number;
  feeBudgetSat: number;
  delayBudget: number;
}

export interface BuiltChain {
  hash: string;
  /** The last payee's invoice label (for listinvoices / delinvoice). */
  lastLabel: string;
  lastBolt11: string;
  /** Invoice of each relay, by node name; the first payee's goes to the payer. */
  bolt11: Map<string, string>;
  first: string;
}

/**
 * `rdv join --last` on the last node, then `rdv join --invoice` on each relay,
 * downstream first (relays[0] pays the last payee). Amounts in sat.
 */
export async function buildChain(rt: Regtest, last: { name: string; amountSat: number }, relays: ChainPayee[]): Promise<BuiltChain> {
  const lastJoin = await rdvJson(rt.node(last.name), ['join', '--last', '--amount', `${last.amountSat}sat`, '--description', 'e2e']);
  const hash = lastJoin.str('payment_hash');
  let downstream = lastJoin.str('bolt11');
  const bolt11 = new Map<string, string>();
  for (const r of relays) {
    const j = await rdvJson(rt.node(r.name), [
      'join',
      '--invoice',
      downstream,
      '--payout',
      `${r.payoutSat}sat`,
      '--fee-budget',
      `${r.feeBudgetSat}sat`,
      '--delay-budget',
      String(r.delayBudget),
    ]);
    assert.equal(j.str('payment_hash'), hash);
    downstream = j.str('bolt11');
    bolt11.set(r.name, downstream);
  }
  return { hash, lastLabel: lastJoin.str('label'), lastBolt11: lastJoin.str('bolt11'), bolt11, first: downstream };
}

/** `rdv status <hash> --json`: the record as rdv shows it (plus `live` from the plugin). */
export async function statusRecord(node: RegtestNode, hash: string): Promise<Reader> {
  const s = await rdvJson(node, ['status', hash]);
  const [record] = s.objects('records');
  assert.ok(record, `rdv status ${hash.slice(0, 8)} on ${node.name} has no record`);
  return record;
}

/** The rdv plugin's log lines of every node, for a failure message. */
export function pluginLogs(rt: Regtest, last = 40): string {
  return rt.nodes.map((n) => `--- ${n.name} (${n.logFile}) ---\n${n.rdvLog().slice(-last).join('\n')}`).join('\n');
}

/**
 * Run a test body; on failure, print the plugins' logs (RDV_TEST_LOGS=1, like the
 * simnet tests) or say how to get them.
 */
async function withLogs(rt: () => Regtest | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const net = rt();
    if (net && process.env.RDV_TEST_LOGS) process.stderr.write(`\n${pluginLogs(net)}\n`);
    else if (net) process.stderr.write(`# rdv plugin logs: RDV_TEST_LOGS=1 prints them; RDV_E2E_KEEP=1 keeps ${net.dir}\n`);
    throw e;
  }
}
