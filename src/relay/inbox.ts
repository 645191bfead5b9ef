/**
 * The custommsg hook: pass-back messages from peers.
 *
 * Any connected peer can send them, with or without a channel, as fast as it
 * likes. So the hook only looks at the message type and queues the message
 * (as many per peer as requests may be under way at once, a bounded number in
 * all; the rest are dropped and counted),
 * then answers `continue` at once; a single worker takes the queues in turn, so
 * one flooding peer neither stalls lightningd nor delays another peer's
 * message. What may be stored is decided by src/chain/inbox.ts (trust, bounds);
 * refusals are logged and acknowledged at most once a minute per peer.
 * A node with an rdv policy is joined by it instead (src/relay/policy-join.ts,
 * within the policy's bounds); each refusal is acknowledged with its reason.
 * Acknowledgements are stored only from the node we passed the invoice to, and
 * told at once to a delivery of ours waiting for one (hearAck).
 * Invoice requests, and the answers to ours, go to the request desk
 * (src/relay/requests.ts), through the same queues: it decides in this worker
 * and waits outside it.
 */
import { decodeBolt11 } from '../chain/bolt11.js';
import { isNodeId, shortHash, type NodeId, type PaymentHash } from '../chain/ids.js';
import { admit, judgePassedInvoice, senderTrust, type IndexedEntry, type InboxLimits, type InboxPolicy, type SenderTrust } from '../chain/inbox.js';
import type { NetworkName } from '../chain/network.js';
import { decodePassback, encodePassback, isPassbackPayload, MAX_PASSBACK_BYTES } from '../chain/passback.js';
import { ackKey, inboxKey, KEY_ROOT, parseInbox, passedKey, serializeInbox } from '../chain/record.js';
import { isObject, Reader, type JsonObject } from '../chain/read.js';
import type { ChannelIds } from '../rpc/channels.js';
import type { LightningNode } from '../rpc/node.js';
import type { LogLevel } from '../rpc/plugin.js';
import type { Policy } from '../chain/policy/policy.js';
import type { AckHeard } from '../rpc/pass-back.js';
import { assertNever, err, type Result } from '../errors.js';
import type { PolicyRefusal } from './policy-join.js';
import { MAX_REQUESTS_AT_ONCE, type RequestDesk } from './requests.js';

export interface InboxDeps {
  node: LightningNode;
  log: (level: LogLevel, message: string) => void;
  /** Unix seconds. */
  now: () => number;
  /** Milliseconds, for rate limits. */
  nowMs: () => number;
  self: () => { id: NodeId; network: NetworkName } | undefined;
  channels: ChannelIds;
  /** A relay (or last-payee) record exists for the hash: it was joined. */
  isJoined: (hash: PaymentHash) => Promise<boolean>;
  /** The rdv policy for pass-backs from this node, if one applies now (read at each pass-back). */
  policyFor?: (from: NodeId) => Promise<Policy | undefined>;
  /**
   * Join by that policy: the hash, or why not (nothing written). Passing our invoice
   * on is the runner's business, after we have answered the sender.
   */
  joinByPolicy?: (policy: Policy, bolt11: string, from: NodeId, paymentHash: PaymentHash) => Promise<Result<unknown, PolicyRefusal>>;
  /** Invoice requests and the answers to ours (absent: dropped, and the asker's wait runs out). */
  requests?: Pick<RequestDesk, 'onRequest' | 'onAnswer'>;
  policy: InboxPolicy;
  limits: InboxLimits;
}

const CONTINUE: JsonObject = { result: 'continue' };
/**
 * Messages waiting per peer, and in all: what a flood can occupy. A peer may
 * legitimately send a burst as large as the requests a node may have under way
 * at once (a relay asking its next payee, or answering ours: rdv serve's chains
 * at once arrive so), so the per-peer share is that; the total bounds memory.
 */
const QUEUE_PER_PEER = MAX_REQUESTS_AT_ONCE;
const QUEUE_TOTAL = 64;
/** One refusal log line and acknowledgement per peer per this long. */
const NOTICE_MS = 60_000;
/** A repeated invoice is acknowledged again at most this often (per sender and hash). */
const REPEAT_ACK_MS = 5_000;
/** Peers whose last notice we remember (beyond that the oldest are forgotten). */
const NOTICE_PEERS = 4_096;
/** How stale the trust list and the inbox index may be before a decision that depends on them. */
const TRUST_TTL_MS = 5_000;
const INDEX_TTL_MS = 5_000;

