// The lives of discovery and of the watcher alone (src/tailer/watch-life.ts): every legal move,
// each refused one with a typed error naming the owner, the state and the move. No file, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TailerStateError } from '../src/tailer/errors.js';
import { DiscoveryLife, WatcherLife } from '../src/tailer/watch-life.js';

function refused(act: () => unknown, owner: string, from: string, transition: string): void {
  assert.throws(act, (err: unknown) => {
    assert.ok(err instanceof TailerStateError, String(err));
    assert.equal(err.owner, owner);
    assert.equal(err.from, from);
    assert.equal(err.transition, transition);
    return true;
  });
}

test('discovery: watching until the kernel refuses a watch, which is news once; scan-only then', () => {
  const life = new DiscoveryLife();
  assert.equal(life.kind, 'watching');
  assert.equal(life.mode, 'inotify');
  assert.equal(life.watching, true);
  assert.equal(life.refused(), true, 'the first refusal: fall back to scans');
  assert.equal(life.kind, 'scan-only');
  assert.equal(life.mode, 'scan-only');
  assert.equal(life.watching, false, 'no watch is started or kept any more');
  assert.equal(life.refused(), false, 'a later refusal is not news');
  assert.equal(life.closed, false);
});

test('discovery: closed from either mode, remembering it; a refusal once closed is a bug', () => {
  for (const scanOnly of [false, true]) {
    const life = new DiscoveryLife();
    if (scanOnly) life.refused();
    life.close();
    assert.equal(life.kind, 'closed');
    assert.equal(life.closed, true);
    assert.equal(life.watching, false);
    assert.equal(life.mode, scanOnly ? 'scan-only' : 'inotify');
    life.close();
    assert.equal(life.mode, scanOnly ? 'scan-only' : 'inotify', 'closing again changes nothing');
    refused(() => life.refused(), 'discovery', 'closed', 'refused');
  }
});

test('watcher: the first path event queues one look; paths told meanwhile join it, in order, once each', () => {
  const life = new WatcherLife();
  assert.equal(life.kind, 'open');
  assert.equal(life.pathEvent('/var/log/a.log'), true);
  assert.equal(life.kind, 'looks-queued');
  assert.equal(life.pathEvent('/var/log/b.log'), false);
  assert.equal(life.pathEvent('/var/log/a.log'), false);
  assert.deepEqual(life.takePaths(), ['/var/log/a.log', '/var/log/b.log']);
  assert.equal(life.kind, 'open');
  assert.equal(life.pathEvent('/var/log/c.log'), true, 'told while the look runs: another look');
  assert.deepEqual(life.takePaths(), ['/var/log/c.log']);
});

test('watcher: a look with none queued is a bug; closed is terminal and drops what was pending', () => {
  const life = new WatcherLife();
  refused(() => life.takePaths(), 'watcher', 'open', 'takePaths');
  life.pathEvent('/var/log/a.log');
  life.close();
  assert.equal(life.closed, true);
  assert.deepEqual(life.takePaths(), [], 'the queued look finds nothing to do');
  assert.equal(life.pathEvent('/var/log/b.log'), false, 'nothing is queued once closed');
  assert.equal(life.kind, 'closed');
});
