// Child process of the SIGKILL test. Boots, then waits for "go" on stdin (so the parent can
// boot the next writer while this one runs), opens the registry in argv[2], writes once and
// says "ready", then commits and flushes in a tight loop until it is killed.
// Generation g commits offset g*1000+i for file i: a loaded state mixing generations (a torn
// write) or an offset not of that form (garbage) is detectable by the parent.

import { once } from 'node:events';
import type { Logger } from 'pino';
import { OffsetRegistry } from '../../src/registry/offset-registry.js';

export const FILES = 20;
export const GENERATION_STRIDE = 1_000;

// Not pino itself: importing it costs ~40 ms of every start, paid hundreds of times by the
// test, and the registry only calls the level methods.
const noop = (): void => undefined;
const silentLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop } as unknown as Logger;

async function main(dataDir: string): Promise<void> {
  await once(process.stdin, 'data');
  const registry = await OffsetRegistry.open({ dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log: silentLogger });
  let generation = 0;
  for (const cp of registry.all()) generation = Math.max(generation, Math.floor(cp.offset / GENERATION_STRIDE));
  for (;;) {
    generation++;
    for (let i = 0; i < FILES; i++) {
      registry.commit({
        identity: { dev: 1, ino: i + 1 },
        fingerprint: { len: 16, hash: '0123456789abcdef' },
        input: 'crash',
        path: `/var/log/crash-${i}.log`,
        offset: generation * GENERATION_STRIDE + i,
        marker: { len: 1, hash: 'ff' },
        lastSeen: 0,
      });
    }
    await registry.flush();
    if (registry.stats.writeErrors > 0) throw new Error('a write failed in the crash writer');
    // After the first write: every run has made progress the parent can check for.
    if (registry.stats.writes === 1) process.stdout.write('ready\n');
  }
}

const dataDir = process.argv[2];
if (dataDir !== undefined) {
  main(dataDir).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
