/**
 * The rdv plugin's RPC methods: rdv-status (what rdv status and rdv watch show)
 * and rdv-reload (what rdv join, prune and forget call after a write), and the
 * reading of their parameters. Both wait until setup is over.
 */
import { isObject } from '../../chain/read.js';
import { loadRecord } from '../../rpc/records.js';
import { PluginMethodError, type LogLevel, type PluginSpec } from '../../rpc/plugin.js';
import type { RelayView } from '../runner/runner.js';
import { readAllRecords } from './setup.js';
import type { State } from './state.js';
import { statusReply } from './status.js';

/** rdv-status and rdv-reload, answered once `ready` (setup over). */
export function rpcMethods(state: State, ready: Promise<void>, log: (level: LogLevel, message: string) => void): NonNullable<PluginSpec['rpcmethods']> {
  return [
    {
      name: 'rdv-status',
      usage: '[payment_hash] [brief] [since]',
      description: 'Show rdv relays: state, held parts, outgoing payment, blocks to expiry, earnings (brief: only what rdv watch shows)',
      handler: async (params) => {
        await ready;
        return statusReply(state, hashParam(params), briefParam(params), sinceParam(params), await finishedViews(state, hashParam(params)));
      },
    },
    {
      name: 'rdv-reload',
      usage: '[payment_hash]',
      description: 'Re-read rdv records from the datastore (rdv join calls this after storing one)',
      handler: async (params) => {
        await ready;
        if (!state.node || !state.runner) throw new PluginMethodError(-1, state.notRelaying ?? 'not ready');
        const hash = hashParam(params);
        if (hash?.length === 64) {
          // One record (what rdv join asks for): no need to read them all.
          const stored = await loadRecord(state.node, hash);
          if (stored) state.runner.adopt(stored);
          // Gone from the datastore (rdv prune, rdv forget): let it go, unless the relay still needs it.
          const kept = stored ? undefined : await state.runner.forget(hash);
          await state.inbox?.load();
          return { loaded: stored ? 1 : 0, unreadable: 0, ...(stored ? {} : { forgotten: kept === undefined, ...(kept ? { kept_because: kept } : {}) }) };
        }
        const runner = state.runner;
        const { loaded, unreadable } = await readAllRecords(state, log, (s) => runner.adopt(s));
        await state.inbox?.load();
        return { loaded, unreadable };
      },
    },
  ];
}

function hashParam(params: unknown): string | undefined {
  const v = Array.isArray(params) ? params[0] : isObject(params) ? params.payment_hash : undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(v)) throw new PluginMethodError(-32602, 'payment_hash must be hex (a prefix is enough)');
  return v.toLowerCase();
}

/** rdv-status <hash> of a finished relay the runner only counts: read from the datastore (at most 20). */
async function finishedViews(state: State, hash: string | undefined): Promise<RelayView[]> {
  if (hash === undefined || !state.runner || !state.node) return [];
  const node = state.node;
  const stored = await Promise.all(state.runner.finishedMatching(hash, 20).map((h) => loadRecord(node, h).catch(() => undefined)));
  return stored.flatMap((s) => (s ? [{ record: s.record, heldParts: 0, heldMsat: 0n, heldSince: undefined, payInFlight: false, outgoing: undefined, heldExpiry: undefined }] : []));
}

/** `since` (Unix seconds): totals.recent counts relays that ended since then; default the last 24 hours. */
function sinceParam(params: unknown): number {
  const v = Array.isArray(params) ? params[2] : isObject(params) ? params.since : undefined;
  if (v === undefined || v === null) return Math.floor(Date.now() / 1000) - 86_400;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new PluginMethodError(-32602, 'since must be a Unix time in seconds');
  return v;
}

function briefParam(params: unknown): boolean {
  const v = Array.isArray(params) ? params[1] : isObject(params) ? params.brief : undefined;
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new PluginMethodError(-32602, 'brief must be true or false');
  return v;
}
