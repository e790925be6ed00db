// The sd_notify decisions without a socket (notify-protocol.ts), and the notifier's effects
// with a recording sender: pings from the event loop stop while it is blocked, a failing
// socket is reported once, no $NOTIFY_SOCKET means nothing is loaded or sent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { NotifyLifecycle, notifyTargetFromEnv, statusAssignment, statusText, type StatusFacts } from '../src/daemon/notify-protocol.js';
import { SystemdNotifier, type NotifySender, type StatusSource } from '../src/daemon/systemd-notify.js';

const silent = pino({ level: 'silent' });

test('notifyTargetFromEnv: off without NOTIFY_SOCKET; watchdog at half of WATCHDOG_USEC, only for this pid', () => {
  assert.equal(notifyTargetFromEnv({}, 42), null);
  assert.equal(notifyTargetFromEnv({ NOTIFY_SOCKET: '' }, 42), null);
  assert.deepEqual(notifyTargetFromEnv({ NOTIFY_SOCKET: '@sd' }, 42), { socket: '@sd', watchdogIntervalMs: null, watchdogProblem: null });
  assert.deepEqual(notifyTargetFromEnv({ NOTIFY_SOCKET: '/run/sd', WATCHDOG_USEC: '30000000' }, 42), { socket: '/run/sd', watchdogIntervalMs: 15_000, watchdogProblem: null });
  assert.equal(notifyTargetFromEnv({ NOTIFY_SOCKET: '/run/sd', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)!.watchdogIntervalMs, 15_000);
  const other = notifyTargetFromEnv({ NOTIFY_SOCKET: '/run/sd', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)!;
  assert.equal(other.watchdogIntervalMs, null);
  assert.match(other.watchdogProblem!, /WATCHDOG_PID=7 is another process/);
  for (const bad of ['abc', '-5', '0', '1.5', '99999999999999999999']) {
    const t = notifyTargetFromEnv({ NOTIFY_SOCKET: '/run/sd', WATCHDOG_USEC: bad }, 42)!;
    assert.equal(t.watchdogIntervalMs, null, bad);
    assert.match(t.watchdogProblem!, /WATCHDOG_USEC/, bad);
  }
});

test('NotifyLifecycle: READY once, RELOADING/READY around a reload, nothing but STOPPING after stopping', () => {
  const life = new NotifyLifecycle();
  assert.equal(life.state, 'starting');
  assert.equal(life.reloading(5n), null, 'a SIGHUP before READY waits for start-up');
  assert.equal(life.reloaded(), null);
  assert.equal(life.ready(), 'READY=1');
  assert.equal(life.ready(), null);
  assert.equal(life.reloading(123456789n), 'RELOADING=1\nMONOTONIC_USEC=123456789');
  assert.equal(life.reloading(123456790n), null, 'a second SIGHUP during the reload: systemd already waits');
  assert.equal(life.state, 'reloading');
  assert.equal(life.reloaded(), 'READY=1');
  assert.equal(life.reloaded(), null);
  assert.equal(life.stopping(), 'STOPPING=1');
  assert.equal(life.stopping(), null);
  assert.equal(life.reloading(1n), null);
  assert.equal(life.ready(), null);
  assert.equal(new NotifyLifecycle().stopping(), 'STOPPING=1', 'a stop during start-up');
});

test('statusText and statusAssignment: one line for systemctl status', () => {
  const facts: StatusFacts = { state: 'ready', files: 4, linesPerSecond: 1249.6, lagBytes: 12 * 1024, kafkaReachable: true, inFlightBytes: 64 * 1024, lastReload: null };
  assert.equal(statusText(facts), 'running · 4 files · 1,250 lines/s · lag 12 KiB · Kafka reachable · 64 KiB in flight');
  assert.equal(statusText({ ...facts, files: 1, linesPerSecond: null, kafkaReachable: false, lastReload: 'refused' }), 'running · 1 file · lag 12 KiB · Kafka UNREACHABLE, lines wait in the files · 64 KiB in flight · last reload REFUSED (invalid configuration, see the log)');
  assert.match(statusText({ ...facts, state: 'stopping' }), /^stopping · /);
  assert.equal(statusText({ ...facts, kafkaReachable: null }), 'running · 4 files · 1,250 lines/s · lag 12 KiB · connecting to Kafka · 64 KiB in flight');
  assert.equal(statusAssignment('a\nb\r\nc'), 'STATUS=a b c');
});

class RecordingSender implements NotifySender {
  readonly sent: Array<{ at: number; state: string }> = [];
  failWith: string | null = null;
  notify(_socket: string, state: string): void {
    if (this.failWith) throw Object.assign(new Error(`sendto: ${this.failWith}`), { code: this.failWith });
    this.sent.push({ at: Date.now(), state });
  }
  monotonicUsec(): bigint {
    return 777n;
  }
}

const agent: StatusSource = {
  fileLags: () => [{ size: 100, committed: 40 }],
  acknowledgedTotal: () => 10,
  kafkaReachable: () => true,
  inFlightBytes: () => 0,
};

test('SystemdNotifier: pings come from the event loop and stop while it is blocked', async () => {
  const sender = new RecordingSender();
  const notifier = new SystemdNotifier({ socket: '@t', watchdogIntervalMs: 50, watchdogProblem: null }, sender, silent);
  notifier.startWatchdog();
  try {
    await new Promise((r) => setTimeout(r, 300));
    const before = sender.sent.length;
    assert.ok(before >= 3, `pings before the block: ${before}`);
    const blockedFrom = Date.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
    const blockedUntil = Date.now();
    assert.equal(sender.sent.length, before, 'no ping while the loop is blocked');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(sender.sent.length >= before + 3, 'pings again once it turns');
    assert.ok(sender.sent.every((s) => s.at < blockedFrom || s.at >= blockedUntil));
    assert.ok(sender.sent.every((s) => s.state === 'WATCHDOG=1'));
  } finally {
    notifier.close();
  }
});

test('SystemdNotifier: the sequence of datagrams, and a failing socket reported once without throwing', () => {
  const sender = new RecordingSender();
  const warnings: unknown[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
  const notifier = new SystemdNotifier({ socket: '@t', watchdogIntervalMs: null, watchdogProblem: null }, sender, log);
  notifier.status('starting');
  notifier.ready(agent);
  notifier.reloading();
  notifier.reloaded('refused');
  notifier.stopping('SIGTERM: draining');
  notifier.close();
  assert.deepEqual(
    sender.sent.map((s) => s.state),
    [
      'STATUS=starting',
      'READY=1\nSTATUS=running · 1 file · lag 60 B · Kafka reachable · 0 B in flight',
      'RELOADING=1\nMONOTONIC_USEC=777\nSTATUS=reloading the configuration',
      'READY=1\nSTATUS=configuration NOT reloaded (refused), the running one stays',
      'STOPPING=1\nSTATUS=stopping: SIGTERM: draining',
    ],
  );
  sender.failWith = 'ECONNREFUSED';
  assert.doesNotThrow(() => {
    for (let i = 0; i < 5; i++) notifier.status('x');
  });
  sender.failWith = 'EAGAIN';
  notifier.status('y');
  assert.deepEqual(
    warnings.map((w) => (w as { err: { code: string } }).err.code),
    ['ECONNREFUSED', 'EAGAIN'],
  );
});

test('SystemdNotifier.fromEnv: without NOTIFY_SOCKET the addon is not even loaded; with it the variables leave the environment', () => {
  let loads = 0;
  const load = (): NotifySender => {
    loads++;
    return new RecordingSender();
  };
  const env: NodeJS.ProcessEnv = { PATH: '/bin' };
  SystemdNotifier.fromEnv(silent, env, load).ready(agent);
  assert.equal(loads, 0);
  const env2: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '@x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid) };
  const n = SystemdNotifier.fromEnv(silent, env2, load);
  n.close();
  assert.equal(loads, 1);
  assert.deepEqual(env2, {}, 'children do not inherit NOTIFY_SOCKET');
  const broken = SystemdNotifier.fromEnv(silent, { NOTIFY_SOCKET: '@x' }, () => {
    throw new Error('Cannot find module');
  });
  assert.doesNotThrow(() => broken.ready(agent));
});

test('the native addon: errno codes for bad addresses, CLOCK_MONOTONIC for MONOTONIC_USEC', async () => {
  const { createRequire } = await import('node:module');
  const addon = createRequire(import.meta.url)('@logship/sd-notify') as NotifySender;
  assert.throws(() => addon.notify('relative', 'READY=1'), { code: 'EAFNOSUPPORT' });
  assert.throws(() => addon.notify(`/nonexistent-${process.pid}/sock`, 'READY=1'), { code: 'ENOENT' });
  assert.throws(() => addon.notify(`/${'x'.repeat(200)}`, 'READY=1'), { code: 'ENAMETOOLONG' });
  assert.throws(() => addon.notify(`@logship-nobody-${process.pid}`, 'READY=1'), { code: 'ECONNREFUSED' });
  const t = addon.monotonicUsec();
  assert.equal(typeof t, 'bigint');
  const hr = process.hrtime.bigint() / 1000n;
  assert.ok(hr - t >= 0n && hr - t < 1_000_000n, 'CLOCK_MONOTONIC, the clock of process.hrtime');
});
