/**
 * `rdv-guard` as a lightningd plugin: placed after rdv in the htlc_accepted
 * chain, it answers `continue` at once to everything rdv itself would pass on,
 * and holds, then finishes from listsendpays, the HTLCs a dead rdv left behind.
 * See src/chain/guard.ts for why it exists.
 */
import { isAbsolute, join } from 'node:path';
import { GUARD_EXPIRY_BLOCKS, GUARD_QUIET_MS, guardDecide, guardQuietMs } from '../chain/guard.js';
import { preimageMatches, shortHash } from '../chain/ids.js';
import { DEFAULT_CLTV_FINAL } from '../chain/localpay.js';
import { partKey } from '../chain/parts.js';
import { guardClaimKey, parseGuardClaims, serializeGuardClaims } from '../chain/record.js';
import { isObject, ShapeError, type JsonObject } from '../chain/read.js';
import type { OutgoingSummary } from '../chain/relay/types.js';
import { summariseOutgoing } from '../chain/relay/outgoing.js';
import { isOurs } from '../chain/relay/step.js';
import { ChannelIds } from '../rpc/channels.js';
import { parseHtlcAccepted, type HtlcAccepted } from '../rpc/hooks.js';
import { LightningNode } from '../rpc/node.js';
import { runPlugin, type InitConfig, type LogLevel } from '../rpc/plugin.js';
import { loadRecord, type Stored } from '../rpc/records.js';
import { RDV_VERSION } from '../version.js';

const CONTINUE: JsonObject = { result: 'continue' };
const POLL_MS = 1_000;
const CONNECT_TRIES = 15;
const CONNECT_RETRY_MS = 2_000;

/** Remember a part we resolved, so a restarted rdv counts it as received. */
async function recordClaim(node: LightningNode, hash: string, part: string): Promise<void> {
  const key = guardClaimKey(hash);
  const existing = (await node.listdatastore(key)).find((e) => e.key.length === 4)?.string;
  let parts: string[] = [];
  try {
    parts = existing ? parseGuardClaims(existing) : [];
  } catch {
    parts = [];
  }
  if (!parts.includes(part)) await node.datastoreUpsert(key, serializeGuardClaims([...parts, part]));
}

interface Held {
  hash: string;
  part: string;
  since: number;
  why: string;
}

