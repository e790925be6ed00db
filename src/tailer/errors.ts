// Typed errors of the tailer: each carries the file (path, identity) and, where it matters,
// the offset, so a log line or a caller can say exactly what failed where.

import { errnoCode } from '../core/errors.js';
import type { FileIdentity } from '../core/file.js';

export class TailerError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly identity?: FileIdentity,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A followed file could not be opened (EACCES, EMFILE, ...); `code` is the errno name. */
export class FileOpenError extends TailerError {
  constructor(
    path: string,
    readonly code: string | undefined,
    cause: unknown,
    identity?: FileIdentity,
  ) {
    super(`cannot open ${path}: ${code ?? String(cause)}`, path, identity, { cause });
  }
}

/** The file we followed is no longer reachable under its last path nor in its directory. */
export class FileGoneError extends TailerError {
  constructor(path: string, identity: FileIdentity) {
    super(`file ${identity.dev}:${identity.ino} last seen at ${path} is gone`, path, identity);
  }
}

/** Reading a followed file failed at `offset`. */
export class FileReadError extends TailerError {
  constructor(path: string, identity: FileIdentity, readonly offset: number, cause: unknown) {
    super(`read failed for ${path} at offset ${offset}: ${errnoCode(cause) ?? String(cause)}`, path, identity, { cause });
  }
}

export { errnoCode };

/**
 * A move asked of a piece of the tailer with no file of its own (the scan schedule, the
 * watcher, discovery) in a state it does not come from: a bug, told with its context.
 */
export class TailerStateError extends Error {
  constructor(
    /** What refused: "scan schedule", "watcher", ... */
    readonly owner: string,
    readonly from: string,
    readonly transition: string,
  ) {
    super(`${owner}: '${transition}' is not possible while ${from}`);
    this.name = new.target.name;
  }
}
