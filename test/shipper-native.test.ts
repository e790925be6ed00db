// The native batch producer against librdkafka's mock cluster (hosted by the addon, so that
// errors can be injected), read back with kcat: QUEUE_FULL leaves a prefix and the rest
// resumes at the right line, purge at shutdown fails every outstanding record on its ticket,
// a permanent per-record error skips exactly that record (or, with a dead-letter topic, sends
// it there), a retriable one is retried without
// the file's offset passing it, and a fatal error replaces the producer without loss.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { AgentConfig } from '../src/config/types.js';
import { linesOf, packLines } from '../src/core/batch.js';
import { createInjectableMockCluster, createNativeProducer, loadNativeProducer, type BatchProducer, type DeliveryOutcomes, type InjectableMockCluster, type ProducerListener } from '../src/shipper/native-producer.js';
import { producerConfig } from '../src/shipper/producer-config.js';
import { Shipper } from '../src/shipper/shipper.js';
import { AgentProcess, BIN, until } from './helpers/agent-process.js';
import { agentYaml, tempDir } from './helpers/configs.js';
import { kcatConsume, TestCluster } from './helpers/cluster.js';
import { batch, shipperConfig, source } from './helpers/shipper-fixtures.js';

const ERR = {
  QUEUE_FULL: -184,
  MSG_SIZE_TOO_LARGE: 10,
  PURGE_QUEUE: -152,
  PURGE_INFLIGHT: -151,
  NOT_ENOUGH_REPLICAS: 19,
  FENCED: 90, // PRODUCER_FENCED, as a fabricated fatal error
} as const;
const PRODUCE_API = 0;

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

const silent: ProducerListener = { outcomes: () => undefined, log: () => undefined, error: () => undefined, fatal: () => undefined, stats: () => undefined };

interface ProduceCall {
  producer: number;
  ticket: number;
  first: number;
  count: number;
  consumed: number;
  /** Records of the call refused outright (index, code pairs). */
  refused: number[];
}

/** A shipper on the real native producer, recording every produce() call and outcome. */
function shipperOn(cfg: AgentConfig, bootstrap = mock.bootstrap) {
  const calls: ProduceCall[] = [];
  const outcomes: Array<{ ticket: number; acked: number; failed: number; skipped: number; codes: number[] }> = [];
  const producers: ReturnType<typeof createNativeProducer>[] = [];
  const commits: number[] = [];
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  const shipper = new Shipper({
    config: cfg,
    librdkafka: producerConfig(cfg.kafka, bootstrap),
    log,
    onCommit: (_s, pos) => commits.push(pos.offset),
    createProducer: (conf, codes, listener) => {
      const index = producers.length;
      const recording: ProducerListener = {
        ...listener,
        outcomes: (o: DeliveryOutcomes) => {
          for (let k = 0; k < o.entryCount; k++) {
            const r = o.entries.subarray(k * 5, k * 5 + 5);
            const codesOf: number[] = [];
            for (let d = 0; d < o.detailCount; d++) if (o.details[d * 3] === r[0]) codesOf.push(o.details[d * 3 + 2]!);
            outcomes.push({ ticket: r[0]!, acked: r[1]!, failed: r[2]!, skipped: r[3]!, codes: codesOf });
          }
          listener.outcomes(o);
        },
      };
      const p = createNativeProducer(conf, codes, recording);
      producers.push(p);
      const wrapped: BatchProducer = {
        topic: (name) => p.topic(name),
        produce: (topic, ticket, first, count, data, bounds, key, headers, offsets) => {
          const consumed = p.produce(topic, ticket, first, count, data, bounds, key, headers, offsets);
          calls.push({ producer: index, ticket, first, count, consumed, refused: [...p.refused.subarray(1, 1 + 2 * p.refused[0]!)] });
          return consumed;
        },
        get refused() {
          return p.refused;
        },
        metadata: (t) => p.metadata(t),
        close: (f) => p.close(f),
      };
      return wrapped;
    },
  });
  return { shipper, calls, outcomes, producers, commits, logs };
}

const lines = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
const values = async (topic: string): Promise<string[]> => (await kcatConsume(mock.bootstrap, topic)).map((r) => r.value.toString());

