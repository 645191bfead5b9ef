/** What `rdv prune` and `rdv forget` print: one summary line, the kept records worth a look, or JSON. Pure. */
import { archivedToJson, FINAL_STATES } from '../chain/archive.js';
import { shortHash } from '../chain/ids.js';
import type { JsonObject } from '../chain/read.js';
import type { Kept, PruneReport } from '../rpc/prune.js';

const KEPT_WORDS: Record<Kept['kind'], string> = {
  recent: 'ended too recently',
  active: 'not finished',
  busy: 'still in use',
  unknown: 'not known to lightningd',
  attention: 'to look at first',
  changed: 'changed meanwhile',
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "pruned 812 records (790 settled, 20 failed, 2 expired), kept an archive of each under rdv/v1/archive; 3 kept: 2 ended too recently, 1 not finished" */
export function pruneSummary(report: PruneReport): string {
  const byState = countBy(report.pruned.map((a) => a.state), FINAL_STATES);
  const states = byState.length > 0 ? ` (${byState.map(([s, n]) => `${n} ${s}`).join(', ')})` : '';
  const head =
    report.pruned.length === 0
      ? `${report.dryRun ? 'would prune' : 'pruned'} no records`
      : report.dryRun
        ? `would prune ${plural(report.pruned.length, 'record')}${states}, keeping an archive of each under rdv/v1/archive (dry run: nothing written)`
        : `pruned ${plural(report.pruned.length, 'record')}${states}, kept an archive of each under rdv/v1/archive`;
  if (report.kept.length === 0) return head;
  const kinds = countBy(report.kept.map((k) => k.kind), Object.keys(KEPT_WORDS) as Array<Kept['kind']>).map(([k, n]) => `${n} ${KEPT_WORDS[k]}`);
  return `${head}; ${report.kept.length} kept: ${kinds.join(', ')}`;
}

/** The kept records worth a line of their own (not merely recent or unfinished), at most `max`. */
export function keptLines(kept: readonly Kept[], max = 20): string[] {
  const notable = kept.filter((k) => k.kind !== 'recent' && k.kind !== 'active');
  const lines = notable.slice(0, max).map((k) => `  ${shortHash(k.paymentHash)}  ${k.reason}`);
  if (notable.length > max) lines.push(`  ... and ${notable.length - max} more (see --json)`);
  return lines;
}

export function pruneJson(report: PruneReport): JsonObject {
  return {
    dry_run: report.dryRun,
    pruned: report.pruned.map(archivedToJson),
    kept: report.kept.map((k) => ({ payment_hash: k.paymentHash, kind: k.kind, reason: k.reason })),
    unreadable: report.unreadable.map((p) => ({ key: p.key, problem: p.problem })),
    orphans_removed: report.orphansRemoved,
  };
}

/** How many of each, in the order of `order`, leaving out those with none. */
function countBy<T extends string>(values: readonly T[], order: readonly T[]): Array<[T, number]> {
  return order.map((o): [T, number] => [o, values.filter((v) => v === o).length]).filter(([, n]) => n > 0);
}
