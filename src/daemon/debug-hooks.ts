// Test-only hooks into the running agent, off unless their environment variable is set. They
// exist because some failures cannot be caused from outside honestly: a SIGSTOP freezes the
// whole process, not its event loop, so the watchdog test needs the loop itself blocked.

import type { Logger } from 'pino';

/**
 * LOGSHIP_DEBUG_BLOCK_LOOP_MS=N: each SIGUSR2 blocks the event loop for N ms with a
 * synchronous wait (as a runaway callback would), then lets it run on.
 */
export function installDebugHooks(env: NodeJS.ProcessEnv, log: Logger): void {
  const text = env.LOGSHIP_DEBUG_BLOCK_LOOP_MS;
  if (text === undefined || text === '') return;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    log.warn({ LOGSHIP_DEBUG_BLOCK_LOOP_MS: text }, 'debug hook ignored: not a positive number of milliseconds');
    return;
  }
  const cell = new Int32Array(new SharedArrayBuffer(4));
  process.on('SIGUSR2', () => {
    log.warn({ ms }, 'DEBUG: blocking the event loop (LOGSHIP_DEBUG_BLOCK_LOOP_MS, SIGUSR2)');
    Atomics.wait(cell, 0, 0, ms);
    log.warn({ ms }, 'DEBUG: event loop released');
  });
  log.warn({ ms }, 'DEBUG hook on: SIGUSR2 blocks the event loop (LOGSHIP_DEBUG_BLOCK_LOOP_MS); never set this in production');
}
