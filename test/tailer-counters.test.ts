// TailerCounters: the one owner of the tailer's counters. Each method moves exactly its counter;
// each tailer event and the handle pool report to the right one; /metrics shows each under its
// name. No filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExposition } from '../src/metrics/exposition.js';
import { buildRegistry } from '../src/metrics/metrics.js';
import { newShipperStats } from '../src/shipper/shipper.js';
import { TailerCounters } from '../src/tailer/counters.js';
import { LoggedTailerEvents, type TailerEvent, type TailerEventType } from '../src/tailer/events.js';
import { HandlePool } from '../src/tailer/handle-pool.js';
import type { TailerStats } from '../src/tailer/types.js';
import { silentLogger } from './helpers/tailer-harness.js';

type Counted = Record<string, number | Record<string, number>>;

/** Every counter of the view, maps as plain objects: a new counter shows up here unasked. */
function snapshot(view: TailerStats): Counted {
  const out: Counted = {};
  for (const [name, value] of Object.entries(view) as Array<[string, unknown]>) {
    out[name] = value instanceof Map ? Object.fromEntries(value as Map<string, number>) : (value as number);
  }
  return out;
}

/** Every counter of the view at zero (maps empty). */
const ZERO: Counted = Object.fromEntries(Object.entries(snapshot(new TailerCounters().view)).map(([name, value]) => [name, typeof value === 'number' ? 0 : {}]));

/** Runs `act` on fresh counters; every counter must be as at the start but for `moved`. */
function assertMovesOnly(act: (counters: TailerCounters) => void, moved: Counted, what: string): void {
  const counters = new TailerCounters();
  assert.deepEqual(snapshot(counters.view), ZERO, 'fresh counters are all zero');
  act(counters);
  assert.deepEqual(snapshot(counters.view), { ...ZERO, ...moved }, what);
}

describe('TailerCounters', () => {
  test('each method moves exactly its counter, by what it is told', () => {
    assertMovesOnly((c) => c.chunkRead('app', 4096), { bytesRead: { app: 4096 } }, 'chunkRead');
    assertMovesOnly((c) => c.batchEmitted('app', 12), { linesRead: { app: 12 } }, 'batchEmitted');
    assertMovesOnly((c) => c.fileRotated(), { rotations: 1 }, 'fileRotated');
    assertMovesOnly((c) => c.fileTruncated(), { truncations: 1 }, 'fileTruncated');
    assertMovesOnly((c) => c.lineSplit(), { splitLines: 1 }, 'lineSplit');
    assertMovesOnly((c) => c.partialLineFlushed(), { partialLines: 1 }, 'partialLineFlushed');
    assertMovesOnly((c) => c.charsReplaced(3), { replacedChars: 3 }, 'charsReplaced');
    assertMovesOnly((c) => c.fileAbandoned(700), { bytesAbandoned: 700 }, 'fileAbandoned');
    assertMovesOnly((c) => c.readFailed(), { readErrors: 1 }, 'readFailed');
    assertMovesOnly((c) => c.openFilesNow(5), { filesOpen: 5 }, 'openFilesNow');
    assertMovesOnly((c) => c.followedFilesNow(9), { filesFollowed: 9 }, 'followedFilesNow');
    const tested = ['chunkRead', 'batchEmitted', 'fileRotated', 'fileTruncated', 'lineSplit', 'partialLineFlushed', 'charsReplaced', 'fileAbandoned', 'readFailed', 'openFilesNow', 'followedFilesNow'];
    const readers = ['totalBytesRead', 'totalLinesRead']; // they count nothing (next test)
    const methods = Object.getOwnPropertyNames(TailerCounters.prototype).filter((name) => name !== 'constructor' && !readers.includes(name));
    assert.deepEqual(methods.sort(), tested.sort(), 'every method is tested above');
  });

  test('totals of bytes and lines read add every input up, and move nothing', () => {
    const counters = new TailerCounters();
    assert.equal(counters.totalBytesRead(), 0);
    assert.equal(counters.totalLinesRead(), 0);
    counters.chunkRead('app', 100);
    counters.chunkRead('web', 7);
    counters.chunkRead('app', 20);
    counters.batchEmitted('app', 3);
    counters.batchEmitted('web', 4);
    const before = snapshot(counters.view);
    assert.equal(counters.totalBytesRead(), 127);
    assert.equal(counters.totalLinesRead(), 7);
    assert.deepEqual(snapshot(counters.view), before, 'asking moves no counter');
  });

  test('counts add up per input; gauges take the latest level; the view is live', () => {
    const counters = new TailerCounters();
    const { view } = counters;
    counters.chunkRead('app', 100);
    counters.chunkRead('web', 7);
    counters.chunkRead('app', 50);
    counters.batchEmitted('app', 2);
    counters.batchEmitted('app', 0);
    counters.batchEmitted('web', 1);
    counters.charsReplaced(0);
    counters.charsReplaced(2);
    counters.fileAbandoned(0);
    counters.fileAbandoned(10);
    counters.lineSplit();
    counters.lineSplit();
    counters.openFilesNow(4);
    counters.openFilesNow(1);
    counters.followedFilesNow(3);
    counters.followedFilesNow(2);
    assert.deepEqual(snapshot(view), { ...ZERO, bytesRead: { app: 150, web: 7 }, linesRead: { app: 2, web: 1 }, replacedChars: 2, bytesAbandoned: 10, splitLines: 2, filesOpen: 1, filesFollowed: 2 });
  });
});