export function startGuard(): void {
  let node: LightningNode | undefined;
  let channels: ChannelIds | undefined;
  let cltvFinal = DEFAULT_CLTV_FINAL;
  let height = 0;
  let log: (level: LogLevel, message: string) => void = () => undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const held = new Map<string, Held>();
  let quietLimitMs = GUARD_QUIET_MS;
  /** Claims are written one at a time (read, add, write). */
  let claims: Promise<void> = Promise.resolve();
  const wakers = new Set<() => void>();
  const poke = (): void => {
    for (const wake of [...wakers]) wake();
  };
  const nap = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, POLL_MS);
      wakers.add(wake);
    });

  /**
   * The record for the hash, asking again for as long as lightningd's RPC fails:
   * this may be an HTLC rdv held, and letting go of it could cost the relay its
   * payment. Only an HTLC about to expire is passed on (see GUARD_EXPIRY_BLOCKS).
   */
  const readRecord = async (htlc: HtlcAccepted, client: LightningNode): Promise<{ stored: Stored | undefined } | 'unreadable' | 'expiring'> => {
    for (let warned = false; ; ) {
      try {
        return { stored: await loadRecord(client, htlc.paymentHash) };
      } catch (e) {
        // An unreadable record: rdv could not read it either and passed the HTLC on.
        if (e instanceof ShapeError) return 'unreadable';
        if (height > 0 && htlc.part.cltvExpiry - height <= GUARD_EXPIRY_BLOCKS) return 'expiring';
        if (!warned) log('warn', `could not read the record for ${shortHash(htlc.paymentHash)} (${(e as Error).message}): holding the HTLC and asking again`);
        warned = true;
        await nap();
      }
    }
  };

  const finish = async (htlc: HtlcAccepted, client: LightningNode): Promise<JsonObject> => {
    const key = partKey(htlc.part);
    const hash = htlc.paymentHash;
    let quietSince: number | undefined;
    held.set(key, { hash, part: key, since: Date.now(), why: 'starting' });
    log('warn', `rdv did not answer for HTLC ${key} of ${shortHash(hash)}: holding it so lightningd cannot fail it while the payment onward may still complete`);
    try {
      for (;;) {
        const read = await readRecord(htlc, client);
        if (read === 'unreadable') return CONTINUE;
        if (read === 'expiring') {
          log('error', `${shortHash(hash)}: HTLC ${key} expires in ${htlc.part.cltvExpiry - height} blocks and the record cannot be read: passing it on`);
          return CONTINUE;
        }
        const record = read.stored?.record;
        if (!record || record.role !== 'relay') return CONTINUE;
        let summary: OutgoingSummary;
        try {
          summary = summariseOutgoing(await client.listsendpays(hash), hash);
        } catch (e) {
          log('warn', `${shortHash(hash)}: listsendpays failed (${(e as Error).message}): asking again`);
          summary = { kind: 'pending' };
        }
        const quiet = summary.kind === 'none' || summary.kind === 'failed';
        quietSince = quiet ? (quietSince ?? Date.now()) : undefined;
        const decision = guardDecide(record, htlc.part, summary, quiet ? Date.now() - (quietSince ?? Date.now()) : 0, quietLimitMs, cltvFinal, height > 0 ? height : undefined);
        const entry = held.get(key);
        if (entry) entry.why = decision.why;
        switch (decision.action) {
          case 'resolve':
            if (!preimageMatches(decision.preimage, hash)) {
              log('error', `${shortHash(hash)}: a preimage that does not match the hash: not resolving, asking again`);
              break;
            }
            log('warn', `${shortHash(hash)}: resolved HTLC ${key} for rdv (${decision.why})`);
            claims = claims.then(() => recordClaim(client, hash, decision.claim)).catch((e: unknown) => log('error', `${shortHash(hash)}: could not record the claim: ${(e as Error).message}`));
            return { result: 'resolve', payment_key: decision.preimage };
          case 'fail':
            log('warn', `${shortHash(hash)}: failed HTLC ${key} back for rdv (${decision.why})`);
            return { result: 'fail', failure_message: decision.failureMessage };
          case 'continue':
            log('info', `${shortHash(hash)}: passed HTLC ${key} on to lightningd (${decision.why})`);
            return CONTINUE;
          case 'wait':
            break;
          default: {
            const never: never = decision;
            return never;
          }
        }
        await nap();
      }
    } finally {
      held.delete(key);
    }
  };

  const onHtlc = async (params: JsonObject): Promise<JsonObject> => {
    let htlc: HtlcAccepted;
    try {
      htlc = parseHtlcAccepted(params);
    } catch {
      return CONTINUE;
    }
    if (!htlc.isFinalHop || !htlc.decoded || htlc.blinded || !node) return CONTINUE;
    height = Math.max(height, htlc.part.height);
    const read = await readRecord(htlc, node);
    if (read === 'unreadable' || read === 'expiring') return CONTINUE;
    // rdv answers everything else itself; only what it holds can reach us unanswered.
    if (!isOurs(true, read.stored?.record)) return CONTINUE;
    const channel = await channels?.lookup(htlc.part.scid);
    if (channel) htlc.part.channelId = channel.channelId;
    return finish(htlc, node);
  };

  const host = runPlugin(
    {
      dynamic: true,
      options: [
        {
          name: 'rdv-guard-quiet',
          type: 'int',
          default: GUARD_QUIET_MS / 1000,
          description: `Seconds rdv-guard waits, with no outgoing payment pending or complete, before failing back an HTLC a dead rdv left (at least ${Math.ceil(guardQuietMs(0).ms / 1000)})`,
        },
      ],
      hooks: [{ name: 'htlc_accepted', after: ['rdv'], handler: (params) => ready.then(() => onHtlc(params)) }],
      subscriptions: [
        { name: 'sendpay_success', handler: poke },
        { name: 'sendpay_failure', handler: poke },
        {
          name: 'block_added',
          handler: (params) => {
            const block = isObject(params.block_added) ? params.block_added : params;
            if (typeof block.height === 'number') height = Math.max(height, block.height);
            poke();
          },
        },
        { name: 'shutdown', handler: () => process.exit(0) },
      ],
      rpcmethods: [
        {
          name: 'rdv-guard-status',
          usage: '',
          description: 'HTLCs rdv-guard holds because rdv stopped while holding them',
          handler: async () => ({
            rdv_version: RDV_VERSION,
            quiet_s: quietLimitMs / 1000,
            holding: [...held.values()].map((h) => ({ payment_hash: h.hash, part: h.part, held_for_s: Math.round((Date.now() - h.since) / 1000), why: h.why })),
          }),
        },
      ],
      onInit: async (config: InitConfig) => {
        // rdv's own tests shorten the floor (a 75 s wait per test); nothing else may.
        const testFloor = Number(process.env.RDV_TEST_GUARD_QUIET_FLOOR_MS);
        const quiet = guardQuietMs(config.options['rdv-guard-quiet'], Number.isFinite(testFloor) && testFloor >= 0 ? testFloor : undefined);
        quietLimitMs = quiet.ms;
        if (quiet.problem) setImmediate(() => log('error', quiet.problem ?? ''));
        const socketPath = isAbsolute(config.rpcFile) ? config.rpcFile : join(config.lightningDir, config.rpcFile);
        void (async () => {
          // Reply to init at once (an important plugin slow to init stops lightningd); HTLCs wait for `ready`.
          for (let attempt = 1; ; attempt++) {
            try {
              const n = await LightningNode.connect(socketPath, 'rdv-guard', { reconnect: true });
              node = n;
              channels = new ChannelIds(n, (m) => log('warn', m));
              cltvFinal = (await n.configInt('cltv-final').catch(() => undefined)) ?? DEFAULT_CLTV_FINAL;
              height = Math.max(height, (await n.getinfo().catch(() => undefined))?.blockheight ?? 0, (await n.chainTip().catch(() => undefined)) ?? 0);
              return;
            } catch (e) {
              if (attempt >= CONNECT_TRIES) {
                log('error', `cannot use lightningd's RPC: ${(e as Error).message}; not guarding`);
                return;
              }
              await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
            }
          }
        })().finally(markReady);
        return undefined;
      },
      onStdinClosed: () => process.exit(0),
    },
    process.stdin,
    process.stdout,
  );
  log = host.log;
}
