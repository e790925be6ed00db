// A timeline of the raw 1M-line shipment (development tool, not part of `npm run bench`):
// kcat and the agent ship the throughput scenario's file in turn against one cluster; both are
// watched by the topic's high watermarks (kcat -Q, back to back), the agent also by its
// threads' CPU (/proc/<pid>/task/*/schedstat, ns) and by its own pipeline trace; the cluster's
// CPU (its child process) is read around each shipment
// (LOGSHIP_TRACE_FILE, src/daemon/pipeline-trace.ts): read, produced, acknowledged, in flight,
// gate, librdkafka's queue, QUEUE_FULL stops and delivery hand-overs, every --every ms.
//
//   node dist/bench/trace-shipment.js [--runs N] [--lines N] [--every 10] [--bucket 50] [--kafka 'max_in_flight_bytes: 32MiB']
//
// Prints per bucket of --bucket ms since the spawn: the agent's pipeline, each thread group's
// share of a core, the watermark rate and kcat's at the same time since its spawn; before it,
// kcat's watermark curve alone, and the agent's start-up marks (ms since spawn).

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TRACE_FILE_ENV, TRACE_MS_ENV } from '../src/daemon/pipeline-trace.js';
import type { ShipperTraceSample } from '../src/shipper/shipper.js';
import { AgentProcess } from '../test/helpers/agent-process.js';
import { agentYaml } from '../test/helpers/configs.js';
import { TestCluster } from '../test/helpers/cluster.js';
import { InputFiles } from './input-files.js';
import { kcatProduceFile } from './kcat.js';
import { DEFAULT_PRODUCER, kafkaYaml } from './producer-settings.js';

interface ThreadPoint {
  /** ms since the spawn */
  t: number;
  /** CPU ns per thread group so far */
  cpu: Map<string, number>;
}

interface CountPoint {
  t: number;
  count: number;
}

/**
 * CPU ns so far per thread group of a process (main = the thread whose id is the pid), and as
 * "<group> wait" the ns its threads were runnable but waiting for a CPU (the machine's load).
 */
function threadCpuNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      // schedstat: ns on a CPU, ns runnable but waiting for one, time slices.
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number) as [number, number];
      const group = tid === String(pid) ? 'main' : comm.startsWith('rdk:broker') ? 'brokers' : comm === 'logship-poll' ? 'poll' : comm.startsWith('rdk:') ? 'rdk-other' : 'helpers';
      out.set(group, (out.get(group) ?? 0) + run);
      out.set(`${group} wait`, (out.get(`${group} wait`) ?? 0) + wait);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** Samples the process's threads every `everyMs` until stopped. */
function watchThreads(pid: number, spawnedAt: number, everyMs: number): { points: ThreadPoint[]; stop: () => void } {
  const points: ThreadPoint[] = [];
  const timer = setInterval(() => points.push({ t: performance.now() - spawnedAt, cpu: threadCpuNs(pid) }), everyMs);
  return { points, stop: () => clearInterval(timer) };
}

/** Polls the topic's high-watermark sum back to back until it reaches `expected`. */
async function watchCount(cluster: TestCluster, topic: string, expected: number, spawnedAt: number, points: CountPoint[], signal: AbortSignal): Promise<void> {
  let partitions: number[] = [];
  while (!signal.aborted) {
    if (partitions.length === 0) {
      partitions = await cluster.partitions(topic);
      if (partitions.length === 0) continue;
    }
    const args = ['-Q', '-b', cluster.bootstrap, ...partitions.flatMap((p) => ['-t', `${topic}:${p}:-1`])];
    const stdout = await new Promise<string>((resolve) => execFile('kcat', args, (_err, out) => resolve(String(out))));
    let sum = 0;
    for (const m of stdout.matchAll(/\[(\d+)\] offset (-?\d+)/g)) sum += Math.max(0, Number(m[2]));
    points.push({ t: performance.now() - spawnedAt, count: sum });
    if (sum >= expected) return;
  }
}

/** The count reached at time t (linear between polls). */
function countAt(points: CountPoint[], t: number): number {
  let prev: CountPoint = { t: 0, count: 0 };
  for (const p of points) {
    if (p.t >= t) return prev.count + ((p.count - prev.count) * (t - prev.t)) / Math.max(1e-9, p.t - prev.t);
    prev = p;
  }
  return prev.count;
}

/** Each thread group's share of a core over [t0, t1). */
function threadShares(points: ThreadPoint[], t0: number, t1: number): Map<string, number> {
  const at = (t: number): ThreadPoint | undefined => points.find((p) => p.t >= t) ?? points[points.length - 1];
  const a = at(t0);
  const b = at(t1);
  const out = new Map<string, number>();
  if (!a || !b || b.t <= a.t) return out;
  for (const [g, ns] of b.cpu) out.set(g, (ns - (a.cpu.get(g) ?? 0)) / 1e6 / (b.t - a.t));
  return out;
}

