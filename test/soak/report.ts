// The soak's printed summary: what was done (faults with counts), what came out (lines
// written, delivered, lost, duplicated and why), how far behind and how big the agent got, and
// every problem that fails the run, with the faults around each lost or unexplained line.
// Plain text, made to be pasted into the README.

import type { SoakReport } from './soak.js';

const MiB = 1024 * 1024;
/** Lost runs and unexplained duplicates listed (the rest are counted). */
const LISTED = 12;
/** Faults listed around one problem. */
const FAULTS_AROUND = 8;

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(22)} ${value}`;
}

export function formatReport(r: SoakReport): string {
  const v = r.verdict;
  /** "+12.3 s" after the writers started (ms since the epoch in). */
  const at = (ms: number): string => {
    const rel = (ms - r.startedAt) / 1000;
    return `${rel < 0 ? '-' : '+'}${Math.abs(rel).toFixed(1)} s`;
  };
  const kills = r.lives.filter((l) => l.ending === 'SIGKILL').length;
  const terms = r.lives.filter((l) => l.ending === 'SIGTERM');
  const lines: string[] = [];
  lines.push(`logship soak — ${r.minutes} min, seed ${r.seed}, a fault every ~${seconds(r.meanGapMs)}`);
  lines.push(
    row(
      'setup',
      `${r.writers} writers x ${r.linesPerSecond} lines/s; inputs ${r.inputs.map((i) => `${i.id} (${i.writers.join(', ')})`).join(', ')}; one topic per file; 3-broker mock cluster`,
    ),
  );
  lines.push('faults injected:');
  for (const [kind, count] of r.faultCounts) lines.push(row(`  ${kind}`, String(count)));
  lines.push('results:');
  lines.push(row('lines written', n(v.written)));
  lines.push(row('records delivered', n(v.delivered)));
  lines.push(row('lost', `${n(v.lost)}${v.lost === 0 ? '' : '   <-- FAILURE'}`));
  const dupCause =
    v.duplicates === 0
      ? 'none'
      : `${n(v.duplicatesExplainedByCrash)} explained by ${v.killsWithDuplicates} of ${kills} SIGKILLs (first copy produced at most ${seconds(v.crashWindowMs)} before the kill)` +
        (v.duplicatesByCluster > 0 ? `, ${n(v.duplicatesByCluster)} appended twice by the cluster (same produce, a retried request)` : '') +
        `, ${n(v.unexplainedDuplicates)} unexplained`;
  lines.push(row('duplicated', `${n(v.duplicates)} (${dupCause})`));
  if (v.foreign > 0) lines.push(row('foreign records', `${n(v.foreign)}   <-- FAILURE`));
  lines.push(row('max lag (/metrics)', `${n(r.lag.total.bytes)} bytes over all files (${at(r.lag.total.at)}); ${n(r.lag.file.bytes)} bytes in one file (${at(r.lag.file.at)}); ${r.lag.samples} samples of logship_file_lag_bytes`));
  const copy = r.faults.find((f) => f.kind === 'copytruncate' && f.detail.startsWith(`copied ${r.lag.file.bytes} bytes`));
  if (copy) lines.push(row('', `(the one-file peak is a copytruncate copy counted whole: ${copy.target} ${at(copy.at)}, see findings)`));
  const l = v.latency;
  lines.push(row('write-to-produce', `min ${l.min} ms, p50 ${l.p50} ms, p99 ${l.p99} ms, max ${seconds(l.max)} (${l.maxLine}), from record timestamps`));
  if (r.lag.inFlightLow.bytes < 0) lines.push(row('in-flight bytes', `${n(r.lag.inFlightLow.bytes)} at ${at(r.lag.inFlightLow.at)}   <-- FAILURE (negative)`));
  lines.push(row('agent peak RSS', `${(r.peakRssBytes / MiB).toFixed(1)} MiB (VmHWM, highest of ${r.lives.length} lives)`));
  const exitCodes = [...new Set(terms.map((l) => String(l.exitCode ?? l.exitSignal)))].join(', ') || '-';
  lines.push(row('agent lives', `${r.lives.length}: ${kills} ended by SIGKILL, ${terms.length} by SIGTERM (exit codes ${exitCodes}; longest stop ${seconds(Math.max(0, ...terms.map((l) => l.stopMs ?? 0)))})`));
  const warnings = warningCounts(r);
  if (warnings.length > 0) {
    lines.push('agent warnings and errors (count x message):');
    for (const [msg, count] of warnings) lines.push(`    ${String(count).padStart(5)} x ${msg.length > 160 ? `${msg.slice(0, 157)}...` : msg}`);
  }
  if (v.lostRuns.length > 0) {
    lines.push(`lost lines (${v.lostRuns.length} runs):`);
    for (const run of v.lostRuns.slice(0, LISTED)) {
      lines.push(`    ${run.writer} ${run.first}..${run.last} (${run.last - run.first + 1}), written ${at(run.writtenAt)}..${at(run.lastWrittenAt)} into ${run.file.identity} (opened ${at(run.file.openedAt)})`);
      lines.push(`        faults around: ${faultsAround(r, run.writtenAt - 2_000, run.lastWrittenAt + 10_000, at)}`);
    }
  }
  if (v.unexplainedExamples.length > 0) {
    lines.push(`unexplained duplicates (${n(v.unexplainedDuplicates)}; first ${Math.min(LISTED, v.unexplainedExamples.length)}):`);
    for (const dup of v.unexplainedExamples.slice(0, LISTED)) {
      lines.push(`    ${dup.writer}-${dup.seq}, written ${at(dup.writtenAt)} into ${dup.file.identity}: copies ${dup.copies.map((c) => `p${c.partition}@${c.offset} ${at(c.timestamp)}`).join(', ')}`);
    }
    const first = v.unexplainedExamples[0]!;
    lines.push(`        faults around the first: ${faultsAround(r, first.copies[0]!.timestamp - 2_000, first.copies.at(-1)!.timestamp + 1_000, at)}`);
  }
  for (const example of v.foreignExamples) lines.push(`    foreign: ${example}`);
  if (r.deletedUnverifiable > 0) lines.push(row('note', `${r.deletedUnverifiable} deleted file(s) whose inode was reused before a crash: taken as shipped once nothing was in flight`));
  lines.push(row('reproduce', reproduce(r)));
  if (r.dirKept) lines.push(row('work directory', `${r.dir} (agent logs per life, faults.json)`));
  lines.push(r.problems.length === 0 ? 'PASSED: no line lost' : `FAILED:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
  return lines.join('\n');
}

function reproduce(r: SoakReport): string {
  const args = [`--minutes ${r.minutes}`, `--seed ${r.seed}`];
  if (r.meanGapMs !== 8_000) args.push(`--gap ${r.meanGapMs / 1000}`);
  if (r.writers !== 4) args.push(`--writers ${r.writers}`);
  if (r.linesPerSecond !== 250) args.push(`--rate ${r.linesPerSecond}`);
  return `npm run soak -- ${args.join(' ')}`;
}

/** Messages of warn+ events over all lives, most frequent first. */
function warningCounts(r: SoakReport): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const life of r.lives) for (const e of life.warnings) counts.set(e.msg, (counts.get(e.msg) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** The faults that began between `from` and `to` (ms since the epoch). */
function faultsAround(r: SoakReport, from: number, to: number, at: (ms: number) => string): string {
  const near = r.faults.filter((f) => f.at >= from && f.at <= to);
  if (near.length === 0) return 'none';
  const listed = near.slice(0, FAULTS_AROUND).map((f) => `${f.kind}${f.target ? ` ${f.target}` : ''} ${at(f.at)}`);
  return listed.join(', ') + (near.length > FAULTS_AROUND ? `, ... (${near.length - FAULTS_AROUND} more)` : '');
}
