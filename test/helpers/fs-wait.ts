// Waits until a condition holds or fails with a message saying what never happened: tests
// await filesystem effects (a line arriving, a handle closing) without sleeping blindly.

import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Polls `condition` until it returns true; rejects after `timeoutMs` with `what` (a string, or
 * a function producing one so it can report the state at the time of failure).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  { timeoutMs = 10_000, pollMs = 5 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      const description = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`);
    }
    await delay(pollMs);
  }
}
