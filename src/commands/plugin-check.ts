/** Are rdv and rdv-guard running inside this lightningd, and safely (important-plugin)? */
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LightningNode, PluginState } from '../rpc/node.js';
import { isGuardPlugin, isRdvPlugin } from '../chain/plugin-names.js';

export { isGuardPlugin, isRdvPlugin } from '../chain/plugin-names.js';

/** This executable's path, to start it as a plugin. */
export function ownExecutable(): string {
  const script = process.argv[1] ?? 'rdv';
  try {
    return realpathSync(script);
  } catch {
    return script;
  }
}

/** rdv-guard, installed next to rdv. */
export const guardExecutable = (): string => join(dirname(ownExecutable()), 'rdv-guard');

export interface Plugins {
  rdv: PluginState;
  guard: PluginState;
}

export async function pluginState(node: LightningNode): Promise<PluginState | undefined> {
  return (await pluginsState(node))?.rdv;
}

export async function pluginsState(node: LightningNode): Promise<Plugins | undefined> {
  try {
    return { rdv: await node.pluginState(isRdvPlugin), guard: await node.pluginState(isGuardPlugin) };
  } catch {
    return undefined;
  }
}

/** Tell a running plugin about a new record (it would also find it on the first HTLC). */
export async function notifyPlugin(node: LightningNode, paymentHash: string): Promise<Plugins | undefined> {
  const state = await pluginsState(node);
  if (state?.rdv.loaded) await node.rpc.call('rdv-reload', { payment_hash: paymentHash }).catch(() => undefined);
  return state;
}

export function pluginWarnings(state: Plugins | undefined): string[] {
  if (!state) return [];
  const rdvLine = `important-plugin=${state.rdv.path ?? ownExecutable()}`;
  const guardLine = `important-plugin=${state.guard.path ?? guardExecutable()}`;
  if (!state.rdv.loaded) {
    return [`the rdv plugin is not loaded in lightningd, so nothing relays payments to your rdv invoices: add ${rdvLine} and ${guardLine} to lightningd's config and restart it (or run rdv watch --start)`];
  }
  const warnings: string[] = [];
  if (!state.rdv.important) {
    warnings.push(`rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it; load it with ${rdvLine} so lightningd stops and replays held HTLCs to it`);
  }
  if (!state.guard.loaded) {
    warnings.push(`rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them while the payment onward may still go through, and you lose that money; add ${guardLine} to lightningd's config`);
  }
  return warnings;
}
