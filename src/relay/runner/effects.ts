/**
 * The effect executor: carries out what one step of the relay machine asks, in
 * order, against lightningd. A `persist` finishes before the next effect runs (and
 * a failed one is reported back to the machine, whose answer runs instead of what
 * followed); hook replies are given; timers, queries and payments start here and
 * come back later as events in the relay's queue.
 */
import { preimageMatches, type PaymentHash } from '../../chain/ids.js';
import { step } from '../../chain/relay/step.js';
import type { Effect, RelayEvent, TimerName } from '../../chain/relay/types.js';
import { assertNever } from '../../errors.js';
import type { ClaimScanner } from '../../rpc/claims.js';
import type { Entry, HookReply, RunnerCore } from './entry.js';
import type { Samples } from './samples.js';
import type { OutgoingParts } from './outgoing.js';
import type { XpayPayments } from './xpay.js';

/**
 * How long after a checkpoint effect the record is written: long enough to stay
 * out of lightningd's way while it fulfils the HTLCs (the commitment dance with
 * the previous hop takes tens of ms on regtest), short enough that a stop rarely
 * falls between the resolve and the write (see settle() in src/chain/relay/settle.ts).
 */
const CHECKPOINT_MS = 250;

export class EffectExecutor {
  constructor(
    private readonly core: RunnerCore,
    private readonly payments: XpayPayments,
    private readonly claims: ClaimScanner,
    private readonly outgoing: OutgoingParts,
    /** HTLC in -> xpay out, and xpay result -> HTLCs resolved. */
    private readonly times: { decision: Samples; resolve: Samples },
  ) {}

  async execute(entry: Entry, effects: Effect[]): Promise<void> {
    const { deps } = this.core;
    const hash = entry.relay.record.paymentHash;
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i];
      if (!effect) continue;
      switch (effect.type) {
        case 'hold':
          break;
        case 'resolve':
          if (entry.lastPayResultAt > 0) {
            this.times.resolve.add(performance.now() - entry.lastPayResultAt);
            entry.lastPayResultAt = 0;
          }
          if (!preimageMatches(effect.preimage, hash)) {
            // Never hand lightningd a wrong payment_key: it could get the channel closed.
            deps.log('error', `refusing to resolve ${effect.part} with a preimage that does not match ${hash}`);
            break;
          }
          this.reply(entry, effect.part, { result: 'resolve', payment_key: effect.preimage });
          break;
        case 'fail':
          this.reply(entry, effect.part, { result: 'fail', failure_message: effect.failureMessage });
          break;
        case 'persist': {
          const t0 = performance.now();
          const error = await this.core.persist(entry, effect.record);
          deps.log('debug', `${hash.slice(0, 8)}: wrote ${effect.record.state} in ${(performance.now() - t0).toFixed(1)} ms`);
          if (error !== undefined) {
            const skipped = effects.slice(i + 1);
            const next = step(entry.relay, { type: 'persist_failed', error, skipped }, this.core.ctx());
            entry.relay = next.relay;
            // The machine never persists in answer to persist_failed, so this cannot loop.
            await this.execute(entry, next.effects);
            return;
          }
          break;
        }
        case 'checkpoint':
          entry.checkpointTimer ??= deps.clock.setTimeout(() => {
            entry.checkpointTimer = undefined;
            this.core.enqueueJob(entry, () => this.core.checkpoint(entry));
          }, CHECKPOINT_MS);
          break;
        case 'pay':
          if (entry.lastHtlcAt > 0) this.times.decision.add(performance.now() - entry.lastHtlcAt);
          this.payments.pay(hash, effect);
          break;
        case 'close_route':
          this.payments.closeRoute(hash.slice(0, 8), effect.layer);
          break;
        case 'prepare_layer':
          this.payments.prepareLayer(entry, hash, effect.layer);
          break;
        case 'query_outgoing':
          this.startQuery(hash);
          break;
        case 'check_claims':
          void this.claims.credits(hash).then(
            (credits) => this.core.enqueue(hash, { type: 'claims', credits }),
            (e: unknown) => {
              deps.log('warn', `${hash.slice(0, 8)}: listchannelmoves failed (${(e as Error).message})`);
              this.core.enqueue(hash, { type: 'claims', credits: [] });
            },
          );
          break;
        case 'start_timer': {
          this.cancelTimer(entry, effect.timer);
          const event: RelayEvent = { type: 'timer', timer: effect.timer };
          const generation = entry.timerGeneration.get(effect.timer) ?? 0;
          const handle = deps.clock.setTimeout(() => {
            entry.timers.delete(effect.timer);
            // A timer cancelled or started again after it fired (while the event
            // waited in the queue) is stale: the machine must not see it.
            this.core.enqueueJob(entry, () => (entry.timerGeneration.get(effect.timer) === generation ? this.core.process(entry, event) : Promise.resolve()));
          }, effect.ms);
          entry.timers.set(effect.timer, handle);
          break;
        }
        case 'cancel_timer':
          this.cancelTimer(entry, effect.timer);
          break;
        case 'log':
          deps.log(effect.level, `${hash.slice(0, 8)}: ${effect.message}`);
          break;
        default:
          assertNever(effect, 'effect');
      }
    }
  }

  private cancelTimer(entry: Entry, timer: TimerName): void {
    entry.timerGeneration.set(timer, (entry.timerGeneration.get(timer) ?? 0) + 1);
    const handle = entry.timers.get(timer);
    if (handle !== undefined) this.core.deps.clock.clearTimeout(handle);
    entry.timers.delete(timer);
  }

  private reply(entry: Entry, part: string, reply: HookReply): void {
    const waiting = entry.replies.get(part);
    if (!waiting) {
      this.core.deps.log('debug', `no hook call waiting for ${part}`);
      return;
    }
    entry.replies.delete(part);
    for (const resolve of waiting) resolve(reply);
  }

  /** listsendpays, retried every second until lightningd answers (the machine waits meanwhile). */
  private startQuery(hash: string): void {
    const { log, clock } = this.core.deps;
    const attempt = (delayMs: number): void => {
      const t0 = performance.now();
      this.outgoing.of(hash as PaymentHash).then(
        (parts) => {
          log('debug', `${hash.slice(0, 8)}: listsendpays answered in ${(performance.now() - t0).toFixed(1)} ms`);
          this.core.enqueue(hash, { type: 'outgoing_status', parts });
        },
        (e: unknown) => {
          log('warn', `${hash.slice(0, 8)}: listsendpays failed (${(e as Error).message}): retrying`);
          clock.setTimeout(() => attempt(Math.min(delayMs * 2, 30_000)), delayMs);
        },
      );
    };
    attempt(1000);
  }
}
