/**
 * Plugin hosting as lightningd does it: plugins started over stdio, the hook
 * chain (a dying plugin's pending calls go to the next plugin in the chain or to
 * lightningd's own handling, and an important plugin's death then stops
 * lightningd, as in CLN's plugin_hook.c), and the RPC commands about plugins:
 * `plugin`, `help`, `listconfigs`, and the plugins' own methods.
 */
import { basename } from 'node:path';
import { isObject } from '../../chain/read.js';
import { helpReply } from '../help.js';
import { PluginDiedError, PluginHost } from '../plugin-host.js';
import { SimRpcError } from '../rpc-server.js';
import { sleep } from '../sleep.js';
import type { HookOptions, LoadedPlugin, Method, Methods, NodeCore } from './core.js';

const BUILTIN_PLUGINS = ['autoclean', 'chanbackup', 'bcli', 'commando', 'funder', 'topology', 'keysend', 'offers', 'pay', 'cln-xpay', 'cln-askrene', 'sql', 'bookkeeper'];

/** Start a plugin (at lightningd's start, or by `plugin start`); its death is watched (onPluginExit). */
export async function launch(node: NodeCore, p: LoadedPlugin, startup: boolean): Promise<void> {
  const host = await PluginHost.start({
    path: p.path,
    netDir: node.netDir,
    rpcFile: 'lightning-rpc',
    network: 'regtest',
    startup,
    options: basename(p.path) === 'rdv' ? (node.net.options.pluginOptions ?? {}) : (node.net.options.guardOptions ?? {}),
    onStderr: (line) => {
      node.log.push(`${basename(p.path)}: ${line}`);
      node.net.options.onLog?.(node.name, `${basename(p.path)}: ${line}`);
    },
  });
  p.host = host;
  if (host.disabled !== undefined) {
    p.important = false;
    node.log.push(`${basename(p.path)}: disabled itself at init: ${host.disabled}`);
    return;
  }
  void host.exited.then(() => onPluginExit(node, p, host));
}

/** A plugin exited: if lightningd is running and it was important, lightningd stops. */
function onPluginExit(node: NodeCore, p: LoadedPlugin, host: PluginHost): void {
  if (p.host !== host || !node.up) return;
  node.net.event('plugin_died', node.name, `${basename(p.path)} died${p.important ? ': important plugin, lightningd stops' : ''}`);
  if (p.important) void node.crash();
}

/**
 * Call a hook like lightningd: each plugin in the chain in turn until one
 * answers something other than `continue`. When a plugin dies with a call
 * pending, the call goes on to the next plugin in the chain, or to
 * lightningd's own handling (CLN plugin_hook.c) — unless lightningd itself
 * went down, in which case the HTLC is still held and is replayed once the
 * node is back. No plugin, or none with this hook: `continue`. `gate` runs
 * before the chain at first and at each replay, and may answer instead of it;
 * `onCall` says which plugin is being waited for.
 */
export async function callHook(
  node: NodeCore,
  name: string,
  params: () => Record<string, unknown>,
  opts: HookOptions = {},
): Promise<Record<string, unknown>> {
  replay: for (;;) {
    await node.waitUp();
    const gated = opts.gate?.();
    if (gated) return gated;
    for (const p of node.plugins) {
      const host = p.host;
      if (!host?.alive || !host.hasHook(name)) continue;
      let reply: unknown;
      try {
        opts.onCall?.(basename(p.path));
        reply = await host.request(name, params());
      } catch (e) {
        if (!(e instanceof PluginDiedError)) throw e;
        if (!node.up) continue replay;
        continue;
      }
      // An answer that comes while lightningd is down (stopping: shutdown_plugins
      // clears pending requests) is lost: the HTLC is replayed at the next start.
      if (!node.up) continue replay;
      const r = isObject(reply) ? reply : { result: 'continue' };
      if (r.result !== 'continue') return r;
    }
    if (!node.up) continue replay;
    return { result: 'continue' };
  }
}

