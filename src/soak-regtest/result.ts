/**
 * The regtest soak's result, once drained: each node's books read (and saved
 * with --save-books), every payment audited from them (books.ts), the relays'
 * records looked at until they agree with the books, the balances against the
 * books (the global conservation check), stuck HTLCs and force closes, the JSON
 * line (src/simnet/soak/summary.ts, plus the regtest keys), and a dump of each
 * bad payment (and each asked for) with its books and log lines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringifyJson } from '../rpc/json.js';
import type { RegtestNode } from '../regtest/lightningd.js';
import type { PaymentVerdict } from '../simnet/soak/audit.js';
import { anomalyLines, isBad, runLines, sortOut, type SoakResult } from '../simnet/soak/report.js';
import { errorText, sleep } from '../simnet/soak/run.js';
import { countBy, soakOk, soakSummary } from '../simnet/soak/summary.js';
import {
  auditFromBooks,
  balanceMismatches,
  forceCloses,
  parseAccountEvents,
  parseChannelMoves,
  parseClosedChannels,
  parseInvoices,
  parsePeerChannels,
  parseSendpays,
  parseStatusRecords,
  recordMismatches,
  stuckHtlcs,
  type ExpirySeen,
  type NodeBooks,
  type RelayRecordView,
} from './books.js';
import type { RegtestRun, RegtestSoak } from './network.js';

export interface RegtestSoakResult extends SoakResult {
  /** Where a node's balances and its books disagree (the global conservation check). */
  balanceMismatches: string[];
  forceCloses: string[];
  /** The regtest directory, when kept. */
  dir?: string;
}

/** How long the end waits for the relays' records to agree with lightningd's books (checkpoints, the replay wait after the last restart). */
const RECORDS_SETTLE_MS = 30_000;

/** Each node's books: the replies the audit reads, written to `saveBooks` if asked. */
async function readBooks(s: RegtestSoak): Promise<NodeBooks[]> {
  const out: NodeBooks[] = [];
  const saveBooks = s.o.saveBooks;
  if (saveBooks !== undefined) mkdirSync(saveBooks, { recursive: true });
  for (const n of s.all()) {
    const call = async (method: string, params: Record<string, unknown> = {}): Promise<unknown> => {
      const reply = await n.rpc.rpc.call(method, params, { timeoutMs: 60_000 });
      if (saveBooks !== undefined) writeFileSync(join(saveBooks, `${n.name}-${method}.json`), `${stringifyJson(reply)}\n`);
      return reply;
    };
    out.push({
      name: n.name,
      moves: parseChannelMoves(await call('listchannelmoves')),
      sendpays: parseSendpays(await call('listsendpays')),
      invoices: parseInvoices(await call('listinvoices')),
      accountEvents: await call('bkpr-listaccountevents').then(parseAccountEvents, () => undefined),
      channels: parsePeerChannels(await call('listpeerchannels')),
      closed: parseClosedChannels(await call('listclosedchannels')),
    });
  }
  return out;
}

/** What each relay's `rdv status` says of its records (none, logged, if it cannot be asked). */
async function relayRecords(s: RegtestSoak): Promise<Record<'alice' | 'bob', Map<string, RelayRecordView>>> {
  const read = async (n: RegtestNode): Promise<Map<string, RelayRecordView>> => {
    try {
      return parseStatusRecords(await s.rdv.call(n, ['status']));
    } catch (e) {
      s.log(`rdv status on ${n.name}: ${errorText(e)}`);
      return new Map();
    }
  };
  return { alice: await read(s.alice), bob: await read(s.bob) };
}

