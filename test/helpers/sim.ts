import { RpcError } from '../../src/rpc/client.js';
import { SimNetwork, type NetworkOptions } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { RDV_BIN } from './paths.js';

/** A simulated network whose nodes load the real bin/rdv; stopped after `fn`. */
export async function withSimNet<T>(fn: (net: SimNetwork) => Promise<T>, options: NetworkOptions = {}): Promise<T> {
  const logs: string[] = [];
  const net = new SimNetwork({
    pluginPath: RDV_BIN,
    mppTimeoutMs: 5_000,
    onLog: (node, line) => logs.push(`[${node}] ${line}`),
    ...options,
  });
  try {
    return await fn(net);
  } catch (e) {
    if (process.env.RDV_TEST_LOGS) process.stderr.write(`${logs.join('\n')}\n`);
    throw e;
  } finally {
    await net.stop();
  }
}

/**
 * Wait until `check` holds (polling), or fail with `what`. The deadline only says
 * when to give up on a state that is clearly not coming: a busy machine (two cores,
 * several suites) is slow, so it is generous, and no test should depend on it.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The block height `node`'s rdv plugin has seen (rdv-status), or -1 while it is not running. */
export async function rdvHeight(node: SimNode): Promise<number> {
  const plugin = node.plugin;
  if (!node.up || !plugin?.alive) return -1;
  const status = await plugin.request('rdv-status', { brief: true });
  return typeof status === 'object' && status !== null && 'blockheight' in status && typeof status.blockheight === 'number' ? status.blockheight : -1;
}

/**
 * Mine `n` blocks one by one, each after the rdv plugins of `watchers` have seen
 * the one before. Blocks come minutes apart on a real network: a relay never
 * meets block h+1 before it heard of block h, however busy its machine is, and
 * a test that mines faster than a loaded machine runs the plugins tests the load.
 */
export async function mineSeen(net: SimNetwork, watchers: SimNode[], n = 1): Promise<void> {
  for (let i = 0; i < n; i++) {
    await net.mine(1);
    for (const node of watchers) await eventually(async () => (await rdvHeight(node)) >= net.height, `${node.name}'s rdv sees block ${net.height}`);
  }
}

/**
 * How many times `node` was asked for its whole inbox (listdatastore ["rdv","v1","inbox"]).
 * `rdv inbox --wait` reads it once to learn what is there already and then waits for
 * anything else: a test passes an invoice back only once that count has grown.
 */
export function inboxReads(node: SimNode): number {
  return node.server.calls.filter((c) => c.method === 'listdatastore' && Array.isArray(c.params.key) && c.params.key.join('/') === 'rdv/v1/inbox').length;
}

/** The JSON-RPC error `p` rejects with (fails the test if it resolves, rethrows any other error). */
export async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return { code: e.code, message: e.rpcMessage };
    throw e;
  }
  throw new Error('expected an error');
}
