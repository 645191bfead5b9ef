/**
 * The full-screen view of `rdv watch`: one frame, as lines that fit the
 * terminal (never wider than its columns, never more than its rows). Relays in
 * progress first, the most urgent on top; then one line for all the others.
 * Pure: the snapshot, the size and the time come in, lines go out.
 */
import { formatAmount, msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { formatDuration } from '../chain/units.js';
import { cut, fitLine, oneLine, pad, textWidth, type Segment } from './text.js';
import { holdsHtlcs, type RelayRow, type Snapshot, type SnapshotTotals } from './watch-view.js';

/** Colours (a chalk instance fits); each must leave the width of its text alone. */
export interface Paint {
  bold: (s: string) => string;
  dim: (s: string) => string;
  red: (s: string) => string;
  yellow: (s: string) => string;
}

const NO_PAINT: Paint = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s };

export interface FrameOptions {
  columns: number;
  rows: number;
  /** Unix time now, seconds. */
  now: number;
  /** Unix time the local day began ("settled today"). */
  dayStart: number;
  /** Plugin warnings (not important, no rdv-guard): shown under the title while there is room. */
  warnings?: string[];
  paint?: Paint;
}

/** Counts of the relays that are not in progress, and what they earned. */
export interface Tally {
  inProgress: RelayRow[];
  settledToday: number;
  settled: number;
  earnedTodayMsat: bigint;
  earnedMsat: bigint;
  failed: number;
  expired: number;
  waiting: number;
}

/**
 * One pass over the relays (a last payee's records are lightningd's business).
 * The plugin's totals, when it gives them, count what it does not list.
 */
export function tally(rows: RelayRow[], dayStart: number, totals?: SnapshotTotals): Tally {
  const t: Tally = { inProgress: [], settledToday: 0, settled: 0, earnedTodayMsat: 0n, earnedMsat: 0n, failed: 0, expired: 0, waiting: 0 };
  for (const r of rows) {
    if (r.role !== 'relay') continue;
    if (holdsHtlcs(r)) {
      t.inProgress.push(r);
      continue;
    }
    switch (r.state) {
      case 'settled': {
        const earned = r.earnedMsat ?? 0n;
        t.settled++;
        t.earnedMsat += earned;
        if (r.settledAt !== undefined && r.settledAt >= dayStart) {
          t.settledToday++;
          t.earnedTodayMsat += earned;
        }
        break;
      }
      case 'failed':
        t.failed++;
        break;
      case 'expired':
        t.expired++;
        break;
      default:
        t.waiting++;
    }
  }
  if (!totals) return t;
  const openInProgress = t.inProgress.filter((r) => r.state === 'open').length;
  return {
    ...t,
    settled: totals.byState.settled ?? 0,
    settledToday: totals.recent.settled,
    earnedMsat: totals.earnedMsat,
    earnedTodayMsat: totals.recent.earnedMsat,
    failed: totals.byState.failed ?? 0,
    expired: totals.byState.expired ?? 0,
    waiting: Math.max(0, (totals.byState.open ?? 0) - openInProgress),
  };
}

/** Fewest blocks left first (undefined last), then held longest, then by hash: a stable order. */
export function byUrgency(a: RelayRow, b: RelayRow): number {
  const blocks = (a.blocksToExpiry ?? Infinity) - (b.blocksToExpiry ?? Infinity);
  if (blocks !== 0 && !Number.isNaN(blocks)) return blocks;
  const held = (a.heldSince ?? Infinity) - (b.heldSince ?? Infinity);
  if (held !== 0 && !Number.isNaN(held)) return held;
  return a.paymentHash < b.paymentHash ? -1 : a.paymentHash > b.paymentHash ? 1 : 0;
}

interface Column {
  header: string;
  right?: boolean;
  /** Dropped first when the terminal is narrow: lower goes first; 0 is never dropped. */
  dropOrder: number;
  cell: (r: RelayRow, now: number) => string;
  paint?: (p: Paint) => (s: string) => string;
}

const COLUMNS: Column[] = [
  { header: 'HASH', dropOrder: 0, cell: (r) => shortHash(r.paymentHash) },
  { header: 'STATE', dropOrder: 4, cell: (r) => r.state, paint: (p) => p.yellow },
  { header: 'AMOUNT', right: true, dropOrder: 2, cell: (r) => formatAmount(msat(r.amountMsat)) },
  { header: 'HELD', dropOrder: 3, cell: heldText },
  { header: 'HELD FOR', right: true, dropOrder: 1, cell: (r, now) => (r.heldSince === undefined ? '-' : formatDuration(now - r.heldSince)) },
  { header: 'BLOCKS LEFT', right: true, dropOrder: 0, cell: (r) => (r.blocksToExpiry === undefined ? '-' : String(r.blocksToExpiry)) },
  { header: 'OUTGOING', dropOrder: 0, cell: outgoingText },
];
const GAP = '  ';
/** Room the last column (outgoing, with the error) keeps before other columns are dropped; narrow terminals keep STATE instead. */
const minLast = (width: number): number => (width < 60 ? 8 : Math.floor(width / 4));

function heldText(r: RelayRow): string {
  if (r.heldParts === 0) return '-';
  const parts = r.heldParts === 1 ? '1 part' : `${r.heldParts} parts`;
  return r.heldMsat === r.amountMsat ? parts : `${parts}, ${formatAmount(msat(r.heldMsat))}`;
}

function outgoingText(r: RelayRow): string {
  const now = [r.outgoing, r.payInFlight ? 'payment running' : undefined].filter((x) => x !== undefined).join(', ');
  const what = now !== '' ? now : r.state === 'open' ? 'not yet: gathering parts' : '-';
  const by = r.policy === undefined ? '' : ` · policy ${r.policy}`;
  if (!r.lastError) return `${what}${by}`;
  return what === '-' ? `last error: ${r.lastError}${by}` : `${what} · last error: ${r.lastError}${by}`;
}