/** The soak's result after `durationS` seconds; the network still runs (its books are read). */
export async function regtestResult(s: RegtestSoak, durationS: number): Promise<RegtestSoakResult> {
  const books = await readBooks(s);
  const expiries = s.watch.expiries;
  const verdictOf = new Map(s.runs.map((run) => [run, auditFromBooks(run.terms, books, expiries)] as const));
  const mismatchesOf = (r: Record<'alice' | 'bob', Map<string, RelayRecordView>>): string[] =>
    s.runs.flatMap((run) => {
      const v = verdictOf.get(run);
      if (!v) return [];
      return (['alice', 'bob'] as const).flatMap((relay) => recordMismatches(`#${run.plan.index} ${run.hash.slice(0, 8)}`, v, relay, r[relay].get(run.hash)) ?? []);
    });
  // A relay corrects its record a replay wait after its last restart, and writes
  // "settled" as a checkpoint: look again (a while) until the records agree with the books.
  let records = await relayRecords(s);
  for (const deadline = Date.now() + RECORDS_SETTLE_MS; mismatchesOf(records).length > 0 && Date.now() < deadline; ) {
    await sleep(2_000);
    records = await relayRecords(s);
  }
  const mismatches = mismatchesOf(records);
  const stuck = stuckHtlcs(books);
  const closes = forceCloses(books);
  const hashes = new Set(s.runs.map((r) => r.hash));
  const mismatchesOfBalances = balanceMismatches(books, s.baselines, hashes);
  const { verdicts, bad, shown } = sortOut(
    s.runs,
    (run) => verdictOf.get(run) ?? auditFromBooks(run.terms, books, expiries),
    (run) => stuck.filter((x) => x.htlc.paymentHash === run.hash).length,
    s.o.dump,
    (run, v, stuckHere) => dump(s, run, v, stuckHere, books),
  );
  const faults = s.runs.flatMap((r) => r.faults);
  const expiredHtlcs = new Set(expiries.map((e) => `${e.node}/${e.scid}/${e.id}`)).size;
  const networkEvents = countBy(s.events, (e) => e.type);
  if (expiredHtlcs > 0) networkEvents.htlc_expired = expiredHtlcs;
  for (const n of s.all()) {
    // An important plugin's death is logged as broken: that one is the kill_rdv fault itself.
    const broken = n.logLines('**BROKEN**').filter((l) => !l.includes('Plugin marked as important, shutting down lightningd')).length;
    if (broken > 0) networkEvents.broken_log_lines = (networkEvents.broken_log_lines ?? 0) + broken;
  }
  const multiPart = s.runs.filter((r) => {
    const parts = books.find((b) => b.name === 'payer')?.sendpays.filter((p) => p.paymentHash === r.hash && p.status === 'complete') ?? [];
    return parts.length > 1;
  }).length;
  const summary = soakSummary(
    {
      seed: s.o.seed,
      payments: s.runs.length,
      concurrency: s.o.concurrency,
      faultsByKind: countBy(faults, (f) => f.kind),
      faultsByPhase: countBy(faults, (f) => f.phase),
      faultsSkipped: countBy(
        s.runs.flatMap((r) => r.skipped),
        (k) => k.kind,
      ),
      networkEvents,
      verdicts,
      stuckHtlcs: stuck.length,
      forceCloses: closes.length,
      recordMismatches: mismatches.length,
      setupFailed: s.setupFailures.length,
      withClosing: false,
      blocks: s.miner.blocksMined,
      htlcs: books.reduce((sum, b) => sum + (s.watch.htlcs.get(b.name)?.filter((h) => h.direction === 'in').length ?? 0), 0),
      durationS,
    },
    { mode: 'regtest', balance_mismatches: mismatchesOfBalances.length, multi_part: multiPart },
  );
  return {
    summary,
    ok: soakOk(summary) && mismatchesOfBalances.length === 0,
    bad,
    shown,
    recordMismatches: mismatches,
    anomalies: anomalyLines(s.runs, verdicts),
    balanceMismatches: mismatchesOfBalances,
    forceCloses: closes.map((c) => `channel ${c.channelId}: ${c.why} (seen by ${c.seenBy.join(', ')})`),
    setupFailures: [...s.setupFailures],
    ...(s.o.keep ? { dir: s.rt.dir } : {}),
  };
}

/** Everything needed to replay and debug one payment: its plan, faults, books and log lines. */
function dump(s: RegtestSoak, run: RegtestRun, v: PaymentVerdict, stuck: number, books: readonly NodeBooks[]): string {
  const lines: string[] = [];
  const { plan } = run;
  lines.push(`=== ${isBad(v, stuck) ? 'bad ' : ''}payment #${plan.index} hash ${run.hash} (${v.outcome}): lost ${v.lostMsat} msat, stuck ${stuck}, relay expiries ${v.relayExpiries}, payee expiries ${v.payeeExpiries}, preimage revealed ${v.preimageRevealed}`);
  lines.push(`replay: npm run soak -- --regtest --seed ${s.o.seed} --payments ${Math.max(s.o.payments, plan.index + 1)} --only ${plan.index}`);
  lines.push(`plan: carol ${plan.carolSat} sat, payouts ${plan.payoutSat.alice}/${plan.payoutSat.bob} sat, fee budgets ${plan.feeBudgetSat.alice}/${plan.feeBudgetSat.bob} sat, ${plan.payerChannelsSat.length} part(s), retries ${plan.retries}`);
  lines.push(...runLines(run, v, s.runs));
  for (const b of books) {
    for (const m of b.moves.filter((x) => x.paymentHash === run.hash)) lines.push(`  ${b.name} move #${m.createdIndex} ${m.tag} ${m.accountId.slice(0, 8)} +${m.creditMsat} -${m.debitMsat}`);
    for (const p of b.sendpays.filter((x) => x.paymentHash === run.hash)) lines.push(`  ${b.name} sendpay ${p.groupid}/${p.partid} ${p.status} ${p.amountSentMsat} msat`);
    for (const h of s.watch.htlcs.get(b.name)?.filter((x) => x.paymentHash === run.hash) ?? []) lines.push(`  ${b.name} htlc ${h.direction} ${h.scid}/${h.id} ${h.amountMsat} msat expiry ${h.expiry} ${h.state}`);
  }
  const firstSeen = new Map<string, ExpirySeen>();
  for (const e of s.watch.expiries) if (e.paymentHash === run.hash && !firstSeen.has(`${e.node}/${e.scid}/${e.id}`)) firstSeen.set(`${e.node}/${e.scid}/${e.id}`, e);
  for (const e of firstSeen.values()) lines.push(`  expiry: ${e.node} still held ${e.scid}/${e.id} (expiry ${e.expiry}) at height ${e.height}`);
  const prefix = run.hash.slice(0, 8);
  for (const n of s.all()) {
    const logged = n.logLines(new RegExp(`${prefix}|${run.hash}`));
    // The first lines tell how it went wrong; the last ones how it ended.
    const shownLines = logged.length <= 80 ? logged : [...logged.slice(0, 50), `... ${logged.length - 80} more ...`, ...logged.slice(-30)];
    lines.push(`${n.name}'s log lines naming ${prefix} (${logged.length}; ${n.logFile}):`);
    for (const l of shownLines) lines.push(`  ${l}`);
  }
  return lines.join('\n');
}
