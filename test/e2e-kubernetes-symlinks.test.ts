// End to end, the Kubernetes node layout (issue #12): the real agent follows
// /var/log/containers/<pod>_<ns>_<container>-<id>.log, a symlink created while it runs into
// /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, while the kubelet rotates 0.log to
// 0.log.<timestamp> (older generations compressed to .gz) several times a second — faster
// than any safety-net scan. kcat reads back: every line of every generation exactly once, in
// file order per partition; nothing of a compressed archive.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { assertShippedInOrder } from './helpers/shipped-order.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

/** A node's log directories under a temporary root, and the agent.yaml that follows /var/log/containers. */
function k8sNode(name: string): { root: string; containers: string; podDir: string; target: string; yaml: string } {
  const root = mkdtempSync(join(tmpdir(), `logship-${name}-`));
  const containers = join(root, 'var/log/containers');
  const podDir = join(root, 'var/log/pods/shop_web-7d9f_0c7e1b2a-uid/app');
  mkdirSync(containers, { recursive: true });
  mkdirSync(podDir, { recursive: true });
  const yaml = `agent:
  name: ${name}
  data_dir: ${root}/data
log: {level: debug}
inputs:
  - id: containers
    paths: ["${containers}/*.log"]
    start_at: beginning
    topic: "${name}"
kafka:
  brokers: ["${cluster.bootstrap.split(',').join('", "')}"]
  acks: all
metrics: {listen: ""}
`;
  return { root, containers, podDir, target: join(podDir, '0.log'), yaml };
}

/** Appends numbered lines to `path` and remembers them, in writing order. */
function lineWriter(): { lines: Buffer[]; write: (path: string, count: number) => void } {
  const lines: Buffer[] = [];
  const write = (path: string, count: number): void => {
    let text = '';
    for (let i = 0; i < count; i++) {
      const line = `line ${lines.length} of ${path.slice(path.lastIndexOf('/') + 1)}`;
      lines.push(Buffer.from(line));
      text += `${line}\n`;
    }
    appendFileSync(path, text);
  };
  return { lines, write };
}

test('a /var/log/containers symlink created while the agent runs, its 0.log rotated by the kubelet four times: every line once, no archive', async () => {
  const { root, containers, podDir, target, yaml } = k8sNode('e2e-k8s');
  // An archive left from before: compressed, never shipped.
  writeFileSync(join(podDir, '0.log.20261129-120000.gz'), gzipSync('archived line, never shipped\n'));
  const agent = AgentProcess.start(root, yaml);
  try {
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    writeFileSync(target, '');
    symlinkSync(target, join(containers, 'web-7d9f_shop_app-4f1c2d.log'));
    const { lines, write } = lineWriter();
    let previous: string | null = null;
    for (let generation = 0; generation < 4; generation++) {
      write(target, 100);
      await delay(50);
      write(target, 100);
      await delay(150);
      // The kubelet's rotation: the older rotated generation compressed, 0.log renamed, a new 0.log.
      if (previous !== null) {
        writeFileSync(`${previous}.gz`, gzipSync(readFileSync(previous)));
        rmSync(previous);
      }
      const rotated = join(podDir, `0.log.20261129-12345${generation}`);
      renameSync(target, rotated);
      write(rotated, 20); // the runtime still held the old one for a moment
      writeFileSync(target, '');
      previous = rotated;
    }
    write(target, 100);
    await until(async () => (await cluster.count('e2e-k8s')) >= lines.length, 30_000, `${lines.length} lines in Kafka`);
    const records = await cluster.consume('e2e-k8s');
    assertShippedInOrder(records, lines);
    assert.ok(!records.some((r) => r.value.toString().includes('archived')), 'a compressed archive was shipped');
    const exit = await agent.stop('SIGTERM');
    assert.equal(exit.code, 0, `clean exit expected, got ${JSON.stringify(exit)}\n${agent.stderr.join('\n')}`);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

test('the kubelet rotates 0.log while the agent is down (an upgrade of the DaemonSet): the rest of the old generation and the new one, every line once', async () => {
  const { root, containers, podDir, target, yaml } = k8sNode('e2e-k8s-restart');
  const { lines, write } = lineWriter();
  try {
    write(target, 100);
    symlinkSync(target, join(containers, 'web-7d9f_shop_app-4f1c2d.log'));
    let agent = AgentProcess.start(root, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      await until(async () => (await cluster.count('e2e-k8s-restart')) >= 100, 20_000, 'the first 100 lines');
      assert.equal((await agent.stop('SIGTERM')).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
    // Down: the container writes on, the kubelet rotates, the new 0.log fills.
    write(target, 50);
    renameSync(target, join(podDir, '0.log.20261129-123456'));
    writeFileSync(target, '');
    write(target, 50);
    agent = AgentProcess.start(root, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent restart');
      await until(async () => (await cluster.count('e2e-k8s-restart')) >= lines.length, 20_000, `${lines.length} lines in Kafka`);
      assert.equal((await agent.stop('SIGTERM')).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
    assertShippedInOrder(await cluster.consume('e2e-k8s-restart'), lines);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
