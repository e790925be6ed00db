// Where a followed file is (src/tailer/file-location.ts), alone: each fact from each location.
// No file, no clock. And the reader group's view of it: a slot's state is the group's own
// (releasing, unopenable) or, while followed, its reader's location — never a second copy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileAccess } from '../src/tailer/file-access.js';
import { type FileLocation, locationAt, moveLocation } from '../src/tailer/file-location.js';
import type { Follower } from '../src/tailer/follower.js';
import { HandlePool } from '../src/tailer/handle-pool.js';
import { ReaderGroup } from '../src/tailer/reader-group.js';
import { silentLogger } from './helpers/tailer-harness.js';

const live: FileLocation = { kind: 'live', path: '/logs/app.log' };
const rotated: FileLocation = { kind: 'rotated', path: '/logs/app.log.1' };
const removed: FileLocation = { kind: 'removed', path: '/logs/app.log.1', since: 1_000 };

test('a file starts where its follow says; a removed one is removed from now', () => {
  assert.deepEqual(locationAt('/logs/app.log', 'live', 5), live);
  assert.deepEqual(locationAt('/logs/app.log.1', 'rotated', 5), rotated);
  assert.deepEqual(locationAt('/logs/app.log.1', 'removed', 1_000), removed);
});

test('leaving its live path: renamed to a new name, or (no name) deleted or moved out of sight, keeping the last name', () => {
  assert.deepEqual(moveLocation(live, { kind: 'left-live-path', to: '/logs/app.log.1' }), rotated);
  assert.deepEqual(moveLocation(live, { kind: 'left-live-path', to: undefined }), { kind: 'rotated', path: '/logs/app.log' });
  assert.deepEqual(moveLocation(rotated, { kind: 'left-live-path', to: '/logs/app.log.2' }), { kind: 'rotated', path: '/logs/app.log.2' });
  assert.deepEqual(moveLocation(removed, { kind: 'left-live-path', to: '/logs/app.log.2' }), { ...removed, path: '/logs/app.log.2' }, 'still removed, since the same time');
});

test('back at a live path: live there, unless removed (nothing by its identity is it any more)', () => {
  assert.deepEqual(moveLocation(rotated, { kind: 'back-at-live-path', path: '/logs/app.log' }), live);
  assert.deepEqual(moveLocation(live, { kind: 'back-at-live-path', path: '/logs/other.log' }), { kind: 'live', path: '/logs/other.log' });
  assert.deepEqual(moveLocation(removed, { kind: 'back-at-live-path', path: '/logs/app.log' }), { ...removed, path: '/logs/app.log' });
});

test('found under another name when reopened by identity: same location, new name (the watcher tells the rename later)', () => {
  assert.deepEqual(moveLocation(live, { kind: 'found-at', path: '/logs/app.log.1' }), { kind: 'live', path: '/logs/app.log.1' });
  assert.deepEqual(moveLocation(rotated, { kind: 'found-at', path: '/logs/app.log.2' }), { kind: 'rotated', path: '/logs/app.log.2' });
});

test('found deleted: removed since then, once — a second look keeps the first time (close_removed_after runs from it)', () => {
  assert.deepEqual(moveLocation(live, { kind: 'found-deleted', at: 7 }), { kind: 'removed', path: '/logs/app.log', since: 7 });
  assert.deepEqual(moveLocation(rotated, { kind: 'found-deleted', at: 7 }), { kind: 'removed', path: '/logs/app.log.1', since: 7 });
  assert.equal(moveLocation(removed, { kind: 'found-deleted', at: 9_999 }), removed);
});

/** A follower as the reader group sees it, its reader's whereabouts a real FileAccess (never opened). */
function follower(path: string, state: 'live' | 'rotated' | 'removed'): { follower: Follower; file: FileAccess } {
  const file = new FileAccess({ dev: 1, ino: path.length }, path, state, new HandlePool(1, silentLogger()), () => Promise.reject(new Error('not opened here')), () => 0, () => true);
  const reader = { identity: { dev: 1, ino: path.length }, file, get state() { return file.state; } };
  return { follower: { reader } as unknown as Follower, file };
}

test('reader group: a followed slot is where its reader says; unopenable and releasing are the group\'s own, and recovery returns to where the file is now', () => {
  const group = new ReaderGroup();
  const { follower: a, file } = follower('/logs/app.log', 'live');
  group.add(a, '/logs/app.log');
  assert.equal(group.stateOf(a), 'live');
  group.unopenable(a, true);
  assert.equal(group.stateOf(a), 'unopenable');
  // Renamed away and back again while it could not be opened (the watcher tells both).
  group.leftPath(a);
  file.leftLivePath('/logs/app.log.1');
  assert.equal(group.atPath('/logs/app.log'), undefined);
  group.adopt(a, '/logs/app.log');
  file.backAtLivePath('/logs/app.log');
  group.unopenable(a, false);
  assert.equal(group.stateOf(a), 'live', 'where the file is now, not where it was when opening first failed');
  assert.equal(group.atPath('/logs/app.log'), a);
  group.leftPath(a);
  file.leftLivePath(undefined);
  assert.equal(group.stateOf(a), 'rotated');
  assert.deepEqual(group.notLive(), [a]);
  group.releasing(a);
  assert.equal(group.stateOf(a), 'releasing');
  group.unopenable(a, true);
  assert.equal(group.stateOf(a), 'releasing', 'releasing is not interrupted by a failed open');
});

test('reader group: a removed file handed over is removed in its slot from the start', () => {
  const group = new ReaderGroup();
  const { follower: held } = follower('/logs/app.log.1', 'removed');
  group.add(held, null);
  assert.equal(group.stateOf(held), 'removed');
  assert.deepEqual(group.livePaths(), []);
});
