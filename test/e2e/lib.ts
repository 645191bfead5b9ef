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
import { poll } from '../../src/regtest/process.js';
import { htlcsInChannels } from '../../src/regtest/queries.js';
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

/** Wait until no node of the network has an HTLC in its channels (every payment fully settled or failed back). */
export async function noHtlcsLeft(rt: Regtest): Promise<void> {
  for (const n of rt.nodes) {
    if (!n.isRunning()) continue;
    await poll(`no HTLC left in ${n.name}'s channels`, async () => ((await htlcsInChannels(n.rpc)) === 0 ? true : undefined), 30_000, 100);
  }
}

/**
 * lightningd's books for one payment: its channel moves (listchannelmoves, which
 * lightningd writes once an HTLC is irrevocably settled) for `hash`, as the
 * number of moves and their net (credit − debit), msat.
 */
export async function bookedFor(n: RegtestNode, hash: string): Promise<{ moves: number; netMsat: bigint }> {
  const moves = Reader.of(await n.rpc.rpc.call('listchannelmoves', {}), 'listchannelmoves')
    .objects('channelmoves')
    .filter((m) => m.optStr('payment_hash') === hash);
  return { moves: moves.length, netMsat: moves.reduce((s, m) => s + m.msat('credit_msat') - m.msat('debit_msat'), 0n) };
}

/** A relay payee of a paid chain, and what it must have kept (payout + the fee budget it did not spend). */
export interface RelayKept {
  node: RegtestNode;
  policy: string;
  payoutMsat: bigint;
  keptMsat: bigint;
}

/**
 * Everything that must be true once the payer paid a chain's first invoice: the
 * payer's proof (the preimage) is the hash's; the last payee's invoice is paid,
 * for its amount, in its books; each relay's record, joined by its policy, is
 * settled and says it kept `keptMsat`, with the payout it was due, and its
 * books (lightningd's channel moves for the hash) say the same.
 */
export async function assertChainPaid(rt: Regtest, p: { hash: string; preimage: string; last: { node: RegtestNode; amountMsat: bigint }; relays: RelayKept[] }): Promise<void> {
  assert.equal(sha256hex(p.preimage), p.hash, "the payer's preimage is the payment hash's: its proof of payment");
  await noHtlcsLeft(rt);
  const invoice = Reader.of(await p.last.node.rpc.rpc.call('listinvoices', { payment_hash: p.hash }), 'listinvoices').objects('invoices')[0];
  assert.deepEqual([invoice?.str('status'), invoice?.msat('amount_msat'), invoice?.optMsat('amount_received_msat')], ['paid', p.last.amountMsat, p.last.amountMsat], `${p.last.node.name}'s invoice`);
  const lastBooks = await poll(`${p.last.node.name}'s channel moves for the payment`, async () => {
    const b = await bookedFor(p.last.node, p.hash);
    return b.moves > 0 ? b : undefined;
  }, 30_000, 100);
  assert.equal(lastBooks.netMsat, p.last.amountMsat, `${p.last.node.name}'s books`);
  for (const r of p.relays) {
    const record = await poll(`${r.node.name}'s record settled`, async () => {
      const s = (await rdvJson(r.node, ['status', p.hash.slice(0, 10)])).objects('records')[0];
      return s?.str('state') === 'settled' ? s : undefined;
    }, 60_000, 250);
    assert.equal(record.optStr('policy'), r.policy, `${r.node.name} joined by its policy`);
    assert.equal(record.optStr('preimage'), p.preimage, `${r.node.name}'s record holds the preimage`);
    assert.equal(record.msat('payout_msat'), r.payoutMsat, `${r.node.name}'s payout`);
    assert.equal(record.optSignedMsat('earned_msat'), r.keptMsat, `${r.node.name} kept its payout and the fee budget it did not spend (its record)`);
    // A relay's books hold the incoming credit and the outgoing debit.
    const books = await poll(`${r.node.name}'s channel moves for the payment, in and out`, async () => {
      const b = await bookedFor(r.node, p.hash);
      return b.moves >= 2 ? b : undefined;
    }, 30_000, 100);
    assert.equal(books.netMsat, r.keptMsat, `${r.node.name} kept its payout and the fee budget it did not spend (lightningd's books)`);
  }
}

