// The offsets registry: per file identity, the offset up to which Kafka acknowledged every
// line, kept in memory on the hot path and persisted to agent.data_dir in the background so a
// restart resumes exactly. Its own troubles (full disk, I/O errors, a damaged file) are logged
// and counted; they never throw into the shipping path.
//
// When a write happens (the dirty rule):
//   - commit() / remove() / cleaning: at the next flush.
//   - seen() only moves lastSeen, which matters only for cleaning (clean_after is hours or
//     days): lastSeen-only changes reach the disk once per SEEN_ONLY_WRITE_INTERVAL_MS, not
//     sooner. They neither force a write nor make a write re-serialise the entry, so a
//     discovery scan calling seen() for 10,000 files costs nothing until that minute is up.

import type { Logger } from 'pino';
import { type Checkpoint, type FileIdentity, identityKey } from '../core/file.js';
import { RegistryError } from './errors.js';
import { checkpointProblem, copyCheckpoint, encodeRegistry } from './registry-file.js';
import { nodeRegistryFs } from './registry-fs.js';
import type { RegistryFs } from './registry-fs.js';
import { RegistryStore } from './registry-store.js';

export { RegistryError } from './errors.js';
export type { RegistryFs, RegistryFileHandle } from './registry-fs.js';
export { REGISTRY_FILE_NAME } from './registry-store.js';

/** A change of lastSeen alone is persisted at most this often. */
export const SEEN_ONLY_WRITE_INTERVAL_MS = 60_000;
/** While writes keep failing, the error is logged again at most this often. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

export interface RegistryOptions {
  /** agent.data_dir; created with mode 0700 if missing. */
  dataDir: string;
  /** registry.flush_interval, ms */
  flushIntervalMs: number;
  /** registry.clean_after, ms: entries not seen or committed for this long are dropped at flush; <= 0 never drops. */
  cleanAfterMs: number;
  log: Logger;
  /** ms since the epoch; the registry's only clock (stamps lastSeen, drives cleaning). */
  now?: () => number;
  fs?: RegistryFs;
}

export interface RegistryStats {
  /** Successful writes of registry.json. */
  writes: number;
  writeErrors: number;
  /** Duration of the last successful write (serialise + fsync + rename), ms. */
  lastWriteMs: number;
  /** Of lastWriteMs, the part that blocked the event loop: validating and serialising, ms. */
  lastEncodeMs: number;
  /** When the last successful write finished (registry clock), 0 before the first. */
  lastWriteAt: number;
  /** The state was loaded from registry.json.prev because registry.json was missing or damaged. */
  recoveredFromBackup: boolean;
  /** Checkpoints dropped at flush because they could never be read back (invalid values). */
  rejectedEntries: number;
  readonly entries: number;
}

