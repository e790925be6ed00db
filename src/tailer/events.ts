// What the tailer tells the world, through one interface: rotations, truncations, copies found,
// files released, abandoned or gone, read and open failures. One implementation counts them
// through TailerCounters (Prometheus reads those) and logs them with pino; a recording one lets
// tests wait on events instead of on log text. Hot-path counts (lines, bytes, split lines,
// replaced characters) go to TailerCounters directly, per read or batch: an event per line
// would cost what it counts.

import type { Logger } from 'pino';
import type { EventCounters } from './counters.js';

export type TailerEvent =
  /** A followed file left its path: renamed (`renamedTo`), deleted or moved out (null); `replaced`: another file is there now. */
  | { type: 'rotated'; path: string; key: string; renamedTo: string | null; replaced: boolean }
  /** Startup or reload: a known file found under a rotated name, finished from its position. */
  | { type: 'rotated-resumed'; path: string; file: string; offset: number }
  /** A file created at the path and rotated away between two looks: read from its start. */
  | { type: 'middle-file'; path: string; file: string }
  /** The file was truncated while followed: read again from 0 in the next epoch. */
  | { type: 'truncated'; path: string; key: string; position: number; size: number; epoch: number }
  /** A known position no longer matches the file (truncated or replaced while not followed). */
  | { type: 'position-mismatch'; path: string; key: string; offset: number; size: number; reason: string }
  /** The copy a copytruncate left: finished from where the original stood. */
  | { type: 'copy-found'; path: string; copy: string; offset: number }
  /** Done with a rotated or deleted file: read to its end and closed. */
  | { type: 'released'; path: string; file: string; key: string; state: string }
  /** close_removed_after: a deleted file given up before its end (output blocked that long). */
  | { type: 'abandoned'; path: string; key: string; bytes: number }
  /** The file cannot be found by its identity any more; `bytes` unread were lost with it. */
  | { type: 'gone'; path: string; key: string; bytes: number }
  | { type: 'read-failed'; path: string; key: string; error: Error }
  /** First failure to open a file at this path (retried at each scan). */
  | { type: 'open-failed'; path: string; code: string | undefined; error: Error }
  | { type: 'open-recovered'; path: string }
  /** Not read at all (compressed archive, or not the file its position describes). */
  | { type: 'skipped'; path: string; file: string; reason: string }
  /** Stop (reload): a deleted, unfinished file's descriptor is kept for the next tailer. */
  | { type: 'deleted-held'; path: string; key: string; position: number }
  /** Start (reload): such a descriptor taken over and read on. */
  | { type: 'deleted-adopted'; path: string; file: string; offset: number }
  /** Start (reload): such a descriptor whose input is gone from the configuration, closed. */
  | { type: 'deleted-dropped'; path: string; input: string };

export type TailerEventType = TailerEvent['type'];

export interface TailerEvents {
  emit(event: TailerEvent): void;
}

/** Counts (TailerCounters) and logs: what the agent runs with. */
export class LoggedTailerEvents implements TailerEvents {
  constructor(
    private readonly log: Logger,
    private readonly counters: EventCounters,
  ) {}

  emit(event: TailerEvent): void {
    const { log, counters } = this;
    switch (event.type) {
      case 'rotated':
        if (event.replaced || event.renamedTo !== null) counters.fileRotated();
        log.info(
          { path: event.path, key: event.key, renamedTo: event.renamedTo },
          event.renamedTo === null ? 'file gone from its path (deleted or moved away): reading it to the end' : 'file rotated: reading it to the end',
        );
        return;
      case 'rotated-resumed':
        log.info({ path: event.path, rotatedTo: event.file, offset: event.offset }, 'finishing a rotated file');
        return;
      case 'middle-file':
        counters.fileRotated();
        log.info({ path: event.path, rotatedTo: event.file }, 'found a file created and rotated away between two looks: reading it from the start');
        return;
      case 'truncated':
        counters.fileTruncated();
        log.info({ path: event.path, key: event.key, position: event.position, size: event.size, epoch: event.epoch }, 'file truncated: reading it again from the start');
        return;
      case 'position-mismatch':
        log.info({ path: event.path, key: event.key, offset: event.offset, size: event.size, reason: event.reason }, 'checkpoint no longer matches the file: reading it from the start');
        return;
      case 'copy-found':
        log.info({ path: event.path, copy: event.copy, offset: event.offset }, 'file truncated after being copied: finishing the copy');
        return;
      case 'released':
        log.info({ path: event.path, currentPath: event.file, key: event.key, state: event.state }, 'released file');
        return;
      case 'abandoned':
        counters.fileAbandoned(event.bytes);
        log.warn({ path: event.path, key: event.key, bytesAbandoned: event.bytes }, 'gave up on a deleted file that could not be read to the end (close_removed_after elapsed while output was blocked)');
        return;
      case 'gone':
        counters.fileAbandoned(event.bytes);
        if (event.bytes > 0) log.warn({ path: event.path, key: event.key, bytesAbandoned: event.bytes }, 'file disappeared before it was read to the end');
        else log.debug({ path: event.path, key: event.key }, 'file disappeared');
        return;
      case 'read-failed':
        counters.readFailed();
        log.warn({ path: event.path, key: event.key, err: event.error }, 'read failed; will reopen and retry');
        return;
      case 'open-failed':
        counters.readFailed();
        log.warn({ path: event.path, code: event.code, err: event.error }, 'cannot open file; retrying at each scan');
        return;
      case 'open-recovered':
        log.info({ path: event.path }, 'file can be opened again');
        return;
      case 'skipped':
        log.info({ path: event.path, currentPath: event.file, reason: event.reason }, 'not reading file');
        return;
      case 'deleted-held':
        log.info({ path: event.path, key: event.key, position: event.position }, 'deleted file not read to the end: its descriptor is kept for the next tailer');
        return;
      case 'deleted-adopted':
        log.info({ path: event.path, currentPath: event.file, offset: event.offset }, 'continuing a deleted file through the descriptor handed over');
        return;
      case 'deleted-dropped':
        log.warn({ path: event.path, input: event.input }, 'deleted file handed over by the previous configuration is no longer followed (its input is gone): its rest is abandoned');
        return;
    }
  }
}

/** Records every event (and passes it on, if given a next one): tests wait on these. */
export class RecordingTailerEvents implements TailerEvents {
  readonly events: TailerEvent[] = [];
  private waiters: Array<{ match: (event: TailerEvent) => boolean; resolve: (event: TailerEvent) => void }> = [];

  constructor(private readonly next?: TailerEvents) {}

  emit(event: TailerEvent): void {
    this.events.push(event);
    this.next?.emit(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  of<T extends TailerEventType>(type: T): Array<Extract<TailerEvent, { type: T }>> {
    return this.events.filter((event): event is Extract<TailerEvent, { type: T }> => event.type === type);
  }

  /** Resolves with the first event of `type` (already recorded or still to come) that matches. */
  waitFor<T extends TailerEventType>(type: T, match: (event: Extract<TailerEvent, { type: T }>) => boolean = () => true, timeoutMs = 10_000): Promise<Extract<TailerEvent, { type: T }>> {
    const typed = (event: TailerEvent): event is Extract<TailerEvent, { type: T }> => event.type === type && match(event as Extract<TailerEvent, { type: T }>);
    const seen = this.events.find(typed);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: typed,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event as Extract<TailerEvent, { type: T }>);
        },
      });
    });
  }
}
