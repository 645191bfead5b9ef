/** `rdv prune --older-than <duration> [--dry-run]`: archive and remove finished records. */
import { parseDuration } from '../chain/units.js';
import { usageError } from '../errors.js';
import { pruneRecords } from '../rpc/prune.js';
import { keptLines, pruneJson, pruneSummary } from '../ui/prune-view.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginLiveView, tellPluginGone } from './live.js';

export interface PruneOptions {
  olderThan?: string;
  dryRun?: boolean;
}

export async function run(g: GlobalOptions, opts: PruneOptions): Promise<void> {
  const out = makeOutput(g);
  if (opts.olderThan === undefined) throw usageError('--older-than is required: how long ago a record must have ended, e.g. --older-than 30d');
  const olderThan = parseDuration(opts.olderThan, '--older-than');
  if (!olderThan.ok) throw usageError(olderThan.error);
  const dryRun = opts.dryRun === true;
  await withNode(g, async (node) => {
    const plugin = await pluginLiveView(node);
    const pluginKept: string[] = [];
    let unanswered = 0;
    const spinner = await out.spinner(dryRun ? 'looking at records' : 'pruning records');
    const report = await pruneRecords(node, {
      now: Math.floor(Date.now() / 1000),
      olderThanSeconds: olderThan.value,
      dryRun,
      live: plugin.view,
      ...(plugin.loaded
        ? {
            onRemoved: async (hash: string) => {
              const told = await tellPluginGone(node, hash);
              if (told.kept !== undefined) pluginKept.push(`the plugin wrote ${hash.slice(0, 8)} back: ${told.kept} (its archive entry stays; rdv status counts it once)`);
              if (told.unanswered !== undefined) unanswered++;
            },
          }
        : {}),
    });
    spinner.stop();
    for (const p of report.unreadable) out.warn(`unreadable record ${p.key.join('/')}: ${p.problem} (left alone)`);
    for (const w of pluginKept) out.warn(w);
    if (unanswered > 0) out.warn(`the plugin did not answer rdv-reload for ${unanswered} removed record(s): it lets them go when it restarts`);
    if (g.json) {
      out.json(pruneJson(report));
      return;
    }
    out.result(pruneSummary(report));
    for (const line of keptLines(report.kept)) out.info(line);
  });
}