test('native produce: stops at the first QUEUE_FULL (a prefix) and refuses a too-large record alone', async () => {
  // Nothing answers on port 1: records stay queued, so the queue limit is what stops produce().
  const p = createNativeProducer({ 'bootstrap.servers': '127.0.0.1:1', 'queue.buffering.max.messages': 5, 'message.max.bytes': 1000, log_level: 0 }, [ERR.MSG_SIZE_TOO_LARGE], silent);
  try {
    const t = p.topic('native.prefix');
    const recs = ['a', 'b', 'x'.repeat(5000), 'c', 'd', 'e', 'f', 'g'];
    const { data, bounds } = packLines(recs.map((r) => Buffer.from(r)));
    assert.equal(p.produce(t, 1, 0, recs.length, data, bounds, null, null, null), 6, 'a, b, the refused record, c, d, e: then the queue (5) is full');
    assert.deepEqual([...p.refused.subarray(0, 3)], [1, 2, ERR.MSG_SIZE_TOO_LARGE], 'exactly record 2 refused, as too large');
    assert.equal(p.produce(t, 1, 6, 2, data, bounds, null, null, null), 0, 'still full: nothing consumed, nothing skipped');
    assert.equal(p.refused[0], 0);
  } finally {
    await p.close(0);
  }
});

for (const format of ['raw', 'json'] as const) {
  test(`a batch stopped by QUEUE_FULL resumes at the right line: every line once, in order (${format})`, async () => {
    // A linger far above the time of one produce() call, and batches that never fill before
    // it: nothing can be delivered (freeing room) while the first call runs, even when the
    // machine is loaded and the call is preempted.
    const cfg = shipperConfig({ headers: false, format, topic: `qf.${format}.{file.stem}` }, 1 << 20, {
      idempotence: false,
      flush: { max_messages: 1000, max_bytes: 1 << 20, frequency: 400 },
      librdkafka: { 'queue.buffering.max.messages': 10 },
    });
    const { shipper, calls, commits } = shipperOn(cfg);
    shipper.start();
    await shipper.gate.waitOpen();
    const text = lines('qf', 35);
    const b = batch(0, text);
    shipper.ship(b);
    // Another batch right behind: json envelopes share one scratch buffer, which must not
    // overwrite the waiting rest of the first batch.
    const second = batch(b.endOffset, lines('qg', 5));
    shipper.ship(second);
    assert.equal(calls[0]!.consumed, 10, `the first call queued what librdkafka had room for: ${JSON.stringify(calls)}`);
    assert.equal(await shipper.drain(20_000), true);
    const firstCalls = calls.filter((c) => c.ticket === calls[0]!.ticket);
    for (let i = 1; i < firstCalls.length; i++) assert.equal(firstCalls[i]!.first, firstCalls[i - 1]!.first + firstCalls[i - 1]!.consumed, `call ${i} resumes where call ${i - 1} stopped`);
    assert.equal(firstCalls.at(-1)!.first + firstCalls.at(-1)!.consumed, 35);
    assert.ok(commits.every((c) => c === b.endOffset || c === second.endOffset), `commits at batch ends only: ${commits.join(', ')}`);
    assert.equal(commits.at(-1), second.endOffset);
    // One key, one partition: kcat sees the lines in file order, each once.
    const got = await values(`qf.${format}.app`);
    const messages = format === 'json' ? got.map((v) => (JSON.parse(v) as { message: string }).message) : got;
    assert.deepEqual(messages, [...text, ...lines('qg', 5)]);
    await shipper.stop(1_000);
  });
}

test('purge at shutdown: every outstanding record comes back failed on its ticket, nothing is committed', async () => {
  // A cluster that stalls after the first batch: later records are queued or in flight.
  const cluster = await TestCluster.start();
  try {
    const cfg = shipperConfig({ headers: false, topic: 'purge.{file.stem}' }, 1 << 20, { idempotence: false });
    const { shipper, outcomes, commits, calls } = shipperOn(cfg, cluster.bootstrap);
    shipper.start();
    await shipper.gate.waitOpen();
    const first = batch(0, lines('ok', 5));
    shipper.ship(first);
    await until(() => commits.length === 1, 20_000, 'first batch acknowledged');
    cluster.stall();
    await cluster.stalled();
    const held = [batch(first.endOffset, lines('p1', 10))];
    held.push(batch(held[0]!.endOffset, lines('p2', 7)));
    for (const b of held) shipper.ship(b);
    const heldTickets = calls.slice(1).map((c) => c.ticket);
    assert.equal(heldTickets.length, 2);
    await shipper.stop(300);
    for (const [i, ticket] of heldTickets.entries()) {
      const got = outcomes.filter((o) => o.ticket === ticket);
      const failed = got.reduce((s, o) => s + o.failed, 0);
      assert.equal(failed, held[i]!.ends.length, `ticket ${ticket}: every record reported failed; outcomes ${JSON.stringify(outcomes)}, calls ${JSON.stringify(calls)}`);
      assert.equal(got.reduce((s, o) => s + o.acked, 0), 0);
      for (const o of got) for (const c of o.codes) assert.ok(c === ERR.PURGE_QUEUE || c === ERR.PURGE_INFLIGHT, `purged, not ${c}`);
    }
    assert.deepEqual(commits, [first.endOffset], 'nothing committed for the purged batches');
    assert.equal(shipper.outstanding, 2);
  } finally {
    cluster.resume();
    await cluster.stop();
  }
});

