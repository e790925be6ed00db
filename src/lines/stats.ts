// Counters of line processing, per input id: lines dropped by include_lines / exclude_lines,
// container lines in neither runtime format (shipped raw), and lines whose JSON fields fell
// back to their template defaults. Plain numbers bumped on the hot path, read by src/metrics at
// scrape time (logship_lines_dropped_total{input,reason}, ...).
//
// One process-wide table, like prom-client's default registry: an input's files are read by
// readers a reload replaces, and counters must outlive them (monotone across reloads); the
// table is keyed by input id so no reader, tailer or agent has to carry it.

import { emptyContainerLogStats, type ContainerLogStats } from './container-log.js';
import { emptyDropCounts, type DropCounts } from './filter.js';
import { emptyJsonFieldStats, type JsonFieldStats } from './json-fields.js';

export interface InputLineStats {
  dropped: DropCounts;
  container: ContainerLogStats;
  json: JsonFieldStats;
}

const table = new Map<string, InputLineStats>();

/** The counters of input `id` (created at first use; the same object for the process's life). */
export function lineStatsOf(id: string): InputLineStats {
  let stats = table.get(id);
  if (stats === undefined) {
    stats = { dropped: emptyDropCounts(), container: emptyContainerLogStats(), json: emptyJsonFieldStats() };
    table.set(id, stats);
  }
  return stats;
}

/** Every input's counters, for the metrics endpoint. */
export function allLineStats(): ReadonlyMap<string, InputLineStats> {
  return table;
}