describe('LoggedTailerEvents counts through TailerCounters', () => {
  const error = new Error('EIO');
  // Every event type (the Record makes a new one a compile error here), what it moves.
  const cases: Record<TailerEventType, Array<{ event: TailerEvent; moved: Counted }>> = {
    rotated: [
      { event: { type: 'rotated', path: '/l/a', key: 'k', renamedTo: '/l/a.1', replaced: false }, moved: { rotations: 1 } },
      { event: { type: 'rotated', path: '/l/a', key: 'k', renamedTo: null, replaced: true }, moved: { rotations: 1 } },
      // Deleted (or moved out of sight) and nothing there now: not a rotation.
      { event: { type: 'rotated', path: '/l/a', key: 'k', renamedTo: null, replaced: false }, moved: {} },
    ],
    'rotated-resumed': [{ event: { type: 'rotated-resumed', path: '/l/a', file: '/l/a.1', offset: 5 }, moved: {} }],
    'middle-file': [{ event: { type: 'middle-file', path: '/l/a', file: '/l/a.1' }, moved: { rotations: 1 } }],
    truncated: [{ event: { type: 'truncated', path: '/l/a', key: 'k', position: 50, size: 0, epoch: 1 }, moved: { truncations: 1 } }],
    'position-mismatch': [{ event: { type: 'position-mismatch', path: '/l/a', key: 'k', offset: 50, size: 10, reason: 'shorter' }, moved: {} }],
    'copy-found': [{ event: { type: 'copy-found', path: '/l/a', copy: '/l/a.1', offset: 50 }, moved: {} }],
    released: [{ event: { type: 'released', path: '/l/a', file: '/l/a.1', key: 'k', state: 'rotated' }, moved: {} }],
    abandoned: [{ event: { type: 'abandoned', path: '/l/a', key: 'k', bytes: 300 }, moved: { bytesAbandoned: 300 } }],
    gone: [
      { event: { type: 'gone', path: '/l/a', key: 'k', bytes: 40 }, moved: { bytesAbandoned: 40 } },
      { event: { type: 'gone', path: '/l/a', key: 'k', bytes: 0 }, moved: { bytesAbandoned: 0 } },
    ],
    'read-failed': [{ event: { type: 'read-failed', path: '/l/a', key: 'k', error }, moved: { readErrors: 1 } }],
    'open-failed': [{ event: { type: 'open-failed', path: '/l/a', code: 'EACCES', error }, moved: { readErrors: 1 } }],
    'open-recovered': [{ event: { type: 'open-recovered', path: '/l/a' }, moved: {} }],
    skipped: [{ event: { type: 'skipped', path: '/l/a', file: '/l/a.1.gz', reason: 'compressed' }, moved: {} }],
    'deleted-held': [{ event: { type: 'deleted-held', path: '/l/a', key: 'k', position: 5 }, moved: {} }],
    'deleted-adopted': [{ event: { type: 'deleted-adopted', path: '/l/a', file: '/l/a', offset: 5 }, moved: {} }],
    'deleted-dropped': [{ event: { type: 'deleted-dropped', path: '/l/a', input: 'gone' }, moved: {} }],
  };
  for (const [type, list] of Object.entries(cases)) {
    test(`${type}: moves ${list.map(({ moved }) => JSON.stringify(moved)).join(' / ')}`, () => {
      for (const { event, moved } of list) {
        assertMovesOnly((counters) => new LoggedTailerEvents(silentLogger(), counters).emit(event), moved, JSON.stringify(event));
      }
    });
  }
});

