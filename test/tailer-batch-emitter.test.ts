// The batch emitter's state alone (src/tailer/batch-emitter.ts): unstarted · emitting (through the
// file's tracker entry). A start at offset 0 reads nothing from the file, and the marker of a
// batch comes from the chunk in memory: no file, no clock.

import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import type { LineBatch } from '../src/core/batch.js';
import type { SourceFile } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { BatchEmitter } from '../src/tailer/batch-emitter.js';
import { TailerStateError } from '../src/tailer/errors.js';
import { TailerCounters } from '../src/tailer/counters.js';

/** Never touched: a start at 0 and a marker from memory do no I/O (any use throws). */
const NO_FILE = new Proxy({}, { get: () => assert.fail('the emitter touched the file') }) as FileHandle;
const source: SourceFile = { key: '1:2:1', identity: { dev: 1, ino: 2 }, input: 'app', path: '/var/log/app.log' };
const chunk = Buffer.from('a\nb\n');
const lines = { data: chunk, bounds: Uint32Array.from([0, 1, 2, 3]), ends: [2, 4], flags: [undefined, undefined] };

function emitter() {
  const batches: LineBatch[] = [];
  const tracker = new OffsetTracker();
  const counters = new TailerCounters();
  const out = new BatchEmitter({ sink: (batch) => batches.push(batch), counters, tracker, now: () => 1_000 }, 'app');
  return { out, batches, tracker, stats: counters.view };
}

function refused(act: () => unknown, from: string, transition: string): Promise<void> | void {
  const check = (err: unknown): true => {
    assert.ok(err instanceof TailerStateError, String(err));
    assert.equal(err.from, from);
    assert.equal(err.transition, transition);
    assert.match(err.message, /input app/);
    return true;
  };
  return assert.rejects(async () => act(), check);
}

const at0 = { position: 0, head: chunk, marker: null, epoch: 0, unreadSince: null };

test('unstarted: nothing tracked, and emitting or restarting is refused (an empty output is a no-op)', async () => {
  const { out, batches } = emitter();
  assert.equal(out.tracking, null);
  await refused(() => out.emit(NO_FILE, source, lines, chunk, 0), 'unstarted', 'emit');
  await refused(() => out.restart(chunk, 1, null), 'unstarted', 'restart');
  await out.emit(NO_FILE, source, { data: chunk, bounds: new Uint32Array(0), ends: [], flags: [] }, chunk, 0);
  assert.equal(batches.length, 0);
});

test('startAt tracks the file; batches are emitted contiguously and handed over to its tracker entry; a second start is refused', async () => {
  const { out, batches, tracker, stats } = emitter();
  await out.startAt(NO_FILE, source, at0, { fallback: 0 }, true);
  const tracked = out.tracking;
  assert.ok(tracked !== null);
  assert.equal(tracker.get(source.identity), tracked);
  await out.emit(NO_FILE, source, lines, chunk, 0);
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.startOffset, 0);
  assert.equal(batches[0]!.endOffset, 4);
  assert.equal(tracked.handedOverPosition.offset, 4);
  assert.equal(stats.linesRead.get('app'), 2);
  await refused(() => out.startAt(NO_FILE, source, at0, { fallback: 0 }, true), 'emitting', 'startAt');
  out.restart(chunk, 1, null);
  assert.equal(out.tracking, tracked, 'a restart keeps the same entry');
  assert.equal(out.cursor.epoch, 1);
});
