// Dead letters end to end (issue #12): the real agent, a line Kafka cannot take (over
// max_message_bytes), the test cluster read back with kcat. With kafka.dead_letter_topic the
// line lands there with headers naming where it came from; the lines after it arrive in the
// normal topic; the registry's offset reaches the file's end. Without it: skipped and counted.

import assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { identityKey } from '../src/core/file.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, freePort, numberedLines, tempDir } from './helpers/configs.js';
import { persistedOffsets } from './soak/deleted-files.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

/** Resolves once registry.json holds the end of `file` as its offset. */
function committedToEnd(dir: string, file: string): Promise<void> {
  const done = (): boolean => persistedOffsets(join(dir, 'data', 'registry.json')).get(identityKey(statSync(file))) === statSync(file).size;
  return until(done, 30_000, 'the registry offset reaches the end of the file');
}

/** The agent on `dir/*.log` (topic `<prefix>.app`, keyed by host), metrics on `port`. */
function startAgent(dir: string, prefix: string, port: number, kafka: string): AgentProcess {
  return AgentProcess.start(dir, agentYaml({
    dir, bootstrap: cluster.bootstrap, metrics: `127.0.0.1:${port}`,
    inputs: `  - id: app\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "${prefix}.{file.stem}"\n    key: "{host}"`,
    kafka: `  max_message_bytes: 1000\n${kafka}`,
    registry: '  flush_interval: 100ms',
  }));
}

async function metric(port: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * A file of 5 lines, a line of 1,020 bytes (over max_message_bytes 1000, under the 1 KiB the
 * tailer splits at: one record librdkafka refuses as too large), then 5 more lines.
 */
function writeLog(file: string, prefix: string): { big: string; before: number } {
  const head = numberedLines(prefix, 0, 5);
  const stem = `BIG-${prefix}-`;
  const big = stem + 'x'.repeat(10 - stem.length) + 'é'.repeat(505); // 1,020 bytes: é is two
  writeFileSync(file, head + big + '\n' + numberedLines(prefix, 5, 10));
  return { big, before: Buffer.byteLength(head) };
}

test('a line over max_message_bytes lands in the dead-letter topic with its origin; its file keeps flowing', async () => {
  const dir = tempDir('dlq');
  const file = join(dir, 'app.log');
  const { big, before: bigOffset } = writeLog(file, 'dl');
  assert.equal(Buffer.byteLength(big), 1020);
  const port = await freePort();
  const agent = startAgent(dir, 'dl', port, '  dead_letter_topic: logship.dead-letters');
  try {
    await committedToEnd(dir, file);
    const normal = (await cluster.consume('dl.app')).map((r) => r.value.toString());
    assert.deepEqual(normal, numberedLines('dl', 0, 10).trimEnd().split('\n'), 'every other line, in order, in the normal topic');
    const letters = await cluster.consume('logship.dead-letters');
    assert.equal(letters.length, 1, 'one dead letter');
    const letter = letters[0]!;
    assert.deepEqual({ ...letter.headers, 'logship.error_message': undefined }, {
      'logship.topic': 'dl.app', 'logship.input': 'app', 'logship.host': 'test-host', 'logship.path': file,
      'logship.offset': String(bigOffset), 'logship.error': 'MSG_SIZE_TOO_LARGE', 'logship.error_code': '10', 'logship.error_message': undefined,
      'logship.value_bytes': '1020', 'logship.truncated': 'true',
    });
    assert.match(letter.headers['logship.error_message'] ?? '', /too large/i);
    const value = letter.value.toString();
    assert.ok(value.length > 100 && big.startsWith(value), `the value is the line's beginning, cut at a character: ${JSON.stringify(value.slice(0, 40))}… (${letter.value.length} bytes)`);
    assert.equal(letter.key?.toString(), 'test-host', "the original record's key");
    assert.equal(await metric(port, 'logship_records_dead_lettered_total'), 1);
    assert.equal(await metric(port, 'logship_records_skipped_total'), null, 'nothing skipped');
    assert.ok(agent.logs.some((e) => e.msg.includes('dead-letter topic') && e.offset === bigOffset && e.path === file), 'logged with its file and offset');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a dead-letter topic the same line is skipped, logged and counted, and the file flows on', async () => {
  const dir = tempDir('nodlq');
  const file = join(dir, 'app.log');
  const { before: bigOffset } = writeLog(file, 'sk');
  const port = await freePort();
  const agent = startAgent(dir, 'sk', port, '');
  try {
    await committedToEnd(dir, file);
    assert.deepEqual((await cluster.consume('sk.app')).map((r) => r.value.toString()), numberedLines('sk', 0, 10).trimEnd().split('\n'));
    assert.equal(await metric(port, 'logship_records_skipped_total'), 1);
    assert.equal(await metric(port, 'logship_records_dead_lettered_total'), null);
    assert.ok(agent.logs.some((e) => e.msg.startsWith('record rejected permanently') && e.offset === bigOffset && e.path === file), 'logged with its file and offset');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
