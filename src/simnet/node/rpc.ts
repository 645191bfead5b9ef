/**
 * A node's RPC dispatch, in lightningd's order: a test's override first, then
 * lightningd's built-in commands (each room answers those it is about), then
 * the methods plugins registered, else "Unknown command".
 */
import { SimRpcError } from '../rpc-server.js';
import type { Methods, NodeCore } from './core.js';
import { infoMethods } from './info.js';
import { invoiceMethods } from './invoices.js';
import { offerMethods } from './offers.js';
import { paymentMethods } from './payments.js';
import { peerMethods } from './peers.js';
import { callPluginMethod, pluginMethods } from './plugins.js';

/** Every built-in command the simulated lightningd answers. */
export function builtinMethods(node: NodeCore): Methods {
  const datastore: Methods = new Map([
    ['datastore', (params) => node.datastore.datastore(params)],
    ['listdatastore', (params) => node.datastore.listdatastore(params)],
    ['deldatastore', (params) => node.datastore.deldatastore(params)],
  ]);
  return new Map([...infoMethods(node), ...invoiceMethods(node), ...offerMethods(node), ...datastore, ...paymentMethods(node), ...peerMethods(node), ...pluginMethods(node)]);
}

/** Answer one RPC call (the RpcServer's dispatch). */
export async function dispatch(
  node: NodeCore,
  builtins: Methods,
  overrides: ReadonlyMap<string, (params: Record<string, unknown>) => Promise<unknown>>,
  method: string,
  params: Record<string, unknown>,
): Promise<unknown> {
  const override = overrides.get(method);
  if (override) return override(params);
  const builtin = builtins.get(method);
  if (builtin) return builtin(params);
  const plugin = await callPluginMethod(node, method, params);
  if (plugin) return plugin.result;
  throw new SimRpcError(-32601, `Unknown command '${method}'`);
}
