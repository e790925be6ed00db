// The record of one bench run: figures (median/min/max over runs, with a target and a
// verdict), correctness checks, tables, profile summaries and anything suspicious. Each item
// is printed as it is recorded, and the whole book is saved as JSON so runs can be compared.

import { summarize, type Summary } from './stats.js';

export type Verdict = 'PASS' | 'FAIL' | 'INFO';

export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Figure {
  scenario: string;
  label: string;
  unit: string;
  /** One value per run, in run order. */
  values: number[];
  summary: Summary;
  target: Target | null;
  verdict: Verdict;
  note?: string;
}

export interface Check {
  scenario: string;
  label: string;
  ok: boolean;
  detail: string;
}

export interface Table {
  scenario: string;
  title: string;
  columns: string[];
  rows: string[][];
}

export interface Note {
  scenario: string;
  text: string;
}

export type Printer = (line: string) => void;

export function meets(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

/** Fixed width, grouped thousands, fewer decimals as numbers grow. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const decimals = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** "median (min..max)" of repeated runs, or the single value: one table cell. */
export function formatSpread(values: readonly number[]): string {
  const s = summarize(values);
  return s.runs > 1 ? `${formatNumber(s.median)} (${formatNumber(s.min)}..${formatNumber(s.max)})` : formatNumber(s.median);
}

export class ResultBook {
  readonly figures: Figure[] = [];
  readonly checks: Check[] = [];
  readonly tables: Table[] = [];
  readonly notes: Note[] = [];
  /** Scenario-specific detail kept for the JSON file only (per-run raw data, profiles). */
  readonly details: Record<string, unknown> = {};

  constructor(private readonly print: Printer) {}

  figure(scenario: string, label: string, unit: string, values: number[], target: Target | null = null, note?: string): Figure {
    const summary = summarize(values, `${scenario}: ${label}`);
    const verdict: Verdict = target === null ? 'INFO' : meets(summary.median, target) ? 'PASS' : 'FAIL';
    const figure: Figure = { scenario, label, unit, values, summary, target, verdict, ...(note ? { note } : {}) };
    this.figures.push(figure);
    this.print(formatFigure(figure));
    return figure;
  }

  check(scenario: string, label: string, ok: boolean, detail: string): void {
    this.checks.push({ scenario, label, ok, detail });
    this.print(`  ${label.padEnd(52)} ${ok ? 'PASS' : 'FAIL'}  ${detail}`);
    if (!ok) this.note(scenario, `${label}: ${detail}`);
  }

  table(table: Table): void {
    this.tables.push(table);
    const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => '  ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    this.print(`  ${table.title}`);
    this.print(line(table.columns));
    for (const row of table.rows) this.print(line(row));
  }

  /** Something a reader should look at: printed at once and again in the final summary. */
  note(scenario: string, text: string): void {
    this.notes.push({ scenario, text });
    this.print(`  !! ${text}`);
  }

  detail(key: string, value: unknown): void {
    this.details[key] = value;
  }

  verdictCounts(): Record<Verdict, number> {
    const counts: Record<Verdict, number> = { PASS: 0, FAIL: 0, INFO: 0 };
    for (const f of this.figures) counts[f.verdict]++;
    for (const c of this.checks) counts[c.ok ? 'PASS' : 'FAIL']++;
    return counts;
  }
}

export function formatFigure(f: Figure): string {
  const { median, min, max, runs } = f.summary;
  const spread = runs > 1 ? `[${formatNumber(min)} .. ${formatNumber(max)}, ${runs} runs]` : '[1 run]';
  const target = f.target ? `target ${f.target.op} ${formatNumber(f.target.value)}` : 'no target';
  return `  ${f.label.padEnd(52)} ${formatNumber(median).padStart(12)} ${f.unit.padEnd(10)} ${spread.padEnd(34)} ${target.padEnd(20)} ${f.verdict}${f.note ? `  (${f.note})` : ''}`;
}