test('a permanent per-record error in the middle of a batch skips exactly that record', async () => {
  const cfg = shipperConfig({ headers: false, topic: 'skip.{file.stem}' }, 1 << 20, { idempotence: false, max_message_bytes: 1000 });
  const { shipper, commits, logs } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  const text = ['before-1', 'before-2', 'y'.repeat(3000), 'after-1', 'after-2'];
  const b = batch(100, text);
  shipper.ship(b);
  assert.equal(await shipper.drain(20_000), true);
  assert.deepEqual(commits, [b.endOffset], 'the file moves past the skipped record');
  assert.equal(shipper.stats.skipped.get('skip.app'), 1);
  assert.equal(shipper.stats.acked.get('skip.app'), 4);
  assert.deepEqual(await values('skip.app'), ['before-1', 'before-2', 'after-1', 'after-2']);
  const skipLog = logs.find((l) => l.msg.startsWith('record rejected permanently'));
  assert.equal(skipLog?.offset, b.ends[1], 'logged with the offset of the skipped line');
  await shipper.stop(1_000);
});

for (const deadLetters of [null, 'deny.dead'] as const) {
  const what = deadLetters ? 'sends those records only to the dead-letter topic, with their origin' : 'skips those records only';
  test(`a permanent error in a delivery report (broker: message too large) ${what}`, async () => {
    // (Not TOPIC_AUTHORIZATION_FAILED: librdkafka then fails the topic's next records too, until
    // its metadata says otherwise — skipped as well, as they should be, but not "those only".)
    const topic = deadLetters ? 'deny-dl' : 'deny';
    const cfg = shipperConfig({ headers: false, topic: `${topic}.{file.stem}` }, 1 << 20, { idempotence: false, retries: { max: 0, backoff: 1, backoff_max: 2 }, dead_letter_topic: deadLetters });
    const { shipper, commits, outcomes } = shipperOn(cfg);
    shipper.start();
    await shipper.gate.waitOpen();
    const denied = batch(30, ['denied']);
    mock.pushRequestErrors(PRODUCE_API, [ERR.MSG_SIZE_TOO_LARGE]);
    shipper.ship(denied);
    await until(() => outcomes.length > 0, 20_000, 'outcome of the denied record');
    const ok = batch(denied.endOffset, ['allowed-1', 'allowed-2']);
    shipper.ship(ok);
    assert.equal(await shipper.drain(20_000), true);
    assert.equal(outcomes[0]!.skipped, 1);
    assert.deepEqual(outcomes[0]!.codes, [ERR.MSG_SIZE_TOO_LARGE]);
    assert.equal(shipper.stats.skipped.get(`${topic}.app`), deadLetters ? undefined : 1);
    assert.equal(shipper.stats.deadLettered.get(`${topic}.app`), deadLetters ? 1 : undefined);
    assert.equal(commits.at(-1), ok.endOffset);
    assert.deepEqual(await values(`${topic}.app`), ['allowed-1', 'allowed-2']);
    if (deadLetters) {
      const letters = await kcatConsume(mock.bootstrap, deadLetters);
      assert.deepEqual(letters.map((r) => [r.value.toString(), r.headers['logship.topic'], r.headers['logship.path'], r.headers['logship.offset'], r.headers['logship.error']]), [
        ['denied', `${topic}.app`, source.path, '30', 'MSG_SIZE_TOO_LARGE'],
      ]);
    }
    await shipper.stop(1_000);
  });
}

