// `logship top`, the decisions: samples of a running agent's /metrics -> one row per followed
// file with rates from two successive scrapes -> sorted -> lines of text for a given width.
// No terminal, no network and no clock here (src/cli/top.ts does those), so every part is
// tested on plain values.

import { formatSize } from '../config/units.js';
import type { Sample } from '../metrics/exposition.js';
import { perSecond } from '../metrics/rates.js';

/** One followed file as /metrics shows it at one scrape. */
export interface FileSample {
  input: string;
  /** Where the file is now (label `file`). */
  file: string;
  /** Its live name, the one it was discovered under (label `path`). */
  path: string;
  state: string;
  linesRead: number;
  bytesRead: number;
  lagBytes: number;
  /** Wall-clock ms of the last line read, or null when none since the agent started. */
  lastReadAt: number | null;
}

/** What one scrape says about the agent. */
export interface AgentSample {
  /** When it was scraped (wall-clock ms of the viewer). */
  at: number;
  /** By row key (rowKey). */
  files: Map<string, FileSample>;
  /** null when the agent does not export the gauge. */
  kafkaReachable: boolean | null;
  ready: boolean | null;
  inFlightBytes: number | null;
  /** Process start, wall-clock ms. */
  startedAt: number | null;
}

export function rowKey(f: { input: string; file: string; path: string }): string {
  return `${f.input}\0${f.file}\0${f.path}`;
}

/** Per-file series are joined on their (path, file, input) labels. */
export function agentSample(samples: Sample[], at: number): AgentSample {
  const files = new Map<string, FileSample>();
  // A per-file series without its three labels (another agent version) is skipped.
  const withFile = (s: Sample, apply: (f: FileSample) => void): void => {
    const { input, file, path } = s.labels;
    if (input === undefined || file === undefined || path === undefined) return;
    const key = rowKey({ input, file, path });
    let f = files.get(key);
    if (!f) {
      f = { input, file, path, state: '?', linesRead: 0, bytesRead: 0, lagBytes: 0, lastReadAt: null };
      files.set(key, f);
    }
    apply(f);
  };
  const out: AgentSample = { at, files, kafkaReachable: null, ready: null, inFlightBytes: null, startedAt: null };
  for (const s of samples) {
    switch (s.name) {
      case 'logship_file_lines_read_total':
        withFile(s, (f) => (f.linesRead = s.value));
        break;
      case 'logship_file_bytes_read_total':
        withFile(s, (f) => (f.bytesRead = s.value));
        break;
      case 'logship_file_lag_bytes':
        withFile(s, (f) => (f.lagBytes = s.value));
        break;
      case 'logship_file_last_read_timestamp_seconds':
        withFile(s, (f) => (f.lastReadAt = s.value * 1_000));
        break;
      case 'logship_file_state':
        if (s.value === 1) withFile(s, (f) => (f.state = s.labels.state ?? '?'));
        break;
      case 'logship_kafka_reachable':
        out.kafkaReachable = s.value === 1;
        break;
      case 'logship_ready':
        out.ready = s.value === 1;
        break;
      case 'logship_in_flight_bytes':
        out.inFlightBytes = s.value;
        break;
      case 'logship_process_start_time_seconds':
        out.startedAt = s.value * 1_000;
        break;
    }
  }
  return out;
}

export interface TopRow {
  key: string;
  input: string;
  file: string;
  path: string;
  state: string;
  lines: number;
  /** null until two scrapes saw the file (or its counter went back: agent restarted). */
  linesPerSecond: number | null;
  bytesPerSecond: number | null;
  lagBytes: number;
  /** ms since its last line was read, or null when none was. */
  lastLineAgeMs: number | null;
}

export function topRows(previous: AgentSample | null, next: AgentSample): TopRow[] {
  const elapsed = previous ? next.at - previous.at : 0;
  return [...next.files].map(([key, f]) => {
    const before = previous?.files.get(key);
    return {
      key,
      input: f.input,
      file: f.file,
      path: f.path,
      state: f.state,
      lines: f.linesRead,
      linesPerSecond: before ? perSecond(before.linesRead, f.linesRead, elapsed) : null,
      bytesPerSecond: before ? perSecond(before.bytesRead, f.bytesRead, elapsed) : null,
      lagBytes: f.lagBytes,
      lastLineAgeMs: f.lastReadAt === null ? null : Math.max(0, next.at - f.lastReadAt),
    };
  });
}

export type SortKey = 'lag' | 'rate' | 'bytes' | 'path';

/** The key that selects each order in the live view. */
export const SORT_KEYS: Readonly<Record<string, SortKey>> = { l: 'lag', r: 'rate', b: 'bytes', p: 'path' };

const SORT_LABEL: Record<SortKey, string> = { lag: 'lag', rate: 'lines/s', bytes: 'bytes/s', path: 'file' };

export function isSortKey(s: string): s is SortKey {
  return s === 'lag' || s === 'rate' || s === 'bytes' || s === 'path';
}

/** Largest first (lag, rate, bytes) or by file name; ties by file name, so the order is stable. */
export function sortRows(rows: readonly TopRow[], by: SortKey): TopRow[] {
  const byName = (a: TopRow, b: TopRow): number => a.file.localeCompare(b.file) || a.input.localeCompare(b.input) || a.path.localeCompare(b.path);
  const metric = (r: TopRow): number => (by === 'lag' ? r.lagBytes : by === 'rate' ? (r.linesPerSecond ?? -1) : by === 'bytes' ? (r.bytesPerSecond ?? -1) : 0);
  return [...rows].sort((a, b) => metric(b) - metric(a) || byName(a, b));
}

