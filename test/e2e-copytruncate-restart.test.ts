// A copytruncate copy the agent read to its end, then a clean stop, the copy renamed up (.1 ->
// .2) by the next copytruncate, and a restart: nothing of the old copy is shipped again (soak
// --gap 1.5 seed 2907: 1,260 lines of w2 twice, no crash between). The real agent against the
// test cluster, read back with kcat.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { scrapeMetric } from './helpers/metrics-scrape.js';
import { committedOffset } from './helpers/committed.js';
import { agentYaml, freePort, numberedLines, tally, tempDir } from './helpers/configs.js';

describe('a copytruncate copy read to its end is not read again after a clean restart', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  /** logrotate's copytruncate with older copies shifted up (.1 -> .2), as the soak does. */
  function copytruncate(live: string): void {
    renameSync(`${live}.1`, `${live}.2`);
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
  }

  async function run(dir: string, yaml: string, what: string, done: () => Promise<boolean> | boolean): Promise<void> {
    const agent = AgentProcess.start(dir, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, `${what}: agent start`);
      await until(done, 20_000, what);
      assert.equal((await agent.stop('SIGTERM')).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
  }

  function assertEachOnce(counts: Map<number, number>, total: number): void {
    const twice = [...counts].filter(([, n]) => n > 1).map(([line]) => line);
    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !counts.has(i));
    assert.deepEqual({ missing: missing.length, firstMissing: missing[0], twice: twice.length, firstTwice: twice[0] }, { missing: 0, firstMissing: undefined, twice: 0, firstTwice: undefined });
    assert.equal([...counts.keys()].filter((n) => n >= total).length, 0, 'lines that were never written');
  }

  test('copytruncated while stopped, the refilled file read from 0 at the restart; stopped, copytruncated again: the first copy is not read again', async () => {
    const dir = tempDir('copy-restart');
    const live = join(dir, 'app.log');
    const topic = 'copy.restart';
    const yaml = agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: `  - id: app\n    paths: ["${live}"]\n    start_at: beginning\n    topic: "${topic}"`,
      registry: '  flush_interval: 100ms',
    });
    const shipped = async (n: number): Promise<boolean> => (await cluster.count(topic)) >= n;
    const persisted = (file: string): boolean => committedOffset(dir, file) === statSync(file).size;
    try {
      writeFileSync(live, numberedLines('c', 0, 100));
      await run(dir, yaml, 'the first 100 lines shipped and persisted', async () => (await shipped(100)) && persisted(live));
      // Down: copytruncate, then the application writes less than the copy holds.
      copyFileSync(live, `${live}.1`);
      truncateSync(live, 0);
      appendFileSync(live, numberedLines('c', 100, 140));
      // The live file no longer holds its checkpoint: read from 0; the copy holds it: nothing left in it.
      await run(dir, yaml, '140 lines shipped, the refilled file persisted', async () => (await shipped(140)) && persisted(live));
      // Down: the next copytruncate renames the first copy up, and the application writes on.
      copytruncate(live);
      appendFileSync(live, numberedLines('c', 140, 160));
      // Read again, the old copy would be persisted at its end only once its lines were shipped twice.
      await run(dir, yaml, '160 lines shipped, the live file and the old copy persisted', async () => (await shipped(160)) && persisted(live) && persisted(`${live}.2`));
      assertEachOnce(tally((await cluster.consume(topic)).map((r) => r.value), 'c'), 160);
      // Each copy's entry says it is read to its end (and holds its own bytes): the refilled
      // file's lines are not the copy's (they were written after the copy was made).
      assert.deepEqual(
        [`${live}.1`, `${live}.2`].map((file) => ({ file, committed: committedOffset(dir, file) })),
        [`${live}.1`, `${live}.2`].map((file) => ({ file, committed: statSync(file).size })),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the soak\'s scene: behind a stalled Kafka, copytruncated while its reader waits for the gate, a reload, a clean stop, copytruncated again: the copy is not read again', async () => {
    const dir = tempDir('copy-reload');
    const live = join(dir, 'app.log');
    const topic = 'copy.reload';
    const port = await freePort();
    const yaml = agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      metrics: `127.0.0.1:${port}`,
      inputs: `  - id: app\n    paths: ["${live}"]\n    start_at: beginning\n    topic: "${topic}"`,
      // A small in-flight budget: the stall closes the gate with the reader's lines in flight.
      kafka: '  max_in_flight_bytes: 4KiB\n  flush: {max_bytes: 1KiB}',
      registry: '  flush_interval: 100ms',
    });
    const metric = (name: string): Promise<number> => scrapeMetric(port, name);
    const persisted = (file: string): boolean => committedOffset(dir, file) === statSync(file).size;
    try {
      writeFileSync(live, numberedLines('r', 0, 100));
      let agent = AgentProcess.start(dir, yaml);
      try {
        await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
        await until(async () => (await cluster.count(topic)) >= 100 && persisted(live), 20_000, 'the first 100 lines shipped and persisted');
        cluster.stall();
        await cluster.stalled();
        appendFileSync(live, numberedLines('r', 100, 300));
        await until(async () => (await metric('logship_lines_read_total')) === 300 && (await metric('logship_in_flight_bytes')) >= 4096, 20_000, 'read, in flight, the gate closed');
        // The reader waits for the gate: it does not see the truncation before the reload.
        copyFileSync(live, `${live}.1`);
        truncateSync(live, 0);
        appendFileSync(live, numberedLines('r', 300, 320));
        const before = new Set(agent.logs);
        agent.child.kill('SIGHUP');
        await agent.waitForLog((e) => !before.has(e) && e.msg === 'configuration reloaded', 20_000, 'the reload');
        cluster.resume();
        await until(async () => (await cluster.count(topic)) >= 320 && persisted(live), 20_000, '320 lines shipped, the refilled file persisted');
        assert.equal((await agent.stop('SIGTERM')).code, 0);
      } finally {
        cluster.resume();
        await agent.stop('SIGKILL');
      }
      copytruncate(live);
      appendFileSync(live, numberedLines('r', 320, 340));
      await run(dir, yaml, '340 lines shipped, the live file and the old copy persisted', async () => (await cluster.count(topic)) >= 340 && persisted(live) && persisted(`${live}.2`));
      assertEachOnce(tally((await cluster.consume(topic)).map((r) => r.value), 'r'), 340);
    } finally {
      cluster.resume();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
