/**
 * Paying onward: the first attempt by sendpay over a route found while
 * "gathered" is written (first-attempt.ts), then xpay, over an askrene layer of
 * our own per attempt: the layer made ahead (prepare_layer) too, xpay run with
 * it, the layer removed a while after xpay answered (never after a lost call),
 * and xpay's route closed in it when blocks run short (close_route) or when an
 * earlier rdv left it (at start).
 */
import type { Effect, PayResult } from '../../chain/relay/types.js';
import type { ChannelIds } from '../../rpc/channels.js';
import type { Entry, RunnerCore } from './entry.js';
import { FirstAttempts } from './first-attempt.js';

/** Tries to close an xpay's route (closeRoute): 500 ms apart, doubling to 10 s, about 4 minutes in all (more than xpay's retry_for). */
const CLOSE_ROUTE_ATTEMPTS = 30;

/**
 * How long after xpay answered its askrene layer is removed (a getroutes still
 * running on a removed layer makes askrene abort, and lightningd stops). A layer
 * whose xpay's answer was lost is never removed (see pay).
 */
export const LAYER_LINGER_MS = 60_000;

/**
 * How long a payment waits for its first attempt's plan (asked while "gathered"
 * was written; a few ms on regtest) before xpay pays without it: nothing is
 * sent meanwhile, and the incoming HTLCs are held.
 */
const FIRST_PLAN_WAIT_MS = 2_000;

/** How long a closed route is remembered at most (a payment forgets it when it ends): longer than any HTLC is held. */
const CLOSED_MEMORY_MS = 86_400_000;

export class XpayPayments {
  private readonly first: FirstAttempts;
  /** Layers close_route named (recently). */
  private readonly closed = new Set<string>();

  constructor(
    private readonly core: RunnerCore,
    private readonly channels: ChannelIds,
  ) {
    this.first = new FirstAttempts(core.deps, channels);
  }

  /**
   * prepare_layer: plan the coming payment's first attempt now; when there is
   * none to plan (a BOLT 12 invoice), create xpay's layer now instead. (A first
   * attempt that settles needs no layer: one is made only if xpay comes to pay.)
   * Remove the layer later if no payment took it.
   */
  prepareLayer(entry: Entry, hash: string, layer: string): void {
    const plan = this.first.plan(entry.relay.record);
    if (plan) entry.firstPlans.set(layer, plan);
    else entry.layers.set(layer, this.createLayer(hash, layer));
    // Not used (the relay failed back before paying): no xpay can be using it, remove it.
    this.core.deps.clock.setTimeout(() => {
      entry.firstPlans.delete(layer);
      if (entry.layers.delete(layer)) void this.core.deps.node.removeLayer(layer).catch(() => undefined);
    }, LAYER_LINGER_MS);
  }

