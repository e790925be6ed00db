// The bench's rsyslog peer (not timed): its generated configuration reads only the bench's
// file, keeps rsyslog's own messages out of Kafka and the system log, and gives omkafka the
// librdkafka settings kcat and the agent get; and the content comparison used to check every
// shipper's records.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareValues, describeComparison, exact, splitLines } from '../bench/content-check.js';
import { DEFAULT_PRODUCER, kcatProducerProperties, type ProducerSettings } from '../bench/producer-settings.js';
import { omkafkaProperties, rainerString, rsyslogConfig, type RsyslogConfigOptions } from '../bench/rsyslog-config.js';

const OPTIONS: RsyslogConfigOptions = {
  workDir: '/tmp/bench/rsyslog-1/work',
  inputFile: '/tmp/bench/lines "1M".log',
  internalLogFile: '/tmp/bench/rsyslog-1/internal.log',
  bootstrap: '127.0.0.1:40001,127.0.0.1:40002,127.0.0.1:40003',
  topic: 'bench.throughput.rsyslog.3',
  settings: DEFAULT_PRODUCER,
};

test('rsyslog config: imfile in inotify mode on the one file, no other input module, internal messages kept local', () => {
  const conf = rsyslogConfig(OPTIONS);
  const modules = [...conf.matchAll(/module\(load="(\w+)"([^)]*)\)/g)].map((m) => m[1]);
  assert.deepEqual(modules, ['imfile', 'omkafka']);
  assert.match(conf, /module\(load="imfile" mode="inotify"\)/);
  assert.match(conf, /input\(type="imfile" file="\/tmp\/bench\/lines \\"1M\\".log" tag="logship-bench" readMode="0"/);
  assert.match(conf, /workDirectory="\/tmp\/bench\/rsyslog-1\/work"/);
  assert.match(conf, /processInternalMessages="on"/);
  assert.match(conf, /parser.escapeControlCharactersOnReceive="off"/);
  // The input's ruleset holds the only omkafka action; internal messages go to a file.
  assert.match(conf, /ruleset="logship_bench"\)/);
  assert.match(conf, /action\(type="omfile" file="\/tmp\/bench\/rsyslog-1\/internal.log"\)/);
  const ruleset = conf.slice(conf.indexOf('ruleset(name="logship_bench")'));
  assert.match(ruleset, /action\(type="omkafka" broker=\["127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"\] topic="bench.throughput.rsyslog.3"/);
  assert.match(ruleset, /template="logship_bench_line" partitions.auto="on"/);
  assert.doesNotMatch(conf.slice(0, conf.indexOf('ruleset(name="logship_bench")')), /type="omkafka"/);
});

test('rsyslog config: omkafka gets the librdkafka settings kcat gets, acks as a topic property', () => {
  const settings: ProducerSettings[] = [DEFAULT_PRODUCER, { ...DEFAULT_PRODUCER, acks: 1, compression: 'zstd', lingerMs: 20, batchMessages: 500, batchBytes: 65536, idempotence: false }];
  for (const s of settings) {
    const kcat = new Map(kcatProducerProperties(s).filter((_, i) => i % 2 === 1).map((kv) => kv.split('=') as [string, string]));
    const { confParam, topicConfParam } = omkafkaProperties(s);
    const omkafka = new Map(confParam.map((kv) => kv.split('=') as [string, string]));
    const acks = kcat.get('acks');
    kcat.delete('acks');
    assert.deepEqual(omkafka, kcat);
    assert.deepEqual(topicConfParam, [`request.required.acks=${acks === 'all' ? -1 : acks}`]);
    const conf = rsyslogConfig({ ...OPTIONS, settings: s });
    for (const kv of [...confParam, ...topicConfParam]) assert.ok(conf.includes(`"${kv}"`), kv);
  }
});

test('rsyslog config: values are quoted for RainerScript; a line break is refused', () => {
  assert.equal(rainerString('a"b\\c'), '"a\\"b\\\\c"');
  assert.throws(() => rainerString('a\nb'), /line break/);
  assert.throws(() => rsyslogConfig({ ...OPTIONS, inputFile: '/tmp/x\n.log' }), RangeError);
});

const rsyslogd = spawnSync('rsyslogd', ['-v']).status === 0;

test('rsyslog config: rsyslogd accepts it (-N1)', { skip: rsyslogd ? false : 'rsyslogd not installed (bash scripts/bench-setup.sh installs it)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'logship-bench-rsyslog-'));
  try {
    const file = join(dir, 'rsyslog.conf');
    writeFileSync(file, rsyslogConfig({ ...OPTIONS, workDir: dir, inputFile: join(dir, 'in.log'), internalLogFile: join(dir, 'internal.log') }));
    // -N1 checks the configuration (modules load, every parameter known) without running.
    const out = execFileSync('rsyslogd', ['-N1', '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.doesNotMatch(out, /error|invalid/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('content check: each line exactly once, whatever the order', () => {
  assert.deepEqual(splitLines('a\nb\na\n'), ['a', 'b', 'a']);
  assert.deepEqual(splitLines('a\n\nb'), ['a', '', 'b']);
  const ok = compareValues(['a', 'b', 'a'], ['b', 'a', 'a']);
  assert.ok(exact(ok));
  assert.match(describeComparison(ok), /3 of 3, each exactly once/);
});

test('content check: a lost, a duplicated and an altered record are each caught', () => {
  const lost = compareValues(['a', 'b', 'c'], ['a', 'c']);
  assert.equal(exact(lost), false);
  assert.deepEqual([lost.missing, lost.unexpected], [1, 0]);
  const duplicated = compareValues(['a', 'b'], ['a', 'b', 'b']);
  assert.deepEqual([duplicated.missing, duplicated.unexpected, duplicated.examples], [0, 1, ['b']]);
  const altered = compareValues(['a', 'b'], ['a', ' b']);
  assert.deepEqual([altered.missing, altered.unexpected], [1, 1]);
  assert.match(describeComparison(altered), /1 missing, 1 unexpected \(e\.g\. " b"\)/);
});
