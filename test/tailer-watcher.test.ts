// The watcher alone: real files in a temporary directory, scripted watch events (no inotify),
// a clock the test sets, and a stand-in for the reader group that follows what the events say
// — the recorded events are the output. No reader exists here: the watcher sees followed files
// only as identities and positions.

import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { type FileIdentity, identityKey } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { DecisionQueue } from '../src/tailer/decision-queue.js';
import type { FileEvent, FollowedView } from '../src/tailer/file-events.js';
import { identityOf } from '../src/tailer/identity.js';
import { KnownFiles } from '../src/tailer/known-files.js';
import type { ResumePoint } from '../src/tailer/prospector.js';
import { Watcher } from '../src/tailer/watcher.js';
import type { EntryEvent, StartWatch } from '../src/tailer/watches.js';
import { FakeCheckpoints, inputConfig, numberedLines, onCleanup, silentLogger, tempDir } from './helpers/tailer-harness.js';

/** Watches that report only what the test fires. */
class ScriptedWatches {
  readonly running = new Map<string, (event: EntryEvent, name: string | null) => void>();
  readonly start: StartWatch = (path, onEvent) => {
    this.running.set(path, onEvent);
    return { close: () => this.running.delete(path) };
  };

  /** Fires `event` for entry `path` in the watch of its directory. */
  fire(path: string, event: EntryEvent): void {
    const watch = this.running.get(dirname(path));
    assert.ok(watch !== undefined, `no watch on ${dirname(path)}`);
    watch(event, path.slice(dirname(path).length + 1));
  }
}

/** The reader group as the events leave it: which identity is live where, which are followed. */
class FollowedModel implements FollowedView {
  readonly live = new Map<string, FileIdentity>();
  readonly followed = new Map<string, { identity: FileIdentity; livePath: string; at: string }>();

  apply(event: FileEvent): void {
    if (event.type === 'created') {
      const identity = identityOf(event.file.stat);
      this.live.set(event.file.path, identity);
      this.followed.set(identityKey(identity), { identity, livePath: event.file.path, at: event.file.path });
    } else if (event.type === 'renamed' || event.type === 'removed') {
      const from = event.type === 'renamed' ? event.from : event.path;
      if (this.live.get(from) !== undefined && identityKey(this.live.get(from)!) === identityKey(event.identity)) this.live.delete(from);
      if (event.type === 'renamed') this.followed.get(identityKey(event.identity))!.at = event.to;
    } else if (event.type === 'middle') {
      this.followed.set(identityKey(event.file.identity), { identity: event.file.identity, livePath: event.livePath, at: event.file.path });
    }
  }

  liveAt(path: string): FileIdentity | undefined {
    return this.live.get(path);
  }
  isFollowed(identity: FileIdentity): boolean {
    return this.followed.has(identityKey(identity));
  }
  livePaths(): string[] {
    return [...this.live.keys()];
  }
  readsAt(path: string): boolean {
    return [...this.followed.values()].some((file) => file.at === path);
  }
  positionsUnder(): Array<{ identity: FileIdentity; point: ResumePoint | undefined }> {
    return [];
  }
}

interface Rig {
  watcher: Watcher;
  events: FileEvent[];
  watches: ScriptedWatches;
  model: FollowedModel;
  queue: DecisionQueue;
  clock: { now: number };
}

async function rig(t: TestContext, paths: string[]): Promise<Rig> {
  const events: FileEvent[] = [];
  const watches = new ScriptedWatches();
  const model = new FollowedModel();
  const clock = { now: Date.now() };
  const queue = new DecisionQueue(silentLogger());
  const openFile = (path: string) => open(path, 'r');
  const watcher = new Watcher({
    inputs: [inputConfig({ paths })],
    log: silentLogger(),
    now: () => clock.now,
    queue,
    known: new KnownFiles(new OffsetTracker(), new FakeCheckpoints(), openFile, () => clock.now),
    followed: model,
    openFile,
    emit: (event) => {
      events.push(event);
      model.apply(event);
    },
    bytesRead: () => 0,
    // An hour: no scan runs unless the test asks for one.
    scanIntervalMs: 3_600_000,
    idleScanIntervalMs: 3_600_000,
    startWatch: watches.start,
  });
  onCleanup(t, async () => watcher.close());
  await queue.run(() => watcher.startup());
  return { watcher, events, watches, model, queue, clock };
}

/** The events since `from`, as short strings (paths relative to `dir`). */
function told(events: readonly FileEvent[], dir: string, from = 0): string[] {
  const rel = (path: string) => path.slice(dir.length + 1);
  return events.slice(from).map((event) => {
    switch (event.type) {
      case 'created':
        return `created ${rel(event.file.path)}${event.startup ? ' (startup)' : ''}`;
      case 'renamed':
        return `renamed ${rel(event.from)} -> ${rel(event.to)}${event.replaced ? ' (replaced)' : ''}`;
      case 'removed':
        return `removed ${rel(event.path)}${event.replaced ? ' (replaced)' : ''}`;
      case 'middle':
        return `middle ${rel(event.file.path)} of ${rel(event.livePath)}`;
      case 'written':
      case 'touched':
        return `${event.type} ${rel(event.path)}`;
      case 'still-there':
        return `still-there ${rel(event.file.path)}`;
      case 'scanned':
        return event.startup ? 'scanned (startup)' : 'scanned';
      default:
        return event.type;
    }
  });
}

