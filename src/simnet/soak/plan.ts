/**
 * The soak's fault schedule: for payment `index` under `seed`, its amounts, the
 * payer's channels and the faults to inject, each tied to a point in the
 * payment's progress (a phase, seen in the network's HTLC ledger) plus a delay.
 * Pure and drawn from the payment's own PRNG stream: the same seed gives the
 * same schedule whatever the concurrency.
 */
import { Rng } from './prng.js';

/**
 * Points in a payment's progress, each the first ledger entry of its kind for
 * the hash: `start` is just before the payer pays; `alice_holds` an HTLC reached
 * Alice; `bob_holds` Alice's xpay reached Bob (Alice holds, Alice's xpay runs);
 * `carol_holds` Bob's xpay reached Carol; `carol_settled` Carol settled (Bob
 * has not resolved yet); `bob_settled` Bob resolved (Alice has not yet, and
 * Bob's record is not written yet); `alice_settled` Alice resolved (her record
 * is not written yet).
 */
export type Phase = 'start' | 'alice_holds' | 'bob_holds' | 'carol_holds' | 'carol_settled' | 'bob_settled' | 'alice_settled';
export const HOLD_PHASES: readonly Phase[] = ['alice_holds', 'bob_holds', 'carol_holds', 'carol_settled', 'bob_settled'];

export type FaultKind =
  /** kill -9 of rdv alone: with important-plugin, lightningd stops; restarted after `ms`. */
  | 'kill_rdv'
  /** kill -9 of the whole lightningd; restarted after `ms`. */
  | 'crash'
  /** lightningd stops cleanly (shutdown notification) and starts again after `ms`. */
  | 'restart'
  /** Carol holds the complete payment without settling: released after `ms` or `blocks` blocks, and always before her HTLC nears its expiry. */
  | 'stall'
  /** Carol deletes her invoice before the payment reaches her. */
  | 'invoice_deleted'
  /** A channel in the path (`channel`) takes no HTLCs for `ms`. */
  | 'channel_disabled'
  /** A splice of `channel` confirms while an HTLC is held on it (new real scid); then maybe the holder restarts. */
  | 'splice'
  /** The payer's zero-conf channels to Alice confirm while Alice holds (alias -> real scid); then maybe Alice restarts. */
  | 'zeroconf_confirm'
  /** `blocks` blocks mined in quick succession. */
  | 'block_burst'
  /** xpay's late inject on `node`: armed at the start; at the phase Bob-Carol is disabled for `ms` so its xpay fails, and a part it had routed shows up `afterMs` after the failure. */
  | 'late_inject'
  /** The payer pays the same invoice again after a failure (counted when it happens). */
  | 'payer_retry'
  /** Only with --with-closing: Alice goes down while holding, the payer's channel goes on chain meanwhile, Alice restarts. */
  | 'closing'
  /** Real lightningd only: `node` drops its peer on `channel` (disconnect force=true), again each time it is back, for `ms`. */
  | 'disconnect'
  /** Real lightningd only: Carol fails every HTLC of the payment (temporary_node_failure) for `ms`, then takes them again. */
  | 'payee_fails';

export type Who = 'alice' | 'bob' | 'carol';
export type ChannelName = 'payer-alice' | 'alice-bob' | 'bob-carol';

export interface FaultPlan {
  /** `<payment>.<n>`: unique in a run. */
  id: string;
  kind: FaultKind;
  node: Who;
  phase: Phase;
  delayMs: number;
  /** Downtime, stall time or disable time, by kind. */
  ms: number;
  blocks: number;
  channel?: ChannelName;
  /** splice / zeroconf_confirm: restart the node holding the HTLC on it afterwards (its replay comes under the new name). */
  thenRestart: boolean;
  /** late_inject: the late part's delay after xpay's failure. */
  afterMs: number;
}

export interface PaymentPlan {
  index: number;
  carolSat: bigint;
  payoutSat: { alice: bigint; bob: bigint };
  feeBudgetSat: { alice: bigint; bob: bigint };
  /** The payer's channels to Alice: several small ones force a multi-part payment. */
  payerChannelsSat: bigint[];
  zeroConf: boolean;
  /** Carol is paid through a BOLT 12 offer: Bob fetches her invoice (rdv join --offer) instead of joining one she passed. */
  offer: boolean;
  /** How many times the payer pays again after a failure, and how long it waits first. */
  retries: number;
  retryDelayMs: number;
  faults: FaultPlan[];
}

