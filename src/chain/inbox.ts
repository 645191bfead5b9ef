/**
 * Deciding what to do with an invoice a peer passed back to us, and keeping the
 * inbox bounded. Pure.
 *
 * Any connected peer can send pass-back messages, with or without a channel, so:
 * the invoice must be payable to the sender (the peer connection authenticates
 * it); only channel peers and nodes on the operator's trust list may store one,
 * unless the operator opted in to anyone; and each sender, and the inbox as a
 * whole, holds a bounded number of unjoined entries (expired ones are pruned
 * first; past the bound the invoice is refused, with a reason).
 */
import { decodeBolt11, type Invoice } from './bolt11.js';
import type { NodeId, PaymentHash } from './ids.js';
import type { NetworkName } from './network.js';
import type { InboxEntry } from './record.js';
import { err, ok, type Result } from '../errors.js';

export interface InboxContext {
  network: NetworkName;
  ourNodeId: NodeId;
  now: number;
}

/**
 * Accept or refuse a passed-back invoice on its own merits. The sender is
 * authenticated by the peer connection, so the invoice must be payable to the
 * sender itself: a peer cannot put someone else's invoice in our inbox.
 */
export function judgePassedInvoice(bolt11: string, from: NodeId, note: string | undefined, ctx: InboxContext): Result<{ entry: InboxEntry; invoice: Invoice }> {
  const decoded = decodeBolt11(bolt11);
  if (!decoded.ok) return err(decoded.error);
  const inv = decoded.value;
  if (!inv.networks.includes(ctx.network)) return err(`invoice is for ${inv.networks.join('/')}, this node runs on ${ctx.network}`);
  if (inv.payee !== from) return err('invoice is not payable to the peer that sent it');
  if (inv.payee === ctx.ourNodeId) return err('invoice is payable to us');
  if (inv.amountMsat === undefined || inv.amountMsat === 0n) return err('invoice has no amount');
  if (inv.paymentSecret === undefined) return err('invoice has no payment secret');
  if (inv.expiresAt <= ctx.now) return err('invoice has expired');
  const entry: InboxEntry = { version: 1, paymentHash: inv.paymentHash, bolt11: inv.bolt11, from, receivedAt: ctx.now };
  if (note !== undefined) entry.note = note;
  return ok({ entry, invoice: inv });
}

/** Who may store invoices in our inbox (plugin option rdv-inbox-from). */
export type InboxPolicy = 'peers' | 'anyone';
export const INBOX_POLICIES: readonly InboxPolicy[] = ['peers', 'anyone'];

/** How we know a sender: a node we have a channel with, one on our trust list, or neither. */
export type SenderTrust = 'channel' | 'trusted' | 'stranger';

export function senderTrust(from: NodeId, channelPeers: ReadonlySet<string>, trusted: ReadonlySet<string>): SenderTrust {
  if (trusted.has(from)) return 'trusted';
  if (channelPeers.has(from)) return 'channel';
  return 'stranger';
}

export interface InboxLimits {
  /** Unjoined entries one sender may hold. */
  perPeer: number;
  /** Unjoined entries in all. */
  total: number;
}

export const DEFAULT_INBOX_LIMITS: InboxLimits = { perPeer: 20, total: 200 };

/** The plugin options rdv-inbox-from, rdv-inbox-per-peer and rdv-inbox-max, checked. */
export function inboxOptions(from: unknown, perPeer: unknown, total: unknown): Result<{ policy: InboxPolicy; limits: InboxLimits }> {
  const policy = from ?? 'peers';
  if (policy !== 'peers' && policy !== 'anyone') return err(`rdv-inbox-from=${String(policy)}: say peers (channel peers and trusted nodes) or anyone`);
  const count = (v: unknown, name: string, fallback: number): Result<number> => {
    if (v === undefined) return ok(fallback);
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 10_000 ? ok(v) : err(`${name}=${String(v)}: give a whole number from 1 to 10000`);
  };
  const p = count(perPeer, 'rdv-inbox-per-peer', DEFAULT_INBOX_LIMITS.perPeer);
  if (!p.ok) return p;
  const t = count(total, 'rdv-inbox-max', DEFAULT_INBOX_LIMITS.total);
  if (!t.ok) return t;
  return ok({ policy, limits: { perPeer: p.value, total: t.value } });
}

/** What the inbox holds, as far as admission cares. */
export interface IndexedEntry {
  paymentHash: PaymentHash;
  from: NodeId;
  receivedAt: number;
  expiresAt: number;
}

export type Admission<E extends IndexedEntry = IndexedEntry> =
  /** Store it; first delete `prune` (expired entries). `replaces`: the sender's earlier entry for this hash. */
  | { ok: true; prune: E[]; replaces: boolean }
  | { ok: false; reason: string; prune: E[] };

/**
 * May `candidate` go into an inbox holding `entries`? Expired entries are pruned
 * first. The same sender sending the same hash again replaces its entry (a retry).
 * A sender at its bound, or a full inbox, is refused: the oldest entries are not
 * evicted, so a flood cannot push out an invoice that is already there.
 */
export function admit<E extends IndexedEntry>(entries: readonly E[], candidate: IndexedEntry, trust: SenderTrust, policy: InboxPolicy, limits: InboxLimits, now: number): Admission<E> {
  const prune = entries.filter((e) => e.expiresAt <= now);
  if (trust === 'stranger' && policy !== 'anyone') {
    return { ok: false, reason: 'we only take invoices from channel peers and trusted nodes (ask the operator to run: rdv trust add <your node id>)', prune };
  }
  const live = entries.filter((e) => e.expiresAt > now);
  const replaces = live.some((e) => e.from === candidate.from && e.paymentHash === candidate.paymentHash);
  if (replaces) return { ok: true, prune, replaces };
  const fromSender = live.filter((e) => e.from === candidate.from).length;
  if (fromSender >= limits.perPeer) return { ok: false, reason: `inbox full for your node (${limits.perPeer} unjoined invoices): try again when one expires or is joined`, prune };
  if (live.length >= limits.total) return { ok: false, reason: `inbox full (${limits.total} unjoined invoices): try again later`, prune };
  return { ok: true, prune, replaces };
}
