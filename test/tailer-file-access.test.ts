// FileAccess's two states, with fake descriptors (no file): the descriptor held (none,
// inherited from a previous tailer, open in its max_open_files slot) and where the file is
// (FileLocation) — opened by identity at its path, never reopened once removed, evicted by the
// pool with the slot freed by the pool, a handed-over descriptor used before any open.

import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import { FileOpenError } from '../src/tailer/errors.js';
import { FileAccess, type OpenFile } from '../src/tailer/file-access.js';
import { HandlePool } from '../src/tailer/handle-pool.js';
import { silentLogger } from './helpers/tailer-harness.js';

interface FakeHandle {
  handle: FileHandle;
  readonly closed: boolean;
}

/** A descriptor of the file with inode `ino`, `nlink` links. */
function fakeHandle(ino: number, nlink = 1): FakeHandle {
  let closed = false;
  const handle = {
    stat: () => Promise.resolve({ dev: 1, ino, nlink }),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  } as unknown as FileHandle;
  return {
    handle,
    get closed() {
      return closed;
    },
  };
}

/** Opens the fake file with inode `ino` at any path, recording each path opened. */
function opener(ino: number): { open: OpenFile; opened: string[]; handles: FakeHandle[] } {
  const opened: string[] = [];
  const handles: FakeHandle[] = [];
  const open: OpenFile = (path) => {
    opened.push(path);
    const h = fakeHandle(ino);
    handles.push(h);
    return Promise.resolve(h.handle);
  };
  return { open, opened, handles };
}

const access = (pool: HandlePool, open: OpenFile, ino: number, state: 'live' | 'rotated' | 'removed' = 'live', inherited?: FileHandle): FileAccess =>
  new FileAccess({ dev: 1, ino }, `/logs/${ino}.log`, state, pool, open, () => 5, () => true, inherited);

test('opened by identity at its path, busy while read, the same handle for the next read', async () => {
  const pool = new HandlePool(4, silentLogger());
  const files = opener(7);
  const file = access(pool, files.open, 7);
  const first = await file.acquire();
  file.idle();
  assert.equal(await file.acquire(), first);
  assert.deepEqual(files.opened, ['/logs/7.log']);
  assert.equal(file.handle, first);
  await file.close();
  assert.equal(file.handle, null);
  assert.equal(files.handles[0]!.closed, true);
  assert.equal(pool.openCount, 0);
});

test('a handed-over descriptor is used before any open, in a slot of its own; given away on stopping when its file is deleted', async () => {
  const pool = new HandlePool(4, silentLogger());
  const files = opener(9);
  const held = fakeHandle(9, 0);
  const file = access(pool, files.open, 9, 'removed', held.handle);
  assert.equal(file.reopenable, false);
  assert.equal(file.removedAt, 5);
  assert.equal(await file.acquire(), held.handle);
  assert.deepEqual(files.opened, [], 'not opened by path: nothing there is it');
  assert.equal(pool.openCount, 1);
  assert.equal(await file.detachIfDeleted(true), held.handle);
  assert.equal(held.closed, false, 'given away open');
  assert.equal(pool.openCount, 0);
  assert.equal(file.handle, null);
});

test('a removed file is never opened again', async () => {
  const pool = new HandlePool(4, silentLogger());
  const files = opener(3);
  const file = access(pool, files.open, 3, 'removed');
  assert.equal((await file.open()).kind, 'gone');
  assert.deepEqual(files.opened, []);
});

test('evicted by the pool: closed, the slot freed by the pool; the next read reopens it by identity', async () => {
  const pool = new HandlePool(1, silentLogger());
  const a = opener(1);
  const b = opener(2);
  const fileA = access(pool, a.open, 1);
  const fileB = access(pool, b.open, 2);
  await fileA.acquire();
  fileA.idle();
  await fileB.acquire();
  assert.equal(a.handles[0]!.closed, true, 'A, idle at EOF, made room for B');
  assert.equal(fileA.handle, null);
  assert.equal(pool.openCount, 1);
  fileB.idle();
  await fileA.acquire();
  assert.deepEqual(a.opened, ['/logs/1.log', '/logs/1.log']);
  assert.equal(pool.openCount, 1);
});

test('a handed-over descriptor closed while waiting for a slot: not read through, its slot given back, and not told gone', async () => {
  const pool = new HandlePool(1, silentLogger());
  const other = access(pool, opener(1).open, 1);
  await other.acquire(); // busy: nothing to evict
  const held = fakeHandle(9, 0);
  const file = access(pool, opener(9).open, 9, 'removed', held.handle);
  const waiting = file.open();
  // Let it reach the pool's queue (one turn of the event loop: no timer).
  await new Promise((resolve) => setImmediate(resolve));
  await file.close();
  assert.equal(held.closed, true);
  other.idle();
  await other.close();
  const outcome = await waiting;
  assert.equal(outcome.kind, 'open-failed');
  assert.ok(outcome.kind === 'open-failed' && outcome.error instanceof FileOpenError);
  assert.equal(pool.openCount, 0);
});

test('found deleted: removed from then on, told once, and its handle is never evicted', async () => {
  const pool = new HandlePool(4, silentLogger());
  let nlink = 1;
  const handle = { stat: () => Promise.resolve({ dev: 1, ino: 4, nlink }), close: () => Promise.resolve() } as unknown as FileHandle;
  const file = new FileAccess({ dev: 1, ino: 4 }, '/logs/4.log', 'live', pool, () => Promise.resolve(handle), () => 77, () => true);
  await file.acquire();
  file.leftLivePath('/logs/4.log.1');
  assert.equal(await file.checkRemoved(), false, 'still linked');
  nlink = 0;
  assert.equal(await file.checkRemoved(), true);
  assert.equal(await file.checkRemoved(), false, 'told once');
  assert.deepEqual(file.location, { kind: 'removed', path: '/logs/4.log.1', since: 77 });
  assert.equal(file.reopenable, false);
});