export interface PlanOptions {
  withClosing: boolean;
  /**
   * Which faults can be made: `sim` (default) those of the simulated network;
   * `regtest` those of real lightningd and bitcoind (no splices, zero-conf
   * confirmations, disabled channels or xpay late injects, which cannot be made
   * on demand there; peer disconnects and a failing payee instead). The amounts
   * are drawn the same way in both.
   */
  vocabulary?: 'sim' | 'regtest';
}

const DEFAULT_WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['kill_rdv', 12],
  ['crash', 12],
  ['restart', 8],
  ['stall', 12],
  ['invoice_deleted', 4],
  ['channel_disabled', 8],
  ['splice', 9],
  ['zeroconf_confirm', 8],
  ['block_burst', 12],
  ['late_inject', 9],
];

const REGTEST_WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['kill_rdv', 12],
  ['crash', 12],
  ['restart', 8],
  ['stall', 12],
  ['invoice_deleted', 4],
  ['payee_fails', 8],
  ['disconnect', 10],
  ['block_burst', 12],
];

/** The plan of payment `index` (0-based) under `seed`. */
export function planPayment(seed: number, index: number, o: PlanOptions): PaymentPlan {
  const rng = Rng.forPayment(seed, index);
  const carolSat = BigInt(rng.int(10_000, 150_000));
  const payoutSat = { alice: BigInt(rng.int(500, 3_000)), bob: BigInt(rng.int(500, 6_000)) };
  const feeBudgetSat = { alice: BigInt(rng.int(100, 1_500)), bob: BigInt(rng.int(100, 1_500)) };
  const aliceSat = carolSat + payoutSat.alice + payoutSat.bob + feeBudgetSat.alice + feeBudgetSat.bob;
  const parts = rng.weighted([
    [1, 7],
    [2, 2],
    [3, 1],
  ] as const);
  // One channel carries two payments' worth (a retry needs the refund only); small ones need each other.
  const payerChannelsSat = parts === 1 ? [aliceSat * 2n] : Array.from({ length: parts }, () => (aliceSat * 12n) / 10n / BigInt(parts - 1) + 1n);
  const base = o.vocabulary === 'regtest' ? REGTEST_WEIGHTS : DEFAULT_WEIGHTS;
  const weights = o.withClosing ? [...base, ['closing', 10] as const] : base;
  const count = rng.weighted([
    [0, 25],
    [1, 45],
    [2, 30],
  ] as const);
  const faults: FaultPlan[] = [];
  let zeroConf = rng.chance(0.15);
  for (let n = 0; n < count; n++) {
    const kind = rng.weighted(weights);
    const f = faultOf(rng, kind, `${index}.${n}`);
    if (kind === 'zeroconf_confirm') zeroConf = true;
    // One downstream failure per payment is enough to see it fail back.
    if (kind === 'invoice_deleted' && faults.some((x) => x.kind === 'invoice_deleted')) continue;
    faults.push(f);
  }
  const failing = faults.some((f) => ['invoice_deleted', 'channel_disabled', 'late_inject', 'payee_fails'].includes(f.kind));
  const retries = rng.chance(failing ? 0.7 : 0.3) ? rng.int(1, 2) : 0;
  const retryDelayMs = rng.int(200, 2_000);
  // Drawn last, so every draw before it is what it was before offers came in.
  const offer = rng.chance(0.25);
  return { index, carolSat, payoutSat, feeBudgetSat, payerChannelsSat, zeroConf, offer, retries, retryDelayMs, faults };
}

