/**
 * The soak's audit from lightningd's own books, pure: replies in, verdicts out.
 *
 * rdv's relays are final hops (lightningd's htlc_accepted hook resolves them),
 * so listforwards never shows them. What each node's lightningd says instead:
 * - listchannelmoves (lightningd's coin-movement log, which bookkeeper reads):
 *   a credit for every incoming HTLC it fulfilled and a debit for every
 *   outgoing HTLC that was fulfilled, with the payment hash; written only once
 *   the HTLC is irrevocably settled. These are each node's nets.
 * - listsendpays: what the node paid out (the payer's xpay, each relay's xpay),
 *   checked against the debits.
 * - listinvoices: Carol was paid, checked against her credits.
 * - bkpr-listaccountevents: bookkeeper's own copy, checked against the moves.
 * - listpeerchannels / listclosedchannels: balances (each node's change must
 *   equal its moves: a global conservation check), HTLCs still in a channel
 *   (stuck), channels no longer CHANNELD_NORMAL (force closes).
 * - listhtlcs, sampled while the soak runs: an incoming HTLC still held at its
 *   expiry height.
 *
 * The verdict per payment is the simulated soak's (audit.ts verdictOf), on
 * facts read from these books instead of the simulated network's ledger.
 */
import { Reader } from '../chain/read.js';
import type { NodeNet } from '../simnet/ledger.js';
import { verdictOf, type PaymentFacts, type PaymentTerms, type PaymentVerdict } from '../simnet/soak/audit.js';

export interface ChannelMove {
  createdIndex: number;
  /** The channel_id. */
  accountId: string;
  tag: string;
  paymentHash: string | undefined;
  creditMsat: bigint;
  debitMsat: bigint;
}

export interface SendPay {
  paymentHash: string;
  status: string;
  groupid: bigint;
  partid: number;
  amountSentMsat: bigint;
}

export interface Invoice {
  paymentHash: string;
  label: string;
  status: string;
  amountReceivedMsat: bigint | undefined;
}

/** A bookkeeper event of a channel account. */
export interface AccountEvent {
  account: string;
  tag: string;
  paymentId: string | undefined;
  creditMsat: bigint;
  debitMsat: bigint;
}

export interface ChannelHtlc {
  direction: 'in' | 'out';
  id: string;
  paymentHash: string;
  amountMsat: bigint;
  expiry: number;
  state: string;
}

export interface PeerChannelBook {
  channelId: string;
  peerId: string;
  state: string;
  toUsMsat: bigint;
  htlcs: ChannelHtlc[];
}

export interface ClosedChannel {
  channelId: string;
  peerId: string | undefined;
  closeCause: string;
  finalToUsMsat: bigint | undefined;
}

export interface HtlcRow {
  scid: string;
  id: string;
  direction: 'in' | 'out';
  state: string;
  paymentHash: string;
  amountMsat: bigint;
  expiry: number;
}

/** One node's books at the end of the soak. */
export interface NodeBooks {
  name: string;
  moves: ChannelMove[];
  sendpays: SendPay[];
  invoices: Invoice[];
  /** Undefined when bookkeeper did not answer (it is a plugin: a node may run without it). */
  accountEvents: AccountEvent[] | undefined;
  channels: PeerChannelBook[];
  closed: ClosedChannel[];
}

/** Where a node's books stood before the first payment. */
export interface Baseline {
  toUsMsat: bigint;
  /** The highest listchannelmoves created_index then (moves after it are the soak's). */
  movesIndex: number;
}

/** An incoming HTLC seen held (not yet removed) at or past its expiry height. */
export interface ExpirySeen {
  node: string;
  paymentHash: string;
  scid: string;
  id: string;
  expiry: number;
  height: number;
}

const direction = (r: Reader, key: string): 'in' | 'out' => {
  const d = r.str(key);
  if (d !== 'in' && d !== 'out') throw new Error(`${r.path}.${key}: expected in or out, got ${d}`);
  return d;
};

