/**
 * One payment of the regtest soak, from its joins to its end: the chain built
 * with the real CLI, the phases seen by the watch (watch.ts, each setting off its
 * faults), a multi-part plan made with an askrene layer that caps each payer
 * channel, the payer's xpay and its retries, and the wait until no node holds
 * an HTLC of it.
 */
import { RpcError } from '../rpc/client.js';
import { joinChain, termsOf, type Joined } from '../simnet/soak/joins.js';
import { planPayment, type Phase } from '../simnet/soak/plan.js';
import { errorText, newRun, payWithRetries, reachPhase, sleep, type PayOutcome } from '../simnet/soak/run.js';
import { injectFault } from './faults.js';
import type { RegtestRun, RegtestSoak } from './network.js';

/** Run payment `index` of the soak's plan; a chain that cannot be built is a setup failure, not audited. */
export async function runPayment(s: RegtestSoak, index: number): Promise<void> {
  const plan = planPayment(s.o.seed, index, { withClosing: false, vocabulary: 'regtest' });
  const startedMs = s.now();
  let joined: Joined;
  try {
    joined = await joinChain(s.rdv, s, plan);
  } catch (e) {
    s.setupFailures.push({ index, error: errorText(e) });
    return;
  }
  const { hash } = joined;
  const run: RegtestRun = {
    ...newRun({ plan, hash, bolt11: String(joined.alice.bolt11), terms: termsOf(plan, joined, 'payer'), startedMs }),
  };
  s.runs.push(run);
  const now = (): number => s.now();
  const reach = (phase: Phase): void => reachPhase(run, phase, now, (f) => injectFault(s, run, f));
  const unfollow = s.watch.follow(hash, reach);
  const layer = await mppLayer(s, run);
  try {
    // Faults due at the start with no delay (a stall, a failing payee) are in place before the payer pays.
    reach('start');
    await Promise.all(run.pending);
    await payWithRetries(run, 'payer', () => payOnce(s, run, layer), now);
    await waitSettledDown(s, hash, 60_000);
    await Promise.all(run.pending);
  } finally {
    unfollow();
    await s.release(hash, 'at the end of the payment');
    if (layer !== undefined) await s.payer.rpc.rpc.call('askrene-remove-layer', { layer }).catch(() => undefined);
    run.endedMs = s.now();
  }
}

/**
 * A plan of 2 or 3 parts: an askrene layer that caps each payer channel at
 * 1.2 x amount / parts, so xpay must split the payment (the payer's listsendpays
 * shows whether it did). Undefined for one part or if askrene refuses.
 */
async function mppLayer(s: RegtestSoak, run: RegtestRun): Promise<string | undefined> {
  const parts = run.plan.payerChannelsSat.length;
  if (parts < 2) return undefined;
  const layer = `soak-mpp-${run.plan.index}`;
  const capMsat = (run.terms.aliceAmountMsat * 12n) / (10n * BigInt(parts)) + 1n;
  try {
    await s.payer.rpc.rpc.call('askrene-create-layer', { layer });
    for (const ch of s.payerChannels) {
      await s.payer.rpc.rpc.call('askrene-update-channel', { layer, short_channel_id_dir: `${ch.scid}/${ch.dir}`, htlc_maximum_msat: capMsat });
    }
    return layer;
  } catch (e) {
    run.notes.push(`${s.now()} no multi-part layer: ${errorText(e)}`);
    return undefined;
  }
}

/** The payer's xpay of Alice's invoice (over the multi-part layer, if any). */
async function payOnce(s: RegtestSoak, run: RegtestRun, layer: string | undefined): Promise<PayOutcome> {
  const call = s.payer.rpc.rpc.call(
    'xpay',
    { invstring: run.bolt11, maxfee: 10_000_000, maxdelay: 2016, retry_for: 60, ...(layer !== undefined ? { layers: [layer] } : {}) },
    { timeoutMs: 600_000 },
  );
  try {
    await call;
    return { ok: true };
  } catch (e) {
    return { ok: false, message: e instanceof RpcError ? `${e.code} ${e.rpcMessage}` : errorText(e) };
  }
}

/** Until no node holds an incoming HTLC of `hash` (as the watch saw it last), or `ms` passed. */
async function waitSettledDown(s: RegtestSoak, hash: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const seen = s.watch.samples;
  while (Date.now() < deadline && (s.watch.samples < seen + 2 || s.watch.holds(hash))) await sleep(100);
}