interface Indexed extends IndexedEntry {
  key: string[];
}

export interface InboxStats {
  received: number;
  dropped: number;
  bad: number;
  /** The same invoice again from the same sender: nothing written. */
  repeated: number;
  /** Handling failed (an RPC error): logged. */
  errors: number;
  /** A message being handled now (0 or 1): with `queued` 0, the work is done. */
  working: number;
  stored: number;
  refused: number;
  /** Joined by an rdv policy (nothing stored in the inbox). */
  policy_joined: number;
  policy_refused: number;
  acks_stored: number;
  acks_dropped: number;
  queued: number;
  entries: number;
}

export class PassbackInbox {
  private readonly queues = new Map<NodeId, string[]>();
  private queued = 0;
  private working = false;
  private index: Indexed[] = [];
  private indexAt = -Infinity;
  private trusted = new Set<string>();
  private trustedAt = -Infinity;
  private readonly notices = new Map<string, number>();
  /** Deliveries of ours waiting for an acknowledgement, by payment hash (the plugin's --pass-to: a few at most). */
  private readonly ackWaiters = new Map<string, Set<(ack: AckHeard) => void>>();
  private readonly counters = { received: 0, dropped: 0, bad: 0, repeated: 0, errors: 0, stored: 0, refused: 0, policy_joined: 0, policy_refused: 0, acks_stored: 0, acks_dropped: 0 };
  private handling = 0;

  constructor(private readonly deps: InboxDeps) {}

  stats(): InboxStats {
    return { ...this.counters, queued: this.queued, working: this.handling, entries: this.index.length };
  }

  /** The hook: queue our messages, answer at once. */
  onCustomMsg(params: JsonObject): JsonObject {
    const payload = typeof params.payload === 'string' ? params.payload : '';
    const peer = typeof params.peer_id === 'string' ? params.peer_id.toLowerCase() : '';
    if (!isPassbackPayload(payload) || !isNodeId(peer)) return CONTINUE;
    this.counters.received++;
    const queue = this.queues.get(peer) ?? [];
    if (payload.length > 2 * MAX_PASSBACK_BYTES || queue.length >= QUEUE_PER_PEER || this.queued >= QUEUE_TOTAL) {
      this.counters.dropped++;
      this.notice(`drop:${peer}`, () => this.deps.log('warn', `dropping pass-back messages from ${peer}: too many at once (${QUEUE_PER_PEER} queued per peer, ${QUEUE_TOTAL} in all)`));
      return CONTINUE;
    }
    queue.push(payload.toLowerCase());
    this.queues.set(peer, queue);
    this.queued++;
    if (!this.working) void this.work();
    return CONTINUE;
  }

  /** Drain the queues, one message per peer in turn. */
  private async work(): Promise<void> {
    this.working = true;
    try {
      while (this.queued > 0) {
        for (const [peer, queue] of [...this.queues]) {
          const payload = queue.shift();
          if (queue.length === 0) this.queues.delete(peer);
          if (payload === undefined) continue;
          this.queued--;
          this.handling = 1;
          try {
            await this.handle(peer, payload);
          } catch (e) {
            this.counters.errors++;
            this.deps.log('error', `pass-back from ${peer}: ${(e as Error).message}`);
          } finally {
            this.handling = 0;
          }
        }
      }
    } finally {
      this.working = false;
    }
  }

