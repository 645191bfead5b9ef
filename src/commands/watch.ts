/**
 * `rdv watch`: is the relay plugin loaded (and as important-plugin)? Offer to
 * start it; then a live view of relays until Ctrl-C, which leaves the plugin
 * running. `--json` streams one event per line; `--once` prints one view.
 */
import { ShapeError } from '../chain/read.js';
import { failedError, inputError, RdvError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { inquirerPrompter } from '../prompts/prompter.js';
import type { Output } from '../ui/output.js';
import { changes, dashboardRows, DASHBOARD_HEADER, readSnapshot, type Snapshot } from '../ui/watch-view.js';
import { connectNode, makeOutput, type GlobalOptions } from './context.js';
import { guardExecutable, guardFor, ownExecutable, pluginsState, pluginWarnings, type Plugins } from './plugin-check.js';

export interface WatchOptions {
  start?: boolean;
  once?: boolean;
  interval?: string;
}

export async function run(g: GlobalOptions, opts: WatchOptions): Promise<void> {
  const out = makeOutput(g);
  const intervalMs = Number(opts.interval ?? '1000');
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 60_000) throw inputError('--interval must be a whole number of milliseconds from 100 to 60000');
  const node = await connectNode(g);
  try {
    const plugin = await ensurePlugin(node, out, opts);
    out.json({ event: 'plugin', loaded: plugin.rdv.loaded, important: plugin.rdv.important, path: plugin.rdv.path ?? null, guard: plugin.guard.loaded });
    await watch(node, out, g, opts, intervalMs);
  } finally {
    node.close();
  }
}

async function ensurePlugin(node: LightningNode, out: Output, opts: WatchOptions): Promise<Plugins> {
  const none = { loaded: false, active: false, path: undefined, important: false };
  let state: Plugins = (await pluginsState(node)) ?? { rdv: none, guard: none };
  const missing = [...(state.rdv.loaded ? [] : [ownExecutable()]), ...(state.guard.loaded ? [] : [guardFor(state.rdv.path)])];
  if (missing.length > 0) {
    if (!state.rdv.loaded) out.warn('the rdv plugin is not loaded in this lightningd: nothing relays payments to your rdv invoices');
    else out.warn('rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them');
    const ask = `Start ${missing.map((p) => `plugin start ${p}`).join(' and ')}?`;
    const start = opts.start === true || (out.interactive && (await inquirerPrompter().confirm({ message: ask, default: true })));
    if (!start) {
      throw failedError(`not started: load them with important-plugin=${ownExecutable()} and important-plugin=${guardExecutable()} in lightningd's config (safest), or run rdv watch --start`);
    }
    // rdv first: rdv-guard must come after it in the htlc_accepted chain.
    for (const path of missing) {
      await node.startPlugin(path);
      out.info(out.c.green(`started ${path}`));
    }
    state = (await pluginsState(node)) ?? state;
  }
  for (const w of pluginWarnings(state)) out.warn(w);
  if (state.rdv.important && state.guard.loaded) out.info(out.c.green(`rdv is loaded as an important plugin (${state.rdv.path ?? ''}), with rdv-guard`));
  return state;
}

async function snapshot(node: LightningNode): Promise<Snapshot> {
  try {
    return readSnapshot(await node.rpc.call('rdv-status', {}));
  } catch (e) {
    if (e instanceof RdvError) throw e;
    if (e instanceof ShapeError) throw failedError(`the rdv plugin answered rdv-status oddly: ${e.message}`);
    throw failedError(`the rdv plugin did not answer rdv-status: ${(e as Error).message}`);
  }
}

async function watch(node: LightningNode, out: Output, g: GlobalOptions, opts: WatchOptions, intervalMs: number): Promise<void> {
  let stop = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let previous: Snapshot | undefined;
  let drawn = 0;
  try {
    for (;;) {
      const s = await snapshot(node);
      if (!s.relaying && previous?.relaying !== false) out.warn(`the rdv plugin is loaded but not relaying: ${s.reason ?? 'unknown reason'}`);
      if (g.json) {
        for (const e of changes(previous, s)) out.json({ ...e, at: Math.floor(Date.now() / 1000) });
      } else if (opts.once || !out.tty) {
        if (opts.once) render(out, s);
        else for (const e of changes(previous, s)) out.result(`${new Date().toISOString().slice(11, 19)}  ${e.payment_hash.slice(0, 8)}  ${e.state}  held ${e.held_parts}${e.outgoing ? `  outgoing ${e.outgoing}` : ''}${e.last_error ? `  ${e.last_error}` : ''}`);
      } else {
        if (drawn > 0) out.streams.stdout.write(`\u001b[${drawn}F\u001b[J`);
        drawn = render(out, s) + 1;
        out.result(out.c.dim(`block ${s.blockheight} · Ctrl-C stops watching; rdv keeps relaying inside lightningd`));
      }
      previous = s;
      if (opts.once || stop) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (stop) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stop && !g.json) out.info('\nstopped watching; the rdv plugin keeps relaying inside lightningd');
}

/** Prints the dashboard; returns how many lines it took. */
function render(out: Output, s: Snapshot): number {
  const rows = dashboardRows(s, Math.floor(Date.now() / 1000));
  if (rows.length === 0) {
    out.result('no relays yet: join a chain with rdv join');
    return 1;
  }
  out.table(DASHBOARD_HEADER, rows);
  return rows.length + 1;
}
