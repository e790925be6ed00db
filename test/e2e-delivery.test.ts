// At-least-once delivery end to end (issue #4): clean restart sends nothing twice, crashes
// lose nothing, a stalled broker loses nothing and does not grow memory, per-input topics.

import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { agentYaml, numberedLines, tally, tempDir } from './helpers/configs.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

function running(agent: AgentProcess): Promise<unknown> {
  return agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
}

function exactlyOnce(counts: Map<number, number>, total: number): void {
  const missing: number[] = [];
  const dup: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = counts.get(i) ?? 0;
    if (c === 0) missing.push(i);
    if (c > 1) dup.push(i);
  }
  assert.deepEqual({ missing: missing.slice(0, 10), missingCount: missing.length }, { missing: [], missingCount: 0 });
  assert.deepEqual({ duplicated: dup.slice(0, 10), duplicatedCount: dup.length }, { duplicated: [], duplicatedCount: 0 });
  assert.equal(counts.size, total);
}

test('clean restart: SIGTERM mid-stream, restart, every one of 100,000 lines exactly once', async () => {
  const dir = tempDir('clean');
  const file = join(dir, 'app.log');
  writeFileSync(file, numberedLines('clean', 0, 100_000));
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "clean.{file.stem}"`,
    // Small in-flight window so the SIGTERM lands mid-stream with batches unacknowledged, and
    // no draining of the file on stop (that is the sidecar behaviour, tested elsewhere).
    kafka: '  max_in_flight_bytes: 256KiB\n  flush: {max_bytes: 64KiB}',
    agent: '  drain_on_stop: false',
  });
  let agent = AgentProcess.start(dir, yaml);
  try {
    await running(agent);
    await until(async () => (await cluster.count('clean.app')) >= 20_000, 30_000, '20,000 lines shipped');
    const first = await agent.stop('SIGTERM');
    assert.equal(first.code, 0);
    const shippedBeforeStop = await cluster.count('clean.app');
    assert.ok(shippedBeforeStop < 100_000, `stop was not mid-stream (${shippedBeforeStop} already shipped)`);
    agent = AgentProcess.start(dir, yaml);
    await running(agent);
    await until(async () => (await cluster.count('clean.app')) >= 100_000, 60_000, 'all 100,000 lines');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    const records = await cluster.consume('clean.app');
    exactlyOnce(tally(records.map((r) => r.value), 'clean'), 100_000);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crash: SIGKILL at 5 points while shipping 200,000 lines loses nothing; duplicates stay under one flush interval each', async () => {
  const dir = tempDir('crash');
  const file = join(dir, 'app.log');
  writeFileSync(file, numberedLines('crash', 0, 200_000));
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "crash.{file.stem}"`,
    kafka: '  max_in_flight_bytes: 512KiB\n  flush: {max_bytes: 128KiB}',
    registry: '  flush_interval: 250ms',
  });
  // Kill points spread over the run, at random within each fifth.
  const killAt = [0, 1, 2, 3, 4].map((k) => Math.floor(k * 35_000 + 10_000 + Math.random() * 20_000));
  const started = Date.now();
  let agent = AgentProcess.start(dir, yaml);
  try {
    for (const threshold of killAt) {
      await running(agent);
      await until(async () => (await cluster.count('crash.app')) >= threshold, 60_000, `${threshold} records`);
      await agent.stop('SIGKILL');
      agent = AgentProcess.start(dir, yaml);
    }
    await running(agent);
    await until(async () => {
      const counts = tally((await cluster.consume('crash.app')).map((r) => r.value), 'crash');
      return counts.size === 200_000;
    }, 90_000, 'every line at least once', 500);
    const elapsedS = (Date.now() - started) / 1000;
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    const records = await cluster.consume('crash.app');
    const counts = tally(records.map((r) => r.value), 'crash');
    for (let i = 0; i < 200_000; i++) assert.ok((counts.get(i) ?? 0) >= 1, `line ${i} lost`);
    const duplicates = records.length - 200_000;
    // A crash re-ships at most what was acknowledged since the last registry write: about one
    // flush_interval (0.25 s) of throughput per crash, plus what was in flight.
    const perInterval = (200_000 / elapsedS) * 0.25 + 512 * 1024 / 13;
    assert.ok(duplicates < 5 * perInterval, `${duplicates} duplicates for 5 crashes exceeds 5 x ${Math.round(perInterval)}`);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stalled broker: SIGSTOP for 20 s under 10,000 lines/s, memory bounded, every line arrives after SIGCONT', async () => {
  const dir = tempDir('stall');
  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "stall.{file.stem}"`,
    kafka: '  max_in_flight_bytes: 1MiB',
  });
  const agent = AgentProcess.start(dir, yaml);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.child.pid}/status`, 'utf8'))![1]) * 1024;
  let written = 0;
  const write = (n: number): void => {
    appendFileSync(file, numberedLines('stall', written, written + n, 80));
    written += n;
  };
  try {
    await running(agent);
    write(10_000);
    await until(async () => (await cluster.count('stall.app')) >= 10_000, 20_000, 'warm-up lines');
    const rssBefore = rss();
    cluster.stall();
    let rssPeak = rssBefore;
    try {
      // 20 s at 10,000 lines/s, in 100 ms steps of 1,000 lines (~90 bytes each: ~18 MB in all).
      const t0 = Date.now();
      for (let step = 1; step <= 200; step++) {
        write(1_000);
        rssPeak = Math.max(rssPeak, rss());
        const wait = t0 + step * 100 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      cluster.resume();
    }
    // Without backpressure the ~18 MB written during the stall would sit in memory (twice:
    // our buffers and librdkafka's queue). With it, at most max_in_flight_bytes does.
    assert.ok(rssPeak - rssBefore < 20 * 1024 * 1024, `RSS grew by ${((rssPeak - rssBefore) / 1048576).toFixed(1)} MiB during the stall`);
    await until(async () => (await cluster.count('stall.app')) >= written, 90_000, `all ${written} lines after SIGCONT`, 500);
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    assert.equal(await cluster.count('stall.app'), written, 'no duplicates either');
  } finally {
    cluster.resume();
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('three inputs with different topic templates ship to the expected topics', async () => {
  const dir = tempDir('topics');
  for (const sub of ['web', 'db', 'jobs']) writeFileSync(join(dir, `${sub}.log`), '');
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: [
      `  - id: web\n    paths: ["${dir}/web.log"]\n    topic: "t3.{input}.{file.name}"`,
      `  - id: db\n    paths: ["${dir}/db.log"]\n    topic: "t3-{host}-{file.stem}"`,
      `  - id: jobs\n    paths: ["${dir}/jobs.log"]\n    topic: "t3.static"\n    key: "{input}"`,
    ].join('\n'),
  });
  const agent = AgentProcess.start(dir, yaml);
  try {
    await running(agent);
    for (const sub of ['web', 'db', 'jobs']) appendFileSync(join(dir, `${sub}.log`), `${sub} line\n`);
    const expected: Record<string, string> = { 't3.web.web.log': 'web line', 't3-test-host-db': 'db line', 't3.static': 'jobs line' };
    for (const [topic, value] of Object.entries(expected)) {
      await until(async () => (await cluster.count(topic)) >= 1, 20_000, `a record in ${topic}`);
      const recs = await cluster.consume(topic);
      assert.deepEqual(recs.map((r) => r.value.toString()), [value], topic);
    }
    assert.equal((await cluster.consume('t3.static'))[0]!.key?.toString(), 'jobs');
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt registry is reported, moved aside, and the agent resumes from the previous good copy', async () => {
  for (const corruption of ['truncated', 'garbage', 'empty'] as const) {
    const dir = tempDir(`corrupt-${corruption}`);
    const topic = `corrupt-${corruption}.app`;
    const file = join(dir, 'app.log');
    writeFileSync(file, numberedLines(`c${corruption}`, 0, 1_000));
    const yaml = agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: `  - id: app\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "corrupt-${corruption}.{file.stem}"`,
      registry: '  flush_interval: 100ms',
    });
    let agent = AgentProcess.start(dir, yaml);
    try {
      await running(agent);
      const reg = join(dir, 'data', 'registry.json');
      const persisted = (offset: number) => (): boolean => {
        try {
          return new RegExp(`"offset":\\s*${offset}\\b`).test(readFileSync(reg, 'utf8'));
        } catch {
          return false;
        }
      };
      await until(persisted(statSync(file).size), 20_000, 'offset of the first 1,000 lines persisted');
      // A second write: the registry's previous good copy now holds the first offset.
      appendFileSync(file, numberedLines(`c${corruption}`, 1_000, 1_010));
      await until(persisted(statSync(file).size), 20_000, 'offset of 10 more lines persisted');
      assert.equal((await agent.stop('SIGTERM')).code, 0);
      const good = readFileSync(reg);
      writeFileSync(reg, corruption === 'truncated' ? good.subarray(0, Math.floor(good.length / 2)) : corruption === 'garbage' ? Buffer.from('\x00\xff garbage {{{') : Buffer.alloc(0));
      appendFileSync(file, numberedLines(`c${corruption}`, 1_010, 1_500));
      agent = AgentProcess.start(dir, yaml);
      await running(agent);
      await until(async () => (await cluster.count(topic)) >= 1_500, 20_000, 'lines after restart');
      assert.ok(agent.logs.some((e) => e.level >= 50 && /registry/i.test(e.msg)), 'the corruption is reported as an error');
      assert.equal((await agent.stop('SIGTERM')).code, 0);
      const counts = tally((await cluster.consume(topic)).map((r) => r.value), `c${corruption}`);
      for (let i = 0; i < 1_500; i++) assert.ok((counts.get(i) ?? 0) >= 1, `${corruption}: line ${i} lost`);
      const dups = [...counts.values()].reduce((a, c) => a + c - 1, 0);
      assert.ok(dups <= 10, `${corruption}: ${dups} lines re-shipped; at most the last interval (10 lines) may be`);
    } finally {
      await agent.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
