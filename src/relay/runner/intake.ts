/**
 * The htlc_accepted hook's way in: rule 1 (only final-hop HTLCs for a relay of
 * ours), the relay's entry found (or read from the datastore) and the call counted
 * on it at once, the HTLC's channel named by its channel_id, and the reply owed
 * registered before the part is queued for the machine. Every call gets exactly one
 * answer.
 */
import type { PaymentHash } from '../../chain/ids.js';
import { partKey } from '../../chain/parts.js';
import { ShapeError, type JsonObject } from '../../chain/read.js';
import { isOurs } from '../../chain/relay/step.js';
import type { ChannelIds } from '../../rpc/channels.js';
import { parseHtlcAccepted, type HtlcAccepted } from '../../rpc/hooks.js';
import type { ChannelNames } from '../../rpc/node.js';
import { loadRecord, type Stored } from '../../rpc/records.js';
import { CONTINUE, type Entry, type HookReply, type RunnerCore } from './entry.js';

/** What the intake needs of the runner beyond RunnerCore. */
export interface IntakeDeps {
  core: RunnerCore;
  channels: ChannelIds;
  /** A record for this hash that is not a relay we run (a last payee's): not ours (rule 1). */
  isOther(hash: string): boolean;
  /** Load a record read from the datastore, finished or not. */
  adopt(stored: Stored): void;
  /** lightningd's block height, as a hook call gives it. */
  setHeight(height: number): void;
  /** Wait before asking lightningd again. */
  backoff(attempt: number): Promise<void>;
}

export class HookIntake {
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly deps: IntakeDeps) {}

  /**
   * The htlc_accepted hook. Resolves with the reply for lightningd (maybe much
   * later). Parses at once so a held call keeps only the few fields it needs.
   */
  onHtlcAccepted(params: JsonObject): Promise<HookReply> {
    let htlc;
    try {
      htlc = parseHtlcAccepted(params);
    } catch (e) {
      this.deps.core.deps.log('warn', `htlc_accepted payload not understood, letting lightningd handle it: ${(e as Error).message}`);
      return Promise.resolve(CONTINUE);
    }
    // Rule 1: forwards (and anything with a next hop) are not ours; nor is a payload
    // lightningd could not decode (it fails that itself) or a blinded one (our
    // invoices have no blinded paths): lightningd answers those as for any hash.
    if (!htlc.isFinalHop || !htlc.decoded || htlc.blinded) return Promise.resolve(CONTINUE);
    return this.onFinalHtlc(htlc);
  }

  private async onFinalHtlc(htlc: HtlcAccepted): Promise<HookReply> {
    const { core, channels } = this.deps;
    const { log } = core.deps;
    this.deps.setHeight(htlc.part.height);
    const hash = htlc.paymentHash;
    // The call is counted on the entry in the same synchronous step that finds it
    // (takeEntry): no await separates the two, so forget() sees it from then on.
    const entry = core.entry(hash) ? this.takeEntry(hash) : await this.loadAndTakeEntry(hash);
    if (!entry) return CONTINUE;
    let channel: ChannelNames | null | undefined;
    try {
      // Name the part by its channel_id, which survives alias -> real scid and splices. If
      // lightningd cannot say now, ask again (the HTLC waits): a part named by scid alone
      // could be mistaken for a look-alike on another channel after a rename (parts.ts).
      channel = channels.cached(htlc.part.scid);
      for (let attempt = 0; channel === undefined; attempt++) {
        const r = await channels.resolve(htlc.part.scid);
        if (r !== 'failed') {
          channel = r ?? null;
          break;
        }
        if (attempt === 0) log('warn', `${hash.slice(0, 8)}: cannot name the channel of ${htlc.part.scid}/${htlc.part.id} yet: holding it and asking again`);
        await this.deps.backoff(attempt);
      }
    } finally {
      entry.intake--;
    }
    if (channel) htlc.part.channelId = channel.channelId;
    const key = partKey(htlc.part);
    const t0 = performance.now();
    entry.lastHtlcAt = t0;
    return new Promise<HookReply>((resolve) => {
      const answer = (reply: HookReply): void => {
        log('debug', `${hash.slice(0, 8)}: answered part ${key} (${String(reply.result)}) after ${(performance.now() - t0).toFixed(1)} ms`);
        resolve(reply);
      };
      if (core.entry(hash) !== entry) {
        // Cannot happen while forget() counts intake; if it ever does, the record is gone
        // from the datastore and nothing of ours is held: answer as for any unknown hash
        // rather than leave the call unanswered (lightningd would hold it to its expiry).
        log('error', `${hash.slice(0, 8)}: the relay was let go while part ${key} was being taken in: letting lightningd handle it`);
        answer(CONTINUE);
        return;
      }
      const waiting = entry.replies.get(key) ?? [];
      waiting.push(answer);
      entry.replies.set(key, waiting);
      core.enqueue(hash, { type: 'htlc', part: htlc.part });
    });
  }

  /** The entry for a hash, with one more call counted on it (intake), if the hash is a relay of ours (rule 1). */
  private takeEntry(hash: PaymentHash): Entry | undefined {
    const entry = this.deps.core.entry(hash);
    if (!entry || !isOurs(true, entry.relay.record)) return undefined;
    entry.intake++;
    return entry;
  }

  /** takeEntry, after reading the record from the datastore (one made since we loaded, or a finished one not held in memory). */
  private async loadAndTakeEntry(hash: PaymentHash): Promise<Entry | undefined> {
    if (this.deps.isOther(hash)) return undefined;
    const { node, log } = this.deps.core.deps;
    let loading = this.loading.get(hash);
    if (!loading) {
      loading = (async () => {
        // An RPC failure says nothing about whether the hash is ours: ask again (the
        // HTLC waits) rather than pass on an HTLC we may have to relay.
        for (let attempt = 0; ; attempt++) {
          try {
            const stored = await loadRecord(node, hash);
            if (stored) this.deps.adopt(stored);
            return;
          } catch (e) {
            if (e instanceof ShapeError) {
              log('error', `cannot read the record for ${hash.slice(0, 8)}: ${e.message}`);
              return;
            }
            if (attempt === 0) log('warn', `could not read the record for ${hash.slice(0, 8)} (${(e as Error).message}): asking again`);
            await this.deps.backoff(attempt);
          }
        }
      })().finally(() => this.loading.delete(hash));
      this.loading.set(hash, loading);
    }
    await loading;
    return this.takeEntry(hash);
  }
}
