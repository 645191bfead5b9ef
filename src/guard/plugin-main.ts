/**
 * `rdv-guard` as a lightningd plugin: placed after rdv in the htlc_accepted
 * chain, it answers `continue` at once to everything rdv itself would pass on,
 * and holds, then finishes from listsendpays, the HTLCs a dead rdv left behind.
 * See src/chain/guard.ts for why it exists.
 */
import { isAbsolute, join } from 'node:path';
import { GUARD_QUIET_MS, guardDecide } from '../chain/guard.js';
import { preimageMatches, shortHash } from '../chain/ids.js';
import { guardClaimKey, parseGuardClaims, serializeGuardClaims } from '../chain/record.js';
import { ShapeError, type JsonObject } from '../chain/read.js';
import { isOurs, summariseOutgoing } from '../chain/relay.js';
import { parseHtlcAccepted, type HtlcAccepted } from '../rpc/hooks.js';
import { LightningNode } from '../rpc/node.js';
import { runPlugin, type InitConfig, type LogLevel } from '../rpc/plugin.js';
import { loadRecord } from '../rpc/records.js';
import { RDV_VERSION } from '../version.js';

const CONTINUE: JsonObject = { result: 'continue' };
const POLL_MS = 1_000;

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

  const finish = async (htlc: HtlcAccepted, client: LightningNode): Promise<JsonObject> => {
    const key = `${htlc.part.scid}/${htlc.part.id}`;
    const hash = htlc.paymentHash;
    let quietSince: number | undefined;
    held.set(key, { hash, part: key, since: Date.now(), why: 'starting' });
    log('warn', `rdv did not answer for HTLC ${key} of ${shortHash(hash)}: holding it so lightningd cannot fail it while the payment onward may still complete`);
    try {
      for (;;) {
        let record;
        try {
          record = await loadRecord(client, hash);
        } catch (e) {
          // We hold an HTLC rdv held: never let it go on a failed read, ask again.
          log('warn', `${shortHash(hash)}: could not read the record (${(e as Error).message}): asking again`);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          continue;
        }
        if (!record || record.record.role !== 'relay') return CONTINUE;
        let summary;
        try {
          summary = summariseOutgoing(await client.listsendpays(hash), hash);
        } catch (e) {
          log('warn', `${shortHash(hash)}: listsendpays failed (${(e as Error).message}): asking again`);
          summary = { kind: 'pending' as const };
        }
        const quiet = summary.kind === 'none' || summary.kind === 'failed';
        quietSince = quiet ? (quietSince ?? Date.now()) : undefined;
        const decision = guardDecide(record.record, summary, quiet ? Date.now() - (quietSince ?? Date.now()) : 0, quietLimitMs);
        const entry = held.get(key);
        if (entry) entry.why = decision.why;
        if (decision.action === 'resolve') {
          if (!preimageMatches(decision.preimage, hash)) {
            log('error', `${shortHash(hash)}: a preimage that does not match the hash: not resolving, asking again`);
          } else {
            log('warn', `${shortHash(hash)}: resolved HTLC ${key} for rdv (${decision.why})`);
            claims = claims.then(() => recordClaim(client, hash, key)).catch((e: unknown) => log('error', `${shortHash(hash)}: could not record the claim: ${(e as Error).message}`));
            return { result: 'resolve', payment_key: decision.preimage };
          }
        } else if (decision.action === 'fail') {
          log('warn', `${shortHash(hash)}: failed HTLC ${key} back for rdv (${decision.why})`);
          return { result: 'fail', failure_message: decision.failureMessage };
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            wakers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, POLL_MS);
          wakers.add(wake);
        });
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
    if (!htlc.isFinalHop || !node) return CONTINUE;
    let stored;
    for (let attempt = 0; ; attempt++) {
      try {
        stored = await loadRecord(node, htlc.paymentHash);
        break;
      } catch (e) {
        // An unreadable record: rdv could not read it either and passed the HTLC on.
        if (e instanceof ShapeError) return CONTINUE;
        // lightningd's RPC failing: it may be an HTLC rdv held; keep it a while before
        // deciding it is not ours (the RPC failing for long means lightningd is stopping).
        if (attempt >= 10) {
          log('error', `could not read the record for ${shortHash(htlc.paymentHash)} for 10 s (${(e as Error).message}): passing the HTLC on`);
          return CONTINUE;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
    // rdv answers everything else itself; only what it holds can reach us unanswered.
    if (!isOurs(true, stored?.record)) return CONTINUE;
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
          description: 'Seconds rdv-guard waits, with no outgoing payment pending or complete, before failing back an HTLC a dead rdv left',
        },
      ],
      hooks: [{ name: 'htlc_accepted', after: ['rdv'], handler: (params) => ready.then(() => onHtlc(params)) }],
      subscriptions: [
        { name: 'sendpay_success', handler: poke },
        { name: 'sendpay_failure', handler: poke },
        { name: 'shutdown', handler: () => process.exit(0) },
      ],
      rpcmethods: [
        {
          name: 'rdv-guard-status',
          usage: '',
          description: 'HTLCs rdv-guard holds because rdv stopped while holding them',
          handler: async () => ({
            rdv_version: RDV_VERSION,
            holding: [...held.values()].map((h) => ({ payment_hash: h.hash, part: h.part, held_for_s: Math.round((Date.now() - h.since) / 1000), why: h.why })),
          }),
        },
      ],
      onInit: async (config: InitConfig) => {
        const quiet = config.options['rdv-guard-quiet'];
        if (typeof quiet === 'number' && quiet >= 1) quietLimitMs = quiet * 1000;
        const socketPath = isAbsolute(config.rpcFile) ? config.rpcFile : join(config.lightningDir, config.rpcFile);
        void LightningNode.connect(socketPath, 'rdv-guard')
          .then((n) => {
            node = n;
          })
          .catch((e: unknown) => log('error', `cannot use lightningd's RPC: ${(e as Error).message}; not guarding`))
          .finally(markReady);
        return undefined;
      },
      onStdinClosed: () => process.exit(0),
    },
    process.stdin,
    process.stdout,
  );
  log = host.log;
}
