/**
 * The network a demo runs on: the simulated one (always available) or a real
 * regtest one. Both give named nodes with a lightning-dir, an address, and a
 * way for the payer to pay.
 */
import type { Msat } from '../chain/amount.js';
import type { NodeId } from '../chain/ids.js';
import type { PayResult } from '../chain/relay/types.js';
import { err, ok, type Result } from '../errors.js';
import { LightningNode } from '../rpc/node.js';

export interface DemoNode {
  name: string;
  id: NodeId;
  /** --lightning-dir for rdv (the network is regtest in both cases). */
  dir: string;
  port: number;
  socketPath: string;
}

export interface DemoNetwork {
  kind: 'simulated' | 'regtest';
  /** One line saying what this network is. */
  description: string;
  payer: DemoNode;
  /** In chain order: the payer pays payees[0]; the last one is the last payee. */
  payees: DemoNode[];
  /** The processes left running for --keep (bitcoind and each lightningd), to stop by PID. */
  pids: () => number[];
  stop(): Promise<void>;
}

export interface DemoSetup {
  payees: string[];
  /** bin/rdv, loaded as important-plugin on every payee. */
  rdvPath: string;
  /** Leave a regtest network running (ignored for the simulated one). */
  keep: boolean;
  /** rdv policy demo: the payer's node runs rdv too, to receive the first payee's invoice in its inbox. */
  policy?: boolean;
}

/** The payer pays the first payee's invoice with xpay over its RPC socket. */
export async function payInvoice(payer: DemoNode, bolt11: string, maxfeeMsat: Msat): Promise<PayResult> {
  const client = await LightningNode.connect(payer.socketPath);
  try {
    return await client.xpay({ invstring: bolt11, maxfeeMsat, maxdelay: 2016, retryForSeconds: 30 });
  } finally {
    client.close();
  }
}

export async function simulatedNetwork(s: DemoSetup): Promise<DemoNetwork> {
  const { SimNetwork, REGTEST_LATENCY } = await import('../simnet/network.js');
  const net = new SimNetwork({ pluginPath: s.rdvPath, latency: REGTEST_LATENCY, blockheight: 130 });
  const payer = await net.addNode('payer', { plugin: s.policy ?? false });
  const payees = [];
  for (const name of s.payees) payees.push(await net.addNode(name, { plugin: true, important: true }));
  const hops = [payer, ...payees];
  for (let i = 0; i + 1 < hops.length; i++) {
    const [from, to] = [hops[i], hops[i + 1]];
    if (from && to) net.openChannel(from, to, 2_000_000n);
  }
  const view = (n: (typeof hops)[number]): DemoNode => ({ name: n.name, id: n.id, dir: n.dir, port: n.port, socketPath: n.socketPath });
  return {
    kind: 'simulated',
    description: 'a SIMULATED network: in-process fake lightningd nodes, each running the real rdv plugin (latencies calibrated to CLN v26.06 regtest)',
    payer: view(payer),
    payees: payees.map(view),
    pids: () => [],
    stop: () => net.stop(),
  };
}

export async function regtestNetwork(s: DemoSetup, onProgress: (line: string) => void): Promise<Result<DemoNetwork>> {
  const { locateBinaries } = await import('../regtest/binaries.js');
  const { Regtest } = await import('../regtest/harness.js');
  const bins = locateBinaries();
  if (!bins.ok) return err(bins.error);
  onProgress('starting bitcoind and lightningd on regtest (127.0.0.1 only)…');
  const started = await Regtest.start({
    binaries: bins.value,
    rdvPath: s.rdvPath,
    keep: s.keep,
    outlive: s.keep,
    nodes: [{ name: 'payer', rdv: s.policy ? ('plain' as const) : ('none' as const) }, ...s.payees.map((name) => ({ name, rdv: 'important' as const }))],
  });
  if (!started.ok) return err(started.error);
  const rt = started.value;
  try {
    const chain = ['payer', ...s.payees];
    onProgress('funding nodes and opening channels payer -> ' + s.payees.join(' -> ') + '…');
    await rt.fund(chain.slice(0, -1));
    await rt.openChannels(chain.slice(0, -1).map((from, i) => ({ from, to: chain[i + 1] ?? '', amountSat: 2_000_000 })));
  } catch (e) {
    await rt.stop();
    return err(`could not set up the regtest channels: ${(e as Error).message}`);
  }
  const view = (name: string): DemoNode => {
    const n = rt.node(name);
    return { name, id: n.id, dir: n.dir, port: n.port, socketPath: n.socketPath };
  };
  return ok({
    kind: 'regtest',
    description: `a real regtest network: bitcoind and ${s.payees.length + 1} lightningd nodes in ${rt.dir}`,
    payer: view('payer'),
    payees: s.payees.map(view),
    pids: () => [rt.bitcoind.pid, ...rt.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid]))],
    stop: () => (s.keep ? Promise.resolve(rt.detach()) : rt.stop()),
  });
}