test('a retriably failing record is retried, and its file offset does not pass it meanwhile', async () => {
  // librdkafka retries nothing itself (retries.max 0): the failure reaches the shipper, whose
  // backoff (400 ms) leaves time for a later batch of the same file to be acknowledged first.
  const cfg = shipperConfig({ headers: false, topic: 'retry.{file.stem}' }, 1 << 20, { idempotence: false, retries: { max: 0, backoff: 400, backoff_max: 400 } });
  const { shipper, commits, outcomes, calls } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  // One record: a failed produce request then holds all of the batch (a batch spread over
  // several requests is retried whole, duplicating what went through: at-least-once).
  const a = batch(0, lines('a', 1));
  mock.pushRequestErrors(PRODUCE_API, [ERR.NOT_ENOUGH_REPLICAS]);
  shipper.ship(a);
  await until(() => outcomes.some((o) => o.failed > 0), 20_000, 'first attempt fails');
  const b = batch(a.endOffset, lines('b', 4));
  shipper.ship(b);
  const bTicket = calls.at(-1)!.ticket;
  await until(() => outcomes.some((o) => o.ticket === bTicket && o.acked > 0), 20_000, 'later batch acknowledged');
  assert.deepEqual(commits, [], 'batch b is acknowledged but a is not: nothing committed');
  assert.equal(shipper.stats.failed.get('retry.app'), 1);
  assert.equal(await shipper.drain(20_000), true);
  assert.deepEqual(commits, [b.endOffset], 'after the retry, both commit at once');
  assert.equal(calls.filter((c) => c.ticket === calls[0]!.ticket).length, 2, 'batch a produced twice');
  assert.deepEqual((await values('retry.app')).sort(), [...lines('a', 1), ...lines('b', 4)].sort(), 'each line once');
  await shipper.stop(1_000);
});

test('a fatal error replaces the producer: nothing unacknowledged is committed, nothing is lost', async () => {
  const cfg = shipperConfig({ headers: false, topic: 'fatal.{file.stem}' }, 1 << 20, { idempotence: true, flush: { max_messages: 1000, max_bytes: 1 << 20, frequency: 1000 } });
  const { shipper, commits, producers, calls } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  const a = batch(0, lines('a', 20));
  shipper.ship(a);
  // linger 1 s (batches never fill): a's records are still queued when the fatal error strikes.
  assert.equal(producers[0]!.testFatalError(ERR.FENCED, 'fabricated by the test'), 0);
  await until(() => producers.length === 2, 10_000, 'a new producer');
  const b = batch(a.endOffset, lines('b', 5));
  shipper.ship(b);
  assert.equal(await shipper.drain(20_000), true);
  assert.equal(shipper.stats.producerRestarts, 1);
  assert.ok(calls.some((c) => c.producer === 1 && c.ticket === calls[0]!.ticket), 'batch a produced again by the new producer');
  for (const c of commits) assert.ok(c === b.endOffset || c === a.endOffset, `commit ${c} at a batch end`);
  assert.equal(commits.at(-1), b.endOffset);
  const got = await values('fatal.app');
  for (const line of [...lines('a', 20), ...lines('b', 5)]) assert.ok(got.includes(line), `${line} delivered`);
  await shipper.stop(1_000);
});

test('json envelope and headers go through the native path intact', async () => {
  const cfg = shipperConfig({ headers: true, format: 'json', topic: 'env.{file.stem}', fields: { env: 'prod' } }, 1 << 20, { idempotence: false });
  const { shipper } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  const b = batch(40, ['plain', 'ünïcode "quoted"']);
  shipper.ship(b);
  assert.equal(await shipper.drain(20_000), true);
  const recs = await kcatConsume(mock.bootstrap, 'env.app');
  assert.deepEqual(recs.map((r) => (JSON.parse(r.value.toString()) as { message: string }).message), ['plain', 'ünïcode "quoted"']);
  assert.deepEqual(recs.map((r) => r.headers), [
    { host: 'h1', path: source.path, offset: '40' },
    { host: 'h1', path: source.path, offset: '46' },
  ]);
  assert.equal(recs[0]!.key?.toString(), 'h1');
  await shipper.stop(1_000);
});

