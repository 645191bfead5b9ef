/**
 * The simulated soak's watch on its own progress: when nothing has moved for a
 * while (no ledger entry, no payment finished), it says what the soak is waiting
 * on: the height, the payments in flight, each node and its plugins, and each
 * payment's phases and last note.
 */
import type { SimSoak } from './network.js';

/** How often the watchdog looks. */
const WATCH_MS = 30_000;

/** Lines describing what the soak is waiting on (for a run that seems stuck). */
export function describe(s: SimSoak): string[] {
  const lines = [`soak: height ${s.net.height}, ${s.runs.filter((r) => r.endedMs === 0).length} payment(s) in flight, busy [${s.nodes.busyNames().join(', ')}]`];
  for (const n of [s.alice, s.bob, s.carol]) {
    lines.push(`soak:   ${n.name} ${n.up ? 'up' : 'DOWN'}, plugins ${n.plugins.map((p) => `${p.path.split('/').pop() ?? ''}:${p.host?.alive ? 'alive' : 'dead'}`).join(' ')}, holds ${s.net.heldBy(n).length}`);
  }
  for (const r of s.runs.filter((x) => x.endedMs === 0)) {
    lines.push(`soak:   #${r.plan.index} ${r.hash.slice(0, 8)} phases ${[...r.phases.keys()].join(',')} last note: ${r.notes.at(-1) ?? '-'}`);
  }
  return lines;
}

/**
 * Every WATCH_MS, if neither the ledger nor `done()` (payments finished) moved
 * since the last look, the soak's state goes to `progress`. Returns the stop.
 */
export function startWatchdog(s: SimSoak, done: () => number, progress: ((line: string) => void) | undefined): () => void {
  let lastSeen = -1;
  const timer = setInterval(() => {
    const seen = s.net.ledger.entries.length + done();
    if (seen === lastSeen) for (const line of describe(s)) progress?.(line);
    lastSeen = seen;
  }, WATCH_MS);
  return () => clearInterval(timer);
}
