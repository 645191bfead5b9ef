/** The running plugin, for `rdv prune` and `rdv forget`: what it holds, and telling it a record is gone. */
import { isObject } from '../chain/read.js';
import { failedError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { NO_PLUGIN, type LiveView } from '../rpc/prune.js';
import { pluginsState } from './plugin-check.js';
import { pluginStatus } from './status.js';

/**
 * The plugin's view of each hash (rdv-status), or NO_PLUGIN when no rdv plugin
 * is loaded. A loaded plugin that does not answer is an error: without it, rdv
 * cannot tell which HTLCs are held.
 */
export async function pluginLiveView(node: LightningNode): Promise<{ view: LiveView; loaded: boolean }> {
  const plugins = await pluginsState(node);
  if (!plugins?.rdv.loaded) return { view: NO_PLUGIN, loaded: false };
  const status = await pluginStatus(node);
  if (!status) throw failedError('the rdv plugin is loaded but did not answer rdv-status, so rdv cannot tell which HTLCs it holds: nothing was removed; try again in a minute');
  const view: LiveView = (hash) => {
    const record = status.records.get(hash);
    const heldParts = status.live.get(hash)?.heldParts ?? 0;
    if (!record) return { heldParts };
    return { heldParts, updatedAt: record.updatedAt, ...(record.role === 'relay' ? { state: record.state } : {}) };
  };
  return { view, loaded: true };
}

/** Ask the plugin to drop a removed record (rdv-reload of its hash). Returns why it kept it, if it did. */
export async function tellPluginGone(node: LightningNode, hash: string): Promise<{ kept?: string; unanswered?: string }> {
  try {
    const reply = await node.rpc.call('rdv-reload', { payment_hash: hash });
    if (isObject(reply) && typeof reply.kept_because === 'string') return { kept: reply.kept_because };
    return {};
  } catch (e) {
    return { unanswered: (e as Error).message };
  }
}
