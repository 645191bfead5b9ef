/**
 * One fake lightningd hosting the real bin/rdv as its plugin, for plugin tests:
 * hooks are sent with the real payload shapes (built from the captured
 * fixtures), and xpay/listsendpays can be scripted.
 */
import { msat, type Msat } from '../../src/chain/amount.js';
import { relayKey, serializeRecord, type AnyRecord, type RelayRecord } from '../../src/chain/record.js';
import type { SimNetwork, NetworkOptions } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { makeRecord, PREIMAGE } from './builders.js';
import { fixture } from './paths.js';
import { withSimNet } from './sim.js';

export interface Fake {
  net: SimNetwork;
  node: SimNode;
  /** Every xpay call the plugin made. */
  xpays: Array<Record<string, unknown>>;
  /** What listsendpays answers (per-part entries, CLN shape). */
  sendpays: Array<Record<string, unknown>>;
  /** How the next xpay call ends: set before it is called, or resolve later. */
  xpay: (params: Record<string, unknown>) => Promise<unknown>;
}

/**
 * Bob's node, loading the real bin/rdv (and rdv-guard unless `guard: false`), on a
 * simulated network of its own (withSimNet): rdv's xpay calls are recorded and end
 * as `f.xpay` says, listsendpays answers `f.sendpays`. Stopped after `fn`.
 */
export async function withFakeLightningd<T>(
  fn: (f: Fake) => Promise<T>,
  options: NetworkOptions & { mppTimeoutSeconds?: number; important?: boolean; guard?: boolean; version?: string } = {},
): Promise<T> {
  const { mppTimeoutSeconds, important, guard, version, ...netOptions } = options;
  return withSimNet(
    async (net) => {
      const node = await net.addNode('bob', { plugin: true, important: important ?? true, guard: guard ?? true, ...(version ? { version } : {}) });
      const fake: Fake = {
        net,
        node,
        xpays: [],
        sendpays: [],
        xpay: () => new Promise(() => undefined),
      };
      node.overrides.set('xpay', (params) => {
        fake.xpays.push(params);
        return fake.xpay(params);
      });
      node.overrides.set('listsendpays', async () => ({ payments: fake.sendpays }));
      // Scripted parts are this lightningd's own (registered after rdv started, with HTLCs), never parts a crash lost.
      node.overrides.set('wait', async () => ({ subsystem: 'sendpays', created: 0 }));
      return fn(fake);
    },
    { pluginOptions: { 'rdv-mpp-timeout': mppTimeoutSeconds ?? 2 }, ...netOptions },
  );
}

/**
 * Bob's relay of HASH that settled 45 days ago (by the wall clock the plugin
 * reads), its one part received and counted as claimed.
 */
export function settledLongAgo(over: Partial<RelayRecord> = {}): RelayRecord {
  const ended = Math.floor(Date.now() / 1000) - 45 * 86_400;
  return makeRecord({
    state: 'settled',
    parts: [{ scid: '103x1x0', id: '7', channelId: 'c7'.repeat(32), amountMsat: msat(106_000_000n), cltvExpiry: 31 }],
    claimed: [`${'c7'.repeat(32)}/7`],
    preimage: PREIMAGE,
    createdAt: ended - 600,
    expiresAt: ended + 3_000,
    settledAt: ended,
    updatedAt: ended,
    ...over,
  });
}

export function seedRecord(node: SimNode, record: AnyRecord): void {
  node.datastore.datastore({ key: relayKey(record.paymentHash), string: serializeRecord(record), mode: 'must-create' });
}

export interface HookPart {
  paymentHash: string;
  scid?: string;
  id: number;
  amountMsat: Msat;
  totalMsat?: Msat;
  paymentSecret?: string;
  cltvExpiry: number;
  height: number;
  forward?: boolean;
}

/** htlc_accepted params shaped like hook-htlc_accepted-final.json (or -forward.json). */
export function htlcParams(p: HookPart): Record<string, unknown> {
  const base = fixture(p.forward ? 'hook-htlc_accepted-forward.json' : 'hook-htlc_accepted-final.json') as { params: Record<string, unknown> };
  const params = structuredClone(base.params);
  const onion = params.onion as Record<string, unknown>;
  onion.forward_msat = p.amountMsat;
  onion.outgoing_cltv_value = p.cltvExpiry;
  if (!p.forward) {
    onion.total_msat = p.totalMsat ?? p.amountMsat;
    if (p.paymentSecret === undefined) delete onion.payment_secret;
    else onion.payment_secret = p.paymentSecret;
  }
  params.htlc = {
    short_channel_id: p.scid ?? '110x1x0',
    id: p.id,
    amount_msat: p.amountMsat,
    cltv_expiry: p.cltvExpiry,
    cltv_expiry_relative: p.cltvExpiry - p.height,
    payment_hash: p.paymentHash,
  };
  return params;
}

/** Send an htlc_accepted call; resolves with the plugin's reply (possibly much later). */
export function sendHtlc(node: SimNode, p: HookPart): Promise<Record<string, unknown>> {
  return node.callHook('htlc_accepted', () => htlcParams(p));
}

export const sat = (n: number): Msat => msat(BigInt(n) * 1000n);

/**
 * The reply once it comes, or a failure naming `what` after `ms`: a deadline for a
 * state that is clearly not coming on a busy machine, not a pace to keep.
 */
export async function replyWithin<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How many HTLCs `node`'s rdv holds now (rdv-status held_htlcs): it has taken them, not merely been sent them. */
export async function heldByRdv(node: SimNode): Promise<number> {
  const status = await node.plugin?.request('rdv-status', { brief: true });
  return typeof status === 'object' && status !== null && 'held_htlcs' in status && typeof status.held_htlcs === 'number' ? status.held_htlcs : 0;
}

/**
 * A reply that has not come yet after `ms`. Only for "nothing answers it": a slow
 * machine makes it true more easily, never false; to know the plugin has taken
 * an HTLC, wait for that state (heldByRdv).
 */
export async function stillPending(p: Promise<unknown>, ms = 150): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([p, new Promise((resolve) => setTimeout(() => resolve(marker), ms))]);
  return r === marker;
}
