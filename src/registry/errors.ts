// Typed errors of the offsets registry: every failure names the file and the operation, so a
// log line alone tells an operator what broke and where.

import { errnoCode } from '../core/errors.js';
export class RegistryError extends Error {
  /** The file or directory the failing operation was about. */
  readonly file: string;
  /** What the registry was doing: 'mkdir', 'read', 'write', 'fsync', 'rename', ... */
  readonly op: string;
  /** errno code of the underlying failure (ENOSPC, EIO, EACCES, ...), when there was one. */
  readonly code: string | undefined;

  constructor(message: string, context: { file: string; op: string; cause?: unknown }) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'RegistryError';
    this.file = context.file;
    this.op = context.op;
    this.code = errnoCode(context.cause);
  }
}

export { errnoCode };