/** `plugin`, `help` and `listconfigs`: what lightningd says of its plugins. */
export function pluginMethods(node: NodeCore): Methods {
  return new Map<string, Method>([
    ['plugin', (params) => pluginCommand(node, params)],
    [
      'help',
      (params) => {
        const methods = new Map(node.plugins.flatMap((p) => (p.host?.alive ? p.host.methods.map((m) => [m.name, m.usage] as const) : [])));
        return helpReply(params, methods, node.missingCommands);
      },
    ],
    [
      'listconfigs',
      (params) => {
        const configs: Record<string, unknown> = {};
        const alive = node.plugins.filter((p) => p.host?.alive);
        const important = alive.filter((p) => p.important).map((p) => p.path);
        const plain = alive.filter((p) => !p.important).map((p) => p.path);
        if (important.length > 0 && (params.config === undefined || params.config === 'important-plugin')) {
          configs['important-plugin'] = { values_str: important, sources: important.map(() => 'cmdline') };
        }
        if (plain.length > 0 && (params.config === undefined || params.config === 'plugin')) {
          configs.plugin = { values_str: plain, sources: plain.map(() => 'cmdline') };
        }
        return { configs };
      },
    ],
  ]);
}

/** A method a running plugin registered, called as lightningd passes it on; undefined when no plugin has it. */
export async function callPluginMethod(node: NodeCore, method: string, params: Record<string, unknown>): Promise<{ result: unknown } | undefined> {
  const plugin = node.plugins.find((p) => p.host?.alive && p.host.hasMethod(method))?.host;
  if (!plugin) return undefined;
  try {
    return { result: await plugin.request(method, params, undefined, 'cli') };
  } catch (e) {
    const code = isObject(e) && typeof (e as { code?: unknown }).code === 'number' ? (e as unknown as { code: number }).code : -3;
    throw new SimRpcError(code, (e as Error).message);
  }
}

async function pluginCommand(node: NodeCore, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const list = (): Record<string, unknown>[] => [
    ...BUILTIN_PLUGINS.map((p) => ({ name: `/usr/local/libexec/c-lightning/plugins/${p}`, active: true, dynamic: !['bcli', 'topology', 'keysend', 'commando'].includes(p) })),
    ...node.plugins.filter((p) => p.host?.alive).map((p) => ({ name: p.path, active: true, dynamic: true })),
  ];
  const find = (name: string): LoadedPlugin | undefined => node.plugins.find((p) => p.path === name || basename(p.path) === basename(name));
  switch (params.subcommand) {
    case 'list':
      return { command: 'list', plugins: list() };
    case 'start': {
      const path = String(params.plugin ?? '');
      const existing = find(path);
      if (existing?.host?.alive) throw new SimRpcError(-32602, `${path}: already registered`);
      const p: LoadedPlugin = existing ?? { path, important: false, host: undefined };
      p.important = false;
      if (!existing) {
        // rdv-guard goes after rdv in the chain, as its hook registration asks.
        if (basename(path) === 'rdv') node.plugins.unshift(p);
        else node.plugins.push(p);
      }
      await launch(node, p, false);
      return { command: 'start', plugins: list() };
    }
    case 'stop': {
      const name = String(params.plugin ?? '');
      const p = find(name);
      if (!p?.host?.alive) throw new SimRpcError(-32602, `Could not find plugin ${name}`);
      // `plugin stop` does not stop lightningd, even for an important plugin.
      const host = p.host;
      p.host = undefined;
      host.notify('shutdown', {});
      await Promise.race([host.exited, sleep(2000)]);
      host.kill();
      await host.exited;
      return { command: 'stop', result: `Successfully stopped ${basename(p.path)}.` };
    }
    default:
      throw new SimRpcError(-32602, 'subcommand: unknown');
  }
}
