// End to end: the real agent process ships lines appended to two files to two per-file topics
// of the test cluster; kcat reads them back byte for byte, in file order per partition.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { assertShippedInOrder } from './helpers/shipped-order.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

test('two files reach two per-file topics byte for byte, in file order per partition', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logship-e2e-'));
  const a = join(dir, 'alpha.log');
  const b = join(dir, 'beta.log');
  writeFileSync(a, '');
  writeFileSync(b, 'already here before start\n');
  const agent = AgentProcess.start(
    dir,
    `agent:
  name: e2e-host
  data_dir: ${dir}/data
log: {level: debug}
inputs:
  - id: app
    paths: ["${dir}/*.log"]
    start_at: beginning
    topic: "e2e.{input}.{file.stem}"
kafka:
  brokers: ["${cluster.bootstrap.split(',').join('", "')}"]
  acks: all
  compression: lz4
metrics: {listen: ""}
`,
  );
  try {
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    const linesA: Buffer[] = [];
    const linesB: Buffer[] = [Buffer.from('already here before start')];
    for (let i = 0; i < 500; i++) {
      // Bytes that a careless reader would mangle: multibyte UTF-8, tabs, quotes, a trailing space.
      const la = Buffer.from(`alpha ${i} ünïcödé\t"quoted" ${'x'.repeat(i % 50)} `);
      const lb = Buffer.from(`beta ${i} ${'€'.repeat(i % 7)}`);
      linesA.push(la);
      linesB.push(lb);
      appendFileSync(a, Buffer.concat([la, Buffer.from('\n')]));
      appendFileSync(b, Buffer.concat([lb, Buffer.from('\r\n')]));
    }
    await until(async () => (await cluster.count('e2e.app.alpha')) >= 500 && (await cluster.count('e2e.app.beta')) >= 501, 30_000, 'all lines in Kafka');
    assertShippedInOrder(await cluster.consume('e2e.app.alpha'), linesA);
    assertShippedInOrder(await cluster.consume('e2e.app.beta'), linesB);
    const exit = await agent.stop('SIGTERM');
    assert.equal(exit.code, 0, `clean exit expected, got ${JSON.stringify(exit)}\n${agent.stderr.join('\n')}`);
    // Its last line tells the operator (and the bench) what its whole life cost.
    const stopped = agent.logs.find((e) => e.msg === 'logship stopped');
    assert.ok(stopped !== undefined, 'a "logship stopped" line');
    assert.ok(typeof stopped.cpuUserSeconds === 'number' && stopped.cpuUserSeconds > 0, `CPU user seconds in ${JSON.stringify(stopped)}`);
    assert.ok(typeof stopped.cpuSystemSeconds === 'number' && stopped.cpuSystemSeconds >= 0, `CPU system seconds in ${JSON.stringify(stopped)}`);
    assert.ok(typeof stopped.maxRssMiB === 'number' && stopped.maxRssMiB > 20 && stopped.maxRssMiB < 1024, `peak RSS in ${JSON.stringify(stopped)}`);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
