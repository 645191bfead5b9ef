/**
 * The simulated soak's faults, made when a payment reaches the phase its plan
 * ties them to (plan.ts says what each kind is). By family:
 *   nodes     kill_rdv, crash, restart, closing (Alice down while the payer's
 *             channels go on chain): one at a time per node (lifecycle.ts)
 *   payee     stall (Carol holds the complete payment; network.ts's valve
 *             releases it), invoice_deleted
 *   channels  channel_disabled, late_inject (armed at the start, set off by a
 *             disabled channel), splice and zeroconf_confirm (a new scid, maybe
 *             a restart of the holder so its replay comes under the new name)
 *   chain     block_burst
 * disconnect and payee_fails are real lightningd's (src/soak-regtest/faults.ts).
 */
import type { SimChannel } from '../channel.js';
import { sleep } from '../network.js';
import type { SimNode } from '../node.js';
import type { SimRun, SimSoak } from './network.js';
import type { ChannelName, FaultPlan } from './plan.js';
import { noteFault, skipFault } from './run.js';

/** Make fault `f` of `run` on the simulated network, or note why it was skipped. */
export async function injectFault(s: SimSoak, run: SimRun, f: FaultPlan): Promise<void> {
  const node = s.nodeOf(f.node);
  const note = (on: string, detail: string): void => noteFault(run, f, on, detail, s.now());
  const skip = (why: string): void => skipFault(run, f, why);
  switch (f.kind) {
    case 'kill_rdv':
      return s.nodes.outage(run, f, node, async () => {
        if (!node.plugin?.alive) {
          skip('rdv is not running');
          return false;
        }
        note(node.name, `kill -9 rdv (pid ${node.plugin.pid ?? '?'}): lightningd stops; started again after ${f.ms} ms`);
        await node.killPlugin('rdv');
        return true;
      });
    case 'crash':
      return s.nodes.outage(run, f, node, async () => {
        note(node.name, `kill -9 lightningd; started again after ${f.ms} ms`);
        await node.crash();
        return true;
      });
    case 'restart':
      return s.nodes.outage(run, f, node, async () => {
        note(node.name, `lightningd stops cleanly; started again after ${f.ms} ms`);
        await node.stopCleanly(2_000);
        return true;
      });
    case 'stall': {
      s.stall(run, f.ms, f.blocks);
      note('carol', f.blocks > 0 ? `Carol stalls the payment for ${f.blocks} block(s) (at most ${f.ms} ms)` : `Carol stalls the payment for ${f.ms} ms`);
      return;
    }
    case 'invoice_deleted': {
      const inv = s.carol.invoices.byHash(run.hash);
      if (!inv || inv.status !== 'unpaid') return skip(`Carol's invoice is ${inv?.status ?? 'gone'}`);
      s.carol.invoices.delete(inv.label, 'unpaid');
      note('carol', `Carol deletes her invoice ${inv.label}`);
      return;
    }
    case 'channel_disabled':
    case 'late_inject': {
      const ch = channelOf(s, run, f.channel ?? 'bob-carol');
      const extra = f.kind === 'late_inject' ? ` so ${node.name}'s xpay fails; its late part comes ${f.afterMs} ms after the failure` : '';
      note(node.name, `channel ${f.channel ?? ''} (${ch.label}) disabled for ${f.ms} ms${extra}`);
      s.disable(ch);
      await sleep(f.ms);
      s.enable(ch);
      return;
    }
    case 'splice': {
      const ch = channelOf(s, run, f.channel ?? 'alice-bob');
      if (!heldOn(s, ch, run.hash)) return skip(`no HTLC of this payment on ${f.channel ?? ''}`);
      const old = ch.label;
      const scid = ch.splice();
      note(node.name, `splice of ${f.channel ?? ''} confirms: ${old} -> ${scid}${f.thenRestart ? `; ${node.name} restarts after ${f.ms} ms` : ''}`);
      if (f.thenRestart) await restartHolder(s, run, f, node);
      return;
    }
    case 'zeroconf_confirm': {
      const unconfirmed = run.payerChannels.filter((ch) => ch.scid === undefined && heldOn(s, ch, run.hash));
      if (unconfirmed.length === 0) return skip('no unconfirmed payer channel holds an HTLC of this payment');
      const names = unconfirmed.map((ch) => `${ch.label} -> ${ch.confirm()}`);
      note('alice', `zero-conf channel(s) confirm: ${names.join(', ')}${f.thenRestart ? `; alice restarts after ${f.ms} ms` : ''}`);
      if (f.thenRestart) await restartHolder(s, run, f, s.alice);
      return;
    }
    case 'block_burst':
      note('chain', `${f.blocks} blocks mined 15 ms apart from height ${s.net.height}`);
      await s.mineBlocks(f.blocks, 15);
      return;
    case 'closing':
      return s.nodes.outage(run, f, s.alice, async () => {
        if (!run.payerChannels.some((ch) => heldOn(s, ch, run.hash))) {
          skip('no HTLC of this payment on the payer channels');
          return false;
        }
        note('alice', `alice crashes; meanwhile the payer's channel(s) go on chain (AWAITING_UNILATERAL); alice starts again after ${f.ms} ms`);
        await s.alice.crash();
        for (const ch of run.payerChannels) ch.state = 'AWAITING_UNILATERAL';
        return true;
      });
    case 'payer_retry':
      return;
    case 'disconnect':
    case 'payee_fails':
      // Drawn only for real lightningd (plan vocabulary 'regtest').
      return skip('not a fault of the simulated network');
  }
}

/** Before the payment: xpay's late inject armed on the node of each late_inject fault (it fires on the failure the fault causes later). */
export function armLateInjects(s: SimSoak, run: SimRun): void {
  for (const f of run.plan.faults.filter((x) => x.kind === 'late_inject')) {
    const node = s.nodeOf(f.node);
    const value = { afterMs: f.afterMs };
    node.payer.lateInject = value;
    run.armed.push({ node, value });
  }
}

/** At the payment's end: its late injects disarmed, unless another payment armed its node since. */
export function disarmLateInjects(run: SimRun): void {
  for (const { node, value } of run.armed) if (node.payer.lateInject === value) node.payer.lateInject = undefined;
}

function channelOf(s: SimSoak, run: SimRun, name: ChannelName): SimChannel {
  if (name === 'alice-bob') return s.aliceBob;
  if (name === 'bob-carol') return s.bobCarol;
  // The payer's channel carrying an HTLC of this payment, else its first.
  const holding = run.payerChannels.find((ch) => s.net.htlcsOn(ch).some((x) => x.incoming.paymentHash === run.hash));
  return holding ?? (run.payerChannels[0] as SimChannel);
}

function heldOn(s: SimSoak, ch: SimChannel, hash: string): boolean {
  return s.net.htlcsOn(ch).some((x) => x.incoming.paymentHash === hash);
}

/** After a channel got a new name: crash the node holding an HTLC on it, so the replay comes under the new name. */
async function restartHolder(s: SimSoak, run: SimRun, f: FaultPlan, node: SimNode): Promise<void> {
  await s.nodes.whenFree(
    node,
    async () => {
      await node.crash();
      await sleep(f.ms);
      await s.nodes.startNode(node, run);
    },
    () => run.notes.push(`${s.now()} ${f.id}: ${node.name} was not restarted (already down or restarting)`),
  );
}