export class OffsetRegistry {
  readonly stats: RegistryStats;
  private readonly entries = new Map<string, Checkpoint>();
  /**
   * JSON (UTF-8) of entries unchanged since they were last serialised: a write re-serialises
   * only what changed. Every change to an entry deletes its bytes here.
   */
  private readonly entryJson = new Map<string, Buffer>();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly openedAt: number;
  /** Bumped by every change that must reach the disk; compared with what the last write covered. */
  private changeSeq = 0;
  private writtenChangeSeq = 0;
  /** Entries whose lastSeen on disk may be older than in memory (seen() since last written). */
  private seenUnwritten = new Set<string>();
  private lastSeenWriteAt: number;
  private flushChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private consecutiveFailures = 0;
  private lastFailureLogAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly store: RegistryStore,
    private readonly opts: RegistryOptions,
    loaded: Checkpoint[],
    recoveredFromBackup: boolean,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
    this.openedAt = this.now();
    this.lastSeenWriteAt = this.openedAt;
    for (const cp of loaded) this.entries.set(identityKey(cp.identity), copyCheckpoint(cp, cp.lastSeen));
    const entries = this.entries;
    this.stats = {
      writes: 0,
      writeErrors: 0,
      lastWriteMs: 0,
      lastEncodeMs: 0,
      lastWriteAt: 0,
      recoveredFromBackup,
      rejectedEntries: 0,
      get entries() {
        return entries.size;
      },
    };
    // A state recovered from the backup is rewritten as registry.json at the first flush.
    if (recoveredFromBackup) this.changeSeq++;
  }

  /** Loads the registry from dataDir, recovering from a damaged file (see RegistryStore.load). */
  static async open(opts: RegistryOptions): Promise<OffsetRegistry> {
    const now = opts.now ?? Date.now;
    const store = await RegistryStore.open(opts.dataDir, opts.fs ?? nodeRegistryFs, opts.log, now);
    const loaded = await store.load();
    return new OffsetRegistry(store, opts, loaded.entries, loaded.recoveredFromBackup);
  }

  /** Path of registry.json. */
  get file(): string {
    return this.store.file;
  }

  /** The registry's own object: read it, do not change it (changes go through commit()). */
  get(identity: FileIdentity): Checkpoint | undefined {
    return this.entries.get(identityKey(identity));
  }

  all(): Iterable<Checkpoint> {
    return this.entries.values();
  }

  /**
   * Records a committed offset (the shipper's ack path: O(1), no I/O). The registry keeps its
   * own copy and stamps lastSeen with its clock; the caller's lastSeen is ignored. `seenAt`
   * (when the tailer last saw the file at its path) is the caller's: a commit is no sighting,
   * so without one the entry keeps the seenAt it had.
   */
  commit(cp: Checkpoint): void {
    const key = identityKey(cp.identity);
    this.entries.set(key, copyCheckpoint(cp, this.now(), cp.seenAt ?? this.entries.get(key)?.seenAt));
    this.entryJson.delete(key);
    this.seenUnwritten.delete(key);
    this.changeSeq++;
  }

  /**
   * The file still exists on disk (keeps its entry from being cleaned). O(1), no I/O. A file
   * without an entry is ignored: the registry holds only committed offsets. The entry keeps the
   * path it was discovered under, so `_path` (a rotated file's current name) is not stored.
   */
  seen(identity: FileIdentity, _path: string): void {
    const key = identityKey(identity);
    const cp = this.entries.get(key);
    if (cp === undefined) return;
    cp.lastSeen = this.now();
    this.seenUnwritten.add(key);
  }

  /** The file was deleted and read to its end: keep the entry, but it describes no file on disk now. */
  markDeleted(identity: FileIdentity): void {
    const key = identityKey(identity);
    const cp = this.entries.get(key);
    if (cp === undefined || cp.deleted === true) return;
    this.entries.set(key, copyCheckpoint(cp, cp.lastSeen, cp.seenAt, true));
    this.entryJson.delete(key);
    this.changeSeq++;
  }

  remove(identity: FileIdentity): void {
    const key = identityKey(identity);
    this.entryJson.delete(key);
    this.seenUnwritten.delete(key);
    if (this.entries.delete(key)) this.changeSeq++;
  }

  /**
   * Writes now if anything changed since the last successful write. Never rejects: a failed
   * write is logged and counted, the file on disk stays the previous good one, and the next
   * flush tries again. Concurrent calls run one after the other.
   */
  flush(): Promise<void> {
    // The catch keeps the chain alive: one rejected flush must not skip every later one.
    this.flushChain = this.flushChain.then(() => this.flushOnce()).catch((err: unknown) => this.recordFailure(err));
    return this.flushChain;
  }

  /** Flushes every flushIntervalMs until close(). The timer never keeps the process alive. */
  start(): void {
    if (this.timer !== null || this.closed) return;
    this.scheduleFlush();
  }

  /** Stops the periodic flush and writes the final state. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  private scheduleFlush(): void {
    // Re-armed after each flush rather than setInterval, so a slow disk never stacks writes.
    this.timer = setTimeout(() => {
      void this.flush().then(() => {
        if (!this.closed) this.scheduleFlush();
      });
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  private async flushOnce(): Promise<void> {
    const now = this.now();
    this.dropStale(now);
    const changed = this.changeSeq !== this.writtenChangeSeq;
    const refreshSeen = this.seenUnwritten.size > 0 && now - this.lastSeenWriteAt >= SEEN_ONLY_WRITE_INTERVAL_MS;
    if (!changed && !refreshSeen) return;

    const changeSeq = this.changeSeq;
    const refreshing = refreshSeen ? this.seenUnwritten : new Set<string>();
    if (refreshSeen) {
      this.seenUnwritten = new Set();
      for (const key of refreshing) this.entryJson.delete(key);
    }
    const started = performance.now();
    let encodeMs: number;
    try {
      // Serialised synchronously: commits arriving during the I/O belong to the next write.
      const bytes = encodeRegistry(this.serialisedEntries(), now);
      encodeMs = performance.now() - started;
      await this.store.write(bytes);
    } catch (err) {
      for (const key of refreshing) this.seenUnwritten.add(key);
      this.recordFailure(err);
      return;
    }
    this.writtenChangeSeq = changeSeq;
    if (refreshSeen) this.lastSeenWriteAt = now;
    this.stats.writes++;
    this.stats.lastWriteMs = performance.now() - started;
    this.stats.lastEncodeMs = encodeMs;
    this.stats.lastWriteAt = this.now();
    if (this.consecutiveFailures > 0) {
      this.log.info({ file: this.store.file, failedWrites: this.consecutiveFailures }, 'registry writes succeed again');
      this.consecutiveFailures = 0;
      this.lastFailureLogAt = Number.NEGATIVE_INFINITY;
    }
  }

  /**
   * The JSON text of every entry, minus any that could not be read back: one bad value (NaN
   * offset, empty path) would otherwise make the whole file unreadable at the next start.
   */
  private serialisedEntries(): Buffer[] {
    const jsons: Buffer[] = [];
    for (const [key, cp] of this.entries) {
      let json = this.entryJson.get(key);
      if (json === undefined) {
        const problem = checkpointProblem(cp);
        if (problem !== null) {
          this.entries.delete(key);
          this.seenUnwritten.delete(key);
          this.stats.rejectedEntries++;
          this.log.error({ file: this.store.file, key, path: cp.path, offset: cp.offset, problem }, `invalid checkpoint dropped, not written to the registry: ${problem}`);
          continue;
        }
        json = Buffer.from(JSON.stringify(cp));
        this.entryJson.set(key, json);
        // Fresh bytes carry the current lastSeen. Should this write fail, it is retried anyway:
        // it was due to a change (still unwritten) or to the lastSeen refresh (re-armed).
        this.seenUnwritten.delete(key);
      }
      jsons.push(json);
    }
    return jsons;
  }

  /**
   * Entries count as seen at open at the latest: after a long stop, discovery gets a full
   * clean_after to find each file again before its offset is forgotten (forgetting the offset
   * of a live file means shipping it again or skipping it).
   */
  private dropStale(now: number): void {
    if (this.opts.cleanAfterMs <= 0) return;
    let dropped = 0;
    for (const [key, cp] of this.entries) {
      if (now - Math.max(cp.lastSeen, this.openedAt) <= this.opts.cleanAfterMs) continue;
      this.entries.delete(key);
      this.entryJson.delete(key);
      this.seenUnwritten.delete(key);
      dropped++;
      this.log.debug({ key, path: cp.path, offset: cp.offset, lastSeen: cp.lastSeen }, 'registry entry cleaned');
    }
    if (dropped > 0) {
      this.changeSeq++;
      this.log.info({ dropped, cleanAfterMs: this.opts.cleanAfterMs }, 'registry entries of files not seen for clean_after dropped');
    }
  }

  private recordFailure(err: unknown): void {
    this.stats.writeErrors++;
    this.consecutiveFailures++;
    const now = this.now();
    // A full disk fails every interval: say it once, then remind at a slower pace.
    if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLogAt = now;
    const file = err instanceof RegistryError ? err.file : this.store.file;
    this.log.error(
      { err, file, registry: this.store.file, failedWrites: this.consecutiveFailures },
      `registry write failed (${file}); the previous registry file is kept and the write is retried at the next flush`,
    );
  }
}
