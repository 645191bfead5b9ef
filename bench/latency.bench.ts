/**
 * End-to-end latency of a rendez-vous through 3 payees (payer -> Alice -> Bob ->
 * Carol, two relays) against a plain payment from the payer to Carol over the
 * same channels, measured side by side in one run (interleaved). On the
 * simulated network always (per-hop and per-payment costs calibrated to CLN
 * v26.06.6 regtest: 165 ms over 2 hops, 192 ms over 3), and on real regtest
 * when lightningd and bitcoind are found. Target: ratio <= 1.12.
 * On real regtest it then reads each relay's own lightningd log
 * (bench/cln-log.ts) and prints a `relay-turnaround` line per relay: a plain
 * payment's forward against a rendez-vous relay on the same node, from the
 * incoming HTLC committed to the outgoing commitment sent, step by step, and
 * the way back. Target: the relay's p50 within 10 ms of the forward's.
 */
import { spawn } from 'node:child_process';
import type { Msat } from '../src/chain/amount.js';
import { LightningNode } from '../src/rpc/node.js';
import { locateBinaries } from '../src/regtest/binaries.js';
import { Regtest } from '../src/regtest/harness.js';
import { REGTEST_LATENCY, SimNetwork } from '../src/simnet/network.js';
import { RDV_BIN } from '../test/helpers/paths.js';
import { readFileSync } from 'node:fs';
import { summarise, turnarounds } from './cln-log.js';
import { hrms, median, percentile, report, round } from './lib.js';

const RUNS = Number(process.env.RDV_BENCH_RUNS ?? 25);

interface Node {
  name: string;
  dir: string;
  socketPath: string;
}

function rdvJson(node: Node, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(RDV_BIN, ['--lightning-dir', node.dir, '--network', 'regtest', '--json', ...args], { env: { ...process.env, LIGHTNINGD_PLUGIN: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, unknown>) : reject(new Error(`rdv ${args.join(' ')} on ${node.name}: ${err}`))));
  });
}

async function chainInvoice(alice: Node, bob: Node, carol: Node): Promise<string> {
  const c = await rdvJson(carol, ['join', '--last', '--amount', '10000sat']);
  const b = await rdvJson(bob, ['join', '--invoice', String(c.bolt11), '--payout', '500sat', '--fee-budget', '100sat', '--delay-budget', '60']);
  const a = await rdvJson(alice, ['join', '--invoice', String(b.bolt11), '--payout', '200sat', '--fee-budget', '100sat', '--delay-budget', '60']);
  return String(a.bolt11);
}

async function timePay(payer: LightningNode, bolt11: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await payer.xpay({ invstring: bolt11, maxfeeMsat: 1_000_000n as Msat, maxdelay: 2016, retryForSeconds: 30 });
  const ms = hrms(t0);
  if (!r.ok) throw new Error(`payment failed: ${r.message}`);
  return ms;
}

async function measure(network: string, payer: Node, alice: Node, bob: Node, carol: Node, plainInvoice: () => Promise<string>): Promise<void> {
  const rdvInvoices: string[] = [];
  for (let i = 0; i < RUNS + 1; i++) rdvInvoices.push(await chainInvoice(alice, bob, carol));
  const client = await LightningNode.connect(payer.socketPath);
  const plain: number[] = [];
  const rdv: number[] = [];
  try {
    // One warm-up of each, then interleaved runs.
    await timePay(client, await plainInvoice());
    await timePay(client, rdvInvoices[0] ?? '');
    for (let i = 1; i <= RUNS; i++) {
      plain.push(await timePay(client, await plainInvoice()));
      rdv.push(await timePay(client, rdvInvoices[i] ?? ''));
    }
  } finally {
    client.close();
  }
  report(
    'rendezvous-latency',
    { network, payees: 3, relays: 2, runs: RUNS },
    {
      plain_3_hops_ms: { p50: round(median(plain), 1), p90: round(percentile(plain, 90), 1) },
      rendezvous_ms: { p50: round(median(rdv), 1), p90: round(percentile(rdv, 90), 1) },
      ratio_p50: round(median(rdv) / median(plain), 3),
      target_ratio: 1.12,
    },
  );
}

// --- simulated ---------------------------------------------------------------------
{
  const net = new SimNetwork({ pluginPath: RDV_BIN, latency: REGTEST_LATENCY });
  try {
    const payer = await net.addNode('payer');
    const alice = await net.addNode('alice', { plugin: true });
    const bob = await net.addNode('bob', { plugin: true });
    const carol = await net.addNode('carol', { plugin: true });
    net.openChannel(payer, alice, 5_000_000n);
    net.openChannel(alice, bob, 5_000_000n);
    net.openChannel(bob, carol, 5_000_000n);
    let n = 0;
    const plainInvoice = async (): Promise<string> =>
      carol.invoices.create({ amountMsat: 10_700_000n as Msat, label: `plain-${n++}`, description: 'plain', expiry: 3600, cltv: 18, now: Math.floor(Date.now() / 1000), routeHints: [] }).bolt11;
    await measure('simulated (calibrated to regtest)', payer, alice, bob, carol, plainInvoice);
  } finally {
    await net.stop();
  }
}

// --- real regtest --------------------------------------------------------------------
const bins = locateBinaries();
if (!bins.ok) {
  process.stderr.write(`latency on regtest: skipped: ${bins.error}\n`);
} else {
  const started = await Regtest.start({
    binaries: bins.value,
    rdvPath: RDV_BIN,
    nodes: [{ name: 'payer', rdv: 'none' }, { name: 'alice' }, { name: 'bob' }, { name: 'carol' }],
  });
  if (!started.ok) throw new Error(started.error);
  const rt = started.value;
  try {
    await rt.fund(['payer', 'alice', 'bob']);
    await rt.openChannels(
      [
        { from: 'payer', to: 'alice', amountSat: 5_000_000 },
        { from: 'alice', to: 'bob', amountSat: 5_000_000 },
        { from: 'bob', to: 'carol', amountSat: 5_000_000 },
      ],
      { gossipTo: ['payer'] },
    );
    const node = (name: string): Node => {
      const n = rt.node(name);
      return { name, dir: n.dir, socketPath: n.socketPath };
    };
    let n = 0;
    const carolRpc = rt.node('carol').rpc;
    const plainInvoice = async (): Promise<string> => (await carolRpc.invoice({ amountMsat: 10_700_000n as Msat, label: `plain-${n++}`, description: 'plain' })).bolt11;
    await measure('regtest (CLN v26.06.6)', node('payer'), node('alice'), node('bob'), node('carol'), plainInvoice);
    // Each relay's own log: plain payments were forwards through it, rendez-vous relays.
    for (const [name, from, to] of [['alice', 'payer', 'bob'], ['bob', 'alice', 'carol']] as const) {
      const all = turnarounds(readFileSync(rt.node(name).logFile, 'utf8'), { fromPeer: rt.node(from).id, toPeer: rt.node(to).id });
      // The warm-up pair (the first of each kind) is left out, as in the end-to-end figures.
      const ts = all.filter((t, i) => all.findIndex((u) => u.kind === t.kind) !== i);
      report(
        'relay-turnaround',
        { network: 'regtest (CLN v26.06.6)', node: name, from: 'incoming HTLC irrevocably committed', to: 'outgoing commitment_signed sent', runs: RUNS },
        { ...summarise(ts, (v, p) => round(percentile(v, p), 1)), target_relay_minus_forward_p50_ms: 10 },
      );
    }
  } finally {
    await rt.stop();
  }
}