/** listchannelmoves's reply. */
export function parseChannelMoves(reply: unknown): ChannelMove[] {
  return Reader.of(reply, 'listchannelmoves')
    .objects('channelmoves')
    .map((m) => ({
      createdIndex: m.int('created_index'),
      accountId: m.str('account_id'),
      tag: m.str('primary_tag'),
      paymentHash: m.optStr('payment_hash'),
      creditMsat: m.msat('credit_msat'),
      debitMsat: m.msat('debit_msat'),
    }));
}

/** listsendpays's reply. */
export function parseSendpays(reply: unknown): SendPay[] {
  return Reader.of(reply, 'listsendpays')
    .objects('payments')
    .map((p) => ({
      paymentHash: p.str('payment_hash'),
      status: p.str('status'),
      groupid: p.bigint('groupid'),
      partid: p.optInt('partid') ?? 0,
      amountSentMsat: p.optMsat('amount_sent_msat') ?? 0n,
    }));
}

/** listinvoices's reply. */
export function parseInvoices(reply: unknown): Invoice[] {
  return Reader.of(reply, 'listinvoices')
    .objects('invoices')
    .map((i) => ({ paymentHash: i.str('payment_hash'), label: i.str('label'), status: i.str('status'), amountReceivedMsat: i.optMsat('amount_received_msat') }));
}

/** bkpr-listaccountevents's reply: the channel events only. */
export function parseAccountEvents(reply: unknown): AccountEvent[] {
  return Reader.of(reply, 'bkpr-listaccountevents')
    .objects('events')
    .filter((e) => e.str('type') === 'channel')
    .map((e) => ({ account: e.str('account'), tag: e.str('tag'), paymentId: e.optStr('payment_id'), creditMsat: e.msat('credit_msat'), debitMsat: e.msat('debit_msat') }));
}

/** listpeerchannels's reply. */
export function parsePeerChannels(reply: unknown): PeerChannelBook[] {
  return Reader.of(reply, 'listpeerchannels')
    .objects('channels')
    .map((c) => ({
      channelId: c.str('channel_id'),
      peerId: c.str('peer_id'),
      state: c.str('state'),
      toUsMsat: c.optMsat('to_us_msat') ?? 0n,
      htlcs: c.optObjects('htlcs').map((h) => ({
        direction: direction(h, 'direction'),
        id: h.bigint('id').toString(),
        paymentHash: h.str('payment_hash'),
        amountMsat: h.msat('amount_msat'),
        expiry: h.int('expiry'),
        state: h.str('state'),
      })),
    }));
}

/** listclosedchannels's reply. */
export function parseClosedChannels(reply: unknown): ClosedChannel[] {
  return Reader.of(reply, 'listclosedchannels')
    .objects('closedchannels')
    .map((c) => ({ channelId: c.str('channel_id'), peerId: c.optStr('peer_id'), closeCause: c.str('close_cause'), finalToUsMsat: c.optMsat('final_to_us_msat') }));
}

/** listhtlcs's reply. */
export function parseHtlcs(reply: unknown): HtlcRow[] {
  return Reader.of(reply, 'listhtlcs')
    .objects('htlcs')
    .map((h) => ({
      scid: h.optStr('short_channel_id') ?? '',
      id: h.bigint('id').toString(),
      direction: direction(h, 'direction'),
      state: h.str('state'),
      paymentHash: h.str('payment_hash'),
      amountMsat: h.msat('amount_msat'),
      expiry: h.int('expiry'),
    }));
}

/**
 * An incoming HTLC the node still holds: added and not yet being removed. (Its
 * removal starts with SENT_REMOVE_HTLC, once the node has fulfilled or failed it.)
 */
export function heldIncoming(h: { direction: 'in' | 'out'; state: string }): boolean {
  return h.direction === 'in' && h.state.includes('_ADD_');
}

