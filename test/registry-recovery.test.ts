// Loading with recovery: a damaged registry.json is moved aside, reported, and the agent
// resumes from registry.json.prev (at most one flush interval behind), or starts empty, loudly.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OffsetRegistry, RegistryError } from '../src/registry/offset-registry.js';
import type { RegistryOptions } from '../src/registry/offset-registry.js';
import { decodeRegistry, encodeRegistry } from '../src/registry/registry-file.js';
import { nodeRegistryFs } from '../src/registry/registry-fs.js';
import type { RegistryFs } from '../src/registry/registry-fs.js';
import type { Checkpoint } from '../src/core/file.js';
import { LEVEL, checkpoint, collectingLogger, listDir, makeTempDir, manualClock, removeDir, silentLog } from './helpers/registry-fixtures.js';
import type { LogRecord } from './helpers/registry-fixtures.js';

let dataDir: string;
let mainFile: string;
let prevFile: string;
const clock = manualClock();

beforeEach(async () => {
  dataDir = await makeTempDir('registry-recovery');
  mainFile = join(dataDir, 'registry.json');
  prevFile = `${mainFile}.prev`;
});

afterEach(async () => {
  await removeDir(dataDir);
});

function options(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return { dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log: silentLog, now: clock.now, ...overrides };
}

function offsets(entries: Iterable<Checkpoint>): Record<string, number> {
  const byIno: Record<string, number> = {};
  for (const cp of entries) byIno[String(cp.identity.ino)] = cp.offset;
  return byIno;
}

const OLDER = { 1: 100, 2: 200 };
const NEWER = { 1: 150, 2: 250, 3: 10 };

/** registry.json holds NEWER, registry.json.prev holds OLDER (or is absent). */
async function writeGenerations(withPrev: boolean): Promise<void> {
  const registry = await OffsetRegistry.open(options());
  if (withPrev) {
    for (const [ino, offset] of Object.entries(OLDER)) registry.commit(checkpoint(Number(ino), offset));
    await registry.flush();
  }
  for (const [ino, offset] of Object.entries(NEWER)) registry.commit(checkpoint(Number(ino), offset));
  await registry.close();
}

async function corruptFilesIn(dir: string, base: string): Promise<string[]> {
  return (await listDir(dir)).filter((name) => name.startsWith(`${base}.corrupt-`));
}

function errorsNaming(records: LogRecord[], file: string): LogRecord[] {
  return records.filter((r) => r.level === LEVEL.error && r.file === file && r.msg.includes(file));
}

type Damage = (text: string) => string | Buffer;

function entryJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const damages: Record<string, { damage: Damage; problem: RegExp }> = {
  'truncated JSON': { damage: (text) => text.slice(0, Math.floor(text.length / 2)), problem: /not valid JSON/ },
  'random garbage': { damage: () => randomBytes(2_048), problem: /not valid JSON|not a JSON object/ },
  'empty file': { damage: () => '', problem: /empty/ },
  'checksum mismatch (JSON still valid)': { damage: (text) => text.replace('"offset":150', '"offset":151'), problem: /checksum mismatch/ },
  'wrong version': { damage: (text) => text.replace('"version":1', '"version":2'), problem: /unsupported version 2/ },
  'bad entry shape with a valid checksum': {
    damage: () => encodeRegistry([entryJson({ ...checkpoint(1, 150), offset: -5 }), entryJson({ identity: { dev: 1, ino: 2 } })], clock.now()).toString('utf8'),
    problem: /entry 0 is invalid/,
  },
  'repeated identity with a valid checksum': {
    damage: () => encodeRegistry([entryJson(checkpoint(1, 150)), entryJson(checkpoint(1, 160))], clock.now()).toString('utf8'),
    problem: /repeats file identity 2049:1/,
  },
};