test('startup: every matching file is told created, then the scan; only the glob directory is watched', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'a.log'), numberedLines(0, 1));
  writeFileSync(join(dir, 'b.log'), numberedLines(1, 1));
  writeFileSync(join(dir, 'c.txt'), 'not matched\n');
  const { events, watches } = await rig(t, [join(dir, '*.log')]);
  assert.deepEqual(told(events, dir).sort(), ['created a.log (startup)', 'created b.log (startup)', 'scanned (startup)']);
  assert.deepEqual([...watches.running.keys()], [dir]);
});

test('a write event is told at once (no look, nothing queued); an entry event has the path looked at', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1));
  const { events, watches, queue } = await rig(t, [join(dir, '*.log')]);
  const before = events.length;
  watches.fire(path, 'change');
  assert.deepEqual(told(events, dir, before), ['written app.log'], 'synchronously');
  await queue.idle();
  assert.deepEqual(told(events, dir, before), ['written app.log'], 'a followed file written to is not looked at');
  watches.fire(path, 'rename');
  await queue.run(async () => undefined);
  assert.deepEqual(told(events, dir, before + 1), ['touched app.log', 'still-there app.log']);
});

test('rotation by rename: renamed (old -> new, replaced), then the new file created', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1));
  const { events, watches, queue } = await rig(t, [join(dir, 'app.log')]);
  const before = events.length;
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(1, 1));
  watches.fire(path, 'rename');
  await queue.run(async () => undefined);
  assert.deepEqual(told(events, dir, before), ['touched app.log', 'renamed app.log -> app.log.1 (replaced)', 'created app.log']);
});

test('removed: a deleted file is told removed; absence is looked at, not guessed', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1));
  const { events, watches, queue, model } = await rig(t, [join(dir, '*.log')]);
  const before = events.length;
  rmSync(path);
  watches.fire(path, 'rename');
  await queue.run(async () => undefined);
  assert.deepEqual(told(events, dir, before), ['touched app.log', 'removed app.log']);
  assert.equal(model.liveAt(path), undefined);
});

test('two rotations between looks: the file created and rotated away in between is told as a middle file, oldest first', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1));
  const { events, watcher, queue, clock } = await rig(t, [join(dir, 'app.log')]);
  const before = events.length;
  // No event reaches the watcher (as when the kernel's queue overflowed): only the scan sees it.
  renameSync(path, `${path}.2`);
  writeFileSync(path, numberedLines(1, 1));
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(2, 1));
  clock.now = Date.now();
  await queue.run(() => watcher.scan());
  assert.deepEqual(told(events, dir, before), ['renamed app.log -> app.log.2 (replaced)', 'middle app.log.1 of app.log', 'created app.log', 'scanned']);
});

/** The kubelet's layout under `dir`: containers/pod_ns_app-1.log -> pods/ns_pod_uid/app/0.log (one line). */
function podLayout(dir: string): { containers: string; pods: string; target: string; link: string } {
  const pods = join(dir, 'pods', 'ns_pod_uid', 'app');
  const containers = join(dir, 'containers');
  mkdirSync(pods, { recursive: true });
  mkdirSync(containers);
  const target = join(pods, '0.log');
  const link = join(containers, 'pod_ns_app-1.log');
  writeFileSync(target, numberedLines(0, 1));
  symlinkSync(target, link);
  return { containers, pods, target, link };
}

test("a symlinked file: its target's directory is watched, and an event there is told under the link's path", async (t) => {
  const dir = await tempDir(t);
  const { containers, pods, target } = podLayout(dir);
  const { events, watches, queue } = await rig(t, [join(containers, '*.log')]);
  assert.deepEqual([...watches.running.keys()].sort(), [containers, pods].sort());
  const before = events.length;
  watches.fire(target, 'change');
  assert.deepEqual(told(events, dir, before), ['written containers/pod_ns_app-1.log', 'written pods/ns_pod_uid/app/0.log']);
  // The kubelet's rotation: 0.log renamed, a new 0.log; the event comes from the target's directory.
  const oldIdentity = identityKey(statSync(target));
  renameSync(target, `${target}.20261129-123456`);
  writeFileSync(target, numberedLines(1, 1));
  watches.fire(target, 'rename');
  await queue.run(async () => undefined);
  // Told twice (the link's path, and the target's own, which no glob matches): looked at once.
  assert.deepEqual(told(events, dir, before + 2), [
    'touched containers/pod_ns_app-1.log',
    'renamed containers/pod_ns_app-1.log -> pods/ns_pod_uid/app/0.log.20261129-123456 (replaced)',
    'created containers/pod_ns_app-1.log',
    'touched pods/ns_pod_uid/app/0.log',
  ]);
  const created = events.at(-2)!;
  assert.ok(created.type === 'created' && identityKey(created.file.stat) !== oldIdentity, 'the new generation, under the link path');
});

test("a symlinked path rotated twice by the kubelet with no event seen: the generation in between is found next to the target", async (t) => {
  const dir = await tempDir(t);
  const { containers, target } = podLayout(dir);
  const { events, watcher, queue, clock } = await rig(t, [join(containers, '*.log')]);
  const before = events.length;
  // Events lost (the kernel's queue overflowed): only the scan sees what happened.
  renameSync(target, `${target}.20261129-123456`);
  writeFileSync(target, numberedLines(1, 1));
  renameSync(target, `${target}.20261129-123457`);
  writeFileSync(target, numberedLines(2, 1));
  clock.now = Date.now();
  await queue.run(() => watcher.scan());
  assert.deepEqual(told(events, dir, before), [
    'renamed containers/pod_ns_app-1.log -> pods/ns_pod_uid/app/0.log.20261129-123456 (replaced)',
    'middle pods/ns_pod_uid/app/0.log.20261129-123457 of containers/pod_ns_app-1.log',
    'created containers/pod_ns_app-1.log',
    'scanned',
  ]);
});
