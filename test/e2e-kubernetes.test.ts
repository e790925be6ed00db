// Kubernetes node agent end to end (issue #12): the real agent on files written in each
// runtime's exact format under a temporary /var/log, read back with kcat. CRI pieces (P/F) split
// across reads, across a rotation of 0.log (renamed to 0.log.<timestamp>, then compressed) and
// across a restart; Docker json-file 16 KiB pieces behind a /var/log/containers symlink; every
// event exactly once, joined, with its metadata in the topic, key, headers and json envelope.
// Waits are on records and registry offsets, never on time.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster, type KafkaRecord } from './helpers/cluster.js';
import { agentYaml, tempDir } from './helpers/configs.js';
import { committedOffset } from './helpers/committed.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

const UID = '0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b';
const CONTAINER_ID = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const cri = (time: string, stream: 'stdout' | 'stderr', tag: 'P' | 'F', message: string): string => `${time} ${stream} ${tag} ${message}\n`;
const docker = (log: string, stream: 'stdout' | 'stderr', time: string): string => `${JSON.stringify({ log, stream, time })}\n`;

async function records(topic: string): Promise<KafkaRecord[]> {
  return cluster.consume(topic);
}

/** Resolves once `topic` holds `n` records (fails on more: a duplicate). */
async function recordsWhen(topic: string, n: number, what: string): Promise<KafkaRecord[]> {
  let got: KafkaRecord[] = [];
  await until(async () => (got = await records(topic)).length >= n, 60_000, `${n} records in ${topic} (${what})`, 200);
  return got;
}

interface Envelope {
  '@timestamp': string;
  stream?: string;
  host: string;
  input: string;
  path: string;
  offset: number;
  message: string;
  kubernetes?: { namespace: string; pod: string; container: string; pod_uid?: string };
}

const envelopes = (list: KafkaRecord[]): Envelope[] => list.map((r) => JSON.parse(r.value.toString('utf8')) as Envelope);
const sortedByOffset = (list: Envelope[]): Envelope[] => [...list].sort((a, b) => a.offset - b.offset);

function podsAgent(dir: string, prefix: string, parser: string): AgentProcess {
  return AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: [
        '  - id: pods',
        `    paths: ["${dir}/var/log/pods/*/*/*.log"]`,
        '    start_at: beginning',
        `    parser: ${parser}`,
        '    format: json',
        '    headers: true',
        `    topic: "${prefix}.{k8s.namespace}.{k8s.container}"`,
        '    key: "{k8s.pod}/{stream}"',
      ].join('\n'),
      registry: '  flush_interval: 100ms',
    }),
  );
}