/** One line of the agent's trace: the shipper's sample, the tailer's counts, the time. */
interface TraceSample extends ShipperTraceSample {
  at: number;
  bytesRead: number;
  linesRead: number;
}

/**
 * Over the samples from the first read until every line was read: how long a record waited
 * from produced to acknowledged (per sample: until the first later sample whose acknowledged
 * count reached its produced count), the gate's closed share, the in-flight bytes, and the
 * rate of reading.
 */
function steadySummary(samples: TraceSample[], lines: number): string {
  const from = samples.findIndex((s) => s.bytesRead > 0);
  const to = samples.findIndex((s) => s.produced >= lines);
  if (from < 0 || to <= from) return 'no steady state';
  const span = samples.slice(from, to + 1);
  const lags: number[] = [];
  for (let i = 0, j = 0; i < span.length; i++) {
    while (j < samples.length && samples[j]!.acked < span[i]!.produced) j++;
    if (j < samples.length) lags.push(samples[j]!.at - span[i]!.at);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
  const closed = span.filter((s) => !s.gateOpen).length / span.length;
  const readMs = span[span.length - 1]!.at - span[0]!.at;
  return `first read to all produced ${readMs.toFixed(0)} ms (${Math.round(lines / (readMs / 1000) / 1000)}k lines/s); produced -> acknowledged median ${med(lags).toFixed(0)} ms; gate closed in ${Math.round(closed * 100)} % of samples; in flight median ${(med(span.map((s) => s.inFlightBytes)) / 2 ** 20).toFixed(1)} MiB; QUEUE_FULL stops ${span[span.length - 1]!.queueFullStops}`;
}

const GROUPS = ['main', 'brokers', 'poll', 'helpers', 'main wait', 'brokers wait'];
const pct = (x: number | undefined): string => `${Math.round((x ?? 0) * 100)}`.padStart(4);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, lines: { type: 'string', default: '1000000' }, every: { type: 'string', default: '10' }, bucket: { type: 'string', default: '50' }, kafka: { type: 'string' } } });
  const lines = Number(values.lines);
  const everyMs = Number(values.every);
  const bucketMs = Number(values.bucket);
  const work = mkdtempSync(join(os.tmpdir(), 'logship-trace-'));
  const cluster = await TestCluster.start(3);
  try {
    const input = new InputFiles(work).get(lines, 125);
    for (let run = 1; run <= Number(values.runs); run++) {
      console.log(`\n=== run ${run}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
      // kcat
      const kTopic = `trace.kcat.${run}.${Date.now()}`;
      const clusterCpu = (): number => [...threadCpuNs(cluster.pid)].filter(([g]) => !g.endsWith(' wait')).reduce((sum, [, ns]) => sum + ns, 0) / 1e9;
      const kClusterAt = clusterCpu();
      const kSpawn = performance.now();
      const k = kcatProduceFile(cluster.bootstrap, kTopic, input.path, DEFAULT_PRODUCER, false);
      const kPoints: CountPoint[] = [];
      const kStop = new AbortController();
      const kWatching = watchCount(cluster, kTopic, lines, kSpawn, kPoints, kStop.signal);
      const kExit = await k.exited;
      kStop.abort();
      await kWatching;
      const kDone = Math.min(kExit.atMs - kSpawn, kPoints.find((p) => p.count >= lines)?.t ?? Infinity);
      const kCluster = clusterCpu() - kClusterAt;
      console.log(`kcat: ${(kDone / 1000).toFixed(3)} s (exit ${((kExit.atMs - kSpawn) / 1000).toFixed(3)} s), ${Math.round(lines / (kDone / 1000))} lines/s, ${kExit.cpuSeconds.toFixed(2)} CPU-s; the cluster's CPU meanwhile ${kCluster.toFixed(2)} s`);
      console.log('  kcat watermarks, t ms: k records  (rate k/s over the bucket)');
      for (let t = 0; t < kDone + bucketMs; t += bucketMs) {
        const c0 = countAt(kPoints, t);
        const c1 = countAt(kPoints, t + bucketMs);
        console.log(`  ${String(t).padStart(5)}: ${(c1 / 1000).toFixed(0).padStart(5)}k  ${((c1 - c0) / bucketMs).toFixed(0).padStart(5)}k/s`);
      }
      // the agent
      const dir = join(work, `run-${run}`);
      mkdirSync(dir, { recursive: true });
      const traceFile = join(dir, 'trace.jsonl');
      const topic = `trace.agent.${run}.${Date.now()}`;
      const yaml = agentYaml({
        dir,
        bootstrap: cluster.bootstrap,
        inputs: `  - id: bench\n    paths: [${JSON.stringify(input.path)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}`,
        kafka: kafkaYaml(DEFAULT_PRODUCER) + (values.kafka ? `\n  ${values.kafka}` : ''),
      });
      const clusterAt = clusterCpu();
      const spawnEpoch = performance.timeOrigin + performance.now();
      const spawn = performance.now();
      const agent = AgentProcess.start(dir, yaml, { [TRACE_FILE_ENV]: traceFile, [TRACE_MS_ENV]: String(everyMs) });
      const threads = watchThreads(agent.child.pid!, spawn, everyMs);
      const points: CountPoint[] = [];
      const stop = new AbortController();
      await watchCount(cluster, topic, lines, spawn, points, stop.signal);
      threads.stop();
      const agentCluster = clusterCpu() - clusterAt;
      const done = points[points.length - 1]!.t;
      await agent.stop('SIGTERM');
      const records = readFileSync(traceFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; timeOriginMs?: number; at?: number; name?: string } & Partial<TraceSample>);
      const origin = records.find((r) => r.kind === 'origin')!.timeOriginMs!;
      const shift = origin - spawnEpoch; // agent's performance.now() + shift = ms since spawn
      console.log(`agent: ${(done / 1000).toFixed(3)} s, ${Math.round(lines / (done / 1000))} lines/s, x kcat ${(kDone / done).toFixed(2)}; process time origin at +${shift.toFixed(0)} ms; the cluster's CPU meanwhile ${agentCluster.toFixed(2)} s`);
      for (const r of records.filter((x) => x.kind === 'mark')) console.log(`  mark +${(r.at! + shift).toFixed(0)} ms: ${r.name}`);
      for (const e of agent.logs.filter((l) => ['connected to Kafka', 'logship running'].includes(l.msg))) console.log(`  log  +${(Number(e.time) - spawnEpoch).toFixed(0)} ms: ${e.msg}`);
      const samples = records.filter((r) => r.kind === 'sample').map((r) => ({ ...(r as TraceSample), at: r.at! + shift }));
      const firstRead = samples.find((s) => s.bytesRead > 0);
      if (firstRead) console.log(`  first bytes read by sample +${firstRead.at.toFixed(0)} ms`);
      console.log(`  ${steadySummary(samples, lines)}`);
      console.log(`  t ms | read MB | prod k | acked k | wm k | wm k/s | inflight MiB | gate open % | closings | QF stops | backlog | handovers | rdk queue | CPU % of a core: ${GROUPS.join(' | ')} | k/s kcat at t`);
      let prevSample: TraceSample | undefined;
      for (let t = 0; t < done + bucketMs; t += bucketMs) {
        const inBucket = samples.filter((s) => s.at >= t && s.at < t + bucketMs);
        const last = inBucket[inBucket.length - 1] ?? prevSample;
        const open = inBucket.length === 0 ? NaN : inBucket.filter((s) => s.gateOpen).length / inBucket.length;
        const maxInFlight = Math.max(0, ...inBucket.map((s) => s.inFlightBytes));
        const rdkQueue = Math.max(0, ...inBucket.map((s) => s.librdkafkaQueue));
        const c0 = countAt(points, t);
        const c1 = countAt(points, t + bucketMs);
        const shares = threadShares(threads.points, t, t + bucketMs);
        const kRate = (countAt(kPoints, t + bucketMs) - countAt(kPoints, t)) / bucketMs;
        console.log(
          `  ${String(t).padStart(5)} | ${((last?.bytesRead ?? 0) / 1e6).toFixed(1).padStart(6)} | ${((last?.produced ?? 0) / 1000).toFixed(0).padStart(5)} | ${((last?.acked ?? 0) / 1000).toFixed(0).padStart(5)} | ${(c1 / 1000).toFixed(0).padStart(4)} | ${((c1 - c0) / bucketMs).toFixed(0).padStart(5)} | ${(maxInFlight / 2 ** 20).toFixed(1).padStart(5)} | ${Number.isNaN(open) ? '  -' : pct(open)} | ${String(last?.gateClosings ?? 0).padStart(4)} | ${String(last?.queueFullStops ?? 0).padStart(4)} | ${String(last?.backlog ?? 0).padStart(3)} | ${String(last?.handOvers ?? 0).padStart(5)} | ${String(rdkQueue).padStart(6)} | ${GROUPS.map((g) => pct(shares.get(g))).join(' ')} | ${kRate.toFixed(0).padStart(5)}`,
        );
        prevSample = last;
      }
    }
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
