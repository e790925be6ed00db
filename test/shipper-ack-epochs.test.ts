// A truncated file's batches in flight across the truncation (the file read again from 0, the
// next epoch): the end of the earlier epoch must be committed even when the later epoch's first
// batch is acknowledged first (keyless batches go to different partitions, and a batch failed
// in a stall is produced again after later ones). That end is what a copytruncate copy holds
// acknowledged; collapsed into the later epoch's position, the copy's registry entry stayed
// where it was registered and a clean restart shipped the original's last lines again from
// the copy (soak --gap 1.5 seed 2203: 16 lines of w3).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckWindow, type CommittedPosition } from '../src/shipper/ack-window.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { acknowledgementEntries } from '../src/core/registration.js';
import type { SourceFile } from '../src/core/file.js';
import { batch, source } from './helpers/shipper-fixtures.js';

/** `lines` from byte `start` in `epoch`. */
function epochBatch(epoch: number, start: number, lines: string[], src: SourceFile = source): ReturnType<typeof batch> {
  return { ...batch(start, lines, src), epoch };
}

test('AckWindow: a prefix crossing a truncation reports the earlier epoch\'s end before the later one\'s', () => {
  const w = new AckWindow<string>();
  const before = w.open(epochBatch(0, 100, ['a', 'b']), 2, 'route', 0); // ends at 104, epoch 0
  const after = w.open(epochBatch(1, 0, ['c']), 1, 'route', 0); // ends at 2, epoch 1
  const ended: Array<[SourceFile, CommittedPosition]> = [];
  assert.equal(w.complete(after, (s, p) => ended.push([s, p])), null, 'the later epoch alone commits nothing');
  const committed = w.complete(before, (s, p) => ended.push([s, p]));
  assert.deepEqual(committed && { offset: committed.offset, epoch: committed.epoch }, { offset: 2, epoch: 1 });
  assert.deepEqual(ended.map(([s, p]) => ({ key: s.key, offset: p.offset, epoch: p.epoch, marker: p.marker.hash })), [{ key: source.key, offset: 104, epoch: 0, marker: 'm104' }]);
});

test('AckWindow: every epoch a prefix finishes is reported, with its own batch\'s source', () => {
  const w = new AckWindow<string>();
  const earlier: SourceFile = { ...source, key: `${source.key}:1` }; // a reader before a reload
  const t0 = w.open(epochBatch(0, 0, ['a']), 1, 'route', 0);
  const t1 = w.open(epochBatch(0, 2, ['b'], earlier), 1, 'route', 0);
  const t2 = w.open(epochBatch(1, 0, ['c']), 1, 'route', 0);
  const t3 = w.open(epochBatch(2, 0, ['d', 'e']), 1, 'route', 0);
  const t4 = w.open(epochBatch(2, 4, ['f']), 1, 'route', 0);
  const ended: Array<[string, number, number]> = [];
  const onEnd = (s: SourceFile, p: CommittedPosition): number => ended.push([s.key, p.offset, p.epoch]);
  for (const t of [t4, t3, t2, t1]) assert.equal(w.complete(t, onEnd), null);
  assert.equal(w.complete(t0, onEnd)?.offset, 6);
  assert.deepEqual(ended, [[earlier.key, 4, 0], [source.key, 2, 1]], 'epoch 0 ends at 4, epoch 1 at 2; epoch 2 is the returned position');
});

test('AckWindow: acknowledgements in order within one epoch report nothing extra', () => {
  const w = new AckWindow<string>();
  const t0 = w.open(epochBatch(1, 0, ['a']), 1, 'route', 0);
  const t1 = w.open(epochBatch(1, 2, ['b']), 1, 'route', 0);
  const ended: number[] = [];
  assert.equal(w.complete(t1, (_s, p) => ended.push(p.offset)), null);
  assert.equal(w.complete(t0, (_s, p) => ended.push(p.offset))?.offset, 4);
  assert.deepEqual(ended, []);
});

test('seed 2203: the copy announced behind a stall moves to the original\'s last acknowledged end of the copied epoch', () => {
  // The original (w3.log) handed 135,279 bytes over and Kafka acknowledged them; its last batch
  // (16 lines, to 135,423) was in flight when Kafka stalled and the file was copytruncated. The
  // reader started over at 0 (epoch 1) and handed 170 bytes over; the copy was found and
  // announced at 135,279 (its reader never began: the gate stayed closed until a SIGTERM). After
  // the stall, the epoch-1 batch was acknowledged before the last epoch-0 one. The agent's
  // commit path (Agent.createShipper: acknowledgementEntries) must see 135,423.
  const original: SourceFile = { key: '1:2:7', identity: source.identity, input: 'app', path: '/var/log/w3.log' };
  const copy: SourceFile = { key: '1:3:8', identity: { dev: 1, ino: 3 }, input: 'app', path: '/var/log/w3.log' };
  const tracker = new OffsetTracker();
  const fp = { len: 1024, hash: 'fp' };
  const record = tracker.track(original, { offset: 0, marker: null, fingerprint: fp, epoch: 0 });
  record.handedOver(135_279, { len: 64, hash: 'm135279' }, fp, 0);
  tracker.acknowledged(original, { offset: 135_279, marker: { len: 64, hash: 'm135279' }, fingerprint: fp, epoch: 0 });
  record.handedOver(135_423, { len: 64, hash: 'm135423' }, fp, 0);
  const w = new AckWindow<string>();
  const last = w.open({ ...epochBatch(0, 135_279, Array.from({ length: 16 }, (_, i) => String(99_974 + i).padStart(8, '0')), original) }, 1, 'route', 0);
  assert.equal(last.batch.endOffset, 135_423);
  record.started({ offset: 0, marker: null, fingerprint: { len: 170, hash: 'new' }, epoch: 1 });
  const refill = w.open(epochBatch(1, 0, ['x'.repeat(169)], original), 1, 'route', 0);
  const at = { offset: 135_279, marker: { len: 64, hash: 'm135279' }, fingerprint: fp };
  tracker.announce(copy, at, { ...at, offset: 135_423, marker: { len: 64, hash: 'm135423' } }, 400_475, { identity: original.identity, epoch: 0, upTo: 135_423 });
  const copyEntry: number[] = [];
  const onCommit = (s: SourceFile, pos: CommittedPosition): void => {
    for (const entry of acknowledgementEntries(tracker, s, pos, 0)) if (entry.identity.ino === copy.identity.ino) copyEntry.push(entry.offset);
  };
  const p1 = w.complete(refill, onCommit);
  if (p1) onCommit(original, p1);
  const p2 = w.complete(last, onCommit);
  if (p2) onCommit(original, p2);
  assert.deepEqual(copyEntry, [135_423], 'the copy\'s entry follows the original to the end of what the copy holds');
});
