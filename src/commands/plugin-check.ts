/** Are rdv and rdv-guard running inside this lightningd, and safely (important-plugin)? */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * rdv-guard of this package: bin/rdv-guard (dist/src/commands/ -> ../../../bin). Not
 * "next to rdv": rdv may run as the top-level ./rdv that reckless installs.
 */
export const guardExecutable = (): string => fileURLToPath(new URL('../../../bin/rdv-guard', import.meta.url));

/**
 * The rdv-guard that goes with the rdv lightningd runs: beside it (bin/rdv) or in
 * its package's bin/ (the top-level rdv reckless installs); else this package's.
 */
export function guardFor(rdvPath: string | undefined): string {
  if (rdvPath !== undefined) {
    try {
      const dir = dirname(realpathSync(rdvPath));
      const found = [join(dir, 'rdv-guard'), join(dir, 'bin', 'rdv-guard')].find((p) => existsSync(p));
      if (found) return found;
    } catch {
      // not readable from here: this package's guard is as good
    }
  }
  return guardExecutable();
}

/**
 * reckless installs rdv as <lightning-dir>/reckless/rdv/rdv, a link to source/rdv/rdv
 * in that directory (the path lightningd lists), and loads it with plugin= in
 * <network>-reckless.conf.
 */
const recklessDirOf = (path: string | undefined): string | undefined => (path === undefined ? undefined : /^(.*\/reckless)\/rdv(\/source\/rdv)?\/rdv$/.exec(path)?.[1]);

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
  const guardLine = `important-plugin=${state.guard.path ?? guardFor(state.rdv.path)}`;
  if (!state.rdv.loaded) {
    return [`the rdv plugin is not loaded in lightningd, so nothing relays payments to your rdv invoices: add ${rdvLine} and ${guardLine} to lightningd's config and restart it (or run rdv watch --start)`];
  }
  const warnings: string[] = [];
  const reckless = recklessDirOf(state.rdv.path);
  if (!state.rdv.important && reckless !== undefined) {
    // A second line naming the same plugin makes lightningd refuse to start: replace reckless's.
    warnings.push(
      `rdv is loaded as an ordinary plugin (reckless wrote plugin=${reckless}/rdv/rdv into ${reckless}/<network>-reckless.conf): replace that line with important-plugin=${reckless}/rdv/rdv${state.guard.important ? '' : ` and ${guardLine}`} and restart lightningd (see README, "Installing with reckless")`,
    );
  } else if (!state.rdv.important) {
    warnings.push(`rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it; load it with ${rdvLine} so lightningd stops and replays held HTLCs to it`);
  }
  if (!state.guard.loaded) {
    warnings.push(`rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them while the payment onward may still go through, and you lose that money; add ${guardLine} to lightningd's config`);
  }
  return warnings;
}
