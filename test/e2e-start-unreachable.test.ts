// Readers do not wait for Kafka's first answer (the in-flight gate opens when the shipper
// starts): with Kafka unreachable at start the agent reads up to kafka.max_in_flight_bytes into
// librdkafka's queue and waits there. Nothing of it may be committed: a stop purges it, and the
// next start, against a cluster that answers, ships every line exactly once.

import assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { committedOffset } from './helpers/committed.js';
import { agentYaml, freePort, numberedLines, tally, tempDir } from './helpers/configs.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

const LINES = 2_000;

test('Kafka unreachable at start: lines are read into the producer, not committed, and shipped exactly once by the next start', async () => {
  const dir = tempDir('start-unreachable');
  const file = join(dir, 'app.log');
  writeFileSync(file, numberedLines('u', 0, LINES));
  const port = await freePort();
  const yaml = (bootstrap: string): string =>
    agentYaml({
      dir,
      bootstrap,
      metrics: `127.0.0.1:${port}`,
      agent: '  drain_on_stop: false',
      inputs: `  - id: app\n    paths: ["${file}"]\n    start_at: beginning\n    topic: "start.unreachable"`,
    }).replace('shutdown_timeout: 10s', 'shutdown_timeout: 2s');
  // Port 9 (discard) on loopback: nothing listens, the producer never connects.
  let agent = AgentProcess.start(dir, yaml('127.0.0.1:9'));
  try {
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    let metrics = '';
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    await until(
      async () => {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return value('logship_lines_read_total') === LINES;
      },
      20_000,
      'every line read while Kafka is unreachable',
    );
    assert.ok(value('logship_in_flight_bytes') > 0, `the lines wait in the producer (in flight ${value('logship_in_flight_bytes')})`);
    assert.equal(value('logship_kafka_connected'), 0, 'never connected');
    const stopped = await agent.stop('SIGTERM');
    assert.equal(stopped.code, 0, agent.stderr.join('\n'));
    assert.ok((committedOffset(dir, file) ?? 0) === 0, `nothing committed without an acknowledgement (offset ${committedOffset(dir, file)})`);

    agent = AgentProcess.start(dir, yaml(cluster.bootstrap));
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start against the cluster');
    await until(() => committedOffset(dir, file) === statSync(file).size, 30_000, 'every line acknowledged and committed');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    const counts = tally((await cluster.consume('start.unreachable')).map((r) => r.value), 'u');
    const wrong = [...Array(LINES).keys()].filter((i) => counts.get(i) !== 1);
    assert.deepEqual(wrong.slice(0, 10), [], `each line exactly once (${wrong.length} not)`);
    assert.equal(counts.size, LINES);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
