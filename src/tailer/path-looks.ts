// When each glob-matched path was last looked at and found holding a file: files born there
// after that look and rotated away before the next are "middle" files. A path whose file went
// away is remembered for a while (vacated), so a file that appears there later is still measured
// against that look. A look that finds the path empty does not count: a file born after the last
// look that found one, and renamed away before the empty look, was never seen (soak --gap 1.5
// seed 2204: delete, recreate and rename within 50 ms, then a look at the empty path).

export class PathLooks {
  private readonly looks = new Map<string, number>();
  /** Paths whose file went away, by when. */
  private readonly vacated = new Map<string, number>();

  /** The last look at `path` before now, if it was looked at. */
  since(path: string): number | undefined {
    return this.looks.get(path);
  }

  /** Seen at `at` (a known time from elsewhere: the registry's seenAt at startup). */
  looked(path: string, at: number): void {
    this.looks.set(path, at);
  }

  /** A file is at `path` now. */
  occupied(path: string, at: number): void {
    this.vacated.delete(path);
    this.looks.set(path, at);
  }

  /** The file followed at `path` went away (the last look that found a file there stays). */
  vacate(path: string, at: number): void {
    this.vacated.set(path, at);
  }

  /** After a complete scan at `at`: vacated paths still empty are forgotten after `memoryMs(path)`. */
  expire(stillEmpty: (path: string) => boolean, at: number, memoryMs: (path: string) => number): void {
    for (const [path, since] of this.vacated) {
      if (!stillEmpty(path)) continue;
      if (at - since > memoryMs(path)) {
        this.vacated.delete(path);
        this.looks.delete(path);
      }
    }
  }
}
