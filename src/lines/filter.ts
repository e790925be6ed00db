// include_lines / exclude_lines, with Filebeat's semantics: when include_lines is set, only
// events matching one of its regexes are kept; then events matching one of exclude_lines are
// dropped. Applied to the message after multiline and container parsing. A dropped event still
// advances the file's offset (its reader commits past it once everything before is
// acknowledged): filters remove records, never offsets.

import type { InputConfig } from '../config/types.js';
import { EventFlag, type EventFlags } from './events.js';
import type { DropCounters } from './stats.js';

export type DropReason = 'include_lines' | 'exclude_lines';

/** An input's compiled filters, shared by its files. */
export class LineFilterRules {
  private readonly include: readonly RegExp[];
  private readonly exclude: readonly RegExp[];

  /** Sources were checked at load (src/config/schema.ts), so compiling cannot fail here. */
  constructor(include: readonly string[], exclude: readonly string[]) {
    this.include = include.map((source) => new RegExp(source));
    this.exclude = exclude.map((source) => new RegExp(source));
  }

  static forInput(input: Pick<InputConfig, 'include_lines' | 'exclude_lines'>): LineFilterRules | null {
    return input.include_lines.length === 0 && input.exclude_lines.length === 0 ? null : new LineFilterRules(input.include_lines, input.exclude_lines);
  }

  /** Why `text` is dropped, or null to keep it. */
  verdict(text: string): DropReason | null {
    if (this.include.length > 0 && !this.include.some((re) => re.test(text))) return 'include_lines';
    if (this.exclude.some((re) => re.test(text))) return 'exclude_lines';
    return null;
  }
}

/**
 * The filters of one file. A long event cut into Split pieces is judged by its first piece
 * (where a "^ERROR" is), and all its pieces share that fate; so this object is per file.
 */
export class LineFilter {
  /** The verdict of the cut event whose pieces are passing (undefined: none is). */
  private cutVerdict: DropReason | null | undefined = undefined;

  constructor(private readonly rules: LineFilterRules) {}

  /**
   * Removes dropped events in place from `bounds` ((start, length) of event i in `data` at
   * bounds[2i]), `flags` and every parallel column (starts, ends, streams...), counting each in
   * `counters`. Returns how many were dropped.
   */
  apply(data: Buffer, bounds: number[], flags: (EventFlags | undefined)[], columns: readonly unknown[][], counters: DropCounters): number {
    let kept = 0;
    const total = bounds.length >> 1;
    for (let i = 0; i < total; i++) {
      const flag = flags[i] ?? EventFlag.None;
      const verdict = this.cutVerdict !== undefined ? this.cutVerdict : this.rules.verdict(data.toString('utf8', bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!));
      this.cutVerdict = (flag & EventFlag.Split) !== 0 ? verdict : undefined;
      if (verdict !== null) {
        counters.lineDropped(verdict);
        continue;
      }
      if (kept !== i) {
        bounds[2 * kept] = bounds[2 * i]!;
        bounds[2 * kept + 1] = bounds[2 * i + 1]!;
        // Keep the flags sparse: most events have none.
        if (flags[i] === undefined) delete flags[kept];
        else flags[kept] = flags[i];
        for (const column of columns) column[kept] = column[i];
      }
      kept++;
    }
    bounds.length = 2 * kept;
    flags.length = Math.min(flags.length, kept);
    for (const column of columns) column.length = kept;
    return total - kept;
  }
}