/** The incoming HTLCs in `rows` held at `height` at or past their expiry. */
export function expiredHeld(node: string, rows: readonly HtlcRow[], height: number): ExpirySeen[] {
  return rows.filter((h) => heldIncoming(h) && h.expiry <= height).map((h) => ({ node, paymentHash: h.paymentHash, scid: h.scid, id: h.id, expiry: h.expiry, height }));
}

const sum = (xs: readonly bigint[]): bigint => xs.reduce((s, x) => s + x, 0n);

/**
 * The facts of one payment from the books: each node's nets from its channel
 * moves for the hash, cross-checked against its sendpays, Carol's invoice and
 * bookkeeper; disagreements become anomalies.
 */
export function paymentFacts(terms: PaymentTerms, books: readonly NodeBooks[], expiries: readonly ExpirySeen[]): PaymentFacts {
  const h = terms.paymentHash;
  const nets = new Map<string, NodeNet>();
  const anomalies: string[] = [];
  let settleSeen = false;
  for (const b of books) {
    const moves = b.moves.filter((m) => m.paymentHash === h);
    const receivedMsat = sum(moves.map((m) => m.creditMsat));
    const paidMsat = sum(moves.map((m) => m.debitMsat));
    if (moves.length > 0) {
      nets.set(b.name, { receivedMsat, paidMsat });
      settleSeen = true;
    }
    for (const m of moves) if (m.tag !== 'invoice') anomalies.push(`${b.name}: a channel move of this payment tagged ${m.tag}, not invoice`);
    const sent = sum(b.sendpays.filter((p) => p.paymentHash === h && p.status === 'complete').map((p) => p.amountSentMsat));
    if (sent !== paidMsat) anomalies.push(`${b.name}: listsendpays says ${sent} msat paid out, its channel moves ${paidMsat} msat`);
    if (b.sendpays.some((p) => p.paymentHash === h && p.status === 'pending')) anomalies.push(`${b.name}: a part of its payment is still pending`);
    if (b.accountEvents !== undefined) {
      const events = b.accountEvents.filter((e) => e.paymentId === h);
      const credit = sum(events.map((e) => e.creditMsat));
      const debit = sum(events.map((e) => e.debitMsat));
      if (credit !== receivedMsat || debit !== paidMsat) anomalies.push(`${b.name}: bookkeeper says +${credit}/-${debit} msat, the channel moves +${receivedMsat}/-${paidMsat} msat`);
    }
  }
  const carolBooks = books.find((b) => b.name === terms.names.carol);
  const invoice = carolBooks?.invoices.find((i) => i.paymentHash === h);
  const carolCredit = nets.get(terms.names.carol)?.receivedMsat ?? 0n;
  const invoicePaid = invoice?.status === 'paid';
  if (invoicePaid !== carolCredit > 0n) anomalies.push(`carol: her invoice is ${invoice?.status ?? 'gone'}, her channel moves credit ${carolCredit} msat`);
  if (invoicePaid && invoice.amountReceivedMsat !== carolCredit) anomalies.push(`carol: listinvoices says ${invoice.amountReceivedMsat ?? 0n} msat received, her channel moves ${carolCredit} msat`);
  // One HTLC is sampled many times while it sits at its expiry: count it once.
  const expired = new Map<string, ExpirySeen>();
  for (const e of expiries) if (e.paymentHash === h) expired.set(`${e.node}/${e.scid}/${e.id}`, e);
  const at = (...names: string[]): number => [...expired.values()].filter((e) => names.includes(e.node)).length;
  return {
    nets,
    settleSeen,
    relayExpiries: at(terms.names.alice, terms.names.bob),
    payeeExpiries: at(terms.names.carol),
    anomalies,
  };
}

/** The verdict of one payment from lightningd's books. */
export function auditFromBooks(terms: PaymentTerms, books: readonly NodeBooks[], expiries: readonly ExpirySeen[]): PaymentVerdict {
  return verdictOf(terms, paymentFacts(terms, books, expiries));
}

