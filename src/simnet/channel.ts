/**
 * A simulated channel with lightningd's notion of identity (lightningd/channel.c):
 * a fixed channel_id, a real short_channel_id that a zero-conf channel lacks
 * until it confirms and that a splice replaces, and one local alias per side
 * (the alias one side picked is the other side's remote alias). A channel
 * knows its two ends only by their ids; what they are is the owner's type
 * (`SimChannel<SimNode>` in the network, `SimChannel<Peer>` as a node sees it).
 */
import { createHash } from 'node:crypto';
import type { NodeId } from '../chain/ids.js';

export interface ChannelPolicy {
  feeBaseMsat: bigint;
  feePpm: bigint;
  cltvDelta: number;
}

export const DEFAULT_POLICY: ChannelPolicy = { feeBaseMsat: 1000n, feePpm: 10n, cltvDelta: 34 };

/** lightningd's channel states (lightningd/channel_state.h) that a simulated channel can be in. */
export type ChannelState =
  | 'CHANNELD_NORMAL'
  | 'CHANNELD_AWAITING_SPLICE'
  | 'CHANNELD_SHUTTING_DOWN'
  | 'CLOSINGD_SIGEXCHANGE'
  | 'CLOSINGD_COMPLETE'
  | 'AWAITING_UNILATERAL'
  | 'FUNDING_SPEND_SEEN'
  | 'ONCHAIN';

/** channel_state_can_add_htlc (lightningd/channel.h): only a normal (or splicing) channel takes new HTLCs. */
export function canAddHtlc(state: ChannelState): boolean {
  return state === 'CHANNELD_NORMAL' || state === 'CHANNELD_AWAITING_SPLICE';
}

/** The parts of the network a channel needs: fresh real scids and aliases. */
export interface ChannelMint {
  realScid(): string;
  alias(): string;
}

/** What a channel needs of the nodes at its ends: their ids. */
export interface ChannelEnd {
  readonly id: NodeId;
}

/** Something with a node id (a SimNode, or the id itself). */
export type NodeRef = ChannelEnd | NodeId;
const idOf = (n: NodeRef): NodeId => (typeof n === 'string' ? n : n.id);

export class SimChannel<N extends ChannelEnd = ChannelEnd> {
  readonly balance = new Map<NodeId, bigint>();
  readonly policy = new Map<NodeId, ChannelPolicy>();
  private readonly nextId = new Map<NodeId, bigint>();
  /** Each side's local alias: what that side calls the channel while it has no real scid. */
  private readonly aliases = new Map<NodeId, string>();
  /**
   * Real scids an announced channel had before a splice: lightningd keeps
   * recognising them for forwards (channel_add_old_scid; not for unannounced
   * channels). The hook and listpeerchannels only ever show the current one.
   */
  private readonly oldScids: string[] = [];
  enabled = true;
  state: ChannelState = 'CHANNELD_NORMAL';
  readonly channelId: string;
  /** The funding transaction's id (made up, fixed per channel). */
  readonly fundingTxid: string;
  readonly openedAt: number;

  constructor(
    private realScid: string | undefined,
    readonly a: N,
    readonly b: N,
    readonly capacityMsat: bigint,
    readonly isPrivate: boolean,
    counter: number,
    private readonly mint: ChannelMint,
    readonly opener: NodeId = a.id,
  ) {
    this.channelId = createHash('sha256').update(`rdv-simnet:channel:${counter}`).digest('hex');
    this.fundingTxid = createHash('sha256').update(`rdv-simnet:funding:${counter}`).digest('hex');
    this.aliases.set(a.id, mint.alias());
    this.aliases.set(b.id, mint.alias());
    this.openedAt = Math.floor(Date.now() / 1000);
  }

  /** The real short_channel_id, or undefined for a zero-conf channel not yet confirmed. */
  get scid(): string | undefined {
    return this.realScid;
  }

  /** `n`'s local alias for this channel. */
  localAlias(n: NodeRef): string {
    return this.aliases.get(idOf(n)) ?? '';
  }

  /** `n`'s remote alias: the alias the other side chose. */
  remoteAlias(n: NodeRef): string {
    return this.localAlias(this.other(n).id);
  }

  /** channel_scid_or_local_alias: how `n` names this channel in hooks and errors. */
  scidFor(n: NodeRef): string {
    return this.realScid ?? this.localAlias(n);
  }

  /** Every name `n`'s lightningd finds this channel by (any_channel_by_scid): real, old public, and its local alias. */
  knownAs(n: NodeRef, scid: string): boolean {
    if (!this.has(n)) return false;
    return scid === this.realScid || scid === this.localAlias(n) || this.oldScids.includes(scid);
  }

  /** Any name either side uses (for tests and for callers that do not say whose view). */
  anyName(scid: string): boolean {
    return scid === this.realScid || [...this.aliases.values()].includes(scid) || this.oldScids.includes(scid);
  }

  /** A label for logs and events. */
  get label(): string {
    return this.realScid ?? `alias:${this.localAlias(this.a)}`;
  }

  /** The funding transaction confirms: a zero-conf channel gets its real scid. Returns it. */
  confirm(): string {
    this.realScid ??= this.mint.realScid();
    return this.realScid;
  }

  /**
   * A splice confirms: the channel gets a new real scid (channel_control.c
   * depthcb_update_scid -> change_scid). An announced channel still forwards
   * over the old one; an unannounced one forgets it. Returns the new scid.
   */
  splice(): string {
    const old = this.realScid;
    this.realScid = this.mint.realScid();
    if (old !== undefined && !this.isPrivate) this.oldScids.push(old);
    return this.realScid;
  }

  canAddHtlc(): boolean {
    return canAddHtlc(this.state);
  }

  other(n: NodeRef): N {
    return idOf(n) === this.a.id ? this.b : this.a;
  }

  has(n: NodeRef): boolean {
    const id = idOf(n);
    return id === this.a.id || id === this.b.id;
  }

  spendable(from: NodeId): bigint {
    return this.enabled && this.canAddHtlc() ? (this.balance.get(from) ?? 0n) : 0n;
  }

  takeHtlcId(from: NodeId): bigint {
    const id = this.nextId.get(from) ?? 0n;
    this.nextId.set(from, id + 1n);
    return id;
  }
}

/**
 * A CLN-looking random alias (random_scid in bitcoin/short_channel_id.c is 8
 * random bytes), derived from a counter so runs repeat: "10503233x174532x55000".
 * The block part is kept at 2^23 or more so it never equals a real scid here.
 */
export function aliasFromCounter(counter: number): string {
  const h = createHash('sha256').update(`rdv-simnet:alias:${counter}`).digest();
  const block = 0x800000 | h.readUIntBE(0, 3);
  const tx = h.readUIntBE(3, 3);
  const out = h.readUInt16BE(6);
  return `${block}x${tx}x${out}`;
}
