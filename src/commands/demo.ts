/**
 * `rdv demo`: a whole rendez-vous in one command. A payer and k payees on the
 * simulated network (default), or with --regtest on real lightningd and
 * bitcoind, using the same rdv commands a user types; then who received what
 * and how long each step took. --policy: the relays join by policy; --serve:
 * every payee has a policy and a wallet pays the first one's Lightning Address
 * (rdv serve), so the chain is asked for on demand (src/demo/serve-story.ts).
 */
import { formatAmount, msat } from '../chain/amount.js';
import { failedError, inputError, usageError } from '../errors.js';
import { regtestNetwork, simulatedNetwork, type DemoNetwork } from '../demo/network.js';
import { tellServeStory, type ServeStoryResult } from '../demo/serve-story.js';
import { tellStory, type StoryResult } from '../demo/story.js';
import type { Output } from '../ui/output.js';
import { makeOutput, type GlobalOptions } from './context.js';
import { ownExecutable } from './plugin-check.js';

export interface DemoOptions {
  payees?: string;
  sim?: boolean;
  regtest?: boolean;
  keep?: boolean;
  policy?: boolean;
  serve?: boolean;
}

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

export async function run(g: GlobalOptions, opts: DemoOptions): Promise<void> {
  const out = makeOutput(g);
  const k = Number(opts.payees ?? '3');
  if (!Number.isInteger(k) || k < 1 || k > NAMES.length) throw inputError(`--payees must be a whole number from 1 to ${NAMES.length}`);
  if (opts.keep && !opts.regtest) throw usageError('--keep is for --regtest');
  if (opts.serve && opts.policy) throw usageError('--serve and --policy are two stories: give one');
  if (opts.serve && k < 2) throw inputError('--serve needs at least 2 payees: the first serves the Lightning Address, the last answers its requests');
  // The payer's node runs rdv only for --policy (its inbox gets the first invoice); with --serve the payer is a wallet.
  const setup = { payees: NAMES.slice(0, k), rdvPath: ownExecutable(), keep: opts.keep === true, policy: opts.policy === true };
  let net: DemoNetwork;
  if (opts.regtest) {
    const r = await regtestNetwork(setup, (line) => out.info(out.c.dim(line)));
    if (!r.ok) throw failedError(`cannot run on regtest: ${r.error} (or leave out --regtest to use the simulated network)`);
    net = r.value;
  } else {
    net = await simulatedNetwork(setup);
  }
  let result: StoryResult;
  let served: ServeStoryResult | undefined;
  try {
    out.info(out.c.bold(`rdv demo: ${k} payee(s) paid by one payment${opts.serve ? ', asked for by a wallet paying a Lightning Address' : ''}, on ${net.description}`));
    out.info(`payer -> ${net.payees.map((p) => p.name).join(' -> ')}\n`);
    let n = 0;
    const story = {
      rdvPath: setup.rdvPath,
      lastAmount: '100000sat',
      policy: opts.policy === true,
      say: (line: string) => out.info(out.c.bold(`[${++n}] ${line}`)),
      command: (line: string) => out.info(`    ${out.c.cyan(line)}`),
      detail: (line: string) => out.info(`    ${line}`),
    };
    if (opts.serve) result = served = await tellServeStory(net, story);
    else result = await tellStory(net, story);
  } finally {
    // With --keep, stop() only lets go of the nodes (their RPC connections), so we can exit.
    await net.stop();
  }
  if (g.json) {
    out.json({
      network: result.network,
      payment_hash: result.paymentHash,
      settled: result.payeesSettled,
      payer_paid_msat: result.payerPaidMsat,
      payees: result.outcomes.map((p) => ({ name: p.name, role: p.role, received_msat: p.receivedMsat, paid_on_msat: p.paidOnMsat, kept_msat: p.keptMsat })),
      steps: result.steps.map((s) => ({ name: s.name, ms: s.ms })),
      total_ms: result.totalMs,
      ...(served ? { lightning_address: served.lightningAddress, verified: served.verified } : {}),
      ...(opts.keep ? { kept: { nodes: [net.payer, ...net.payees].map((n) => ({ name: n.name, lightning_dir: n.dir })), pids: net.pids() } } : {}),
    });
  } else {
    summary(out, result);
    if (opts.keep) keptNote(out, net);
  }
  if (!result.payeesSettled) throw failedError(`the demo did not settle for every payee${served && !served.verified ? ', or LUD-21 verify did not say so' : ''} (see above)`);
}

function keptNote(out: Output, net: DemoNetwork): void {
  out.info('\nThe nodes keep running (bitcoind and lightningd, 127.0.0.1 only):');
  for (const n of [net.payer, ...net.payees]) out.info(`    ${n.name.padEnd(8)} rdv --lightning-dir ${n.dir} --network regtest status`);
  out.info(`Stop them with: kill ${net.pids().join(' ')}`);
}

function summary(out: Output, r: StoryResult): void {
  const amount = (v: bigint): string => (v === 0n ? '-' : formatAmount(msat(v)));
  out.result('');
  out.result(r.payeesSettled ? out.c.green('Settled: one payment paid every payee.') : out.c.red('Not every payee settled.'));
  out.result('');
  out.table(
    ['WHO', 'RECEIVED', 'PAID ON', 'KEPT'],
    [['payer', '-', amount(r.payerPaidMsat), '-'], ...r.outcomes.map((p) => [p.name, amount(p.receivedMsat), amount(p.paidOnMsat), amount(p.keptMsat)])],
  );
  out.result('');
  out.table(['STEP', 'TIME'], [...r.steps.map((s) => [s.name, `${s.ms} ms`]), ['total', `${(r.totalMs / 1000).toFixed(1)} s`]]);
  if (r.network === 'simulated') out.info(out.c.dim('\n(simulated network: run rdv demo --regtest with lightningd and bitcoind installed for the real thing)'));
}
