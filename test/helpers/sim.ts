import { after, afterEach, before, beforeEach } from 'node:test';
import { RpcError } from '../../src/rpc/client.js';
import { SimNetwork, type NetworkOptions } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { RDV_BIN } from './paths.js';

/**
 * The one place a test makes a simulated network: nodes load the real bin/rdv,
 * CLN's own MPP timeout is 5 s, and the plugins' log lines are kept, to be printed
 * (RDV_TEST_LOGS=1) when the test fails. `options` override any of these.
 */
function simNetwork(options: NetworkOptions): { net: SimNetwork; printLogs: () => void } {
  const logs: string[] = [];
  const net = new SimNetwork({
    pluginPath: RDV_BIN,
    mppTimeoutMs: 5_000,
    onLog: (node, line) => logs.push(`[${node}] ${line}`),
    ...options,
  });
  const printLogs = (): void => {
    if (process.env.RDV_TEST_LOGS) process.stderr.write(`${logs.join('\n')}\n`);
  };
  return { net, printLogs };
}

/** A simulated network for one test (see simNetwork): stopped after `fn`, its logs printed if `fn` throws. */
export async function withSimNet<T>(fn: (net: SimNetwork) => Promise<T>, options: NetworkOptions = {}): Promise<T> {
  const { net, printLogs } = simNetwork(options);
  try {
    return await fn(net);
  } catch (e) {
    printLogs();
    throw e;
  } finally {
    await net.stop();
  }
}

/**
 * A simulated network (see simNetwork) shared by the tests of a file, or of the
 * describe this is called in: made before the first test and stopped after the
 * last, or, with `each`, made afresh before each test. `setUp` adds its nodes and
 * channels (the caller keeps them in its own variables); `tearDown` lets go of
 * what the caller made on it (RPC clients, servers) before the network stops.
 * Returns the network of the moment (it fails before setUp has run).
 */
export function simNetFor(
  setUp: (net: SimNetwork) => Promise<void> | void,
  options: NetworkOptions & { each?: boolean; tearDown?: () => Promise<void> | void } = {},
): () => SimNetwork {
  const { each = false, tearDown, ...netOptions } = options;
  let current: { net: SimNetwork; printLogs: () => void } | undefined;
  (each ? beforeEach : before)(async () => {
    current = simNetwork(netOptions);
    try {
      await setUp(current.net);
    } catch (e) {
      current.printLogs();
      throw e;
    }
  });
  // A failed test prints the log lines of the network it ran on (with RDV_TEST_LOGS=1).
  afterEach((t) => {
    if ('passed' in t && !t.passed) current?.printLogs();
  });
  (each ? afterEach : after)(async () => {
    try {
      await tearDown?.();
    } finally {
      await current?.net.stop();
    }
  });
  return () => {
    if (!current) throw new Error('the simulated network is not set up yet');
    return current.net;
  };
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