export interface TopFrame {
  url: string;
  /** Viewer's wall clock, ms. */
  now: number;
  sample: AgentSample | null;
  rows: TopRow[];
  sort: SortKey;
  /** Why the last scrape failed, if it did. */
  error: string | null;
  width: number;
  /** Lines available on screen, or null for the plain periodic print (no limit, no key help). */
  height: number | null;
}

const COLUMNS = [
  { title: 'INPUT', width: 12, right: false },
  { title: 'FILE', width: 0, right: false },
  { title: 'STATE', width: 7, right: false },
  { title: 'LINES', width: 12, right: true },
  { title: 'LINES/S', width: 9, right: true },
  { title: 'BYTES/S', width: 11, right: true },
  { title: 'LAG', width: 10, right: true },
  { title: 'LAST LINE', width: 9, right: true },
] as const;

const MIN_FILE_WIDTH = 16;

/** The width at which every row fits whole: for the plain print, which has no screen edge. */
export function naturalWidth(rows: readonly TopRow[]): number {
  const fixed = COLUMNS.reduce((sum, c) => sum + c.width, 0) + COLUMNS.length - 1;
  return fixed + Math.max(MIN_FILE_WIDTH, ...rows.map((r) => fileCell(r).length));
}

/** Where the file is now; a rotated one (app.log.1) says so in STATE, and its live name is its row's key. */
function fileCell(r: TopRow): string {
  return r.file;
}

/** The screen (or the periodic print) as lines of plain text, none wider than `width`. */
export function renderFrame(f: TopFrame): string[] {
  const fixed = COLUMNS.reduce((sum, c) => sum + c.width, 0) + COLUMNS.length - 1;
  const fileWidth = Math.max(MIN_FILE_WIDTH, f.width - fixed);
  const widths = COLUMNS.map((c) => (c.title === 'FILE' ? fileWidth : c.width));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => fit(cell, widths[i]!, COLUMNS[i]!.right))
      .join(' ')
      .trimEnd()
      .slice(0, f.width);

  const out: string[] = [];
  out.push(`logship top · ${f.url} · ${clock(f.now)} · sorted by ${SORT_LABEL[f.sort]}`.slice(0, f.width));
  const s = f.sample;
  if (f.error !== null) out.push(`cannot read ${f.url}: ${f.error} (retrying)`.slice(0, f.width));
  if (s) {
    const kafka = s.kafkaReachable === null ? 'Kafka ?' : s.kafkaReachable ? 'Kafka reachable' : 'Kafka UNREACHABLE (lines wait in the files)';
    const parts = [kafka, `in flight ${s.inFlightBytes === null ? '?' : formatSize(s.inFlightBytes)}`, s.ready === null ? 'ready ?' : s.ready ? 'ready' : 'NOT ready'];
    if (s.startedAt !== null) parts.push(`up ${age(f.now - s.startedAt)}`);
    out.push(parts.join(' · ').slice(0, f.width));
  }
  out.push('');
  out.push(line(COLUMNS.map((c) => c.title)));

  const sorted = sortRows(f.rows, f.sort);
  // Interactive: keep the header, totals and key help on screen; say how many rows did not fit.
  const room = f.height === null ? sorted.length : Math.max(1, f.height - out.length - 3);
  const shown = sorted.length > room ? sorted.slice(0, room - 1) : sorted;
  for (const r of shown) {
    out.push(line([r.input, fileCell(r), r.state, count(r.lines), rate(r.linesPerSecond), bytesRate(r.bytesPerSecond), formatSize(r.lagBytes), r.lastLineAgeMs === null ? '-' : age(r.lastLineAgeMs)]));
  }
  if (shown.length < sorted.length) out.push(`  … ${sorted.length - shown.length} more file(s)`);
  const sum = (pick: (r: TopRow) => number | null): number | null => (f.rows.some((r) => pick(r) !== null) ? f.rows.reduce((a, r) => a + (pick(r) ?? 0), 0) : null);
  out.push(
    line([
      'TOTAL',
      `${f.rows.length} ${f.rows.length === 1 ? 'file' : 'files'}`,
      '',
      count(f.rows.reduce((a, r) => a + r.lines, 0)),
      rate(sum((r) => r.linesPerSecond)),
      bytesRate(sum((r) => r.bytesPerSecond)),
      formatSize(f.rows.reduce((a, r) => a + r.lagBytes, 0)),
      '',
    ]),
  );
  if (f.height !== null) {
    out.push('');
    out.push('sort: [l]ag  [r]ate  [b]ytes/s  [p]ath      [q]uit'.slice(0, f.width));
  }
  return out;
}

/** Pads or cuts to `width`; a long path loses its beginning (the file name matters most). */
function fit(text: string, width: number, right: boolean): string {
  if (text.length > width) return right ? text.slice(0, width) : `…${text.slice(text.length - width + 1)}`;
  return right ? text.padStart(width) : text.padEnd(width);
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en');
}

function rate(n: number | null): string {
  return n === null ? '-' : count(n);
}

function bytesRate(n: number | null): string {
  return n === null ? '-' : `${formatSize(Math.round(n))}/s`;
}

/** 0.4s, 12s, 4m10s, 2h05m, 3d04h. */
export function age(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1_000).toFixed(1)}s`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3_600)).padStart(2, '0')}h`;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
