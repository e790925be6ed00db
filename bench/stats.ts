// Summary statistics for benchmark figures: the median of repeated runs with its min and max,
// and percentiles of latency samples.

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export class EmptySampleError extends Error {
  constructor(readonly what: string) {
    super(`no samples for ${what}`);
    this.name = 'EmptySampleError';
  }
}

/** Median (mean of the middle two for an even count), min and max of `values`. */
export function summarize(values: readonly number[], what = 'figure'): Summary {
  if (values.length === 0) throw new EmptySampleError(what);
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/**
 * The p-th percentile (0..100) of ascending `sorted` by the nearest-rank method: the smallest
 * sample with at least p % of the samples at or below it, so p99 is a latency actually seen.
 */
export function percentile(sorted: readonly number[], p: number, what = 'percentile'): number {
  if (sorted.length === 0) throw new EmptySampleError(what);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
}
