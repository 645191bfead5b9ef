/**
 * The plugin's rdv-prune-after: the same pruning as `rdv prune` (src/rpc/prune.ts),
 * once when the plugin has started and then daily, with the runner itself as the
 * live view, and the runner letting go of each record removed.
 */
import { formatDuration } from '../chain/units.js';
import type { LightningNode } from '../rpc/node.js';
import type { LogLevel } from '../rpc/plugin.js';
import { pruneRecords, type LiveView } from '../rpc/prune.js';
import type { RelayRunner } from './runner/runner.js';

export const PRUNE_EVERY_MS = 24 * 3600 * 1000;

export interface AutoPruneDeps {
  node: LightningNode;
  runner: RelayRunner;
  log: (level: LogLevel, message: string) => void;
  now: () => number;
  afterSeconds: number;
}

/** The runner's own view: held parts, state and last change of each loaded record. */
export function runnerLiveView(runner: RelayRunner): LiveView {
  const views = new Map(runner.views().map((v) => [v.record.paymentHash as string, v]));
  return (hash) => {
    const v = views.get(hash);
    if (!v) return { heldParts: 0 };
    return { heldParts: v.heldParts, updatedAt: v.record.updatedAt, ...(v.record.role === 'relay' ? { state: v.record.state } : {}) };
  };
}

/** One pass; never throws (a failure is logged and the next pass tries again). */
export async function autoPrune(deps: AutoPruneDeps): Promise<void> {
  const { runner, log } = deps;
  try {
    const report = await pruneRecords(deps.node, {
      now: deps.now(),
      olderThanSeconds: deps.afterSeconds,
      dryRun: false,
      live: runnerLiveView(runner),
      onRemoved: async (hash) => {
        const kept = await runner.forget(hash);
        if (kept !== undefined) log('warn', `prune: ${hash.slice(0, 8)} was written back: ${kept}`);
      },
    });
    const byState = new Map<string, number>();
    for (const a of report.pruned) byState.set(a.state, (byState.get(a.state) ?? 0) + 1);
    const states = [...byState].map(([s, n]) => `${n} ${s}`).join(', ');
    const attention = report.kept.filter((k) => k.kind === 'attention' || k.kind === 'changed' || k.kind === 'unknown');
    for (const k of attention) log('warn', `prune: kept ${k.paymentHash.slice(0, 8)}: ${k.reason}`);
    if (report.pruned.length > 0 || attention.length > 0) {
      log('info', `prune: removed ${report.pruned.length} record(s) that ended more than ${formatDuration(deps.afterSeconds)} ago${states ? ` (${states})` : ''}, each archived under rdv/v1/archive; kept ${report.kept.length}`);
    }
  } catch (e) {
    log('warn', `prune: ${(e as Error).message}: trying again in a day`);
  }
}

/** Prune now, then daily. Returns a stop function. */
export function startAutoPrune(deps: AutoPruneDeps): () => void {
  let running = false;
  const pass = (): void => {
    if (running) return;
    running = true;
    void autoPrune(deps).finally(() => (running = false));
  };
  setImmediate(pass);
  const timer = setInterval(pass, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
