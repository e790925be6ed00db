// Per-file read counters for /metrics (and through it `logship top`): lines and bytes handed
// on by the tailer, and when the last line was. Counted on the batch's way from the tailer to
// the shipper, so the tailer itself keeps only its per-input counters; one map update per batch.
// Keyed by file identity (device:inode), which survives configuration reloads (a new tailer
// numbers its readers anew) and rotation (a renamed file is the same file).

import type { BatchSink, LineBatch } from '../core/batch.js';
import type { FileIdentity } from '../core/file.js';

export interface FileReadCounts {
  lines: number;
  bytes: number;
  /** Wall-clock ms when the file's last batch was read. */
  lastReadAt: number;
}

/** Files no longer followed are forgotten at most this often, from the read path itself. */
const PRUNE_EVERY_MS = 60_000;

export class FileActivity {
  private readonly counts = new Map<string, FileReadCounts>();
  private prunedAt: number;

  /** `followed`: the identities of the files followed now; counts of other files are dropped. */
  constructor(
    private readonly followed: () => Iterable<FileIdentity>,
    private readonly now: () => number = Date.now,
  ) {
    this.prunedAt = now();
  }

  /** `sink`, counting each batch before handing it on. */
  counting(sink: BatchSink): BatchSink {
    return (batch) => {
      this.record(batch);
      sink(batch);
    };
  }

  record(batch: LineBatch): void {
    const now = this.now();
    const key = activityKey(batch.source.identity);
    const bytes = batch.endOffset - batch.startOffset;
    const c = this.counts.get(key);
    if (c) {
      c.lines += batch.ends.length;
      c.bytes += bytes;
      c.lastReadAt = now;
    } else {
      this.counts.set(key, { lines: batch.ends.length, bytes, lastReadAt: now });
    }
    if (now - this.prunedAt >= PRUNE_EVERY_MS) this.prune(now);
  }

  of(identity: FileIdentity): FileReadCounts | undefined {
    return this.counts.get(activityKey(identity));
  }

  private prune(now: number): void {
    this.prunedAt = now;
    const keep = new Set<string>();
    for (const id of this.followed()) keep.add(activityKey(id));
    for (const key of this.counts.keys()) if (!keep.has(key)) this.counts.delete(key);
  }
}

function activityKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}`;
}
