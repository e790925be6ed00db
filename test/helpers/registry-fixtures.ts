// Shared fixtures of the registry tests: temp data dirs, checkpoints, a log that records what
// was said, and a filesystem whose calls can be made to fail on demand.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { nodeRegistryFs } from '../../src/registry/registry-fs.js';
import type { RegistryFileHandle, RegistryFs } from '../../src/registry/registry-fs.js';
import type { Checkpoint } from '../../src/core/file.js';

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `logship-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

export function checkpoint(ino: number, offset: number, overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    identity: { dev: 2049, ino },
    fingerprint: { len: 1024, hash: 'ab'.repeat(32) },
    input: 'nginx',
    path: `/var/log/app-${ino}.log`,
    offset,
    marker: offset === 0 ? null : { len: Math.min(offset, 64), hash: 'cd'.repeat(32) },
    lastSeen: 0,
    ...overrides,
  };
}

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A pino logger that keeps every record, for tests that assert on what was logged. */
export function collectingLogger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  // pino calls write() synchronously for a plain destination, so records are there as soon as
  // the logging call returns.
  const sink = { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) };
  return { log: pino({ level: 'debug' }, sink), records };
}

export const silentLog: Logger = pino({ level: 'silent' });

/** A mutable clock for the registry's `now` option. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

export type FsOperation = 'open' | 'write' | 'chmod' | 'fsync' | 'rename' | 'link' | 'readFile';

/**
 * The real filesystem, except that `failing` operations reject with an errno error (set and
 * clear `failing` between calls). `calls` counts each operation attempted.
 */
export class FaultyFs implements RegistryFs {
  readonly failing = new Map<FsOperation, string>();
  readonly calls = new Map<FsOperation, number>();

  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown> {
    return nodeRegistryFs.mkdir(path, options);
  }
  stat(path: string): Promise<{ mode: number; isDirectory(): boolean }> {
    return nodeRegistryFs.stat(path);
  }
  async readFile(path: string): Promise<string> {
    this.check('readFile', path);
    return nodeRegistryFs.readFile(path);
  }
  async open(path: string, flags: 'w' | 'r', mode?: number): Promise<RegistryFileHandle> {
    this.check('open', path);
    const handle = await nodeRegistryFs.open(path, flags, mode);
    return {
      writeFile: async (data) => {
        this.check('write', path);
        await handle.writeFile(data);
      },
      chmod: async (fileMode) => {
        this.check('chmod', path);
        await handle.chmod(fileMode);
      },
      sync: async () => {
        this.check('fsync', path);
        await handle.sync();
      },
      close: () => handle.close(),
    };
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to);
    await nodeRegistryFs.rename(from, to);
  }
  async link(existing: string, newPath: string): Promise<void> {
    this.check('link', newPath);
    await nodeRegistryFs.link(existing, newPath);
  }
  unlink(path: string): Promise<void> {
    return nodeRegistryFs.unlink(path);
  }

  private check(op: FsOperation, path: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    const code = this.failing.get(op);
    if (code !== undefined) {
      throw Object.assign(new Error(`${code}: injected ${op} failure, '${path}'`), { code, syscall: op, path });
    }
  }
}

/** Waits until `condition` holds, failing with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
