/**
 * What rdv-status answers: the plugin's state, the relays it shows (brief or
 * whole), their totals, timings and memory.
 */
import { recordToJson } from '../../chain/record.js';
import type { Tally } from '../../chain/selection.js';
import type { JsonObject } from '../../chain/read.js';
import { RDV_VERSION } from '../../version.js';
import type { RelayView } from '../runner/runner.js';
import type { State } from './state.js';

/**
 * Relays in memory (in progress, or finished since the plugin started) and, by
 * hash, finished ones; `totals` counts every relay record, so a year of them does
 * not have to cross the socket each time `rdv watch` looks.
 */
export function statusReply(state: State, hash: string | undefined, brief: boolean, since: number, finished: RelayView[]): JsonObject {
  const runner = state.runner;
  const views = [...(runner ? runner.views().filter((v) => hash === undefined || v.record.paymentHash.startsWith(hash)) : []), ...finished];
  const tally = runner?.tally(since);
  return {
    rdv_version: RDV_VERSION,
    relaying: state.notRelaying === undefined,
    ...(state.notRelaying ? { not_relaying_because: state.notRelaying } : {}),
    blockheight: runner?.blockheight ?? 0,
    held_htlcs: runner?.heldCount() ?? 0,
    inbox: state.inbox
      ? { ...state.inbox.stats(), from: state.inboxConfig.policy, per_peer: state.inboxConfig.limits.perPeer, max: state.inboxConfig.limits.total, ...(state.inboxProblem ? { option_problem: state.inboxProblem } : {}) }
      : null,
    prune: { after_seconds: state.pruneAfter ?? null, ...(state.pruneProblem ? { option_problem: state.pruneProblem } : {}) },
    policies: state.gate ? state.gate.stats() : null,
    requests: state.requests ? state.requests.stats() : null,
    memory_mb: memoryMb(),
    timing: {
      htlc_to_xpay_last_100: runner?.decisionTimes.summary(100) ?? null,
      xpay_to_resolve_last_100: runner?.resolveTimes.summary(100) ?? null,
      htlc_to_xpay_last_1000: runner?.decisionTimes.summary(1000) ?? null,
      request_to_invoice_last_100: state.requests?.times.summary(100) ?? null,
    },
    totals: tally ? tallyJson(tally) : null,
    unreadable: state.unreadable,
    relays: views.map((v) => viewJson(v, runner?.blockheight ?? 0, brief)),
  };
}

function tallyJson(t: Tally): JsonObject {
  return {
    relays: t.records,
    by_state: { ...t.byState },
    earned_msat: t.earnedMsat,
    recent: { since: t.recent.since, settled: t.recent.settled, failed: t.recent.failed, expired: t.recent.expired, earned_msat: t.recent.earnedMsat },
  };
}

function memoryMb(): JsonObject {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 104_857.6) / 10;
  return { rss: mb(m.rss), heap_used: mb(m.heapUsed), heap_total: mb(m.heapTotal), external: mb(m.external) };
}

/**
 * One relay for rdv-status: the record and what is live. `brief` (what rdv watch
 * reads every second) leaves out the invoices, parts and attempts: with 10 000
 * records the full reply is megabytes the plugin would write each time.
 */
function viewJson(v: RelayView, height: number, brief: boolean): JsonObject {
  const r = v.record;
  const live: JsonObject = {
    held_parts: v.heldParts,
    held_msat: v.heldMsat,
    pay_in_flight: v.payInFlight,
  };
  if (v.heldSince !== undefined) live.held_since = v.heldSince;
  if (v.outgoing !== undefined) live.outgoing = v.outgoing;
  // Blocks left mean something only while HTLCs are held: a settled set's expiry is history.
  const holding = r.role === 'relay' && (r.state === 'gathered' || r.state === 'paying' || v.heldParts > 0);
  const expiry = r.role === 'relay' && r.state !== 'open' ? (r.earliestExpiry ?? v.heldExpiry) : v.heldExpiry;
  if (holding && expiry !== undefined) live.blocks_to_expiry = expiry - height;
  if (!brief) return { ...recordToJson(r), live };
  const out: JsonObject = { payment_hash: r.paymentHash, role: r.role, amount_msat: r.amountMsat };
  if (r.role === 'relay') {
    out.state = r.state;
    if (r.settledAt !== undefined) out.settled_at = r.settledAt;
    if (r.earnedMsat !== undefined) out.earned_msat = r.earnedMsat;
    if (r.lastError !== undefined) out.last_error = r.lastError;
    if (r.policy !== undefined) out.policy = r.policy;
    // Where the next payee's invoice was pulled from (a short name: watch shows it on one line).
    if (r.downstreamSource !== undefined) out.downstream = r.downstreamSource.kind === 'offer' ? `offer ${r.downstreamSource.offer.slice(0, 16)}…` : `address ${r.downstreamSource.address}`;
  }
  out.live = live;
  return out;
}
