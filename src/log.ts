// The agent's logger: pino, JSON lines by default, human-readable with `log.format: pretty`.
// Secret-bearing fields are censored by path wherever they appear in a logged object, as a
// second line of defence behind never logging secrets in the first place.

import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import { REDACT_PATHS, REDACTED } from './config/redact.js';
import type { LogSection } from './config/types.js';

const require = createRequire(import.meta.url);

/** Config paths (REDACT_PATHS) plus a bare `password` field wherever a module logs one. */
export const REDACTED_LOG_PATHS = [...REDACT_PATHS, 'password', '*.password', 'sasl.password', '*.sasl.password'];

export function createLogger(section: LogSection, destination: NodeJS.WritableStream = process.stdout): Logger {
  const options = {
    level: section.level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
  };
  if (section.format === 'pretty') {
    // Loaded only when asked for: pino-pretty and its dependencies cost ~35 ms of start-up.
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ sync: true, destination, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', singleLine: true }));
  }
  return pino(options, destination);
}

