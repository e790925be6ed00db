// End to end, the Kubernetes node layout (issue #12): the real agent follows
// /var/log/containers/<pod>_<ns>_<container>-<id>.log, a symlink created while it runs into
// /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, while the kubelet rotates 0.log to
// 0.log.<timestamp> (older generations compressed to .gz) several times a second, and deletes
// a rotated generation at the next rotation — once the agent is reading it (a line of it in
// Kafka), as a generation born and deleted while the agent had no CPU is lost to any agent.
// kcat reads back: every line of every generation exactly once, in file order per partition;
// nothing of a compressed archive. That the watch of the target's directory, not a safety-net
// scan, finds each new 0.log is asserted with scans off in tailer-symlinks.test.ts.

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

/** Whether `line` is among the records of `topic` (a kcat read). */
async function inKafka(topic: string, line: Buffer): Promise<boolean> {
  return (await cluster.consume(topic)).some((r) => r.value.equals(line));
}

/**
 * Waits for every line in Kafka and checks each once, in order. On failure the error counts the
 * missing lines by the file they were written to and carries the agent's whole log: one failure
 * under load is enough to tell a lost generation from a lost tail.
 */
async function shippedOrExplained(agent: AgentProcess, topic: string, lines: Buffer[]): Promise<void> {
  try {
    await until(async () => (await cluster.count(topic)) >= lines.length, 30_000, `${lines.length} lines in Kafka`);
    assertShippedInOrder(await cluster.consume(topic), lines);
  } catch (err) {
    const got = new Set((await cluster.consume(topic)).map((r) => r.value.toString('latin1')));
    const missing = lines.map((l) => l.toString('latin1')).filter((l) => !got.has(l));
    const byFile = new Map<string, number>();
    for (const l of missing) {
      const file = l.slice(l.lastIndexOf(' ') + 1);
      byFile.set(file, (byFile.get(file) ?? 0) + 1);
    }
    const logs = agent.logs.map((e) => JSON.stringify(e)).join('\n');
    const detail = `missing ${missing.length} lines, by file written: ${JSON.stringify([...byFile])}; first: ${JSON.stringify(missing.slice(0, 3))}`;
    throw new Error(`${(err as Error).message}\n${detail}\nagent logs:\n${logs}\nagent stderr:\n${agent.stderr.join('\n')}`, { cause: err });
  }
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
    let previous: { path: string; firstLine: Buffer } | null = null;
    for (let generation = 0; generation < 4; generation++) {
      const firstLine = lines.length;
      write(target, 100);
      await delay(50);
      write(target, 100);
      await delay(150);
      // The kubelet's rotation: the older rotated generation compressed, 0.log renamed, a new 0.log.
      if (previous !== null) {
        // Only a generation the agent has opened: one created, renamed and deleted while the
        // agent got no CPU (a stall of ~400 ms under load; SIGSTOP for that long loses exactly
        // that generation) cannot be read by any agent, and tested nothing but timing. A line
        // of it in Kafka proves its one handle is open; the deletion then comes while the agent
        // may still be reading the rest (the 20 lines written after the rename) through it.
        await until(() => inKafka('e2e-k8s', previous!.firstLine), 20_000, `the agent reading ${previous.path} before the kubelet deletes it`);
        writeFileSync(`${previous.path}.gz`, gzipSync(readFileSync(previous.path)));
        rmSync(previous.path);
      }
      const rotated = join(podDir, `0.log.20261129-12345${generation}`);
      renameSync(target, rotated);
      write(rotated, 20); // the runtime still held the old one for a moment
      writeFileSync(target, '');
      previous = { path: rotated, firstLine: lines[firstLine]! };
    }
    write(target, 100);
    await shippedOrExplained(agent, 'e2e-k8s', lines);
    const records = await cluster.consume('e2e-k8s');
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