/**
 * The frame for a terminal of `columns` x `rows`: at most `rows` lines, none
 * wider than `columns` (colour codes aside). Reads each relay once and sorts
 * only the ones in progress, so 10 000 records are cheap.
 */
export function renderFrame(s: Snapshot, o: FrameOptions): string[] {
  const paint = o.paint ?? NO_PAINT;
  const width = Math.max(0, o.columns);
  const rows = Math.max(0, o.rows);
  const t = tally(s.rows, o.dayStart, s.totals);
  const relays = t.inProgress.length + t.settled + t.failed + t.expired + t.waiting;
  const title = titleLine(s, relays, o.now, paint, width);
  const summary = relays === 0 ? fitLine([{ text: 'no relays yet: join a chain with rdv join', paint: paint.dim }], width) : summaryLine(t, width);
  if (rows <= 1) return rows === 1 ? [summary] : [];
  if (rows === 2) return [title, summary];
  const warnings = (o.warnings ?? []).slice(0, Math.max(0, rows - 5)).map((w) => fitLine([{ text: 'warning: ', paint: paint.yellow }, { text: oneLine(w) }], width));
  const lines = [title, ...warnings, ...progressLines(t.inProgress, rows - 2 - warnings.length, width, o.now, paint)];
  if (lines.length + 1 < rows) lines.push('');
  lines.push(summary);
  return lines;
}

function titleLine(s: Snapshot, relays: number, now: number, paint: Paint, width: number): string {
  const time = new Date(now * 1000).toISOString().slice(11, 19);
  const segments: Segment[] = [{ text: 'rdv watch', paint: paint.bold }, { text: ` · block ${s.blockheight} · ${time} UTC · ${relays} relay${relays === 1 ? '' : 's'}` }];
  if (!s.relaying) segments.push({ text: ' · ' }, { text: `NOT RELAYING: ${oneLine(s.reason ?? 'unknown reason')}`, paint: paint.red });
  segments.push({ text: ' · q quits; rdv keeps relaying', paint: paint.dim });
  return fitLine(segments, width);
}

/** The relays in progress in `room` lines (header included), or one line saying how many. */
function progressLines(inProgress: RelayRow[], room: number, width: number, now: number, paint: Paint): string[] {
  if (room <= 0) return [];
  if (inProgress.length === 0) return [fitLine([{ text: 'nothing in progress: no HTLC held', paint: paint.dim }], width)];
  if (room < 3) return [fitLine([{ text: `${inProgress.length} in progress: make the terminal taller to see them`, paint: paint.yellow }], width)];
  const fitsAll = inProgress.length <= room - 1;
  const shownCount = fitsAll ? inProgress.length : room - 2;
  const shown = [...inProgress].sort(byUrgency).slice(0, shownCount);
  const lines = table(shown, width, now, paint);
  if (!fitsAll) lines.push(fitLine([{ text: `… and ${inProgress.length - shownCount} more in progress`, paint: paint.dim }], width));
  return lines;
}

function table(shown: RelayRow[], width: number, now: number, paint: Paint): string[] {
  const cells = shown.map((r) => COLUMNS.map((c) => oneLine(c.cell(r, now))));
  const widths = COLUMNS.map((c, i) => Math.max(textWidth(c.header), ...cells.map((row) => textWidth(row[i] ?? ''))));
  let active = COLUMNS.map((_, i) => i);
  const fixed = (cols: number[]): number => cols.slice(0, -1).reduce((n, i) => n + (widths[i] ?? 0) + GAP.length, 0);
  for (;;) {
    if (fixed(active) + minLast(width) <= width) break;
    const droppable = active.filter((i) => (COLUMNS[i]?.dropOrder ?? 0) > 0);
    if (droppable.length === 0) break;
    const first = droppable.reduce((a, b) => ((COLUMNS[a]?.dropOrder ?? 0) <= (COLUMNS[b]?.dropOrder ?? 0) ? a : b));
    active = active.filter((i) => i !== first);
  }
  const line = (texts: string[], painter: (i: number) => ((s: string) => string) | undefined): string => {
    const segments: Segment[] = [];
    active.forEach((i, k) => {
      const last = k === active.length - 1;
      const c = COLUMNS[i];
      const text = texts[i] ?? '';
      if (k > 0) segments.push({ text: GAP });
      const body = last ? cut(text, Math.max(1, width - fixed(active))) : pad(text, widths[i] ?? 0, c?.right);
      segments.push({ text: body, paint: painter(i) });
    });
    return fitLine(segments, width);
  };
  return [line(COLUMNS.map((c) => c.header), () => paint.dim), ...cells.map((row) => line(row, (i) => COLUMNS[i]?.paint?.(paint)))];
}

function summaryLine(t: Tally, width: number): string {
  const a = (m: bigint): string => formatAmount(msat(m));
  const n = (k: number): string => String(k).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const rest = `failed ${n(t.failed)} · expired ${n(t.expired)} · open ${n(t.waiting)}`;
  const long = `settled: ${n(t.settledToday)} today, ${n(t.settled)} in all · earned: ${a(t.earnedTodayMsat)} today, ${a(t.earnedMsat)} in all · ${rest}`;
  const short = `today ${n(t.settledToday)} settled, ${a(t.earnedTodayMsat)} · all ${n(t.settled)}, ${a(t.earnedMsat)} · ${rest}`;
  return fitLine([{ text: textWidth(long) <= width ? long : short }], width);
}