test('CRI: P/F pieces split across reads, across a rotation of 0.log and a compressed generation: every event once, joined, with its metadata', async () => {
  const dir = tempDir('k8s-cri');
  const podDir = join(dir, 'var/log/pods', `shop_web-7d9f8-x2x_${UID}`, 'nginx');
  mkdirSync(podDir, { recursive: true });
  const log = join(podDir, '0.log');
  // An older generation the kubelet compressed: never shipped.
  writeFileSync(join(podDir, '0.log.20240315-090000.gz'), gzipSync(cri('2024-03-15T09:00:00Z', 'stdout', 'F', 'OLD compressed line')));
  const t = (n: number): string => `2024-03-15T10:20:${String(n).padStart(2, '0')}.123456789Z`;
  // e1 carries CRI-O's local time (an offset): @timestamp is moved to UTC.
  const e1 = cri('2024-03-15T12:20:01.5+02:00', 'stdout', 'F', 'e1 whole');
  writeFileSync(log, e1 + cri(t(2), 'stderr', 'F', 'e2 on stderr') + cri(t(3), 'stdout', 'P', 'e3 first half, ') + cri(t(4), 'stdout', 'F', 'e4 its end'));
  const agent = podsAgent(dir, 'cri', 'cri');
  try {
    const topic = 'cri.shop.nginx';
    let got = await recordsWhen(topic, 3, 'e1, e2 and e3 joined with its F line');
    // A line split across reads: its first bytes, then (once read: the event before it is in Kafka) the rest.
    appendFileSync(log, cri(t(5), 'stdout', 'F', 'e5 before the split'));
    const split = cri(t(6), 'stdout', 'F', 'e6 written in two halves');
    appendFileSync(log, split.slice(0, 20));
    got = await recordsWhen(topic, 4, 'e5');
    appendFileSync(log, split.slice(20));
    // A P read before its F: the F comes in a later read.
    appendFileSync(log, cri(t(7), 'stdout', 'F', 'e7') + cri(t(8), 'stdout', 'P', 'e8 piece one, '));
    got = await recordsWhen(topic, 6, 'e6 and e7');
    appendFileSync(log, cri(t(9), 'stdout', 'P', 'piece two, ') + cri(t(10), 'stdout', 'F', 'end of e8'));
    // Rotation: a P goes into 0.log, the kubelet renames it, the runtime writes the F to the file
    // it still has open (the renamed one), then reopens 0.log; then the old one is compressed.
    appendFileSync(log, cri(t(11), 'stdout', 'P', 'e9 across rotation, '));
    got = await recordsWhen(topic, 7, 'e8');
    const rotated = `${log}.20240315-102011`;
    renameSync(log, rotated);
    appendFileSync(rotated, cri(t(12), 'stdout', 'F', 'completed in the renamed file'));
    writeFileSync(log, cri(t(13), 'stdout', 'F', 'e10 in the new 0.log') + cri(t(14), 'stderr', 'P', 'e11 ') + cri(t(15), 'stderr', 'F', 'joined on stderr'));
    got = await recordsWhen(topic, 10, 'e9, e10, e11');
    writeFileSync(`${rotated}.gz`, gzipSync(readFileSync(rotated)));
    unlinkSync(rotated);
    await until(() => committedOffset(dir, log) === statSync(log).size, 30_000, 'the new 0.log committed to its end');
    got = await records(topic);
    const events = envelopes(got);
    const messages = events.map((e) => e.message).sort();
    assert.deepEqual(messages, [
      'e1 whole',
      'e10 in the new 0.log',
      'e11 joined on stderr',
      'e2 on stderr',
      'e3 first half, e4 its end',
      'e5 before the split',
      'e6 written in two halves',
      'e7',
      'e8 piece one, piece two, end of e8',
      'e9 across rotation, completed in the renamed file',
    ], 'every event exactly once, pieces joined, nothing of the compressed generations');
    const byMessage = new Map(events.map((e) => [e.message, e]));
    const e3 = byMessage.get('e3 first half, e4 its end')!;
    assert.equal(e3['@timestamp'], t(3), "@timestamp is the runtime's time of the event's first piece");
    assert.equal(byMessage.get('e2 on stderr')?.stream, 'stderr');
    assert.equal(byMessage.get('e1 whole')?.offset, 0);
    assert.equal(byMessage.get('e1 whole')?.['@timestamp'], '2024-03-15T10:20:01.5Z', 'a local runtime time is moved to UTC');
    assert.equal(e3.offset, Buffer.byteLength(e1 + cri(t(2), 'stderr', 'F', 'e2 on stderr')), "the event's offset is its first piece's");
    for (const e of events) {
      assert.deepEqual(e.kubernetes, { namespace: 'shop', pod: 'web-7d9f8-x2x', container: 'nginx', pod_uid: UID });
      assert.equal(e.path, log, 'the rotated generation keeps its live path');
      assert.equal(e.input, 'pods');
    }
    for (const r of got) {
      assert.equal(r.key?.toString(), `web-7d9f8-x2x/${r.headers.stream}`, 'key: {k8s.pod}/{stream}, per record');
      assert.equal(r.headers['k8s.namespace'], 'shop');
      assert.equal(r.headers['k8s.pod_uid'], UID);
      assert.ok(r.headers.stream === 'stdout' || r.headers.stream === 'stderr', 'stream header');
    }
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CRI: a restart between a P line and its F ships the joined event once; the registry never stops between them', async () => {
  const dir = tempDir('k8s-restart');
  const podDir = join(dir, 'var/log/pods', `shop_api-0_${UID}`, 'api');
  mkdirSync(podDir, { recursive: true });
  const log = join(podDir, '0.log');
  const head = cri('2024-03-15T10:00:01Z', 'stdout', 'F', 'r1');
  writeFileSync(log, head + cri('2024-03-15T10:00:02Z', 'stdout', 'P', 'r2 head, '));
  let agent = podsAgent(dir, 'rst', 'cri');
  try {
    await recordsWhen('rst.shop.api', 1, 'r1');
    await until(() => committedOffset(dir, log) === head.length, 30_000, 'r1 committed');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    assert.equal(committedOffset(dir, log), head.length, 'the committed offset stops before the open P line');
    appendFileSync(log, cri('2024-03-15T10:00:03Z', 'stdout', 'F', 'r2 tail') + cri('2024-03-15T10:00:04Z', 'stdout', 'F', 'r3'));
    agent = podsAgent(dir, 'rst', 'cri');
    await until(() => committedOffset(dir, log) === statSync(log).size, 30_000, 'committed to the end after the restart');
    assert.deepEqual(envelopes(await records('rst.shop.api')).map((e) => e.message), ['r1', 'r2 head, r2 tail', 'r3']);
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Docker json-file behind /var/log/containers symlinks (parser auto): 16 KiB pieces joined, metadata from the link and its target, a link made while running is read', async () => {
  const dir = tempDir('k8s-docker');
  const containers = join(dir, 'var/log/containers');
  mkdirSync(containers, { recursive: true });
  const makePod = (ns: string, pod: string, container: string, id: string): string => {
    const podDir = join(dir, 'var/log/pods', `${ns}_${pod}_${UID}`, container);
    mkdirSync(podDir, { recursive: true });
    const target = join(podDir, '0.log');
    writeFileSync(target, '');
    symlinkSync(target, join(containers, `${pod}_${ns}_${container}-${id}.log`));
    return target;
  };
  const first = makePod('shop', 'cart-0', 'app', CONTAINER_ID);
  const big = 'x'.repeat(16 * 1024) + 'y'.repeat(5000);
  const time = '2024-03-15T10:20:30.5Z';
  writeFileSync(first, docker('d1\n', 'stdout', time) + docker(big.slice(0, 16 * 1024), 'stdout', time) + docker(`${big.slice(16 * 1024)}\n`, 'stdout', time) + docker('d3 "quoted" \u00e9\n', 'stderr', time) + 'not a docker line\n');
  const agent = AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: [
        '  - id: containers',
        `    paths: ["${containers}/*.log"]`,
        '    start_at: beginning',
        '    parser: auto',
        '    format: json',
        '    max_line_bytes: 64KiB',
        '    topic: "dk.{k8s.namespace}.{k8s.pod}.{k8s.container}"',
      ].join('\n'),
      registry: '  flush_interval: 100ms',
    }),
  );
  try {
    const got = envelopes(await recordsWhen('dk.shop.cart-0.app', 4, 'the first container'));
    const sorted = sortedByOffset(got);
    assert.deepEqual(sorted.map((e) => (e.message.length > 100 ? `${e.message.length} bytes` : e.message)), ['d1', `${big.length} bytes`, 'd3 "quoted" \u00e9', 'not a docker line']);
    assert.equal(sorted[1]!.message, big, 'the 16 KiB pieces joined byte for byte');
    assert.deepEqual(sorted.map((e) => e.stream), ['stdout', 'stdout', 'stderr', undefined], 'a malformed line has no stream');
    assert.equal(sorted[0]!['@timestamp'], time);
    assert.deepEqual(sorted[0]!.kubernetes, { namespace: 'shop', pod: 'cart-0', container: 'app', pod_uid: UID }, 'the uid comes from the link target');
    // A container started while the agent runs: a new link, then lines in its target.
    const second = makePod('billing', 'pay-1', 'worker', 'ab'.repeat(32));
    appendFileSync(second, docker('p1\n', 'stdout', time) + docker('p2 piece ', 'stdout', time) + docker('joined\n', 'stdout', time));
    const pay = envelopes(await recordsWhen('dk.billing.pay-1.worker', 2, 'the new container'));
    assert.deepEqual(sortedByOffset(pay).map((e) => e.message), ['p1', 'p2 piece joined']);
    await until(() => committedOffset(dir, second) === statSync(second).size, 30_000, 'the new container committed to its end');
    assert.equal((await records('dk.shop.cart-0.app')).length, 4, 'nothing repeated');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