  /** `p`'s value, or undefined if it takes longer than `ms` (a lightningd too slow to plan with: xpay pays). */
  private within<T>(p: Promise<T | undefined>, ms: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const timer = this.core.deps.clock.setTimeout(() => resolve(undefined), ms);
      void p.then((v) => {
        this.core.deps.clock.clearTimeout(timer);
        resolve(v);
      });
    });
  }

  /** The attempt's end, to the machine. */
  private answered(hash: string, result: PayResult): void {
    const entry = this.core.entry(hash);
    if (entry && result.ok) entry.lastPayResultAt = performance.now();
    this.core.enqueue(hash, { type: 'pay_result', result });
  }

  /** Create a layer; false (logged) if askrene refuses. */
  private async createLayer(hash: string, layer: string): Promise<boolean> {
    try {
      await this.core.deps.node.createLayer(layer);
      return true;
    } catch (e) {
      this.core.deps.log('warn', `${hash.slice(0, 8)}: could not create askrene layer ${layer} (${(e as Error).message})`);
      return false;
    }
  }

  /**
   * The first attempt by sendpay when it was planned and fits the budgets;
   * then, unless it ended the attempt, xpay over a fresh askrene layer of our
   * own: nothing is in it, so routing is xpay's usual, until close_route
   * disables our node and channels in it. If the layer cannot be made, xpay runs
   * without it (the margin then rests on maxdelay's allowance alone). The
   * result comes back as a pay_result event.
   */
  pay(hash: string, effect: Extract<Effect, { type: 'pay' }>): void {
    const t0 = performance.now();
    const { node, log, clock } = this.core.deps;
    const entry = this.core.entry(hash);
    const prepared = entry?.layers.get(effect.layer);
    entry?.layers.delete(effect.layer);
    const planned = entry?.firstPlans.get(effect.layer);
    entry?.firstPlans.delete(effect.layer);
    const record = entry?.relay.record;
    const startHeight = this.core.ctx().height;
    void (async () => {
      const plan = planned ? await this.within(planned, FIRST_PLAN_WAIT_MS) : undefined;
      // Blocks found since the machine said pay come off maxdelay, for the first attempt (whose
      // shadow fills the route up to it) as for xpay after it: each counts from today's height.
      const maxdelayNow = (): number => Math.max(0, effect.maxdelay - Math.max(0, this.core.ctx().height - startHeight));
      // A route closed while the plan was awaited sends nothing.
      const sendable = plan && record && !this.closed.has(effect.layer) ? { plan, record } : undefined;
      // An error nobody expected may come after the part was sent: then only listsendpays can tell (rule 5).
      const first = sendable
        ? await this.first.send(sendable.record, { ...effect, maxdelay: maxdelayNow() }, sendable.plan).catch((e: unknown): PayResult => ({ ok: false, definite: false, message: `first attempt: ${(e as Error).message}` }))
        : undefined;
      if (first) {
        log('debug', `${hash.slice(0, 8)}: sendpay answered in ${(performance.now() - t0).toFixed(1)} ms`);
        this.closed.delete(effect.layer);
        // No layer was made: prepare_layer makes one ahead only when there is no first attempt.
        this.answered(hash, first);
        return;
      }
      if (plan && this.closed.delete(effect.layer)) {
        // Blocks ran short while the first attempt was planned or out (close_route): nothing more in this attempt.
        const what = sendable ? 'the first attempt failed, and blocks found meanwhile leave no time for xpay' : 'blocks found while the first attempt was planned leave no time for it: nothing was sent';
        this.answered(hash, { ok: false, definite: true, message: what });
        return;
      }
      // Usually made while "gathered" was written; else now.
      const made = (await prepared) ?? (await this.createLayer(hash, effect.layer));
      let layers: string[] | undefined = [effect.layer];
      if (!made) {
        log('warn', `${hash.slice(0, 8)}: paying without an askrene layer: rdv cannot stop xpay's retries if blocks are found meanwhile`);
        layers = undefined;
      }
      const maxdelay = maxdelayNow();
      const retryForSeconds = Math.max(10, effect.retryForSeconds - Math.floor((performance.now() - t0) / 1000));
      const { xpayEnded, ...result } = await node.xpay({ invstring: effect.invstring, maxfeeMsat: effect.maxfeeMsat, maxdelay, retryForSeconds, layers });
      log('debug', `${hash.slice(0, 8)}: xpay answered in ${(performance.now() - t0).toFixed(1)} ms`);
      this.closed.delete(effect.layer);
      this.answered(hash, result);
      if (!layers) return;
      if (xpayEnded) {
        // xpay is done with it; a while later no getroutes can be using it either (see closeRoute).
        clock.setTimeout(() => void node.removeLayer(effect.layer).catch(() => undefined), LAYER_LINGER_MS);
      } else {
        // The call was lost, not xpay's command: it may still be routing with this layer,
        // and nothing rdv can see says when it stops (between attempts listsendpays shows
        // nothing pending while xpay is in getroutes). Removing it could make askrene abort
        // and stop lightningd; keeping it costs a small layer until lightningd restarts
        // (askrene keeps layers in memory), and the relay still closes its route when
        // blocks run short (close_route).
        log('info', `${hash.slice(0, 8)}: xpay's answer was lost; its askrene layer ${effect.layer} stays (xpay may still be using it)`);
      }
    })();
  }

  /**
   * Close xpay's route: in its layer, disable our node (its announced channels) and
   * each of our channels' outgoing direction (private and unconfirmed ones are not
   * in gossip, only in auto.localchans). xpay's next getroutes finds no route, so
   * no new attempt starts. Never remove a layer a getroutes may be using: askrene
   * aborts, and lightningd stops. A close that fails is tried again while askrene
   * still lists the layer, for longer than any xpay's retry_for.
   */
  closeRoute(label: string, layer: string): void {
    const { node, log, clock, selfId } = this.core.deps;
    // A layer not made yet (the first attempt is out) stays closed: xpay will not pay after it.
    this.closed.add(layer);
    clock.setTimeout(() => this.closed.delete(layer), CLOSED_MEMORY_MS);
    const attempt = (n: number): void => {
      void (async () => {
        await node.disableNode(layer, selfId);
        for (const c of await this.channels.all()) {
          const name = c.scid ?? c.localAlias;
          if (name === undefined || c.direction === undefined) continue;
          await node.disableChannel(layer, `${name}/${c.direction}`).catch((e: unknown) => log('debug', `${label}: ${name}: ${(e as Error).message}`));
        }
      })().then(
        () => log('info', `${label}: xpay may start no new attempt (layer ${layer} closed)`),
        (e: unknown) => {
          if (n >= CLOSE_ROUTE_ATTEMPTS) {
            log('error', `${label}: could not close layer ${layer} after ${n} attempts (${(e as Error).message})`);
            return;
          }
          log('warn', `${label}: could not close layer ${layer} (${(e as Error).message}): retrying`);
          clock.setTimeout(() => {
            node.listLayers().then(
              (layers) => (layers.includes(layer) ? attempt(n + 1) : undefined),
              () => attempt(n + 1),
            );
          }, Math.min(500 * 2 ** (n - 1), 10_000));
        },
      );
    };
    attempt(1);
  }

  /**
   * At startup: layers named rdv-* belong to xpay calls of an rdv that is gone,
   * which may still be running inside lightningd. Close their routes (not remove
   * them: see closeRoute), so such an xpay starts no attempt this rdv cannot watch
   * the blocks for; askrene forgets them when lightningd restarts.
   */
  async closeStaleLayers(): Promise<void> {
    const { node, log } = this.core.deps;
    try {
      const stale = (await node.listLayers()).filter((l) => l.startsWith('rdv-'));
      for (const l of stale) this.closeRoute('startup', l);
      if (stale.length > 0) log('info', `closed ${stale.length} askrene layer(s) left by an earlier rdv`);
    } catch (e) {
      log('debug', `askrene-listlayers: ${(e as Error).message}`);
    }
  }
}
