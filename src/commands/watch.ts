/**
 * `rdv watch`: is the relay plugin loaded (and as important-plugin)? Offer to
 * start it; then a live view of relays until q or Ctrl-C, which leaves the
 * plugin running: full screen on a terminal, one line per change otherwise,
 * one JSON event per line with `--json`. `--once` prints one view.
 */
import { ShapeError } from '../chain/read.js';
import { failedError, inputError, RdvError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { inquirerPrompter } from '../prompts/prompter.js';
import type { Output } from '../ui/output.js';
import { FullScreen } from '../ui/screen.js';
import { renderFrame } from '../ui/watch-frame.js';
import { changes, dashboardRows, DASHBOARD_HEADER, readSnapshot, statusParams, type Snapshot } from '../ui/watch-view.js';
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
    await watch(node, out, { mode: modeOf(g, opts, out), intervalMs, warnings: pluginWarnings(plugin) });
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
    return readSnapshot(await node.rpc.call('rdv-status', statusParams(localDayStart(Math.floor(Date.now() / 1000)))));
  } catch (e) {
    if (e instanceof RdvError) throw e;
    if (e instanceof ShapeError) throw failedError(`the rdv plugin answered rdv-status oddly: ${e.message}`);
    throw failedError(`the rdv plugin did not answer rdv-status: ${(e as Error).message}`);
  }
}

/**
 * json: one event per change; lines: one text line per change (no terminal);
 * list: every relay once (--once, no terminal); frame: one screenful (--once);
 * screen: the full-screen view until q.
 */
type Mode = 'json' | 'lines' | 'list' | 'frame' | 'screen';

function modeOf(g: GlobalOptions, opts: WatchOptions, out: Output): Mode {
  if (g.json) return 'json';
  if (!out.tty) return opts.once ? 'list' : 'lines';
  return opts.once ? 'frame' : 'screen';
}

interface WatchPlan {
  mode: Mode;
  intervalMs: number;
  warnings: string[];
}

async function watch(node: LightningNode, out: Output, plan: WatchPlan): Promise<void> {
  const { mode } = plan;
  let stop = false;
  let wake: () => void = () => undefined;
  const onStop = (): void => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  const screen = mode === 'screen' ? new FullScreen(out.streams.stdout) : undefined;
  let previous: Snapshot | undefined;
  const frame = (s: Snapshot, spare = 0): string[] => {
    const now = Math.floor(Date.now() / 1000);
    const size = terminalSize(out);
    return renderFrame(s, { columns: size.columns, rows: size.rows - spare, now, dayStart: localDayStart(now), warnings: plan.warnings, paint: out.c });
  };
  // A resize redraws at once from the last snapshot, without asking the plugin again.
  const onResize = (): void => {
    screen?.invalidate();
    if (previous) screen?.draw(frame(previous));
  };
  let keysOff: () => void = () => undefined;
  if (screen) {
    screen.enter();
    keysOff = onKeys(onStop);
    out.streams.stdout.on('resize', onResize);
  }
  try {
    for (;;) {
      const s = await snapshot(node);
      if (mode !== 'screen' && !s.relaying && previous?.relaying !== false) out.warn(`the rdv plugin is loaded but not relaying: ${s.reason ?? 'unknown reason'}`);
      switch (mode) {
        case 'json':
          for (const e of changes(previous, s)) out.json({ ...e, at: Math.floor(Date.now() / 1000) });
          break;
        case 'lines':
          for (const e of changes(previous, s)) out.result(`${new Date().toISOString().slice(11, 19)}  ${e.payment_hash.slice(0, 8)}  ${e.state}  held ${e.held_parts}${e.outgoing ? `  outgoing ${e.outgoing}` : ''}${e.last_error ? `  ${e.last_error}` : ''}`);
          break;
        case 'list':
          list(out, s);
          break;
        case 'frame':
          // One line spare for the shell's prompt after it.
          for (const line of frame(s, 1)) out.result(line);
          break;
        case 'screen':
          screen?.draw(frame(s));
          break;
      }
      previous = s;
      if (mode === 'list' || mode === 'frame' || stop) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, plan.intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (stop) break;
    }
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    out.streams.stdout.off('resize', onResize);
    keysOff();
    screen?.leave();
  }
  if (stop && mode !== 'json') out.info(`${mode === 'screen' ? '' : '\n'}stopped watching; the rdv plugin keeps relaying inside lightningd`);
}

/** q, Ctrl-C or Ctrl-D on the terminal stop the view (raw mode: Ctrl-C is a key, not SIGINT). */
function onKeys(quit: () => void): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => undefined;
  const onData = (d: Buffer): void => {
    if (/[qQ\u0003\u0004]/.test(d.toString('latin1'))) quit();
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
}

/** The terminal's size; 80x24 when it says 0 (some pseudo-terminals do). */
function terminalSize(out: Output): { columns: number; rows: number } {
  const s = out.streams.stdout as { columns?: number; rows?: number };
  return { columns: s.columns && s.columns > 0 ? s.columns : 80, rows: s.rows && s.rows > 0 ? s.rows : 24 };
}

/** Unix time of the local midnight that began the day of `now`. */
function localDayStart(now: number): number {
  const d = new Date(now * 1000);
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

/** Every relay, one row each (no terminal to fit). */
function list(out: Output, s: Snapshot): void {
  const rows = dashboardRows(s, Math.floor(Date.now() / 1000));
  if (rows.length === 0) out.result('no relays yet: join a chain with rdv join');
  else out.table(DASHBOARD_HEADER, rows);
}
