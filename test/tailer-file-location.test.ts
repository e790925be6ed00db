// Where a followed file is (src/tailer/file-location.ts), alone: each fact from each location.
// No file, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FileLocation, locationAt, moveLocation } from '../src/tailer/file-location.js';

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
