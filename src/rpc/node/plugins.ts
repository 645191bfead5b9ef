/**
 * lightningd's plugins: which are loaded (in load order), which its config names
 * important-plugin, whether an rdv plugin is both, and starting one.
 */
import type { Rpc } from '../client.js';
import { call, read, readIfAnswered } from './call.js';

export interface PluginState {
  loaded: boolean;
  active: boolean;
  path: string | undefined;
  important: boolean;
}

/** `plugin list`: each plugin's path (as lightningd resolved it), in the order lightningd loaded them. */
export function listPlugins(rpc: Rpc): Promise<Array<{ path: string; active: boolean }>> {
  return read(rpc, 'plugin', { subcommand: 'list' }, (r) => r.objects('plugins').map((p) => ({ path: p.str('name'), active: p.optBool('active') ?? false })));
}

/** The important-plugin values of lightningd's config (as written there); none if lightningd does not say. */
export async function importantPlugins(rpc: Rpc): Promise<string[]> {
  return (await readIfAnswered(rpc, 'listconfigs', { config: 'important-plugin' }, (r) => {
    const entry = r.optObj('configs')?.optObj('important-plugin');
    return entry?.has('values_str') ? entry.strings('values_str') : [];
  })) ?? [];
}

/** Is an rdv plugin loaded (by name), and was it given as important-plugin? */
export async function pluginState(rpc: Rpc, matches: (path: string) => boolean): Promise<PluginState> {
  const found = (await listPlugins(rpc)).find((p) => matches(p.path));
  const important = (await importantPlugins(rpc).catch(() => [])).some((v) => matches(v));
  return { loaded: found !== undefined, active: found?.active ?? false, path: found?.path, important };
}

export async function startPlugin(rpc: Rpc, path: string): Promise<void> {
  await call(rpc, 'plugin', { subcommand: 'start', plugin: path });
}
