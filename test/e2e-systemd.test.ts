// systemd integration (issue #13): the real agent speaks sd_notify to a datagram socket the
// test binds (as systemd would for a Type=notify unit) — READY=1 once started, STATUS= every few
// seconds, WATCHDOG=1 at half of WATCHDOG_USEC while its event loop turns and not while it is
// blocked, RELOADING=1 + MONOTONIC_USEC= / READY=1 around SIGHUP, STOPPING=1 on SIGTERM — all
// from its main pid, as NotifyAccess=main requires.

import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, numberedLines, tempDir } from './helpers/configs.js';
import { NotifyListener, monotonicUsec, type Notification } from './helpers/notify-listener.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

const has = (key: string, value?: string) => (n: Notification) => (value === undefined ? n.fields.has(key) : n.fields.get(key) === value);

function intervalsMs(list: Notification[]): number[] {
  return list.slice(1).map((n, i) => (n.usec - list[i]!.usec) / 1_000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

test('sd_notify: READY, STATUS, WATCHDOG pings, RELOADING/READY on SIGHUP (applied and refused), STOPPING on SIGTERM, all from the main pid', async () => {
  const dir = tempDir('notify');
  const listener = await NotifyListener.start(`@logship-test-${process.pid}-${Date.now()}`);
  writeFileSync(join(dir, 'a.log'), '');
  writeFileSync(join(dir, 'b.log'), '');
  const inputs = `  - id: n\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "notify.{file.stem}"`;
  const yaml = agentYaml({ dir, bootstrap: cluster.bootstrap, inputs });
  // WATCHDOG_USEC=1s: a ping every 500 ms.
  const agent = AgentProcess.start(dir, yaml, { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC: '1000000' });
  const pid = agent.child.pid!;
  try {
    const ready = await listener.waitFor(has('READY', '1'), 'READY=1');
    assert.match(listener.received[ready]!.fields.get('STATUS') ?? '', /^running · 2 files · lag 0 B · /, 'READY=1 comes with a summary');
    assert.deepEqual(
      listener.received.slice(0, ready).flatMap((n) => [...n.fields.keys()].filter((k) => k !== 'STATUS' && k !== 'WATCHDOG')),
      [],
      'nothing but STATUS= and pings before READY=1',
    );

    // STATUS= every few seconds, with the lines shipping and Kafka reachable.
    const writer = setInterval(() => {
      appendFileSync(join(dir, 'a.log'), numberedLines('a', 0, 50));
      appendFileSync(join(dir, 'b.log'), numberedLines('b', 0, 5));
    }, 100);
    try {
      await listener.waitFor(
        (n) => /^running · 2 files · [1-9][\d,]* lines\/s · lag .* · Kafka reachable · .* in flight$/.test(n.fields.get('STATUS') ?? '') && !n.fields.has('READY'),
        'a periodic STATUS= with lines/s and Kafka reachable',
        20_000,
        ready + 1,
      );
    } finally {
      clearInterval(writer);
    }

    // Watchdog pings at about half of WATCHDOG_USEC.
    const pingsFrom = listener.received.length;
    await listener.waitFor(() => listener.received.slice(pingsFrom).filter(has('WATCHDOG', '1')).length >= 5, 'five WATCHDOG=1 pings');
    const pings = listener.received.slice(pingsFrom).filter(has('WATCHDOG', '1'));
    const every = median(intervalsMs(pings));
    assert.ok(every >= 300 && every <= 800, `pings every ${every} ms, expected about 500 (half of WATCHDOG_USEC)`);

    // SIGHUP with a valid change: RELOADING=1 with the monotonic time of the request, then READY=1.
    writeFileSync(join(dir, 'agent.yaml'), yaml.replace('log: {level: info}', 'log: {level: debug}'));
    const sighupAt = monotonicUsec();
    agent.child.kill('SIGHUP');
    const reloading = await listener.waitFor(has('RELOADING', '1'), 'RELOADING=1', 20_000, ready + 1);
    const r = listener.received[reloading]!;
    const stamp = Number(r.fields.get('MONOTONIC_USEC'));
    assert.ok(stamp >= sighupAt && stamp <= r.usec, `MONOTONIC_USEC=${stamp} is CLOCK_MONOTONIC between the signal (${sighupAt}) and receipt (${r.usec})`);
    const reloaded = await listener.waitFor(has('READY', '1'), 'READY=1 after the reload', 20_000, reloading + 1);
    assert.equal(listener.received[reloaded]!.fields.get('STATUS'), 'configuration reloaded');
    await agent.waitForLog((e) => e.msg === 'configuration reloaded', 5_000, 'the reload applied');

    // SIGHUP with an invalid file: refused, READY=1 all the same, and the summary says so.
    writeFileSync(join(dir, 'agent.yaml'), 'inputs: [this is: not valid\n');
    agent.child.kill('SIGHUP');
    const refusing = await listener.waitFor(has('RELOADING', '1'), 'RELOADING=1 for the invalid file', 20_000, reloaded + 1);
    const refused = await listener.waitFor(has('READY', '1'), 'READY=1 after the refused reload', 20_000, refusing + 1);
    assert.match(listener.received[refused]!.fields.get('STATUS') ?? '', /NOT reloaded \(refused\)/);
    await listener.waitFor((n) => /^running · .* · last reload REFUSED/.test(n.fields.get('STATUS') ?? ''), 'the summary remembering the refused reload', 20_000, refused + 1);

    // SIGTERM: STOPPING=1, then a clean exit; no READY=1 after it.
    writeFileSync(join(dir, 'agent.yaml'), yaml);
    const exit = agent.stop('SIGTERM');
    const stopping = await listener.waitFor(has('STOPPING', '1'), 'STOPPING=1', 20_000, refused + 1);
    assert.match(listener.received[stopping]!.fields.get('STATUS') ?? '', /^stopping: SIGTERM/);
    assert.equal((await exit).code, 0);
    assert.ok(!listener.received.slice(stopping).some(has('READY')), 'no READY=1 after STOPPING=1');

    const senders = new Set(listener.received.map((n) => n.pid));
    assert.deepEqual([...senders], [pid], 'every notification comes from the main pid (NotifyAccess=main)');
    const sequence = listener.received.filter((n) => n.fields.has('READY') || n.fields.has('RELOADING') || n.fields.has('STOPPING')).map((n) => [...n.fields.keys()].filter((k) => k !== 'STATUS' && k !== 'MONOTONIC_USEC').join('+'));
    assert.deepEqual(sequence, ['READY', 'RELOADING', 'READY', 'RELOADING', 'READY', 'STOPPING']);
  } finally {
    await agent.stop('SIGKILL');
    await listener.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('sd_notify: READY=1 while Kafka is unreachable (STATUS says so), on a socket path, no watchdog without WATCHDOG_USEC', async () => {
  const dir = tempDir('notify-path');
  const listener = await NotifyListener.start(join(dir, 'notify.sock'));
  writeFileSync(join(dir, 'x.log'), 'one line\n');
  // A port nobody listens on: the producer exists, Kafka never answers.
  const yaml = agentYaml({ dir, bootstrap: '127.0.0.1:9', inputs: `  - id: x\n    paths: ["${dir}/x.log"]\n    start_at: beginning\n    topic: "x"` });
  const agent = AgentProcess.start(dir, yaml, { NOTIFY_SOCKET: listener.address });
  try {
    await listener.waitFor(has('READY', '1'), 'READY=1 although Kafka is unreachable');
    const status = await listener.waitFor((n) => /^running · 1 file · .*Kafka UNREACHABLE, lines wait in the files/.test(n.fields.get('STATUS') ?? ''), 'a STATUS= telling Kafka is unreachable');
    assert.ok(status >= 0);
    // SIGTERM: STOPPING=1 at once, although the stop then waits shutdown_timeout for Kafka.
    agent.child.kill('SIGTERM');
    await listener.waitFor(has('STOPPING', '1'), 'STOPPING=1');
    assert.ok(!listener.received.some(has('WATCHDOG')), 'no WATCHDOG=1 without WATCHDOG_USEC');
    assert.ok(!agent.logs.some((e) => /could not notify/.test(e.msg)), 'no send failure');
  } finally {
    await agent.stop('SIGKILL');
    await listener.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('sd_notify: a NOTIFY_SOCKET nobody listens on is logged once and changes nothing else', async () => {
  const dir = tempDir('notify-gone');
  writeFileSync(join(dir, 'g.log'), numberedLines('g', 0, 10));
  const agent = AgentProcess.start(
    dir,
    agentYaml({ dir, bootstrap: cluster.bootstrap, inputs: `  - id: g\n    paths: ["${dir}/g.log"]\n    start_at: beginning\n    topic: "notify.gone"` }),
    { NOTIFY_SOCKET: join(dir, 'nobody.sock'), WATCHDOG_USEC: '200000' },
  );
  try {
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    await until(async () => (await cluster.count('notify.gone')) >= 10, 20_000, 'the lines shipped');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    const failures = agent.logs.filter((e) => /could not notify systemd/.test(e.msg));
    assert.equal(failures.length, 1, 'one warning for ENOENT, not one per ping');
    assert.equal((failures[0]!.err as { code?: string }).code, 'ENOENT');
  } finally {
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('watchdog: a blocked event loop stops the WATCHDOG=1 pings for longer than WATCHDOG_USEC; they resume when it runs again', async () => {
  const dir = tempDir('watchdog');
  const listener = await NotifyListener.start(`@logship-watchdog-${process.pid}-${Date.now()}`);
  writeFileSync(join(dir, 'w.log'), '');
  const agent = AgentProcess.start(
    dir,
    agentYaml({ dir, bootstrap: cluster.bootstrap, inputs: `  - id: w\n    paths: ["${dir}/w.log"]\n    topic: "watchdog.w"` }),
    // Pings every 500 ms; SIGUSR2 blocks the loop for 3 s (a test-only hook).
    { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC: '1000000', LOGSHIP_DEBUG_BLOCK_LOOP_MS: '3000' },
  );
  try {
    const ready = await listener.waitFor(has('READY', '1'), 'READY=1');
    const countPings = (from: number): number => listener.received.slice(from).filter(has('WATCHDOG', '1')).length;
    await listener.waitFor(() => countPings(ready) >= 3, 'pings before the block');
    const blockedAt = monotonicUsec();
    const from = listener.received.length;
    agent.child.kill('SIGUSR2');
    await listener.waitFor(() => countPings(from) >= 4, 'pings after the block', 20_000);
    const pings = listener.received.filter(has('WATCHDOG', '1'));
    const gaps = intervalsMs(pings).map((ms, i) => ({ ms, endUsec: pings[i + 1]!.usec }));
    const longest = gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
    assert.ok(longest.ms >= 2_500, `the longest silence is ${longest.ms} ms; the loop was blocked for 3,000`);
    assert.ok(longest.ms > 1_000, 'longer than WATCHDOG_USEC: systemd would restart the agent');
    assert.ok(longest.endUsec > blockedAt, 'the silence is the block');
    const after = pings.filter((n) => n.usec > longest.endUsec);
    assert.ok(after.length >= 3, 'pings resume once the loop runs again');
    assert.ok(median(intervalsMs(after)) <= 800, 'and come every ~500 ms again');
    await agent.waitForLog((e) => /DEBUG: event loop released/.test(e.msg), 5_000, 'the hook logged the block');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    await listener.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the systemd unit is Type=notify with a watchdog and main-pid notifications', () => {
  const unit = readFileSync(new URL('../../packaging/systemd/logship.service', import.meta.url), 'utf8');
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^NotifyAccess=main$/m);
  assert.match(unit, /^WatchdogSec=\d+s$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
});
