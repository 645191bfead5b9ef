/**
 * Checks of each open relay invoice a payer may still pay: liquidity to receive
 * it and to pay onward, a route to the next payee within the fee and delay
 * budgets, and a min_final_cltv wallets accept.
 */
import { formatAmount, msat, sumMsat, type Msat } from '../amount.js';
import { DEFAULT_ROUTE_ALLOWANCE, MAX_LOCKTIME_BLOCKS, routeDelayRoom } from '../budget.js';
import { shortHash } from '../ids.js';
import type { ChannelFunds } from '../node-facts.js';
import type { RelayRecord } from '../record.js';
import { type RelayFacts, type DoctorFacts, needsRouteCheck } from './facts.js';
import { type CheckResult, good, warning, failure, type Finding, combine } from './results.js';

// --- liquidity and route of each open relay ----------------------------------------------

/** Channel states that carry new HTLCs. */
const USABLE = new Set(['CHANNELD_NORMAL', 'CHANNELD_AWAITING_SPLICE']);

interface Funds {
  inbound: Msat;
  outbound: Msat;
  /** Receivable in usable channels whose peer is offline now. */
  offlineInbound: Msat;
  offlineOutbound: Msat;
}

function funds(channels: ChannelFunds[]): Funds {
  const usable = channels.filter((c) => USABLE.has(c.state));
  const online = usable.filter((c) => c.peerConnected);
  const offline = usable.filter((c) => !c.peerConnected);
  return {
    inbound: sumMsat(online.map((c) => c.receivableMsat)),
    outbound: sumMsat(online.map((c) => c.spendableMsat)),
    offlineInbound: sumMsat(offline.map((c) => c.receivableMsat)),
    offlineOutbound: sumMsat(offline.map((c) => c.spendableMsat)),
  };
}

const offlineNote = (amount: Msat): string => (amount > 0n ? ` (${formatAmount(amount)} more with peers offline now)` : '');

function relayFindings(r: RelayFacts, have: Funds): { findings: Finding[]; summary: string } {
  const rec = r.record;
  const findings: Finding[] = [];
  const route = r.route?.ok ? r.route.value : undefined;
  const outNeeded = msat(rec.downstreamAmountMsat + (route?.feeMsat ?? 0n));
  if (have.inbound < rec.amountMsat) {
    findings.push({
      status: 'fail',
      message: `can receive ${formatAmount(have.inbound)}, less than its ${formatAmount(rec.amountMsat)}${offlineNote(have.offlineInbound)}`,
      fix: 'get more inbound liquidity (a channel opened to you, or spend from yours) before the payer pays',
    });
  }
  if (have.outbound < outNeeded) {
    findings.push({
      status: 'fail',
      message: `can send ${formatAmount(have.outbound)}, less than the ${formatAmount(outNeeded)} it pays onward${offlineNote(have.offlineOutbound)}`,
      fix: 'get more outbound liquidity (open a channel, or receive into yours) before the payer pays',
    });
  }
  const payee = `${shortHash(rec.downstreamPayee)}…`;
  if (r.route === undefined || !r.route.ok) {
    findings.push({ status: 'warn', message: `route not checked (${r.route?.ok === false ? r.route.error : 'not asked'})`, fix: 'run rdv doctor again' });
  } else if (!route) {
    findings.push({
      status: 'fail',
      message: `askrene finds no route to the next payee ${payee} for ${formatAmount(rec.downstreamAmountMsat)}`,
      fix: 'payments will fail back until there is one: a channel towards the next payee, or gossip about its channels',
    });
  } else {
    if (route.feeMsat > rec.feeBudgetMsat) {
      findings.push({
        status: 'fail',
        message: `the route fee to ${payee} is ${formatAmount(route.feeMsat)}, over the fee budget of ${formatAmount(rec.feeBudgetMsat)}`,
        fix: 'unless fees drop, payments will fail back: join again with a larger --fee-budget',
      });
    }
    const room = routeDelayRoom(rec.delayBudget, rec.safetyMargin);
    if (route.delayBlocks > room) {
      findings.push({
        status: 'warn',
        message: `the route to ${payee} needs ${route.delayBlocks} blocks of CLTV, more than the ${room} the delay budget leaves after the safety margin`,
        fix: 'payments may fail back: join again with a larger --delay-budget',
      });
    }
  }
  const routeText = route ? `; route fee ${formatAmount(route.feeMsat)} (budget ${formatAmount(rec.feeBudgetMsat)}), ${route.delayBlocks} blocks of CLTV` : '';
  const summary = `can receive ${formatAmount(have.inbound)} (needs ${formatAmount(rec.amountMsat)}), send ${formatAmount(have.outbound)} (needs ${formatAmount(outNeeded)})${routeText}`;
  return { findings, summary };
}

/** One line per open relay invoice: inbound for its amount, outbound and a route within budget for the payment onward. */
export function checkLiquidity(f: DoctorFacts): CheckResult[] {
  if (!f.records.ok) return [warning('liquidity', 'liquidity not checked: the records could not be read', 'see the records line above')];
  const open = f.records.value.relays.filter((r) => needsRouteCheck(r.record, f.now));
  if (open.length === 0) return [good('liquidity', 'no open relay invoice to check liquidity for')];
  if (!f.channels.ok) return [failure('liquidity', `lightningd did not list its channels (listpeerchannels: ${f.channels.error})`, 'run rdv doctor again')];
  const have = funds(f.channels.value);
  return open.map((r) => {
    const { findings, summary } = relayFindings(r, have);
    const prefix = `relay ${shortHash(r.record.paymentHash)}: `;
    return { ...combine('liquidity', findings, `${prefix}${summary}`, prefix), paymentHash: r.record.paymentHash };
  });
}

// --- min_final_cltv against wallets' caps ---------------------------------------------

export function checkCltv(f: DoctorFacts): CheckResult {
  if (!f.records.ok) return warning('cltv', 'min_final_cltv not checked: the records could not be read', 'see the records line above');
  const open = f.records.value.relays.map((r) => r.record).filter((r) => needsRouteCheck(r, f.now));
  if (open.length === 0) return good('cltv', 'no open relay invoice to check min_final_cltv for');
  const limit = MAX_LOCKTIME_BLOCKS - DEFAULT_ROUTE_ALLOWANCE;
  const cap = f.cltvWarnBlocks;
  const list = (rs: RelayRecord[]): string => rs.map((r) => `${shortHash(r.paymentHash)} (${r.minFinalCltv})`).join(', ');
  const overLimit = open.filter((r) => r.minFinalCltv > limit);
  const overCap = open.filter((r) => r.minFinalCltv > cap && r.minFinalCltv <= limit);
  const findings: Finding[] = [];
  if (overLimit.length > 0) {
    findings.push({
      status: 'fail',
      message: `min_final_cltv over ${limit} blocks: ${list(overLimit)}`,
      fix: `a payer's route can hardly fit under the ${MAX_LOCKTIME_BLOCKS}-block cap of CLN and most wallets: join again with a smaller --delay-budget, and ask the next payees for smaller ones`,
    });
  }
  if (overCap.length > 0) {
    findings.push({
      status: 'warn',
      message: `min_final_cltv over ${cap} blocks: ${list(overCap)}`,
      fix: 'some wallets refuse to lock funds that long: if a payer cannot pay, join again with a smaller --delay-budget',
    });
  }
  const highest = Math.max(...open.map((r) => r.minFinalCltv));
  return combine('cltv', findings, `min_final_cltv of ${open.length} open invoice(s) at most ${highest} blocks (wallets may refuse over ${cap})`);
}
