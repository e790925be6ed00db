// Smoke tests of the benchmark's own helpers (not timed): statistics, the CPU-profile summary,
// synthetic lines, parsing of tool output, and that the agent and kcat are really given the
// same producer settings.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../src/config/load.js';
import { producerConfig } from '../src/shipper/producer-config.js';
import { summarizeCpuProfile, type CpuProfile } from '../bench/cpu-profile.js';
import { parseBashTimes, parseMaxRss } from '../bench/kcat.js';
import { lineMaker, writeLinesFile } from '../bench/log-lines.js';
import { agentEnvFrom } from '../bench/measured-agent.js';
import { sumMetric } from '../bench/metrics-scrape.js';
import { DEFAULT_PRODUCER, kafkaYaml, kcatProducerProperties, type ProducerSettings } from '../bench/producer-settings.js';
import { meets } from '../bench/results.js';
import { percentile, summarize } from '../bench/stats.js';
import { agentYaml } from './helpers/configs.js';

test('summarize: median of odd and even counts, min and max', () => {
  assert.deepEqual(summarize([5, 1, 3]), { median: 3, min: 1, max: 5, runs: 3 });
  assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, runs: 4 });
  assert.throws(() => summarize([]), /no samples/);
});

test('percentile: nearest rank, so p99 of 100 samples is the 99th, p100 the max', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([7], 99), 7);
});

test('targets: >= and <= compare the median the way the verdict says', () => {
  assert.equal(meets(0.25, { op: '>=', value: 0.25 }), true);
  assert.equal(meets(0.24, { op: '>=', value: 0.25 }), false);
  assert.equal(meets(2.6, { op: '<=', value: 2.5 }), false);
});

test('synthetic lines have exactly the asked length and the file exactly lines * (len + 1) bytes', () => {
  for (const size of [50, 125, 1024, 16384]) {
    const make = lineMaker(size);
    for (const seq of [0, 1, 999_999]) {
      const line = make(seq);
      assert.equal(Buffer.byteLength(line), size, `line ${seq} of size ${size}`);
      assert.ok(!line.includes('\n'));
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'logship-bench-lines-'));
  try {
    const file = join(dir, 'x.log');
    const bytes = writeLinesFile(file, 10_000, 125);
    assert.equal(bytes, 10_000 * 126);
    assert.equal(statSync(file).size, bytes);
    assert.equal(readFileSync(file, 'latin1').split('\n').length, 10_001);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LOGSHIP_BENCH_AGENT_ENV: a JSON object of strings for the measured agent only; anything else is refused', () => {
  assert.deepEqual(agentEnvFrom({}), {});
  assert.deepEqual(agentEnvFrom({ LOGSHIP_BENCH_AGENT_ENV: '' }), {});
  const env = { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', MALLOC_CONF: 'narenas:1' };
  assert.deepEqual(agentEnvFrom({ LOGSHIP_BENCH_AGENT_ENV: JSON.stringify(env) }), env);
  assert.throws(() => agentEnvFrom({ LOGSHIP_BENCH_AGENT_ENV: 'LD_PRELOAD=/x.so' }), /LOGSHIP_BENCH_AGENT_ENV: not JSON/);
  for (const bad of ['[]', 'null', '"x"', '{"A": 1}']) assert.throws(() => agentEnvFrom({ LOGSHIP_BENCH_AGENT_ENV: bad }), /expected a JSON object of strings/, bad);
});

test('bash `times`: the children line is summed as user + system seconds', () => {
  assert.equal(parseBashTimes('0m0.003s 0m0.001s\n0m1.250s 0m0.250s\n'), 1.5);
  assert.equal(parseBashTimes('1m2.000s 0m0.000s\n2m0.500s 0m0.500s'), 121);
  assert.equal(parseBashTimes('kcat: error\n'), null);
});

test('GNU time: the marked max-RSS line in KiB becomes MiB, wherever it is in stderr', () => {
  assert.equal(parseMaxRss('% some kcat warning\nkcat-max-rss-kib=20480\n0m0.003s 0m0.001s\n0m1.250s 0m0.250s\n'), 20);
  assert.equal(parseMaxRss('Command exited with non-zero status 1\nkcat-max-rss-kib=1536\n'), 1.5);
  assert.equal(parseMaxRss('0m0.003s 0m0.001s\n'), null);
});

test('metrics: sums a metric over its label sets and ignores others with the same prefix', () => {
  const text = [
    '# HELP logship_file_lag_bytes File size minus committed offset',
    'logship_file_lag_bytes{path="/a",input="x"} 100',
    'logship_file_lag_bytes{path="/b",input="x"} 23',
    'logship_file_lag_bytes_other 5',
  ].join('\n');
  assert.equal(sumMetric(text, 'logship_file_lag_bytes'), 123);
});

test('cpu profile: self time comes from the interval after each sample, grouped by function and area', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '1' });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('emitLine', 'file:///repo/dist/src/tailer/framer.js', 9) },
      { id: 3, callFrame: frame('produce', 'file:///repo/node_modules/@confluentinc/kafka-javascript/lib/producer.js') },
      { id: 4, callFrame: frame('(idle)', '') },
    ],
    startTime: 0,
    endTime: 100,
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [0, 10, 30, 20, 40],
  };
  const s = summarizeCpuProfile(profile, 'x.cpuprofile', '/repo/');
  // Sample i owns timeDeltas[i + 1]: emitLine 10 (+0 for the last), produce 30 + 20, idle 40.
  assert.equal(s.totalMs, 0.1);
  assert.equal(s.idleMs, 0.04);
  assert.deepEqual(
    s.topFunctions.map((r) => [r.name, r.location, r.selfMs]),
    [
      ['produce', 'node_modules/@confluentinc/kafka-javascript/lib/producer.js:1', 0.05],
      ['(idle)', '', 0.04],
      ['emitLine', 'dist/src/tailer/framer.js:10', 0.01],
    ],
  );
  assert.equal(s.topFunctions[0]!.percentOfBusy, (100 * 50) / 60);
  assert.deepEqual(
    s.byArea.map((r) => r.name),
    ['npm @confluentinc/kafka-javascript', '(idle)', 'src/tailer'],
  );
});

test('the agent and kcat get the same librdkafka producer settings', () => {
  const settings: ProducerSettings[] = [DEFAULT_PRODUCER, { ...DEFAULT_PRODUCER, compression: 'zstd', lingerMs: 20, batchMessages: 500, batchBytes: 65536 }];
  for (const s of settings) {
    const yaml = agentYaml({ dir: '/tmp/x', bootstrap: '127.0.0.1:9092', inputs: '  - id: a\n    paths: ["/tmp/x/*.log"]\n    topic: t', kafka: kafkaYaml(s) });
    const agentConf = producerConfig(parseConfigText(yaml, '/tmp/x/agent.yaml', {}).kafka, '127.0.0.1:9092');
    const kcatArgs = kcatProducerProperties(s);
    const kcatConf = new Map(kcatArgs.filter((_, i) => i % 2 === 1).map((kv) => kv.split('=') as [string, string]));
    assert.ok(kcatArgs.filter((_, i) => i % 2 === 0).every((a) => a === '-X'));
    assert.ok(kcatConf.size >= 6);
    for (const [key, value] of kcatConf) {
      const agentValue = key === 'acks' && agentConf[key] === -1 ? 'all' : String(agentConf[key]);
      assert.equal(agentValue, value, `${key}: agent ${agentValue}, kcat ${value}`);
    }
  }
});
