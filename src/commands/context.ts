/** What every command gets: the global options, the output, and a way to reach the node. */
import { discoverSocket } from '../rpc/discover.js';
import { LightningNode } from '../rpc/node.js';
import { Output } from '../ui/output.js';

export interface GlobalOptions {
  lightningDir: string | undefined;
  network: string | undefined;
  rpcFile: string | undefined;
  conf: string | undefined;
  json: boolean;
  yes: boolean;
  quiet: boolean;
  color: boolean;
  debug: boolean;
}

export function makeOutput(g: GlobalOptions): Output {
  return new Output({ json: g.json, quiet: g.quiet, color: g.color, yes: g.yes });
}

/** Connect to lightningd like lightning-cli would. Fails with exit code 3 within a second. */
export async function connectNode(g: GlobalOptions): Promise<LightningNode> {
  const location = discoverSocket({ lightningDir: g.lightningDir, network: g.network, rpcFile: g.rpcFile, conf: g.conf });
  return LightningNode.connect(location.socketPath, 'rdv');
}

/** Run with a node connection and always close it. */
export async function withNode<T>(g: GlobalOptions, fn: (node: LightningNode) => Promise<T>): Promise<T> {
  const node = await connectNode(g);
  try {
    return await fn(node);
  } finally {
    node.close();
  }
}
