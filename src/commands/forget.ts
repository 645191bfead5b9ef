/** `rdv forget <hash>`: archive and remove one finished record, whatever its age, with prune's guards. */
import { shortHash } from '../chain/ids.js';
import { pruneDecision } from '../chain/prune.js';
import { formatDuration } from '../chain/units.js';
import { failedError, inputError, RdvError } from '../errors.js';
import { inquirerPrompter } from '../prompts/prompter.js';
import { confirmForget } from '../prompts/forget.js';
import { factsFor, loadSatellites, removeRecord } from '../rpc/prune.js';
import { pruneJson } from '../ui/prune-view.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginLiveView, tellPluginGone } from './live.js';
import { checkHashPrefix, findStored } from './records.js';

export async function run(g: GlobalOptions, hashArg: string, _opts: unknown): Promise<void> {
  const out = makeOutput(g);
  const prefix = checkHashPrefix(hashArg);
  await withNode(g, async (node) => {
    const stored = await findStored(node, prefix);
    const { record } = stored;
    const short = shortHash(record.paymentHash);
    const plugin = await pluginLiveView(node);
    const info = await node.getinfo();
    const now = Math.floor(Date.now() / 1000);
    const decision = pruneDecision(record, await factsFor(node, record, info.blockheight, plugin.view), now, 0);
    if (!decision.prune) throw inputError(`not forgetting ${short}: ${decision.reason}`);
    if (out.interactive && !(await confirmForget(inquirerPrompter(), `record ${short} (${record.role}, ${decision.state} ${formatDuration(now - decision.endedAt)} ago)`))) {
      throw new RdvError('interrupted', 'cancelled: nothing was written');
    }
    const outcome = await removeRecord(node, stored, decision, now, (await loadSatellites(node)).get(record.paymentHash) ?? []);
    if (!outcome.ok) throw failedError(`${short}: ${outcome.reason}; run rdv forget again`);
    const told = plugin.loaded ? await tellPluginGone(node, record.paymentHash) : {};
    if (told.kept !== undefined) out.warn(`the plugin wrote ${short} back: ${told.kept} (its archive entry stays; rdv status counts it once)`);
    if (told.unanswered !== undefined) out.warn(`the plugin did not answer rdv-reload: it lets ${short} go when it restarts`);
    if (g.json) {
      out.json(pruneJson({ pruned: [outcome.archived], kept: [], unreadable: [], dryRun: false, orphansRemoved: 0 }));
      return;
    }
    out.result(`forgot ${short} (${decision.state}); its archive entry is under rdv/v1/archive/${record.paymentHash}`);
  });
}
