/**
 * Nodes stopped and started by faults, for both soaks: one lifecycle fault at a
 * time per node (a second one meanwhile is skipped), a node down for the fault's
 * time (outage), and started again as an operator would, trying again if it does
 * not come up.
 */
import type { FaultPlan } from './plan.js';
import { skipFault, sleep, errorText, type PaymentRun } from './run.js';

/** What the soak needs of a node (simulated or real) to stop and start it. */
export interface SoakNode {
  readonly name: string;
  readonly up: boolean;
  start(): Promise<void>;
  crash(): Promise<void>;
}

export interface LifecycleOptions {
  /** Milliseconds into the soak, for notes. */
  now: () => number;
  /** A start that failed, said where the soak says things. */
  log: (line: string) => void;
  /** The wait before start attempt n + 1 is n times this. */
  retryMs: number;
  /** A node came up again. */
  started?: (node: SoakNode) => void;
}

/** A node that does not come up after this many attempts is the soak's failure. */
const START_ATTEMPTS = 5;

export class Lifecycle {
  /** Nodes a lifecycle fault is working on. */
  private readonly busy = new Set<string>();

  constructor(private readonly o: LifecycleOptions) {}

  busyNames(): string[] {
    return [...this.busy];
  }

  /** Run a lifecycle fault on `node` unless another one is working on it or it is down (then the fault is skipped). */
  exclusive(run: PaymentRun, f: FaultPlan, node: SoakNode, fn: () => Promise<void>): Promise<void> {
    return this.whenFree(node, fn, (why) => skipFault(run, f, why));
  }

  /**
   * A node down for a while (kill_rdv, crash, restart...): unless another
   * lifecycle fault works on `node` or it is down, `takeDown` notes the fault and
   * takes the node down, and `f.ms` later the node is started again. `takeDown`
   * returns false when it did not (it skipped the fault, saying why).
   */
  outage(run: PaymentRun, f: FaultPlan, node: SoakNode, takeDown: () => Promise<boolean>): Promise<void> {
    return this.exclusive(run, f, node, async () => {
      if (!(await takeDown())) return;
      await sleep(f.ms);
      await this.startNode(node, run);
    });
  }

  /** Run `fn` with `node` marked busy, or call `refused` if it is busy or down. */
  async whenFree(node: SoakNode, fn: () => Promise<void>, refused: (why: string) => void): Promise<void> {
    if (this.busy.has(node.name)) return refused(`${node.name} is already being restarted`);
    if (!node.up) return refused(`${node.name} is down`);
    this.busy.add(node.name);
    try {
      await fn();
    } finally {
      this.busy.delete(node.name);
    }
  }

  /** Start a node after a fault, trying again (after killing what is left) if it does not start; throws after the last attempt. */
  async startNode(node: SoakNode, run?: PaymentRun): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await node.start();
        this.o.started?.(node);
        return;
      } catch (e) {
        const line = `${this.o.now()} ${node.name} did not start (attempt ${attempt}): ${errorText(e)}`;
        run?.notes.push(line);
        this.o.log(line);
        if (attempt >= START_ATTEMPTS) throw e;
        await node.crash().catch(() => undefined);
        await sleep(this.o.retryMs * attempt);
      }
    }
  }
}
