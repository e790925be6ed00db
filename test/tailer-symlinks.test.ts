// Kubernetes' node layout, as the kubelet makes it: /var/log/containers/<pod>_<ns>_<container>-<id>.log
// is a symlink to /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log; the kubelet rotates 0.log by
// renaming it to 0.log.<timestamp> (the runtime then creates a new 0.log) and compresses older
// generations to 0.log.<timestamp>.gz. With the safety-net scan an hour away, everything read
// below came through a watch event: a file reached through a symlink wakes its reader like a
// regular file, and no generation is missed.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { waitFor } from './helpers/fs-wait.js';
import { assertEachNumberOnceInOrder, Collector, FakeCheckpoints, inputConfig, lineNumber, ManualGate, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

const HOUR_MS = 3_600_000;
/** Only the start-up scan runs: whatever arrives later came through a watch event. */
const NO_SCANS = { scanIntervalMs: HOUR_MS, idleScanIntervalMs: HOUR_MS };
/** Far below any scan (an hour away), far above the few ms an event takes. */
const EVENT_DEADLINE = { timeoutMs: 3_000 };

interface Node {
  containers: string;
  /** The container's directory under /var/log/pods. */
  podDir: string;
  /** The symlink in /var/log/containers. */
  link: string;
  /** What the link leads to: <podDir>/0.log. */
  target: string;
}

async function node(t: Parameters<typeof tempDir>[0]): Promise<Node> {
  const root = await tempDir(t, 'logship-k8s-');
  const containers = join(root, 'var/log/containers');
  const podDir = join(root, 'var/log/pods/shop_web-7d9f_0c7e1b2a-uid/app');
  mkdirSync(containers, { recursive: true });
  mkdirSync(podDir, { recursive: true });
  return { containers, podDir, link: join(containers, 'web-7d9f_shop_app-4f1c2d.log'), target: join(podDir, '0.log') };
}

/** The kubelet's rotation: the older rotated generation compressed, 0.log renamed, a new 0.log. */
function kubeletRotate(k: Node, stamp: string, previousStamp: string | null): void {
  if (previousStamp !== null) {
    const older = join(k.podDir, `0.log.${previousStamp}`);
    writeFileSync(`${older}.gz`, gzipSync(readFileSync(older)));
    rmSync(older);
  }
  renameSync(k.target, join(k.podDir, `0.log.${stamp}`));
  writeFileSync(k.target, '');
}

test('a /var/log/containers symlink created while the tailer runs: lines appended to its target are read at once, with no scan', async (t) => {
  const k = await node(t);
  writeFileSync(k.target, '');
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(k.containers, '*.log')] })], ...NO_SCANS });
  symlinkSync(k.target, k.link);
  await waitFor(() => tailer.files().length === 1, 'the symlink followed', EVENT_DEADLINE);
  for (let n = 0; n < 3; n++) {
    appendFileSync(k.target, numberedLines(n * 10, 10));
    await waitFor(() => collector.lineCount === (n + 1) * 10, () => `write ${n} through the link, got ${collector.lineCount} lines`, EVENT_DEADLINE);
  }
  assertEachNumberOnceInOrder(collector, 30);
  assert.equal(collector.batches[0]!.source.path, k.link, 'shipped under the link path (its k8s metadata)');
  assert.equal(tailer.scanCount, 1, 'no scan but the start-up one');
});

test('the kubelet rotating 0.log behind a symlink, three times between scans: every line of every generation once, compressed ones never', async (t) => {
  const k = await node(t);
  writeFileSync(k.target, numberedLines(0, 50));
  symlinkSync(k.target, k.link);
  // An archive from before the agent started: compressed, never read (line numbers 9000+).
  writeFileSync(join(k.podDir, '0.log.20261129-120000.gz'), gzipSync(numberedLines(9000, 10)));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(k.containers, '*.log')] })], ...NO_SCANS });
  await waitFor(() => collector.lineCount === 50, () => `the first generation, got ${collector.lineCount}`, EVENT_DEADLINE);
  let next = 50;
  let previous: string | null = null;
  for (const stamp of ['20261129-123456', '20261129-123457', '20261129-123458']) {
    appendFileSync(k.target, numberedLines(next, 20)); // written just before the rotation
    next += 20;
    kubeletRotate(k, stamp, previous);
    previous = stamp;
    appendFileSync(join(k.podDir, `0.log.${stamp}`), numberedLines(next, 5)); // the runtime still held the old one
    next += 5;
    appendFileSync(k.target, numberedLines(next, 30)); // the new generation, through the same symlink
    next += 30;
    const expected = next;
    await waitFor(() => collector.lineCount === expected, () => `${expected} lines after rotation ${stamp}, got ${collector.lineCount}`, EVENT_DEADLINE);
  }
  assertEachNumberOnceInOrder(collector, next);
  assert.equal(tailer.scanCount, 1, 'no scan but the start-up one: the watch of the target directory delivered it all');
  assert.ok(new Set(collector.batches.map((batch) => batch.source.path)).size === 1, 'every generation under the link path');
});

