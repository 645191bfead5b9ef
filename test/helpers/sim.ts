import { RpcError } from '../../src/rpc/client.js';
import { SimNetwork, type NetworkOptions } from '../../src/simnet/network.js';
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

/** Wait until `check` holds (polling), or fail with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
