/**
 * Shared by the e2e tests: skip when no real binaries, run the real CLI against a
 * real node, build a chain of payees with it, and show the plugin's log on failure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isObject, Reader } from '../../src/chain/read.js';
import { parseJson } from '../../src/chain/json.js';
import { findBinaries, missingBinariesReason, type Binaries } from '../../src/regtest/binaries.js';
import type { Regtest } from '../../src/regtest/harness.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { at, runRdv, type RdvRun } from '../helpers/rdv.js';
import { ROOT } from '../helpers/paths.js';

export const HOLD_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'hold-plugin.mjs');
/** Accepts every incoming channel as zero-conf (openchannel hook: mindepth 0). */
export const ZEROCONF_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'zeroconf-plugin.mjs');
/** Records each htlc_accepted call (as lightningd named the HTLC) before rdv sees it. */
export const HTLC_SPY_PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'htlc-spy.mjs');

/** The network once started (asserting it did), and its nodes by name. */
export function network(get: () => Regtest | undefined): { net: () => Regtest; node: (name: string) => RegtestNode } {
  const net = (): Regtest => {
    const rt = get();
    assert.ok(rt, 'the regtest network did not start');
    return rt;
  };
  return { net, node: (name) => net().node(name) };
}

/** Keep the regtest dirs (logs, databases) after the run: RDV_E2E_KEEP=1. */
export const KEEP = process.env.RDV_E2E_KEEP === '1';

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
export async function withLogs(rt: () => Regtest | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const net = rt();
    if (net && process.env.RDV_TEST_LOGS) process.stderr.write(`\n${pluginLogs(net)}\n`);
    else if (net) process.stderr.write(`# rdv plugin logs: RDV_TEST_LOGS=1 prints them; RDV_E2E_KEEP=1 keeps ${net.dir}\n`);
    throw e;
  }
}