test('the /var/log/pods layout read directly: rotated 0.log.<ts> finished, 0.log.<ts>.gz skipped', async (t) => {
  const k = await node(t);
  writeFileSync(k.target, numberedLines(0, 10));
  writeFileSync(join(k.podDir, '0.log.20261129-120000.gz'), gzipSync(numberedLines(9000, 10)));
  const pods = join(k.podDir, '..', '..');
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(pods, '*', '*', '*.log')] })], ...NO_SCANS });
  await waitFor(() => collector.lineCount === 10, () => `the first generation, got ${collector.lineCount}`, EVENT_DEADLINE);
  appendFileSync(k.target, numberedLines(10, 10));
  kubeletRotate(k, '20261129-123456', null);
  appendFileSync(k.target, numberedLines(20, 10));
  await waitFor(() => collector.lineCount === 30, () => `30 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  appendFileSync(k.target, numberedLines(30, 10));
  kubeletRotate(k, '20261129-123457', '20261129-123456');
  appendFileSync(k.target, numberedLines(40, 10));
  await waitFor(() => collector.lineCount === 50, () => `50 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  assertEachNumberOnceInOrder(collector, 50);
  assert.equal(tailer.scanCount, 1);
});

test('the kubelet rotating twice while the agent is stopped: the rest of the generation read before, the one in between, and the new 0.log, each line once', async (t) => {
  const k = await node(t);
  writeFileSync(k.target, numberedLines(0, 50));
  symlinkSync(k.target, k.link);
  const input = inputConfig({ paths: [join(k.containers, '*.log')] });
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [input], collector: first });
  await waitFor(() => first.lineCount === 50, 'the first run to read 50 lines');
  await firstRun.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());

  appendFileSync(k.target, numberedLines(50, 20)); // written after the last commit
  kubeletRotate(k, '20261129-123456', null);
  appendFileSync(k.target, numberedLines(70, 20)); // a whole generation while stopped
  kubeletRotate(k, '20261129-123457', null);
  appendFileSync(k.target, numberedLines(90, 20));

  const second = new Collector();
  const { tailer } = await startTailer(t, { inputs: [input], collector: second, checkpoints, ...NO_SCANS });
  await waitFor(() => second.lineCount >= 60, () => `60 lines, got ${second.lineCount}`, EVENT_DEADLINE);
  await tailer.drained();
  assert.deepEqual(
    second.texts().map(lineNumber).sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, i) => 50 + i),
    'lines 50..109 exactly once: nothing lost with the rotated generations, nothing of the first run again',
  );
});

/** A symlinked 0.log whose first 10 lines were read, then Kafka stalls (the gate closes). */
async function linkedAndStalled(t: Parameters<typeof tempDir>[0]): Promise<{ k: Node; collector: Collector; tailer: Awaited<ReturnType<typeof startTailer>>['tailer']; gate: ManualGate }> {
  const k = await node(t);
  writeFileSync(k.target, numberedLines(0, 10));
  symlinkSync(k.target, k.link);
  const gate = new ManualGate();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(k.containers, '*.log')] })], gate });
  await waitFor(() => collector.lineCount === 10, 'the first lines');
  gate.close();
  return { k, collector, tailer, gate };
}

/** copytruncate of a symlink's target (logrotate configured on /var/log/pods/.../0.log): copied next to the target, then truncated. */
function copytruncateTarget(k: Node, suffix: string): void {
  writeFileSync(join(k.podDir, `0.log.${suffix}`), readFileSync(k.target));
  truncateSync(k.target, 0);
}

test('copytruncate of a symlinked file\'s target while its lines wait for the gate: the copy, born next to the target, is found and continued where the reader stood', async (t) => {
  const { k, collector, tailer, gate } = await linkedAndStalled(t); // the next lines wait in the file
  appendFileSync(k.target, numberedLines(10, 10));
  copytruncateTarget(k, '1');
  appendFileSync(k.target, numberedLines(20, 10)); // the application writes on
  gate.open();
  await waitFor(() => collector.lineCount >= 30, () => `30 lines, got ${collector.lineCount}: ${collector.texts().map(lineNumber).join(',')}`);
  await tailer.drained();
  assertEachNumberOnceInOrder(collector, 30);
});

test('copytruncate of a symlinked file\'s target twice before its reader read again: the older copy continued where the reader stood, the newer one (only lines never read) found as a file born since', async (t) => {
  const { k, collector, tailer, gate } = await linkedAndStalled(t);
  appendFileSync(k.target, numberedLines(10, 10));
  copytruncateTarget(k, '2'); // older copy: continues where the reader stood
  appendFileSync(k.target, numberedLines(20, 10));
  copytruncateTarget(k, '1'); // newer copy: nothing of it was read
  appendFileSync(k.target, numberedLines(30, 10));
  gate.open();
  await waitFor(() => collector.lineCount >= 40, () => `40 lines, got ${collector.lineCount}: ${collector.texts().map(lineNumber).join(',')}`);
  await tailer.drained();
  assert.deepEqual(collector.texts().map(lineNumber).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
});

test('a new target behind a symlink, copied (not truncated yet) before its reader first read it: the copy is left to that reader, nothing read twice', async (t) => {
  const { k, collector, tailer, gate } = await linkedAndStalled(t);
  rmSync(k.target);
  writeFileSync(k.target, numberedLines(10, 10)); // a new file behind the link, followed, not read yet
  const newFile = statSync(k.target).ino;
  await waitFor(() => tailer.files().some((file) => file.identity.ino === newFile), 'the new target followed');
  writeFileSync(join(k.podDir, '0.log.1'), readFileSync(k.target)); // copytruncate: copied, not truncated yet
  gate.open(); // its first read looks for files born since its follow: the copy, which the live file still holds
  await waitFor(() => collector.lineCount >= 20, () => `20 lines, got ${collector.lineCount}`);
  truncateSync(k.target, 0);
  appendFileSync(k.target, numberedLines(20, 10));
  await waitFor(() => collector.lineCount >= 30, () => `30 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assertEachNumberOnceInOrder(collector, 30);
});
