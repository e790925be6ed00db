// A copytruncate copy found just before a reload, its reader not begun yet (soak --gap 1.5 seed
// 2205: 492 duplicates, no crash between). The original's reader had handed its lines over; it
// found the truncation and followed the copy from where it stood, registered at what Kafka had
// acknowledged of the original. A reload 2 ms later stopped the tailer before the copy's reader
// opened it, and the successor found the copy in the registry and read it from there: the lines
// between the acknowledged position and the hand-over were shipped twice. Real tailers over real
// files; a reload is a tailer stopped and a new one handed its offset tracker, as the agent does
// on SIGHUP.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type TailerEvent, type TailerEvents, RecordingTailerEvents } from '../src/tailer/events.js';
import { waitFor } from './helpers/fs-wait.js';
import { registeringTracker } from './helpers/registering-tracker.js';
import { Collector, FakeCheckpoints, inputConfig, ManualGate, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

const sorted = (collector: Collector): number[] => collector.texts().map(lineNumber).sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Runs `act` on the first event `match` accepts, synchronously, as the tailer emits it. */
function onFirst(match: (event: TailerEvent) => boolean, act: () => void): TailerEvents {
  let done = false;
  return {
    emit: (event) => {
      if (done || !match(event)) return;
      done = true;
      act();
    },
  };
}

test('seed 2205: a copytruncate copy found just before a reload, its reader not begun: the successor continues it where the original\'s reader stood (nothing twice)', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  // Nothing acknowledged: the registry holds what the tracker announces (the copy at 0).
  const checkpoints = new FakeCheckpoints();
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const gate = new ManualGate();
  // Kafka stalls the moment the copy is found: its reader waits for the gate, not begun at the reload.
  const observer = new RecordingTailerEvents(onFirst((event) => event.type === 'copy-found', () => gate.close()));
  writeFileSync(path, numberedLines(0, 20));
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate, observer });
  await waitFor(() => collector.lineCount === 20, 'the file read to its end');
  copyFileSync(path, `${path}.1`); // copytruncate
  truncateSync(path, 0);
  await observer.waitFor('copy-found');
  await first.tailer.stop(); // reload
  assert.equal(collector.lineCount, 20, 'the copy\'s reader had not begun');
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  gate.open();
  appendFileSync(path, numberedLines(20, 5)); // the application writes on
  await waitFor(() => collector.lineCount >= 25, () => `25 lines, got ${collector.lineCount}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(0, 25));
});