/** The marketplace of the README and DESIGN.md, running: its network and each payee's one policy. */
export interface Marketplace {
  rt: Regtest;
  /** Alice's relay policy (from Bob): what rdv-request and rdv serve ask through. */
  alicePolicy: string;
  /** Bob's relay policy (from Carol, passing to Alice). */
  bobPolicy: string;
  /** Carol's last-payee policy (for Bob). */
  carolPolicy: string;
}

/** The README's marketplace network: payer --(1M)-- alice --(2M)-- bob --(2M)-- carol. The payer's node has no rdv. */
export const MARKETPLACE: Pick<NetworkSetUp, 'nodes' | 'fund' | 'channels'> = {
  nodes: [{ name: 'payer', rdv: 'none' }, { name: 'alice' }, { name: 'bob' }, { name: 'carol' }],
  fund: { nodes: ['payer', 'alice', 'bob'], btc: 0.05, utxos: 1 },
  channels: [
    { from: 'payer', to: 'alice', amountSat: 1_000_000 },
    { from: 'alice', to: 'bob', amountSat: 2_000_000 },
    { from: 'bob', to: 'carol', amountSat: 2_000_000 },
  ],
};

export type MarketplaceBounds = { relay?: string[]; last?: string[] };

/**
 * Each payee of the marketplace runs `rdv policy add` once, as its operator would,
 * and nothing per payment: Carol answers Bob's invoice requests (`--last --for
 * bob`); Bob joins Carol's answers, 5,000 sat + 1,000 sat fee budget, and answers
 * Alice (`--pass-to alice`); Alice joins Bob's, 2% + 0.5%. `bounds`: more for each
 * policy (e.g. rates for a benchmark).
 */
export async function addMarketplacePolicies(rt: Regtest, bounds: MarketplaceBounds = {}): Promise<Omit<Marketplace, 'rt'>> {
  const [alice, bob, carol] = [rt.node('alice'), rt.node('bob'), rt.node('carol')];
  const relay = bounds.relay ?? [];
  const alicePolicy = (await rdvJson(alice, ['policy', 'add', '--from', bob.id, '--payout', '2%', '--fee-budget', '0.5%', '--delay-budget', '80', ...relay])).str('id');
  const bobPolicy = (await rdvJson(bob, ['policy', 'add', '--from', carol.id, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '80', '--pass-to', alice.id, ...relay])).str('id');
  const carolPolicy = (await rdvJson(carol, ['policy', 'add', '--last', '--for', bob.id, '--max-amount', '1000000sat', '--description', 'order from the shop', ...(bounds.last ?? [])])).str('id');
  return { alicePolicy, bobPolicy, carolPolicy };
}

/**
 * The marketplace for an e2e suite (regtestNetwork's before and after hooks):
 * `policies()` once started. `gossipTo`: nodes that must know every channel (a wrap
 * by Alice routes to Carol through Bob).
 */
export function marketplaceNetwork(o: { bounds?: MarketplaceBounds; gossipTo?: string[]; tearDown?: () => Promise<void> | void } = {}): ReturnType<typeof regtestNetwork> & { policies: () => Omit<Marketplace, 'rt'> } {
  let policies: Omit<Marketplace, 'rt'> | undefined;
  const n = regtestNetwork({
    ...MARKETPLACE,
    ...(o.gossipTo ? { gossipTo: o.gossipTo } : {}),
    ...(o.tearDown ? { tearDown: o.tearDown } : {}),
    then: async (rt) => {
      policies = await addMarketplacePolicies(rt, o.bounds);
    },
  });
  return {
    ...n,
    policies: () => {
      assert.ok(policies, 'the marketplace did not start');
      return policies;
    },
  };
}

/** The marketplace started outside a test (the benchmark); the caller stops it. */
export async function startMarketplace(bins: Binaries, o: { bounds?: MarketplaceBounds; gossipTo?: string[] } = {}): Promise<Marketplace> {
  const started = await Regtest.start({ binaries: bins, nodes: MARKETPLACE.nodes, keep: KEEP });
  if (!started.ok) throw new Error(started.error);
  const rt = started.value;
  try {
    const fund = MARKETPLACE.fund;
    if (fund) await rt.fund(fund.nodes, { btc: fund.btc, utxos: fund.utxos });
    await rt.openChannels(MARKETPLACE.channels ?? [], o.gossipTo ? { gossipTo: o.gossipTo } : {});
    return { rt, ...(await addMarketplacePolicies(rt, o.bounds)) };
  } catch (e) {
    await rt.stop();
    throw e;
  }
}