function faultOf(rng: Rng, kind: FaultKind, id: string): FaultPlan {
  const base: FaultPlan = { id, kind, node: 'bob', phase: 'bob_holds', delayMs: rng.weighted([[0, 3], [rng.int(1, 80), 3], [rng.int(80, 600), 2]] as const), ms: 0, blocks: 0, thenRestart: false, afterMs: 0 };
  switch (kind) {
    case 'kill_rdv': {
      const node = rng.pick(['alice', 'bob'] as const);
      const phase = node === 'alice' ? rng.pick([...HOLD_PHASES, 'alice_settled'] as const) : rng.pick(['bob_holds', 'carol_holds', 'carol_settled', 'bob_settled'] as const);
      return { ...base, node, phase, ms: rng.int(0, 1_500) };
    }
    case 'crash':
    case 'restart': {
      const node = rng.weighted([
        ['alice', 4],
        ['bob', 5],
        ['carol', 1],
      ] as const);
      const phase =
        node === 'alice' ? rng.pick([...HOLD_PHASES, 'alice_settled'] as const) : node === 'bob' ? rng.pick(['bob_holds', 'carol_holds', 'carol_settled', 'bob_settled'] as const) : rng.pick(['carol_holds', 'carol_settled'] as const);
      return { ...base, node, phase, ms: rng.int(0, 1_500) };
    }
    case 'stall':
      return rng.chance(0.5) ? { ...base, node: 'carol', phase: 'start', delayMs: 0, ms: rng.int(300, 4_000) } : { ...base, node: 'carol', phase: 'start', delayMs: 0, ms: 8_000, blocks: rng.int(1, 4) };
    case 'invoice_deleted':
      return { ...base, node: 'carol', phase: rng.pick(['start', 'alice_holds'] as const), delayMs: rng.int(0, 20) };
    case 'channel_disabled': {
      const channel = rng.pick(['alice-bob', 'bob-carol'] as const);
      return { ...base, node: channel === 'alice-bob' ? 'alice' : 'bob', channel, phase: channel === 'alice-bob' ? 'alice_holds' : 'bob_holds', delayMs: rng.int(0, 30), ms: rng.int(200, 3_000) };
    }
    case 'splice': {
      const channel = rng.pick(['payer-alice', 'alice-bob', 'bob-carol'] as const);
      const holder: Who = channel === 'payer-alice' ? 'alice' : channel === 'alice-bob' ? 'bob' : 'carol';
      const phase =
        channel === 'payer-alice' ? rng.pick(['alice_holds', 'bob_holds', 'carol_holds', 'carol_settled'] as const) : channel === 'alice-bob' ? rng.pick(['bob_holds', 'carol_holds', 'carol_settled'] as const) : ('carol_holds' as const);
      return { ...base, node: holder, channel, phase, thenRestart: rng.chance(0.6), ms: rng.int(0, 800) };
    }
    case 'zeroconf_confirm':
      return { ...base, node: 'alice', channel: 'payer-alice', phase: rng.pick(['alice_holds', 'bob_holds', 'carol_holds'] as const), thenRestart: rng.chance(0.6), ms: rng.int(0, 800) };
    case 'block_burst':
      return { ...base, node: 'bob', phase: rng.pick(HOLD_PHASES), blocks: rng.chance(0.85) ? rng.int(3, 8) : rng.int(15, 40) };
    case 'late_inject': {
      // Alice's xpay fails after one attempt (Bob, whose own xpay finds Bob-Carol
      // disabled, fails it back); Bob's fails at its first routing.
      const node = rng.pick(['alice', 'bob'] as const);
      const ms = rng.int(100, 400);
      // Mostly after the channel is back, so the late part can succeed.
      return { ...base, node, channel: 'bob-carol', phase: node === 'alice' ? 'alice_holds' : 'bob_holds', delayMs: 0, ms, afterMs: rng.chance(0.8) ? ms + rng.int(50, 1_200) : rng.int(50, ms) };
    }
    case 'closing':
      return { ...base, node: 'alice', channel: 'payer-alice', phase: rng.pick(['bob_holds', 'carol_holds'] as const), ms: rng.int(200, 1_000) };
    case 'disconnect': {
      // While an HTLC is held on the channel: Alice-Bob from Bob's hold until Bob resolves, Bob-Carol while Carol holds.
      const channel = rng.pick(['alice-bob', 'bob-carol'] as const);
      const phase = channel === 'alice-bob' ? rng.pick(['bob_holds', 'carol_holds', 'carol_settled'] as const) : ('carol_holds' as const);
      return { ...base, node: channel === 'alice-bob' ? 'alice' : 'bob', channel, phase, ms: rng.int(200, 3_000) };
    }
    case 'payee_fails':
      return { ...base, node: 'carol', phase: 'start', delayMs: 0, ms: rng.int(300, 4_000) };
    case 'payer_retry':
      return base;
  }
}
