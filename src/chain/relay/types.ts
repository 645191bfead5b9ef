/** The relay machine's vocabulary: its state (Relay), the events it takes, the effects it asks for, its config and context. */
import type { Msat } from '../amount.js';
import { RETRY_BLOCKS } from '../budget.js';
import type { PaymentHash, PaymentSecret, Preimage } from '../ids.js';
import { DEFAULT_CLTV_FINAL } from '../localpay.js';
import type { Part, RelayRecord } from '../record.js';

export interface RelayConfig {
  /** How long an incomplete multi-part set is held before mpp_timeout (rule 3); also how long replays are awaited after a restart. */
  mppTimeoutMs: number;
  /** First delay before asking listsendpays again while an outgoing part is pending. */
  requeryMs: number;
  /** Longest delay between such queries. */
  requeryMaxMs: number;
  /** Upper bound of xpay's retry_for. */
  retryForSeconds: number;
  /** After xpay reports a failure and listsendpays shows nothing pending, look again after this long before failing back. */
  failConfirmMs: number;
  /**
   * Blocks xpay may see found while it retries. Its attempts' expiry is
   * blockheight + 1 + maxdelay at each attempt, so maxdelay leaves room for 1 +
   * these; once that many blocks are found, rdv stops xpay routing new attempts.
   */
  retryBlocks: number;
  /** lightningd's cltv-final (its own check of final-hop HTLCs, before any invoice). */
  cltvFinal: number;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  mppTimeoutMs: 60_000,
  requeryMs: 1_000,
  // Also asked again at once on sendpay_success/sendpay_failure notifications.
  requeryMaxMs: 10_000,
  retryForSeconds: 60,
  failConfirmMs: 2_000,
  retryBlocks: RETRY_BLOCKS,
  cltvFinal: DEFAULT_CLTV_FINAL,
};

/** Blocks between our outgoing HTLCs' latest possible expiry and maxdelay: xpay's own +1 and the blocks it may see while retrying. */
export const blockAllowance = (config: RelayConfig): number => 1 + config.retryBlocks;

/** An incoming final-hop HTLC as the htlc_accepted hook describes it. */
export interface IncomingPart extends Part {
  /** Block height when lightningd called the hook (cltv_expiry - cltv_expiry_relative). */
  height: number;
  paymentSecret: PaymentSecret | undefined;
  totalMsat: Msat | undefined;
  forwardMsat: Msat | undefined;
  outgoingCltv: number | undefined;
  paymentMetadata: string | undefined;
}

/** What listsendpays says about our outgoing parts for the hash (rule 5). */
export interface OutgoingPart {
  status: 'pending' | 'complete' | 'failed';
  preimage: Preimage | undefined;
  amountSentMsat: Msat;
  /** listsendpays created_index: the order lightningd registered its parts in. */
  createdIndex?: number;
  /** A part lightningd lost in a restart (see markLostParts): shown pending, counted failed. */
  lost?: boolean;
}

export type PayResult =
  | { ok: true; preimage: Preimage; amountSentMsat: Msat }
  /** `definite`: xpay says the payment failed. Otherwise we do not know (still in progress, already paid, connection lost). */
  | { ok: false; definite: boolean; message: string };

export type TimerName = 'mpp' | 'requery' | 'confirm';

export type RelayEvent =
  | { type: 'htlc'; part: IncomingPart }
  | { type: 'timer'; timer: TimerName }
  | { type: 'pay_result'; result: PayResult }
  | { type: 'outgoing_status'; parts: OutgoingPart[] }
  | { type: 'block'; height: number }
  /** lightningd says an outgoing part changed (sendpay_success/failure): look again if nothing is asked. */
  | { type: 'requery' }
  /** The plugin (re)started and found this record; `guardClaims`: parts rdv-guard resolved meanwhile. */
  | { type: 'startup'; guardClaims: string[] }
  /** A persist effect failed; the effects after it were not run. */
  | { type: 'persist_failed'; error: string; skipped: Effect[] }
  /** What lightningd's channel moves say was received for the hash (answer to check_claims). */
  | { type: 'claims'; credits: Array<{ channelId: string; amountMsat: Msat }> };