/** HTLCs still in a channel, each counted once: at the node it was offered to. */
export function stuckHtlcs(books: readonly NodeBooks[]): Array<{ node: string; channelId: string; htlc: ChannelHtlc }> {
  return books.flatMap((b) => b.channels.flatMap((c) => c.htlcs.filter((x) => x.direction === 'in').map((htlc) => ({ node: b.name, channelId: c.channelId, htlc }))));
}

/**
 * Channels that went to chain: any listclosedchannels entry (the soak closes
 * nothing itself) or a channel no longer CHANNELD_NORMAL; each channel once,
 * whichever side says so.
 */
export function forceCloses(books: readonly NodeBooks[]): Array<{ channelId: string; seenBy: string[]; why: string }> {
  const out = new Map<string, { channelId: string; seenBy: string[]; why: string }>();
  const add = (channelId: string, node: string, why: string): void => {
    const x = out.get(channelId);
    if (x) x.seenBy.push(node);
    else out.set(channelId, { channelId, seenBy: [node], why });
  };
  for (const b of books) {
    for (const c of b.closed) add(c.channelId, b.name, `closed (cause ${c.closeCause})`);
    for (const c of b.channels) if (c.state !== 'CHANNELD_NORMAL') add(c.channelId, b.name, `state ${c.state}`);
  }
  return [...out.values()];
}

/**
 * The global conservation check: each node's channel balances moved by exactly
 * its channel moves since the baseline, and those moves are the soak's payments
 * (the sum of its nets over them).
 */
export function balanceMismatches(books: readonly NodeBooks[], baselines: ReadonlyMap<string, Baseline>, hashes: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const b of books) {
    const base = baselines.get(b.name);
    if (!base) continue;
    const moved = sum(b.channels.map((c) => c.toUsMsat)) - base.toUsMsat;
    const after = b.moves.filter((m) => m.createdIndex > base.movesIndex);
    const byMoves = sum(after.map((m) => m.creditMsat - m.debitMsat));
    const bySoak = sum(after.filter((m) => m.paymentHash !== undefined && hashes.has(m.paymentHash)).map((m) => m.creditMsat - m.debitMsat));
    if (moved !== byMoves) out.push(`${b.name}: its channel balances moved by ${moved} msat, its channel moves say ${byMoves} msat`);
    if (byMoves !== bySoak) out.push(`${b.name}: ${byMoves - bySoak} msat of channel moves are not the soak's payments`);
  }
  return out;
}

/** A relay's own record of a payment, as `rdv status --json` shows it. */
export interface RelayRecordView {
  state: string;
  earnedMsat: bigint | undefined;
}

/** `rdv --json status`'s records, by payment hash. */
export function parseStatusRecords(reply: unknown): Map<string, RelayRecordView> {
  const out = new Map<string, RelayRecordView>();
  for (const r of Reader.of(reply, 'rdv status').objects('records')) {
    if (r.optStr('role') !== 'relay') continue;
    out.set(r.str('payment_hash'), { state: r.str('state'), earnedMsat: r.optSignedMsat('earned_msat') });
  }
  return out;
}

/**
 * rdv's own view against lightningd's books: a relay's record of a payment
 * Carol was paid for says settled and earned exactly what its channel moves
 * say it kept; of one she was not paid for, it is not settled.
 */
export function recordMismatches(label: string, verdict: PaymentVerdict, relay: 'alice' | 'bob', record: RelayRecordView | undefined): string | undefined {
  const net = verdict.netMsat[relay];
  const state = record?.state ?? 'missing';
  if (verdict.outcome === 'settled' && (state !== 'settled' || record?.earnedMsat !== net)) {
    return `${label} ${relay}: record ${state}, earned ${record?.earnedMsat ?? '-'} msat; lightningd's books say it kept ${net} msat`;
  }
  if (verdict.outcome === 'failed_back' && state === 'settled') return `${label} ${relay}: record settled (earned ${record?.earnedMsat ?? '-'} msat) for a payment Carol was not paid for`;
  return undefined;
}
