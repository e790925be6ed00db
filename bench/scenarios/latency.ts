// Scenario 4: write-to-visible latency at a steady 1,000 lines/s. The writer stamps each line
// with its wall-clock time (sub-ms); a long-running kcat consumer stamps each record on
// arrival; latency is the difference (same process, same clock). Measured for the agent
// tailing a file, and for two peers fed by the same writer: kcat through a pipe, and a bare
// librdkafka producer of the agent's own librdkafka version (the floor of the path).

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { until } from '../../test/helpers/agent-process.js';
import { agentYaml } from '../../test/helpers/configs.js';
import { DirectProducer } from '../direct-producer.js';
import { ToolError } from '../errors.js';
import { KcatConsumer, KcatPipeProducer } from '../kcat.js';
import { MeasuredAgent } from '../measured-agent.js';
import { DEFAULT_PRODUCER, kafkaYaml } from '../producer-settings.js';
import { mean, percentile } from '../stats.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

const P50_MS_MAX = 15;
const P99_MS_MAX = 50;
const READY_RECORD = 'ready';
const ARRIVAL_TIMEOUT_MS = 30_000;
/**
 * Lines keep coming this long after the measured window and are not counted: kcat -P holds the
 * last lines it read from a pipe until more input or EOF arrives, which would otherwise turn
 * the final lines of its window into outliers that say nothing about steady state.
 */
const TAIL_MS = 500;

type Shipper = 'logship' | 'kcat' | 'librdkafka';

interface LineSink {
  write(line: string): void;
  close(): Promise<void>;
}

interface LatencyRun {
  shipper: Shipper;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  samples: number;
  emitted: number;
  missing: number;
  duplicates: number;
  /** Agent only: CPU cores used during the paced window. */
  agentCores: number | null;
}

function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** "lat <seq> <epoch ms with µs> <filler>", exactly `lineBytes` long. */
function stampedLine(seq: number, lineBytes: number): string {
  const head = `lat ${seq} ${epochNowMs().toFixed(3)} `;
  return head + 'x'.repeat(Math.max(0, lineBytes - head.length));
}

/** Arrival bookkeeping: latency per record, and how often each sequence number arrived. */
class ArrivalLog {
  readonly latenciesMs: number[] = [];
  readonly seen = new Map<number, number>();
  ready = false;

  /** Latencies are kept for sequence numbers in [measuredFrom, measuredTo). */
  constructor(
    private readonly measuredFrom: number,
    private readonly measuredTo: number,
  ) {}

  record(value: string, arrivedAtMs: number): void {
    if (value === READY_RECORD) {
      this.ready = true;
      return;
    }
    const [tag, seqText, stampText] = value.split(' ', 3);
    if (tag !== 'lat') return;
    const seq = Number(seqText);
    this.seen.set(seq, (this.seen.get(seq) ?? 0) + 1);
    if (seq >= this.measuredFrom && seq < this.measuredTo) this.latenciesMs.push(arrivedAtMs - Number(stampText));
  }
}

/** Emits line `seq` when it is due at `rate` per second, for `durationMs`; returns the count. */
async function paceLines(rate: number, durationMs: number, emit: (seq: number) => void): Promise<number> {
  const start = performance.now();
  let seq = 0;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) return seq;
    const due = Math.floor((elapsed * rate) / 1000);
    while (seq < due) emit(seq++);
    await delay(1);
  }
}

