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
import { committedOffset } from './helpers/committed.js';
import { agentYaml, numberedLines, tally, tempDir } from './helpers/configs.js';

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
});