export type Effect =
  | { type: 'hold'; part: string }
  | { type: 'resolve'; part: string; preimage: Preimage }
  | { type: 'fail'; part: string; failureMessage: string; reason: string }
  | { type: 'persist'; record: RelayRecord }
  /** Write the record soon, off the critical path: nothing that follows depends on it. */
  | { type: 'checkpoint' }
  | { type: 'pay'; /** What xpay pays (its invstring): the downstream invoice, BOLT 11 or BOLT 12. */ invstring: string; maxfeeMsat: Msat; maxdelay: number; retryForSeconds: number; layer: string }
  /**
   * Let xpay start no new attempt: in the attempt's askrene layer, disable every
   * channel out of our node. Every retry of xpay asks getroutes with its layers,
   * finds no route and gives up (plugins/xpay/xpay.c getroutes_done_err); parts in
   * flight go on. (Removing the layer would stop it too, but askrene aborts, and
   * takes lightningd down, when a layer goes away during a getroutes that names it.)
   */
  | { type: 'close_route'; layer: string }
  /** Create the askrene layer the coming payment will use now, off the critical path (gathering waits on a write anyway). */
  | { type: 'prepare_layer'; layer: string }
  | { type: 'query_outgoing'; paymentHash: PaymentHash }
  /** Ask lightningd which incoming HTLCs of the hash it settled for us (listchannelmoves). */
  | { type: 'check_claims'; paymentHash: PaymentHash }
  | { type: 'start_timer'; timer: TimerName; ms: number }
  | { type: 'cancel_timer'; timer: TimerName }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export type OutgoingSummary =
  | { kind: 'none' }
  | { kind: 'pending' }
  /** `lost`: some of the parts are parts lightningd lost (markLostParts): it refuses any new payment of the hash. */
  | { kind: 'failed'; lost?: boolean }
  | { kind: 'complete'; preimage: Preimage; sentMsat: Msat };

export interface Relay {
  /** Durable: what the datastore holds (or is about to, after the pending persist). */
  record: RelayRecord;
  /** Volatile: parts whose htlc_accepted call waits for our answer (the set being gathered, or the recorded set coming back). */
  held: IncomingPart[];
  /**
   * Volatile: HTLCs with our hash and payment secret that are not in the recorded
   * set, held because an outgoing part may still succeed (never failed before the
   * outgoing payment is over, whatever the key).
   */
  strays: IncomingPart[];
  /** Volatile: an xpay call of ours is running. */
  payInFlight: boolean;
  /** Volatile: a listsendpays query is running. */
  queryInFlight: boolean;
  /** Volatile: the last outgoing summary, if any. */
  lastOutgoing: OutgoingSummary | undefined;
  /** Volatile: consecutive requeries, for backoff. */
  requeries: number;
  /** Volatile: timers this machine started and that have not fired or been cancelled. */
  timers: TimerName[];
  /** Volatile: after a restart, the wait for the recorded parts to be replayed is over. */
  replayWaitOver: boolean;
  /** Volatile: a fail-back waits for a second look (`waiting`), which is now due (`due`). */
  failLook: 'none' | 'waiting' | 'due';
  /** Volatile: the current attempt's route was closed (close_route sent). */
  routeClosed: boolean;
  /** Volatile: a layer prepared (prepare_layer) for the next payment, if any. */
  nextLayer: string | undefined;
}

export interface Ctx {
  /** Unix seconds. */
  now: number;
  height: number;
  config: RelayConfig;
}

export function newRelay(record: RelayRecord): Relay {
  return {
    record,
    held: [],
    strays: [],
    payInFlight: false,
    queryInFlight: false,
    lastOutgoing: undefined,
    requeries: 0,
    timers: [],
    replayWaitOver: false,
    failLook: 'none',
    routeClosed: false,
    nextLayer: undefined,
  };
}

export type Step = { relay: Relay; effects: Effect[] };
