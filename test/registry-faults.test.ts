// Failed writes (full disk, I/O errors, permissions) injected through the fs seam: flush never
// throws, the failure is counted and logged, registry.json stays the previous good file, no
// temp file is left behind, and the next flush after the fault clears writes the new state.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OffsetRegistry } from '../src/registry/offset-registry.js';
import type { RegistryOptions } from '../src/registry/offset-registry.js';
import { decodeRegistry } from '../src/registry/registry-file.js';
import type { Checkpoint } from '../src/core/file.js';
import { FaultyFs, LEVEL, checkpoint, collectingLogger, listDir, makeTempDir, manualClock, removeDir } from './helpers/registry-fixtures.js';
import type { FsOperation } from './helpers/registry-fixtures.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await makeTempDir('registry-faults');
});

afterEach(async () => {
  await removeDir(dataDir);
});

function offsets(entries: Iterable<Checkpoint>): Record<string, number> {
  const byIno: Record<string, number> = {};
  for (const cp of entries) byIno[String(cp.identity.ino)] = cp.offset;
  return byIno;
}

async function onDisk(file: string): Promise<Record<string, number>> {
  const decoded = decodeRegistry(await readFile(file, 'utf8'));
  assert.ok(decoded.ok, `${file} must stay a valid registry`);
  return offsets(decoded.entries);
}

async function openWithFaults(overrides: Partial<RegistryOptions> = {}) {
  const fs = new FaultyFs();
  const clock = manualClock();
  const { log, records } = collectingLogger();
  const registry = await OffsetRegistry.open({ dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log, now: clock.now, fs, ...overrides });
  return { registry, fs, clock, records };
}

const faults: [FsOperation, string][] = [
  ['write', 'ENOSPC'],
  ['write', 'EIO'],
  ['fsync', 'EIO'],
  ['open', 'EACCES'],
  ['chmod', 'EPERM'],
  ['rename', 'EIO'],
];

describe('OffsetRegistry failed writes', () => {
  for (const [op, code] of faults) {
    it(`${code} on ${op}: flush resolves, error counted and logged, good file kept, next flush succeeds`, async () => {
      const { registry, fs, records } = await openWithFaults();
      registry.commit(checkpoint(1, 100));
      await registry.flush();
      const mainFile = registry.file;

      registry.commit(checkpoint(1, 200));
      registry.commit(checkpoint(2, 50));
      fs.failing.set(op, code);
      await registry.flush();

      assert.equal(registry.stats.writeErrors, 1);
      assert.equal(registry.stats.writes, 1);
      assert.ok((fs.calls.get(op) ?? 0) > 0, `the ${op} fault was reached`);
      assert.deepEqual(await onDisk(mainFile), { 1: 100 }, 'registry.json is still the previous good state');
      assert.deepEqual(
        (await listDir(dataDir)).filter((name) => name.endsWith('.tmp')),
        [],
        'no temp file left behind',
      );
      const report = records.find((r) => r.level === LEVEL.error);
      assert.ok(report, 'the failure is logged as an error');
      assert.ok(typeof report.file === 'string' && report.file.startsWith(join(dataDir, 'registry.json')), 'the log names the file');
      assert.equal((report.err as { code?: string } | undefined)?.code, code);
      assert.deepEqual(offsets(registry.all()), { 1: 200, 2: 50 }, 'memory keeps the new state');

      fs.failing.clear();
      await registry.flush();
      assert.equal(registry.stats.writes, 2);
      assert.equal(registry.stats.writeErrors, 1);
      assert.deepEqual(await onDisk(mainFile), { 1: 200, 2: 50 });
      assert.ok(records.some((r) => r.level === LEVEL.info && /succeed again/.test(r.msg)));
    });
  }

  it('a persistent fault is retried at every flush but logged once a minute', async () => {
    const { registry, fs, clock, records } = await openWithFaults();
    registry.commit(checkpoint(1, 100));
    fs.failing.set('write', 'ENOSPC');
    for (let i = 0; i < 5; i++) {
      await registry.flush();
      clock.advance(1_000);
    }
    assert.equal(registry.stats.writeErrors, 5);
    assert.equal(fs.calls.get('write'), 5, 'each flush tries again');
    assert.equal(records.filter((r) => r.level === LEVEL.error).length, 1);
    clock.advance(60_000);
    await registry.flush();
    const errors = records.filter((r) => r.level === LEVEL.error);
    assert.equal(errors.length, 2);
    assert.equal(errors[1]?.failedWrites, 6);
  });

  it('close() with a failing disk resolves and reports the failure', async () => {
    const { registry, fs } = await openWithFaults();
    registry.commit(checkpoint(1, 100));
    fs.failing.set('fsync', 'EIO');
    await registry.close();
    assert.equal(registry.stats.writeErrors, 1);
    assert.deepEqual(await listDir(dataDir), []);
  });

  it('a filesystem without hard links still keeps the previous copy (by rename)', async () => {
    const { registry, fs } = await openWithFaults();
    registry.commit(checkpoint(1, 100));
    await registry.flush();
    fs.failing.set('link', 'EPERM');
    registry.commit(checkpoint(1, 200));
    await registry.flush();
    assert.equal(registry.stats.writeErrors, 0);
    assert.equal(fs.calls.get('link'), 1);
    assert.deepEqual(await onDisk(registry.file), { 1: 200 });
    assert.deepEqual(await onDisk(`${registry.file}.prev`), { 1: 100 });
  });
});
