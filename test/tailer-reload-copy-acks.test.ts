// Soak --gap 1.5 seed 2907 (lives 31 and 32: 1,260 lines of w2 shipped again after a clean
// stop). Behind a stalled Kafka, w2.log's reader had handed its lines over and waited for the
// gate when the file was copytruncated and refilled; a reload came before it saw that. The
// successor found the copy continuing the hand-over, and its own reader found the file no longer
// holding it and read it from 0. What the agent persists when Kafka answers (the agent's commit
// decision, acknowledgementEntries): the refill's acknowledgement moves the original's entry and
// not the copy's — read in the copied content's epoch, it gave the copy the refill's position and
// first bytes —, and the predecessor's, stale to the original now, moves the copy's entry to the
// end of what it holds — it moved nothing. Either way the copy's entry did not say "read to its
// end", and the next start read it again. Real tailers over real files; a reload is a tailer
// stopped and a new one handed its offset tracker, as the agent does on SIGHUP.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LineBatch } from '../src/core/batch.js';
import { identityKey } from '../src/core/file.js';
import { acknowledgementEntries } from '../src/core/registration.js';
import { RecordingTailerEvents } from '../src/tailer/events.js';
import { waitFor } from './helpers/fs-wait.js';
import { registeringTracker } from './helpers/registering-tracker.js';
import { Collector, FakeCheckpoints, inputConfig, ManualGate, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

test('seed 2907: a copy found by a reload\'s successor, the original read again from 0: the refill\'s acknowledgements move the original, the predecessor\'s move the copy', async (t) => {
  const path = join(await tempDir(t), 'w2.log');
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  const checkpoints = new FakeCheckpoints();
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const gate = new ManualGate();
  const before = new RecordingTailerEvents();
  writeFileSync(path, numberedLines(0, 20));
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate, observer: before });
  await waitFor(() => collector.lineCount === 20, 'the file read to its end');
  await first.tailer.drained();
  const handedOver = collector.batches.at(-1)!; // in flight: Kafka stalls
  gate.close();
  copyFileSync(path, `${path}.1`); // copytruncate, then the application writes on
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(20, 5));
  await first.tailer.stop(); // the reload
  assert.equal(before.events.filter((e) => e.type === 'truncated' || e.type === 'copy-found').length, 0, 'the reader waiting for the gate did not see the truncation');
  const after = new RecordingTailerEvents();
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate, observer: after });
  await after.waitFor('copy-found');
  gate.open();
  await waitFor(() => collector.lineCount === 25, () => `25 lines, got ${collector.lineCount}`);
  await second.tailer.drained();
  assert.deepEqual(collector.texts().map(lineNumber), Array.from({ length: 25 }, (_, i) => i), 'every line once (the copy holds nothing left to read)');
  const refill = collector.batches.at(-1)!;
  const original = identityKey(statSync(path));
  const copy = identityKey(statSync(`${path}.1`));
  // Kafka answers: the refill first (its reader began once the gate opened), then the stalled batch.
  const persisted = (batch: LineBatch): Record<string, number> =>
    Object.fromEntries(
      acknowledgementEntries(tracker, batch.source, { offset: batch.endOffset, marker: batch.marker, fingerprint: batch.fingerprint, epoch: batch.epoch }, 0).map((entry) => [identityKey(entry.identity), entry.offset]),
    );
  assert.deepEqual(persisted(refill), { [original]: refill.endOffset }, 'the refill moves the original\'s entry, not the copy\'s');
  assert.deepEqual(persisted(handedOver), { [copy]: statSync(`${path}.1`).size }, 'the predecessor\'s batch (stale to the original) moves the copy\'s entry to its end');
});
