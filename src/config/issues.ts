// Turns zod issues into operator-facing problems: which key, where in the file, what is wrong.
// Unknown keys get a did-you-mean from the keys known at that level; the known keys are
// captured while zod runs (see captureKnownKeys), since finished issues no longer say which
// schema raised them.

import { z } from 'zod';
import { Substituted, type KeyPath } from './env.js';
import type { YamlLocator } from './locate.js';
import { describeValue } from './units.js';

export interface IssueProblem {
  keyPath: KeyPath;
  /** Point at the key itself (unknown keys) or at its value. */
  target: 'key' | 'value';
  message: string;
}

/** Known keys of each strict object that reported unknown keys, by JSON of its path. */
export type KnownKeys = Map<string, readonly string[]>;

/** A zod error map that records known keys for unrecognized_keys issues and changes no message. */
export function captureKnownKeys(known: KnownKeys): z.core.$ZodErrorMap {
  return (issue) => {
    if (issue.code === 'unrecognized_keys' && issue.inst instanceof z.ZodObject) {
      known.set(JSON.stringify(issue.path ?? []), Object.keys(issue.inst.shape));
    }
    return undefined;
  };
}

export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  locator: YamlLocator,
  known: KnownKeys,
): IssueProblem[] {
  return issues.flatMap((issue) => problemsFromIssue(issue, locator, known));
}

function problemsFromIssue(issue: z.core.$ZodIssue, locator: YamlLocator, known: KnownKeys): IssueProblem[] {
  const keyPath = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    const candidates = known.get(JSON.stringify(keyPath)) ?? [];
    return issue.keys.map((key) => ({
      keyPath: [...keyPath, key],
      target: 'key' as const,
      message: `unknown key ${JSON.stringify(key)}${suggestion(key, candidates)}`,
    }));
  }
  const input = issue.input instanceof Substituted ? issue.input.text : issue.input;
  if (input === undefined && !locator.has(keyPath) && keyPath.length > 0) {
    return [{ keyPath, target: 'value', message: `missing required key ${JSON.stringify(keyPath[keyPath.length - 1])}` }];
  }
  if (issue.code === 'invalid_type') {
    return [{ keyPath, target: 'value', message: `expected ${typeName(issue.expected)}, got ${describeValue(input)}` }];
  }
  return [{ keyPath, target: 'value', message: issue.message }];
}

function typeName(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return `a ${expected}`;
  }
}

function suggestion(key: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestEdits = Infinity;
  for (const candidate of candidates) {
    const [k, c] = [key.toLowerCase(), candidate.toLowerCase()];
    const edits = editDistance(k, c);
    // A truncated key ("close_renamed" for "close_renamed_after") is as good as a typo; among
    // equally good ones the closest wins ("exclude_line" is "exclude_lines", not "exclude").
    const d = c.startsWith(k) || k.startsWith(c) ? Math.min(1, edits) : edits;
    if (d < bestDistance || (d === bestDistance && edits < bestEdits)) {
      best = candidate;
      bestDistance = d;
      bestEdits = edits;
    }
  }
  // Far-off suggestions mislead more than they help; list the choices instead.
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3))) {
    return ` — did you mean ${JSON.stringify(best)}?`;
  }
  return candidates.length > 0 ? ` (known keys here: ${candidates.join(', ')})` : '';
}

/** Levenshtein distance, two-row version. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
