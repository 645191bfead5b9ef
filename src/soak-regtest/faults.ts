/**
 * The regtest soak's faults, made on real lightningd when a payment reaches the
 * phase its plan ties them to (src/simnet/soak/plan.ts, the `regtest`
 * vocabulary). By family:
 *   nodes     kill_rdv (kill -9 of rdv alone: lightningd stops, as for an
 *             important plugin), crash (kill -9 of lightningd), restart (RPC
 *             stop): one at a time per node (src/simnet/soak/lifecycle.ts)
 *   payee     stall (stall-plugin.mjs on invoice_payment; network.ts's valve
 *             releases it), payee_fails (hold-plugin.mjs fails every HTLC for
 *             a while), invoice_deleted
 *   peers     disconnect (force), again whenever the peer is back, while an HTLC is held
 *   chain     block_burst
 * channel_disabled, splice, zeroconf_confirm, late_inject and closing are the
 * simulated network's (src/simnet/soak/faults.ts).
 */
import type { FaultPlan } from '../simnet/soak/plan.js';
import { noteFault, skipFault, sleep } from '../simnet/soak/run.js';
import type { RegtestRun, RegtestSoak } from './network.js';

/** Make fault `f` of `run` on the regtest network, or note why it was skipped. */
export async function injectFault(s: RegtestSoak, run: RegtestRun, f: FaultPlan): Promise<void> {
  const node = s.nodeOf(f.node);
  const note = (on: string, detail: string): void => noteFault(run, f, on, detail, s.now());
  const skip = (why: string): void => skipFault(run, f, why);
  switch (f.kind) {
    case 'kill_rdv':
      return s.nodes.outage(run, f, node, async () => {
        const [plugin] = await node.rdvPluginProcesses();
        if (!plugin) {
          skip('rdv is not running');
          return false;
        }
        note(node.name, `kill -9 rdv (pid ${plugin.pid}): lightningd stops; started again after ${f.ms} ms`);
        await node.killRdvPlugin();
        s.events.push({ type: 'plugin_died', node: node.name });
        if (!(await node.waitDown(30_000))) {
          run.notes.push(`${s.now()} ${node.name}'s lightningd did not stop within 30 s of its important plugin's death: killed`);
          s.events.push({ type: 'lightningd_outlived_important_plugin', node: node.name });
        }
        await node.crash();
        return true;
      });
    case 'crash':
      return s.nodes.outage(run, f, node, async () => {
        note(node.name, `kill -9 lightningd (pid ${node.pid ?? '?'}); started again after ${f.ms} ms`);
        await node.crash();
        return true;
      });
    case 'restart':
      return s.nodes.outage(run, f, node, async () => {
        note(node.name, `lightningd stops cleanly (RPC stop); started again after ${f.ms} ms`);
        await node.stop();
        return true;
      });
    case 'stall': {
      if (!s.carol.up) return skip('carol is down');
      await s.stall(run, f.ms, f.blocks);
      note('carol', f.blocks > 0 ? `Carol stalls the payment for ${f.blocks} block(s) (at most ${f.ms} ms)` : `Carol stalls the payment for ${f.ms} ms`);
      return;
    }
    case 'payee_fails': {
      if (!s.carol.up) return skip('carol is down');
      await s.carol.rpc.rpc.call('hold-fail', { payment_hash: run.hash });
      s.touched.add(run.hash);
      note('carol', `Carol fails every HTLC of the payment (temporary_node_failure) for ${f.ms} ms`);
      // Not awaited: the payer pays meanwhile.
      run.pending.push(sleep(f.ms).then(() => s.release(run.hash, `Carol takes payments again after failing them for ${f.ms} ms`)));
      return;
    }
    case 'invoice_deleted': {
      if (!s.carol.up) return skip('carol is down');
      // By hash: an offer's invoice has a label lightningd chose, not rdv join --last's.
      const [inv] = await s.carol.rpc.listinvoices({ paymentHash: run.hash });
      if (inv?.status !== 'unpaid') return skip(`Carol's invoice is ${inv?.status ?? 'gone'}`);
      await s.carol.rpc.delinvoice(inv.label, 'unpaid');
      note('carol', `Carol deletes her invoice ${inv.label}`);
      return;
    }
    case 'disconnect': {
      const peer = f.channel === 'alice-bob' ? s.bob : s.carol;
      if (!node.up || !peer.up) return skip(`${node.name} or ${peer.name} is down`);
      note(node.name, `${node.name} drops ${peer.name} (disconnect force), again whenever they are back, for ${f.ms} ms`);
      const until = Date.now() + f.ms;
      let drops = 0;
      while (Date.now() < until) {
        if (node.up && (await node.rpc.isConnected(peer.id).catch(() => false))) {
          await node.rpc.rpc.call('disconnect', { id: peer.id, force: true }).then(
            () => drops++,
            () => undefined,
          );
        }
        await sleep(100);
      }
      for (let i = 0; i < drops; i++) s.events.push({ type: 'peer_disconnected', node: node.name });
      run.notes.push(`${s.now()} ${f.id}: ${drops} disconnect(s) of ${peer.name} by ${node.name}`);
      return;
    }
    case 'block_burst':
      note('chain', `${f.blocks} blocks mined 15 ms apart from height ${s.height}`);
      await s.mineBlocks(f.blocks, 15);
      return;
    case 'channel_disabled':
    case 'splice':
    case 'zeroconf_confirm':
    case 'late_inject':
    case 'closing':
      // Drawn only for the simulated network (plan vocabulary 'sim').
      return skip('not a fault made on real lightningd');
    case 'payer_retry':
      return;
  }
}
