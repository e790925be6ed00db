// The agent's logger: pino, JSON lines by default, human-readable with `log.format: pretty`.
// Secret-bearing fields are censored by path wherever they appear in a logged object, as a
// second line of defence behind never logging secrets in the first place.

import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { REDACT_PATHS, REDACTED } from './config/redact.js';
import type { LogSection } from './config/types.js';

/** Config paths (REDACT_PATHS) plus a bare `password` field wherever a module logs one. */
export const REDACTED_LOG_PATHS = [...REDACT_PATHS, 'password', '*.password', 'sasl.password', '*.sasl.password'];

export function createLogger(section: LogSection, destination: NodeJS.WritableStream = process.stdout): Logger {
  const options = {
    level: section.level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
  };
  if (section.format === 'pretty') {
    return pino(options, pretty({ sync: true, destination, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', singleLine: true }));
  }
  return pino(options, destination);
}

