/**
 * One payment of the simulated soak, from its joins to its end: the chain built
 * with the real CLI, a payer node of its own with channels to Alice, the phases
 * seen in the network's HTLC ledger (each setting off its faults), the payer's
 * xpay and its retries, and the wait until nothing of it is held.
 */
import { msat } from '../../chain/amount.js';
import type { PayResult } from '../../chain/relay/types.js';
import { LightningNode } from '../../rpc/node.js';
import type { LedgerEntry } from '../ledger.js';
import { sleep } from '../network.js';
import { armLateInjects, disarmLateInjects, injectFault } from './faults.js';
import { joinChain, termsOf, type Joined } from './joins.js';
import type { SimRun, SimSoak } from './network.js';
import { planPayment, type Phase } from './plan.js';
import { newRun, payWithRetries, reachPhase } from './run.js';

/** The phase a ledger entry marks: a payee holds an HTLC (add), a payee settles one. */
const PHASE_OF: Record<'add' | 'settle', Partial<Record<string, Phase>>> = {
  add: { alice: 'alice_holds', bob: 'bob_holds', carol: 'carol_holds' },
  settle: { alice: 'alice_settled', bob: 'bob_settled', carol: 'carol_settled' },
};

/** Run payment `index` of the soak's plan; a chain that cannot be built is a setup failure, not audited. */
export async function runPayment(s: SimSoak, index: number): Promise<void> {
  const plan = planPayment(s.o.seed, index, { withClosing: s.o.withClosing });
  const startedMs = s.now();
  let joined: Joined;
  try {
    joined = await joinChain(s.rdv, s, plan);
  } catch (e) {
    s.setupFailures.push({ index, error: (e as Error).message });
    return;
  }
  const payer = await s.net.addNode(`payer${index}`);
  // Opened after Alice's invoice, so its route hints never name another payment's zero-conf channel.
  const payerChannels = plan.payerChannelsSat.map((sat) => s.net.openChannel(payer, s.alice, sat, { zeroConf: plan.zeroConf }));
  const { hash } = joined;
  const run: SimRun = {
    ...newRun({ plan, hash, bolt11: String(joined.alice.bolt11), terms: termsOf(plan, joined, payer.name), startedMs }),
    payer,
    payerChannels,
    armed: [],
  };
  s.runs.push(run);
  const now = (): number => s.now();
  const reach = (phase: Phase): void => reachPhase(run, phase, now, (f) => injectFault(s, run, f));
  const stop = s.net.ledger.onEntry((e) => {
    if (e.paymentHash === hash) onProgress(e, reach);
  });
  try {
    // xpay's late inject is armed before the payment, and fires on the failure the fault causes later.
    armLateInjects(s, run);
    reach('start');
    await payWithRetries(run, payer.name, () => payOnce(run), now);
    await waitSettledDown(s, hash, 30_000);
    await Promise.all(run.pending);
  } finally {
    stop();
    s.release(hash, 'at the end of the payment');
    disarmLateInjects(run);
    // A zero-conf channel confirms after a while anyway (and keeps Alice's route hints short).
    for (const ch of payerChannels) if (ch.scid === undefined && ch.canAddHtlc()) ch.confirm();
    run.endedMs = s.now();
  }
}

/** The payer's xpay of Alice's invoice; a call that does not return within 120 s is a failure. */
async function payOnce(run: SimRun): Promise<PayResult> {
  const client = await LightningNode.connect(run.payer.socketPath);
  try {
    const timeout = new Promise<PayResult>((resolve) => setTimeout(() => resolve({ ok: false, definite: false, message: 'the payer\'s xpay did not return within 120 s' }), 120_000).unref());
    return await Promise.race([client.xpay({ invstring: run.bolt11, maxfeeMsat: msat(10_000_000n), maxdelay: 2016, retryForSeconds: 2 }), timeout]);
  } finally {
    client.close();
  }
}

/** Until no HTLC of `hash` is held anywhere (or `ms` passed). */
async function waitSettledDown(s: SimSoak, hash: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && s.net.allHeld().some((h) => h.incoming.paymentHash === hash)) await sleep(50);
}

/** A ledger entry of the payment: the phase it marks, if any, is reached. */
function onProgress(e: LedgerEntry, reach: (phase: Phase) => void): void {
  const phase = e.kind === 'add' || e.kind === 'settle' ? PHASE_OF[e.kind][e.to] : undefined;
  if (phase) reach(phase);
}