function createTopicWithReadyRecord(bootstrap: string, topic: string): void {
  const args = ['-P', '-b', bootstrap, '-t', topic];
  const r = spawnSync('kcat', args, { input: `${READY_RECORD}\n`, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new ToolError('kcat', args, `could not create ${topic}: ${r.stderr}`);
}

async function openSink(ctx: ScenarioContext, shipper: Shipper, topic: string, dir: string): Promise<{ sink: LineSink; agent: MeasuredAgent | null }> {
  if (shipper === 'kcat') {
    const producer = new KcatPipeProducer(ctx.cluster.bootstrap, topic, DEFAULT_PRODUCER);
    return { sink: { write: (line) => producer.write(line + '\n'), close: () => producer.end() }, agent: null };
  }
  if (shipper === 'librdkafka') {
    const producer = await DirectProducer.connect(ctx.cluster.bootstrap, topic, DEFAULT_PRODUCER);
    return { sink: { write: (line) => producer.produce(line), close: () => producer.close() }, agent: null };
  }
  const file = join(dir, 'latency.log');
  writeFileSync(file, '');
  const yaml = agentYaml({
    dir,
    bootstrap: ctx.cluster.bootstrap,
    inputs: `  - id: bench\n    paths: [${JSON.stringify(file)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}`,
    kafka: kafkaYaml(DEFAULT_PRODUCER),
  });
  const agent = await MeasuredAgent.start({ dir, yaml });
  const fd = openSync(file, 'a');
  return {
    sink: {
      write: (line) => writeSync(fd, line + '\n'),
      close: async () => closeSync(fd),
    },
    agent,
  };
}

async function measureOnce(ctx: ScenarioContext, shipper: Shipper, durationMs: number): Promise<LatencyRun> {
  const { linesPerSecond, lineBytes, warmMs } = ctx.plan.latency;
  const warmLines = Math.floor((warmMs * linesPerSecond) / 1000);
  const measuredLines = Math.floor((durationMs * linesPerSecond) / 1000);
  const dir = mkdtempSync(join(ctx.workDir, `latency-${shipper}-`));
  const topic = ctx.topic(shipper);
  createTopicWithReadyRecord(ctx.cluster.bootstrap, topic);
  const arrivals = new ArrivalLog(warmLines, warmLines + measuredLines);
  const consumer = new KcatConsumer(ctx.cluster.bootstrap, topic, (value, at) => arrivals.record(value, at));
  let agent: MeasuredAgent | null = null;
  try {
    await until(() => arrivals.ready, 20_000, `consumer of ${topic} to see the ready record`, 20);
    const opened = await openSink(ctx, shipper, topic, dir);
    agent = opened.agent;
    const cpuBefore = agent?.cpuSeconds() ?? 0;
    const pacedFrom = performance.now();
    const emitted = await paceLines(linesPerSecond, warmMs + durationMs + TAIL_MS, (seq) => opened.sink.write(stampedLine(seq, lineBytes)));
    const agentCores = agent ? (agent.cpuSeconds() - cpuBefore) / ((performance.now() - pacedFrom) / 1000) : null;
    await opened.sink.close();
    // Lines that never arrive are counted as missing and reported by a check, not thrown.
    await until(() => arrivals.seen.size >= emitted, ARRIVAL_TIMEOUT_MS, `${emitted} stamped records in ${topic}`, 20).catch(() => undefined);
    if (agent) await agent.stop();
    const sorted = [...arrivals.latenciesMs].sort((a, b) => a - b);
    let duplicates = 0;
    for (const n of arrivals.seen.values()) duplicates += n - 1;
    return {
      shipper,
      p50Ms: percentile(sorted, 50, `${shipper} latency`),
      p99Ms: percentile(sorted, 99, `${shipper} latency`),
      maxMs: sorted.at(-1)!,
      meanMs: mean(sorted),
      samples: sorted.length,
      emitted,
      missing: emitted - arrivals.seen.size,
      duplicates,
      agentCores,
    };
  } finally {
    await consumer.stop();
    await agent?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const latencyScenario: Scenario = {
  name: 'latency',
  title: '4. Latency: write to visible in Kafka at a steady 1,000 lines/s',
  async run(ctx) {
    const { agentMs, baselineMs } = ctx.plan.latency;
    const runs: LatencyRun[] = [];
    for (let run = 1; run <= ctx.plan.runs; run++) {
      for (const [shipper, ms] of [['logship', agentMs], ['kcat', baselineMs], ['librdkafka', baselineMs]] as const) {
        runs.push(await measureOnce(ctx, shipper, ms));
        ctx.log.info({ run, ...runs.at(-1) }, 'latency run done');
      }
    }
    const of = (s: Shipper): LatencyRun[] => runs.filter((r) => r.shipper === s);
    const b = ctx.book;
    b.figure(this.name, `logship p50 (${agentMs / 1000} s per run)`, 'ms', of('logship').map((r) => r.p50Ms), { op: '<=', value: P50_MS_MAX });
    b.figure(this.name, 'logship p99', 'ms', of('logship').map((r) => r.p99Ms), { op: '<=', value: P99_MS_MAX });
    b.figure(this.name, 'logship max', 'ms', of('logship').map((r) => r.maxMs));
    b.figure(this.name, 'logship CPU at 1,000 lines/s', 'cores', of('logship').map((r) => r.agentCores ?? Number.NaN));
    b.figure(this.name, `kcat -P (pipe) p50 (${baselineMs / 1000} s per run)`, 'ms', of('kcat').map((r) => r.p50Ms));
    b.figure(this.name, 'kcat -P (pipe) p99', 'ms', of('kcat').map((r) => r.p99Ms));
    b.figure(this.name, 'librdkafka direct p50 (agent\'s librdkafka)', 'ms', of('librdkafka').map((r) => r.p50Ms));
    b.figure(this.name, 'librdkafka direct p99', 'ms', of('librdkafka').map((r) => r.p99Ms));
    for (const shipper of ['logship', 'kcat', 'librdkafka'] as const) {
      const list = of(shipper);
      b.check(
        this.name,
        `${shipper}: every stamped line arrived exactly once`,
        list.every((r) => r.missing === 0 && r.duplicates === 0),
        list.map((r) => `${r.emitted} sent, ${r.missing} missing, ${r.duplicates} dup`).join('; '),
      );
    }
    b.detail('latency', runs);
  },
};
