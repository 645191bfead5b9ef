/**
 * The simulated soak's result, once drained: every payment audited from the
 * network's HTLC ledger (audit.ts), the HTLCs still held, the relays' own records
 * compared with the ledger, the JSON line (summary.ts), and a dump of each bad
 * payment (and each asked for) with what is needed to replay and debug it.
 */
import { parseRecord, relayKey } from '../../chain/record.js';
import { auditPayment, type PaymentVerdict } from './audit.js';
import type { SimRun, SimSoak } from './network.js';
import { anomalyLines, isBad, runLines, sortOut, type SoakResult } from './report.js';
import { countBy, soakOk, soakSummary } from './summary.js';

/** The soak's result after `durationS` seconds; the network still runs (its records are read). */
export function soakResult(s: SimSoak, durationS: number): SoakResult {
  const entries = s.net.ledger.entries;
  const heldNow = s.net.allHeld();
  const { verdicts, bad, shown } = sortOut(
    s.runs,
    (run) => auditPayment(run.terms, entries),
    (run) => heldNow.filter((h) => h.incoming.paymentHash === run.hash).length,
    s.o.dump,
    (run, v, stuck) => dump(s, run, v, stuck),
  );
  const mismatches = recordMismatches(s);
  const relays = new Set(['alice', 'bob']);
  const faults = s.runs.flatMap((r) => r.faults);
  const summary = soakSummary({
    seed: s.o.seed,
    payments: s.runs.length,
    concurrency: s.o.concurrency,
    faultsByKind: countBy(faults, (f) => f.kind),
    faultsByPhase: countBy(faults, (f) => f.phase),
    faultsSkipped: countBy(s.runs.flatMap((r) => r.skipped), (k) => k.kind),
    networkEvents: countBy(s.net.events, (e) => e.type),
    verdicts,
    stuckHtlcs: heldNow.length,
    forceCloses: entries.filter((e) => e.kind === 'expire' && relays.has(e.to)).length,
    recordMismatches: mismatches.length,
    setupFailed: s.setupFailures.length,
    withClosing: s.o.withClosing,
    ...(s.o.guard === false ? { guard: false as const } : {}),
    blocks: s.miner.blocksMined,
    htlcs: entries.filter((e) => e.kind === 'add').length,
    durationS,
  });
  return { summary, ok: soakOk(summary), bad, shown, setupFailures: [...s.setupFailures], recordMismatches: mismatches, anomalies: anomalyLines(s.runs, verdicts) };
}

/**
 * rdv's own view against the ledger: a relay's record of a payment Carol was
 * paid for says `settled` and earned exactly what the ledger says it kept; of
 * one she was not paid for, it is not `settled`.
 */
function recordMismatches(s: SimSoak): string[] {
  const out: string[] = [];
  for (const run of s.runs) {
    const v = auditPayment(run.terms, s.net.ledger.forHash(run.hash));
    for (const node of [s.alice, s.bob]) {
      const role = node === s.alice ? 'alice' : 'bob';
      const raw = node.datastore.get(relayKey(run.hash));
      let state = 'missing';
      let earned: bigint | undefined;
      try {
        const r = raw ? parseRecord(raw) : undefined;
        if (r?.role === 'relay') {
          state = r.state;
          earned = r.earnedMsat;
        } else if (r) state = `role ${r.role}`;
      } catch (e) {
        state = `unreadable (${(e as Error).message})`;
      }
      const net = v.netMsat[role];
      if (v.outcome === 'settled' && (state !== 'settled' || earned !== net)) {
        out.push(`#${run.plan.index} ${run.hash.slice(0, 8)} ${role}: record ${state}, earned ${earned ?? '-'} msat; the ledger says it kept ${net} msat`);
      } else if (v.outcome === 'failed_back' && state === 'settled') {
        out.push(`#${run.plan.index} ${run.hash.slice(0, 8)} ${role}: record settled (earned ${earned ?? '-'} msat) for a payment Carol was not paid for`);
      }
    }
  }
  return out;
}

/** Everything needed to replay and debug one payment: its plan, faults, ledger, the relays' records and log lines. */
function dump(s: SimSoak, run: SimRun, v: PaymentVerdict, stuck: number): string {
  const lines: string[] = [];
  const { plan } = run;
  lines.push(`=== ${isBad(v, stuck) ? 'bad ' : ''}payment #${plan.index} hash ${run.hash} (${v.outcome}): lost ${v.lostMsat} msat, stuck ${stuck}, relay expiries ${v.relayExpiries}, preimage revealed ${v.preimageRevealed}`);
  lines.push(`replay: npm run soak -- --seed ${s.o.seed} --payments ${Math.max(s.o.payments, plan.index + 1)} --only ${plan.index}`);
  lines.push(`plan: carol ${plan.carolSat} sat, payouts ${plan.payoutSat.alice}/${plan.payoutSat.bob} sat, fee budgets ${plan.feeBudgetSat.alice}/${plan.feeBudgetSat.bob} sat, payer channels ${plan.payerChannelsSat.join('+')} sat${plan.zeroConf ? ' (zero-conf)' : ''}${plan.offer ? ', Carol paid through an offer' : ''}, retries ${plan.retries}`);
  lines.push(...runLines(run, v, s.runs));
  lines.push('ledger:');
  for (const e of s.net.ledger.forHash(run.hash)) {
    lines.push(`  +${e.atMs}ms h${e.height} ${e.kind.padEnd(11)} ${e.from} -> ${e.to} ${e.channel}/${e.htlcId} ${e.amountMsat} msat cltv ${e.cltvExpiry}${e.failureMessage ? ` failure ${e.failureMessage.slice(0, 4)}` : ''}`);
  }
  for (const node of [s.alice, s.bob]) {
    const raw = node.datastore.get(relayKey(run.hash));
    if (!raw) continue;
    try {
      const r = parseRecord(raw) as unknown as Record<string, unknown>;
      lines.push(`${node.name} record: state ${String(r.state)}, parts ${JSON.stringify(r.parts, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}, lastError ${String(r.lastError ?? '-')}`);
    } catch (e) {
      lines.push(`${node.name} record unreadable: ${(e as Error).message}`);
    }
  }
  const prefix = run.hash.slice(0, 8);
  const logLines = s.logs.filter((l) => l.includes(prefix));
  lines.push(`plugin log lines naming ${prefix} (${logLines.length}):`);
  for (const l of logLines.slice(-80)) lines.push(`  ${l}`);
  return lines.join('\n');
}