  private async handle(from: NodeId, payload: string): Promise<void> {
    const self = this.deps.self();
    if (!self) {
      this.deps.log('warn', `pass-back from ${shortHash(from)} ignored: not initialised yet`);
      return;
    }
    const decoded = decodePassback(payload);
    if (!decoded.ok) {
      this.counters.bad++;
      this.notice(`bad:${from}`, () => this.deps.log('warn', `bad pass-back message from ${from}: ${decoded.error}`));
      return;
    }
    const m = decoded.value;
    switch (m.kind) {
      case 'ack':
        return this.storeAck(from, m.paymentHash, m.accepted, m.reason);
      case 'invoice':
        // An answer to a request is never a pass-back for the inbox.
        if (m.requestId !== undefined) return this.deps.requests ? this.deps.requests.onAnswer(from, m.requestId, { kind: 'invoice', bolt11: m.bolt11 }) : this.unasked(from);
        return this.receiveInvoice(from, m.bolt11, m.note, self);
      case 'request':
        return this.deps.requests ? this.deps.requests.onRequest(from, m) : this.unasked(from);
      case 'request-ack':
        // Only a refusal means something: an "accepted" answer to a request is no answer.
        if (!this.deps.requests || m.accepted) return this.unasked(from);
        return this.deps.requests.onAnswer(from, m.requestId, { kind: 'refused', reason: m.reason ?? 'no reason given' });
      default:
        return assertNever(m, 'pass-back message kind');
    }
  }

  /** A request, or an answer to one, that this rdv does not serve: dropped (the asker's wait runs out). */
  private unasked(from: NodeId): void {
    this.counters.bad++;
    this.notice(`bad:${from}`, () => this.deps.log('warn', `dropped an invoice request (or an answer to one) from ${from}: this node serves none`));
  }

  private async receiveInvoice(from: NodeId, bolt11: string, note: string | undefined, self: { id: NodeId; network: NetworkName }): Promise<void> {
    const now = this.deps.now();
    const judged = judgePassedInvoice(bolt11, from, note, { network: self.network, ourNodeId: self.id, now });
    const pre = decodeBolt11(bolt11);
    const hash = pre.ok ? pre.value.paymentHash : undefined;
    if (!judged.ok) return this.refuse(from, hash, judged.error);
    const { entry, invoice } = judged.value;
    // Before "already joined": a sender retrying a pass-back its policy joined hears "joined" again.
    const policy = await this.policyFor(from);
    if (policy) return this.joinByPolicy(from, policy, entry.bolt11, entry.paymentHash);
    if (await this.deps.isJoined(entry.paymentHash)) return this.refuse(from, hash, 'we already joined this payment hash');
    const trust = await this.trustOf(from);
    const candidate: Indexed = { paymentHash: entry.paymentHash, from, receivedAt: now, expiresAt: invoice.expiresAt, key: inboxKey(entry.paymentHash, from) };
    let admission = admit(await this.entries(), candidate, trust, this.deps.policy, this.deps.limits, now);
    if (!admission.ok && trust !== 'stranger') {
      // The index may count entries joined or removed meanwhile: read it again before refusing.
      admission = admit(await this.entries(true), candidate, trust, this.deps.policy, this.deps.limits, now);
    }
    await this.prune(admission.prune);
    if (!admission.ok) return this.refuse(from, hash, admission.reason);
    if (admission.replaces && (await this.sameAsStored(candidate.key, entry.bolt11))) {
      // A repeat (a sender retrying, or a flood of the same invoices): nothing to write;
      // answer again, so a sender whose first answer was lost hears, but not in a flood.
      this.counters.repeated++;
      if (this.notice(`repeat:${from}:${entry.paymentHash}`, () => undefined, REPEAT_ACK_MS)) await this.sendAck(from, entry.paymentHash, true, undefined);
      return;
    }
    const w = await this.deps.node.datastoreUpsert(candidate.key, serializeInbox(entry));
    if (!w.ok) {
      this.counters.errors++;
      this.deps.log('error', `could not store the invoice from ${from} in the inbox`);
      await this.sendAck(from, entry.paymentHash, false, 'receiver could not store it');
      return;
    }
    this.index = [...this.index.filter((e) => e.key.join('/') !== candidate.key.join('/')), candidate];
    this.counters.stored++;
    const flag = trust === 'stranger' ? ' (NOT a channel peer or trusted node: check before joining)' : '';
    this.deps.log('info', `inbox: invoice ${shortHash(entry.paymentHash)} from ${from}${flag} stored; join it with: rdv join --from-inbox ${shortHash(entry.paymentHash)}`);
    await this.sendAck(from, entry.paymentHash, true, undefined);
  }

