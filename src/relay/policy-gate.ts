/**
 * The counts behind the policies' bounds, in the plugin's memory: each policy's
 * recent joins (for --max-per-minute), its joins under way, and the deliveries of
 * our invoices running across the plugin. Open relays are counted from the records
 * the relay runner holds, so a restart forgets only the rate window. The decision
 * is src/chain/policy.ts admitJoin's; every way a join reaches a policy goes
 * through the one gate the plugin makes.
 */
import { isLastPolicy, type LastPolicy, type Policy } from '../chain/policy/policy.js';
import { admitJoin, joinsInWindow } from '../chain/policy/decide.js';
import { ok, type Result } from '../errors.js';

export interface GateDeps {
  /** Milliseconds. */
  nowMs: () => number;
  /** Relays joined by the policy that are open and unexpired (for a last-payee policy: its invoices unpaid and unexpired), as the runner holds them. */
  openJoinedBy: (policyId: string) => number;
}

/** A join let through: say when it ends, and when its delivery ends. */
export interface JoinTicket {
  /** The join ended: its record written and handed to the runner (which counts it from now on), or nothing written. Idempotent. */
  end(): void;
  /** Its delivery to --pass-to ended, or will not happen. Idempotent. */
  endDelivery(): void;
}

/** For rdv-status (a type, not an interface, so that it is JSON). */
export type GateStats = {
  joins_under_way: number;
  deliveries: number;
};

export class PolicyGate {
  private readonly joins = new Map<string, number[]>();
  private readonly underWay = new Map<string, number>();
  private deliveries = 0;

  constructor(private readonly deps: GateDeps) {}

  /**
   * Let a join by `policy` begin, counted, or say why not (and count nothing).
   * `delivers`: our invoice then goes to --pass-to (a pass-back's join by a policy
   * with one; never an invoice request's, whose answer is the delivery).
   */
  admit(policy: Policy | LastPolicy, options: { delivers?: boolean } = {}): Result<JoinTicket> {
    const nowMs = this.deps.nowMs();
    this.forgetOld(nowMs);
    const recent = joinsInWindow(this.joins.get(policy.id) ?? [], nowMs);
    const open = this.deps.openJoinedBy(policy.id) + (this.underWay.get(policy.id) ?? 0);
    const delivers = options.delivers ?? (!isLastPolicy(policy) && policy.passTo !== undefined);
    const decided = admitJoin(policy, { open, recentJoinsMs: recent, deliveries: this.deliveries }, nowMs, delivers);
    if (!decided.ok) return decided;
    this.joins.set(policy.id, [...recent, nowMs]);
    this.underWay.set(policy.id, (this.underWay.get(policy.id) ?? 0) + 1);
    if (delivers) this.deliveries++;
    let joining = true;
    let delivering = delivers;
    return ok({
      end: () => {
        if (!joining) return;
        joining = false;
        const left = (this.underWay.get(policy.id) ?? 1) - 1;
        if (left > 0) this.underWay.set(policy.id, left);
        else this.underWay.delete(policy.id);
      },
      endDelivery: () => {
        if (!delivering) return;
        delivering = false;
        this.deliveries--;
      },
    });
  }

  stats(): GateStats {
    let underWay = 0;
    for (const n of this.underWay.values()) underWay += n;
    return { joins_under_way: underWay, deliveries: this.deliveries };
  }

  /** Policies with no join in the last minute leave the map (a removed policy's id would stay forever). */
  private forgetOld(nowMs: number): void {
    for (const [id, times] of this.joins) if (joinsInWindow(times, nowMs).length === 0) this.joins.delete(id);
  }
}
