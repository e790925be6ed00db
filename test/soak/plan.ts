// The soak's fault schedule: which fault happens when. Every kind appears at least `minEach`
// times, the rest of the slots are drawn at random, the order is shuffled, and slots are spread
// evenly over the run with jitter — after a warm-up, and ending early enough for the agent to
// show it recovered. A one-minute soak thus gets each of the seven kinds exactly once.

import type { Random } from './random.js';

export const FAULT_KINDS = [
  'rotate-rename',
  'copytruncate',
  'delete-recreate',
  'agent-sigkill',
  'agent-sigterm',
  'cluster-stall',
  'config-reload',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** ms after the writers started */
  at: number;
  kind: FaultKind;
}

/** No fault in the first seconds: the agent and the writers settle first. */
const WARM_UP_MS = 3_000;
/** Nor in the last ones: the agent must be seen shipping after the last fault. */
const COOL_DOWN_MS = 6_000;
/** By default a fault every ~8 s (beyond the minimum count): each has settled before the next. */
export const DEFAULT_MEAN_GAP_MS = 8_000;
/** Jitter of a slot around its even spot, as a fraction of the gap. */
const JITTER = 0.35;

export function planFaults(random: Random, durationMs: number, minEach: number, meanGapMs = DEFAULT_MEAN_GAP_MS): PlannedFault[] {
  const window = Math.max(1, durationMs - WARM_UP_MS - COOL_DOWN_MS);
  const count = Math.max(minEach * FAULT_KINDS.length, Math.floor(window / meanGapMs));
  const kinds: FaultKind[] = FAULT_KINDS.flatMap((kind) => Array.from({ length: minEach }, () => kind));
  while (kinds.length < count) kinds.push(random.pick(FAULT_KINDS));
  random.shuffle(kinds);
  const gap = window / count;
  return kinds.map((kind, i) => ({ at: Math.round(WARM_UP_MS + (i + 0.5 + random.between(-JITTER, JITTER)) * gap), kind }));
}

/** How many of each kind a plan holds. */
export function countByKind(kinds: Iterable<FaultKind>): Map<FaultKind, number> {
  const counts = new Map<FaultKind, number>(FAULT_KINDS.map((kind) => [kind, 0]));
  for (const kind of kinds) counts.set(kind, counts.get(kind)! + 1);
  return counts;
}