  private async policyFor(from: NodeId): Promise<Policy | undefined> {
    if (!this.deps.policyFor) return undefined;
    try {
      return await this.deps.policyFor(from);
    } catch (e) {
      // An unreadable book joins nothing: the pass-back goes to the inbox, as without policies.
      this.notice('policy-book', () => this.deps.log('error', `rdv policies unreadable, joining nothing by policy: ${(e as Error).message}`));
      return undefined;
    }
  }

  /** A pass-back from a node with a policy: joined by it, or refused with the reason; never stored in the inbox. */
  private async joinByPolicy(from: NodeId, policy: Policy, bolt11: string, hash: PaymentHash): Promise<void> {
    const joined = this.deps.joinByPolicy ? await this.deps.joinByPolicy(policy, bolt11, from, hash) : err({ reason: 'policy joins are not running', bound: false });
    if (!joined.ok) {
      this.counters.policy_refused++;
      const { reason, bound } = joined.error;
      const line = `policy ${policy.id} refused invoice ${shortHash(hash)} from ${from}: ${reason}`;
      // A bound met is logged once a minute per policy (a flood is one line); other refusals once per invoice.
      if (bound) this.notice(`policy-bound:${policy.id}`, () => this.deps.log('warn', `${line} (further refusals by its bounds are not logged for a minute)`));
      // Each invoice answered once a minute (a sender retrying the same invoice hears again after that).
      if (this.notice(`policy-refuse:${from}:${hash}`, () => (bound ? undefined : this.deps.log('warn', line)))) {
        await this.sendAck(from, hash, false, `policy ${policy.id}: ${reason}`);
      }
      return;
    }
    this.counters.policy_joined++;
    this.deps.log('info', `policy ${policy.id} joined invoice ${shortHash(hash)} from ${from}`);
    await this.sendAck(from, hash, true, `joined by policy ${policy.id}`);
  }

  private async refuse(from: NodeId, hash: string | undefined, reason: string): Promise<void> {
    this.counters.refused++;
    // A flood gets one log line and one answer a minute, not one per message.
    const first = this.notice(`refuse:${from}`, () => this.deps.log('warn', `refused an invoice passed back by ${from}: ${reason} (further refusals of this peer are not logged for a minute)`));
    if (first && hash) await this.sendAck(from, hash, false, reason);
  }

  /** The entry at `key` holds this very invoice already. */
  private async sameAsStored(key: string[], bolt11: string): Promise<boolean> {
    const stored = (await this.deps.node.listdatastore(key)).find((e) => e.key.length === key.length)?.string;
    if (stored === undefined) return false;
    try {
      return parseInbox(stored).bolt11 === bolt11;
    } catch {
      return false;
    }
  }

  /** Run `say` unless it ran for this key less than `everyMs` ago. Returns whether it ran. */
  private notice(key: string, say: () => void, everyMs = NOTICE_MS): boolean {
    const now = this.deps.nowMs();
    const last = this.notices.get(key);
    if (last !== undefined && now - last < everyMs) return false;
    this.notices.delete(key);
    this.notices.set(key, now);
    if (this.notices.size > NOTICE_PEERS) {
      const oldest = this.notices.keys().next().value;
      if (oldest !== undefined) this.notices.delete(oldest);
    }
    say();
    return true;
  }

  private async trustOf(from: NodeId): Promise<SenderTrust> {
    if (this.deps.nowMs() - this.trustedAt > TRUST_TTL_MS) await this.loadTrusted();
    const channelPeers = (await this.deps.channels.isPeer(from)) ? new Set([from]) : new Set<string>();
    return senderTrust(from, channelPeers, this.trusted);
  }

  private async loadTrusted(): Promise<void> {
    const entries = await this.deps.node.listdatastore([...KEY_ROOT, 'trust']);
    this.trusted = new Set(entries.map((e) => e.key[3]).filter((k): k is string => k !== undefined && isNodeId(k)));
    this.trustedAt = this.deps.nowMs();
  }

  /** The inbox as stored (cached; `fresh` reads it again). */
  private async entries(fresh = false): Promise<Indexed[]> {
    if (fresh || this.deps.nowMs() - this.indexAt > INDEX_TTL_MS) await this.load();
    return this.index;
  }

