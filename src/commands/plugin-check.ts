/** Is the rdv plugin running inside this lightningd, and safely (important-plugin)? */
import { realpathSync } from 'node:fs';
import type { LightningNode, PluginState } from '../rpc/node.js';

/** lightningd lists plugins by the path they were started with; ours is called rdv. */
export const isRdvPlugin = (path: string): boolean => /(^|\/)rdv$/.test(path);

/** This executable's path, to start it as a plugin. */
export function ownExecutable(): string {
  const script = process.argv[1] ?? 'rdv';
  try {
    return realpathSync(script);
  } catch {
    return script;
  }
}

export async function pluginState(node: LightningNode): Promise<PluginState | undefined> {
  try {
    return await node.pluginState(isRdvPlugin);
  } catch {
    return undefined;
  }
}

/** Tell a running plugin about a new record (it would also find it on the first HTLC). */
export async function notifyPlugin(node: LightningNode): Promise<PluginState | undefined> {
  const state = await pluginState(node);
  if (state?.loaded) await node.rpc.call('rdv-reload', {}).catch(() => undefined);
  return state;
}

export function pluginWarnings(state: PluginState | undefined): string[] {
  if (!state) return [];
  if (!state.loaded) {
    return [
      `the rdv plugin is not loaded in lightningd, so nothing relays payments to your rdv invoices: add important-plugin=${ownExecutable()} to lightningd's config and restart it (or run rdv watch --start)`,
    ];
  }
  if (!state.important) {
    return [
      `rdv is loaded as an ordinary plugin: if it stops while holding HTLCs, lightningd fails them while the payment onward may still go through, and you lose that money; load it with important-plugin=${state.path ?? ownExecutable()} instead`,
    ];
  }
  return [];
}
