// Per-second rates from two readings of a counter: the STATUS= line and `logship top` both
// turn cumulative counters into rates this way.

/** (after - before) per second over `elapsedMs`; null when unknown (no time passed, or the counter went back: a restart). */
export function perSecond(before: number, after: number, elapsedMs: number): number | null {
  if (!(elapsedMs > 0) || after < before) return null;
  return ((after - before) * 1_000) / elapsedMs;
}