test("librdkafka's statistics reach the shipper's stats (queue depth, per-broker round-trip time)", async () => {
  const cfg = shipperConfig({ headers: false, topic: 'stats.{file.stem}' }, 1 << 20, { idempotence: false, librdkafka: { 'statistics.interval.ms': 100 } });
  const { shipper } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  shipper.ship(batch(0, lines('s', 50)));
  assert.equal(await shipper.drain(20_000), true);
  await until(() => (shipper.stats.kafka?.brokers.some((b) => b.rttAvgSeconds > 0) ?? false), 10_000, 'a statistics report with round-trip times');
  const k = shipper.stats.kafka!;
  assert.equal(k.brokers.length, 3, 'the three mock brokers, not the bootstrap placeholders');
  assert.ok(k.brokers.some((b) => b.state === 'UP'), 'the leader answering is connected');
  assert.ok(k.queueMessages >= 0 && k.queueBytes >= 0);
  await shipper.stop(1_000);
});

test('the agent refuses to start, saying how to rebuild, when another librdkafka file is loaded', () => {
  // A copy of the same library preloaded from elsewhere: the dynamic loader binds both the
  // binding and the addon to it, which is exactly the mix-up the start-up check must catch.
  const dir = tempDir('otherlib');
  try {
    const lib = join(dirname(createRequire(import.meta.url).resolve('@confluentinc/kafka-javascript/package.json')), 'build', 'deps', 'librdkafka.so.1');
    copyFileSync(lib, join(dir, 'librdkafka.so.1'));
    writeFileSync(join(dir, 'agent.yaml'), agentYaml({ dir, bootstrap: '127.0.0.1:1', inputs: `  - id: a\n    paths: ["${dir}/*.log"]\n    topic: t` }));
    const run = spawnSync(process.execPath, [BIN, 'run', '-c', join(dir, 'agent.yaml')], { env: { ...process.env, LD_PRELOAD: join(dir, 'librdkafka.so.1') }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 3, `exit code (stderr: ${run.stderr})`);
    const out = run.stdout + run.stderr;
    assert.match(out, /logship could not start: the native producer runs librdkafka from \S+otherlib\S+librdkafka\.so\.1, not the binding's/);
    assert.match(out, /rebuild it with `bash scripts\/setup\.sh`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the agent logs which librdkafka file and version it runs', async () => {
  const dir = tempDir('libinfo');
  const agent = AgentProcess.start(dir, agentYaml({ dir, bootstrap: '127.0.0.1:1', inputs: `  - id: a\n    paths: ["${dir}/*.log"]\n    topic: t` }));
  try {
    const e = await agent.waitForLog((l) => typeof l.librdkafka === 'string' && typeof l.version === 'string', 20_000, 'the librdkafka start-up line');
    assert.match(String(e.librdkafka), /@confluentinc\/kafka-javascript\/build\/deps\/librdkafka\.so\.1$/);
    assert.match(String(e.version), /^\d+\.\d+\.\d+/);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const headers of [false, true]) test(`keyless records${headers ? ' with headers' : ''}: one partition per read chunk once metadata is known, rotating, each line once`, async () => {
  const cfg = shipperConfig({ headers, key: null, topic: headers ? 'sticky-headers.{file.stem}' : 'sticky.{file.stem}' }, 1 << 20, { idempotence: false });
  const { shipper, producers } = shipperOn(cfg);
  shipper.start();
  await shipper.gate.waitOpen();
  const first = batch(0, ['create-the-topic']);
  shipper.ship(first);
  assert.equal(await shipper.drain(20_000), true);
  await producers[0]!.metadata(5_000); // the answer names the topic's partitions and leaders
  let offset = first.endOffset;
  const sent: string[][] = [];
  for (let k = 0; k < 8; k++) {
    const b = batch(offset, lines(`c${k}`, 20));
    offset = b.endOffset;
    sent.push(linesOf(b).map((l) => l.toString()));
    shipper.ship(b);
  }
  assert.equal(await shipper.drain(20_000), true);
  const recs = await kcatConsume(mock.bootstrap, headers ? 'sticky-headers.app' : 'sticky.app');
  const partitionOf = new Map(recs.map((r) => [r.value.toString(), r.partition]));
  assert.equal(recs.length, 1 + 8 * 20, 'each line once');
  if (headers) assert.ok(recs.every((r) => r.headers.path === source.path && r.headers.host === 'h1' && /^\d+$/.test(r.headers.offset ?? '')), 'every record keeps its headers');
  const used = new Set<number>();
  for (const chunk of sent) {
    const parts = new Set(chunk.map((l) => partitionOf.get(l)));
    assert.equal(parts.size, 1, `one partition per chunk: ${[...parts].join(', ')}`);
    used.add([...parts][0]!);
  }
  assert.ok(used.size >= 2, `chunks rotate over partitions (used ${[...used].join(', ')})`);
  await shipper.stop(1_000);
});