describe('OffsetRegistry.open with a damaged registry.json', () => {
  for (const [name, { damage, problem }] of Object.entries(damages)) {
    it(`${name}: moved aside, error names the file, resumes from .prev`, async () => {
      await writeGenerations(true);
      const damaged = damage(await readFile(mainFile, 'utf8'));
      await writeFile(mainFile, damaged);

      const { log, records } = collectingLogger();
      const registry = await OffsetRegistry.open(options({ log }));

      assert.deepEqual(offsets(registry.all()), OLDER);
      assert.equal(registry.stats.recoveredFromBackup, true);
      const [report] = errorsNaming(records, mainFile);
      assert.ok(report, `expected an ERROR log naming ${mainFile}`);
      assert.match(String(report.problem), problem);
      const aside = await corruptFilesIn(dataDir, 'registry.json');
      assert.equal(aside.length, 1, `expected one registry.json.corrupt-* file, found ${aside.join(', ')}`);
      assert.equal(report.movedTo, join(dataDir, aside[0] ?? ''));
      assert.deepEqual(await readFile(join(dataDir, aside[0] ?? '')), Buffer.from(damaged), 'the damaged file is kept as it was');

      // The recovered state becomes registry.json at the next flush, and .prev stays good.
      await registry.flush();
      assert.equal(registry.stats.writes, 1);
      const again = await OffsetRegistry.open(options());
      assert.deepEqual(offsets(again.all()), OLDER);
      assert.equal(again.stats.recoveredFromBackup, false);
      const prev = decodeRegistry(await readFile(prevFile, 'utf8'));
      assert.ok(prev.ok && prev.entries.length === 2, '.prev must not be replaced by the damaged file');
    });
  }

  it('no good previous copy: starts empty with a loud error, damaged file moved aside', async () => {
    await writeGenerations(false);
    await writeFile(mainFile, '{"version":1,"written_at":1,"sha2');
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log }));
    assert.equal(registry.stats.entries, 0);
    assert.equal(registry.stats.recoveredFromBackup, false);
    assert.ok(errorsNaming(records, mainFile).length >= 1);
    assert.ok(records.some((r) => r.level === LEVEL.error && r.msg.startsWith('REGISTRY LOST')), 'expected the registry-lost error');
    assert.equal((await corruptFilesIn(dataDir, 'registry.json')).length, 1);
  });

  it('both copies damaged: both moved aside, starts empty', async () => {
    await writeGenerations(true);
    await writeFile(mainFile, 'garbage');
    await writeFile(prevFile, '');
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log }));
    assert.equal(registry.stats.entries, 0);
    assert.ok(errorsNaming(records, mainFile).length >= 1);
    assert.ok(errorsNaming(records, prevFile).length >= 1);
    assert.equal((await corruptFilesIn(dataDir, 'registry.json')).length, 1);
    assert.equal((await corruptFilesIn(dataDir, 'registry.json.prev')).length, 1);
  });

  it('a second damage at the same instant gets its own corrupt-* name', async () => {
    await writeGenerations(true);
    await writeFile(mainFile, 'first');
    await OffsetRegistry.open(options());
    await writeFile(mainFile, 'second');
    await OffsetRegistry.open(options());
    const aside = await corruptFilesIn(dataDir, 'registry.json');
    assert.equal(aside.length, 2);
    const contents = await Promise.all(aside.map((name) => readFile(join(dataDir, name), 'utf8')));
    assert.deepEqual(contents.sort(), ['first', 'second']);
  });
});

describe('OffsetRegistry.open with a missing or unreadable registry.json', () => {
  it('first start (no files): empty, info log, nothing moved', async () => {
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log }));
    assert.equal(registry.stats.entries, 0);
    assert.ok(records.some((r) => r.level === LEVEL.info && r.file === mainFile && /first start/.test(r.msg)));
    assert.ok(!records.some((r) => r.level >= LEVEL.warn));
  });

  it('registry.json missing but .prev present: resumes from .prev with a warning', async () => {
    await writeGenerations(true);
    await rm(mainFile);
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log }));
    assert.deepEqual(offsets(registry.all()), OLDER);
    assert.equal(registry.stats.recoveredFromBackup, true);
    assert.ok(records.some((r) => r.level === LEVEL.warn && r.file === prevFile));
  });

  it('unreadable registry.json (EACCES) with a good .prev: resumes from .prev', async () => {
    await writeGenerations(true);
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log, fs: failingRead(mainFile, 'EACCES') }));
    assert.deepEqual(offsets(registry.all()), OLDER);
    assert.ok(records.some((r) => r.level === LEVEL.error && r.file === mainFile));
    // The unreadable file is not moved: it is not known to be damaged, and the next write replaces it.
    assert.equal((await corruptFilesIn(dataDir, 'registry.json')).length, 0);
  });

  it('unreadable registry.json (EIO) and no backup: open rejects with a RegistryError naming the file', async () => {
    await writeGenerations(false);
    await assert.rejects(OffsetRegistry.open(options({ fs: failingRead(mainFile, 'EIO') })), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.file, mainFile);
      assert.equal(err.code, 'EIO');
      assert.equal(err.op, 'read');
      return true;
    });
  });

  it('data_dir that is a file: open rejects with a RegistryError naming it', async () => {
    const notADir = join(dataDir, 'file');
    await writeFile(notADir, 'x');
    await assert.rejects(OffsetRegistry.open(options({ dataDir: notADir })), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.file, notADir);
      return true;
    });
  });
});

function failingRead(path: string, code: string): RegistryFs {
  return {
    ...nodeRegistryFs,
    readFile: async (file) => {
      if (file === path) throw Object.assign(new Error(`${code}: injected read failure, '${file}'`), { code });
      return nodeRegistryFs.readFile(file);
    },
  };
}