  /** Read the inbox index from the datastore (at startup, on rdv-reload, and when stale). */
  async load(): Promise<void> {
    const out: Indexed[] = [];
    for (const e of await this.deps.node.listdatastore([...KEY_ROOT, 'inbox'])) {
      if (e.string === undefined) continue;
      try {
        const entry = parseInbox(e.string);
        const d = decodeBolt11(entry.bolt11);
        out.push({ paymentHash: entry.paymentHash, from: entry.from, receivedAt: entry.receivedAt, expiresAt: d.ok ? d.value.expiresAt : 0, key: e.key });
      } catch {
        // an unreadable entry counts for nothing (rdv inbox shows it)
      }
    }
    this.index = out;
    this.indexAt = this.deps.nowMs();
  }

  private async prune(entries: readonly Indexed[]): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) await this.deps.node.deldatastore(e.key).catch(() => false);
    const gone = new Set(entries.map((e) => e.key.join('/')));
    this.index = this.index.filter((e) => !gone.has(e.key.join('/')));
    this.deps.log('info', `inbox: removed ${entries.length} expired invoice(s)`);
  }

  private async sendAck(to: NodeId, paymentHash: string, accepted: boolean, reason: string | undefined): Promise<void> {
    const msg = encodePassback(reason === undefined ? { kind: 'ack', paymentHash, accepted } : { kind: 'ack', paymentHash, accepted, reason });
    try {
      await this.deps.node.sendcustommsg(to, msg);
    } catch (e) {
      this.deps.log('info', `could not acknowledge to ${to}: ${(e as Error).message}`);
    }
  }

  /**
   * The next acknowledgement stored for `paymentHash` (see storeAck), or undefined
   * after `timeoutMs`: what a delivery of ours waits for, told at once instead of
   * reading the datastore again and again. Call it before sending.
   */
  hearAck(paymentHash: string, timeoutMs: number): Promise<AckHeard | undefined> {
    return new Promise((resolve) => {
      const waiting = this.ackWaiters.get(paymentHash) ?? new Set<(ack: AckHeard) => void>();
      this.ackWaiters.set(paymentHash, waiting);
      const done = (ack: AckHeard | undefined): void => {
        clearTimeout(timer);
        waiting.delete(tell);
        if (waiting.size === 0 && this.ackWaiters.get(paymentHash) === waiting) this.ackWaiters.delete(paymentHash);
        resolve(ack);
      };
      const tell = (ack: AckHeard): void => done(ack);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      waiting.add(tell);
    });
  }

  /** An ack for a hash we passed back, stored only if it comes from the node we passed it to. */
  private async storeAck(from: NodeId, paymentHash: string, accepted: boolean, reason: string | undefined): Promise<void> {
    const passed = (await this.deps.node.listdatastore(passedKey(paymentHash))).find((e) => e.key.length === 4)?.string;
    const to = passedTo(passed);
    if (to !== from) {
      this.counters.acks_dropped++;
      const why = to === undefined ? `we passed no invoice for ${shortHash(paymentHash)} to anyone` : `we passed ${shortHash(paymentHash)} to ${to}, not to it`;
      this.notice(`ack:${from}`, () => this.deps.log('warn', `dropped an acknowledgement from ${from}: ${why}`));
      return;
    }
    const value = JSON.stringify({ version: 1, from, accepted, reason, at: this.deps.now() });
    await this.deps.node.datastoreUpsert(ackKey(paymentHash), value);
    this.counters.acks_stored++;
    const waiting = this.ackWaiters.get(paymentHash);
    if (waiting) for (const tell of [...waiting]) tell(reason === undefined ? { accepted } : { accepted, reason });
    this.deps.log('info', `${from} ${accepted ? 'stored' : 'refused'} our invoice ${shortHash(paymentHash)}${reason ? `: ${reason}` : ''}`);
  }
}

/** The node a `passed` record names, if it reads. */
export function passedTo(text: string | undefined): NodeId | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (!isObject(v)) return undefined;
    const to = Reader.of(v, 'passed').str('to');
    return isNodeId(to) ? to : undefined;
  } catch {
    return undefined;
  }
}