test('the handle pool reports the handles it holds as they change, evictions included', async () => {
  class Reader {
    readonly atEof = true;
    async evict(): Promise<void> {}
  }
  const counters = new TailerCounters();
  const pool = new HandlePool(2, silentLogger(), counters);
  const a = await pool.reserve(new Reader());
  assert.equal(counters.view.filesOpen, 1);
  const b = await pool.reserve(new Reader());
  assert.equal(counters.view.filesOpen, 2);
  pool.idle(a);
  await pool.reserve(new Reader());
  assert.equal(counters.view.filesOpen, 2, 'one evicted, one reserved');
  pool.released(b);
  assert.equal(counters.view.filesOpen, 1);
  assert.equal(counters.view.filesOpen, pool.openCount);
});

test('/metrics shows each counter under its name (the output the agent has always given)', async () => {
  const counters = new TailerCounters();
  counters.batchEmitted('app', 10);
  counters.batchEmitted('web', 3);
  counters.chunkRead('app', 1000);
  counters.chunkRead('web', 70);
  const times = (n: number, act: () => void): void => {
    for (let i = 0; i < n; i++) act();
  };
  times(2, () => counters.fileRotated());
  times(3, () => counters.fileTruncated());
  times(4, () => counters.lineSplit());
  times(5, () => counters.partialLineFlushed());
  counters.charsReplaced(6);
  counters.openFilesNow(7);
  counters.followedFilesNow(8);
  counters.fileAbandoned(9);
  times(11, () => counters.readFailed());
  const registry = buildRegistry({ tailer: counters.view, shipper: newShipperStats(), inFlightBytes: () => 0, registry: () => ({ writes: 0, writeErrors: 0 }), files: () => [], ready: () => true });
  const samples = parseExposition(await registry.metrics());
  const value = (name: string, labels: Record<string, string> = {}): number | undefined => samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
  assert.deepEqual(
    {
      linesApp: value('logship_lines_read_total', { input: 'app' }),
      linesWeb: value('logship_lines_read_total', { input: 'web' }),
      bytesApp: value('logship_bytes_read_total', { input: 'app' }),
      bytesWeb: value('logship_bytes_read_total', { input: 'web' }),
      rotations: value('logship_rotations_total'),
      truncations: value('logship_truncations_total'),
      split: value('logship_lines_split_total'),
      partial: value('logship_lines_partial_total'),
      replaced: value('logship_chars_replaced_total'),
      open: value('logship_files_open'),
      followed: value('logship_files_followed'),
      abandoned: value('logship_bytes_abandoned_total'),
      readErrors: value('logship_read_errors_total'),
    },
    { linesApp: 10, linesWeb: 3, bytesApp: 1000, bytesWeb: 70, rotations: 2, truncations: 3, split: 4, partial: 5, replaced: 6, open: 7, followed: 8, abandoned: 9, readErrors: 11 },
  );
});
