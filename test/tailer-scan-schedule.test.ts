// The safety-net scan's schedule alone (src/tailer/scan-schedule.ts): unarmed · armed · queued ·
// scanning · stopped, with a scripted timer and a scripted decision queue. No file, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TailerStateError } from '../src/tailer/errors.js';
import { ScanSchedule, type ScanTimer } from '../src/tailer/scan-schedule.js';

const BUSY = 1_000;
const IDLE = 10_000;

function harness(opts: { scanOnly?: boolean; scanFails?: boolean } = {}) {
  const timers: Array<{ fire: () => void; ms: number; cancelled: boolean }> = [];
  const queued: Array<() => Promise<void>> = [];
  let bytesRead = 0;
  let scans = 0;
  let scanOnly = opts.scanOnly ?? false;
  const schedule: ScanSchedule = new ScanSchedule({
    busyMs: BUSY,
    idleMs: IDLE,
    scanOnly: () => scanOnly,
    enqueueScan: async (scan) => {
      queued.push(scan);
    },
    scan: async () => {
      scans++;
      if (opts.scanFails) throw new Error('scan failed');
      schedule.scanned(bytesRead);
    },
    startTimer: (fire, ms): ScanTimer => {
      const timer = { fire, ms, cancelled: false };
      timers.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
  });
  const live = () => timers.filter((timer) => !timer.cancelled);
  return {
    schedule,
    live,
    /** The one live timer fires. */
    fire: () => {
      const [timer, ...more] = live();
      assert.ok(timer !== undefined && more.length === 0, `one live timer, got ${live().length}`);
      timer.cancelled = true;
      timer.fire();
    },
    /** The decision queue runs what waits on it. */
    runQueue: async () => {
      while (queued.length > 0) await queued.shift()!().catch(() => undefined);
    },
    queued,
    read: (n: number) => (bytesRead += n),
    scans: () => scans,
    goScanOnly: () => (scanOnly = true),
  };
}

test('unarmed until the start-up scan; then one timer, idle period when quiet, busy when read or written', async () => {
  const h = harness();
  assert.equal(h.schedule.kind, 'unarmed');
  assert.equal(h.schedule.periodMs, 0);
  h.schedule.written();
  h.schedule.scanOnlyNow();
  assert.equal(h.live().length, 0, 'nothing arms before the start-up scan');
  h.schedule.scanned(0);
  assert.equal(h.schedule.kind, 'armed');
  assert.equal(h.schedule.periodMs, BUSY, 'a write was reported since: busy');
  h.fire();
  assert.equal(h.schedule.kind, 'queued');
  assert.equal(h.live().length, 0);
  await h.runQueue();
  assert.equal(h.scans(), 1);
  assert.equal(h.schedule.kind, 'armed');
  assert.equal(h.schedule.periodMs, IDLE, 'quiet: idle period');
  assert.equal(h.live().length, 1);
  h.read(10);
  h.fire();
  await h.runQueue();
  assert.equal(h.schedule.periodMs, BUSY, 'bytes read since the last scan: busy');
});

test('the first write after a quiet spell brings the idle timer forward, once', () => {
  const h = harness();
  h.schedule.scanned(0);
  assert.equal(h.schedule.periodMs, IDLE);
  h.schedule.written();
  assert.equal(h.schedule.periodMs, BUSY);
  assert.equal(h.live().length, 1, 'the idle timer was replaced, not doubled');
  h.schedule.written();
  assert.equal(h.live().length, 1);
});

test('scan-only: an armed scan is pulled forward (its timer cancelled) and every period is short', async () => {
  const h = harness();
  h.schedule.scanned(0);
  h.goScanOnly();
  h.schedule.scanOnlyNow();
  assert.equal(h.schedule.kind, 'queued');
  assert.equal(h.live().length, 0);
  h.schedule.scanOnlyNow();
  assert.equal(h.queued.length, 1, 'queued once');
  await h.runQueue();
  assert.equal(h.schedule.kind, 'armed');
  assert.equal(h.schedule.periodMs, BUSY);
});

test('a scan that fails does not end the scans: armed with the short period', async () => {
  const h = harness({ scanFails: true });
  h.schedule.scanned(0);
  h.fire();
  await h.runQueue();
  assert.equal(h.schedule.kind, 'armed');
  assert.equal(h.schedule.periodMs, BUSY);
});

test('a direct scan while a scheduled one waits only records the period; the queued one arms', async () => {
  const h = harness();
  h.schedule.scanned(0);
  h.fire();
  h.read(5);
  h.schedule.scanned(5);
  assert.equal(h.schedule.kind, 'queued');
  assert.equal(h.schedule.periodMs, BUSY);
  assert.equal(h.live().length, 0, 'no second timer beside the queued scan');
  await h.runQueue();
  assert.equal(h.schedule.kind, 'armed');
  assert.equal(h.schedule.periodMs, IDLE);
});

test('stopped is terminal: the timer is cancelled, a queued scan does not run, nothing arms again', async () => {
  const h = harness();
  h.schedule.scanned(0);
  h.schedule.stop();
  assert.equal(h.schedule.kind, 'stopped');
  assert.equal(h.live().length, 0);
  h.schedule.scanned(0);
  h.schedule.written();
  h.schedule.scanOnlyNow();
  assert.equal(h.live().length, 0);

  const q = harness();
  q.schedule.scanned(0);
  q.fire();
  q.schedule.stop();
  await q.runQueue();
  assert.equal(q.scans(), 0);
  assert.equal(q.schedule.kind, 'stopped');
});

test('a timer firing when not armed is refused with a typed error', () => {
  const h = harness();
  h.schedule.scanned(0);
  const [timer] = h.live();
  h.fire();
  assert.throws(() => timer!.fire(), (err: unknown) => {
    assert.ok(err instanceof TailerStateError, String(err));
    assert.equal(err.owner, 'scan schedule');
    assert.equal(err.from, 'queued');
    assert.equal(err.transition, 'fire');
    return true;
  });
});
