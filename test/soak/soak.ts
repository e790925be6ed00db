// The soak (issue #7): writers append numbered lines to the files of two inputs while the agent
// is rotated under, crashed, stopped, reloaded and cut off from Kafka, on a seeded schedule; at
// the end everything is read back from Kafka and every line must be there. Used by
// `npm run soak` (run.ts) and by test/soak.test.ts (one minute, in CI).
//
// Phases: set up (cluster, files, agent) -> inject the planned faults while the writers write
// -> stop the writers and let the agent deliver -> read every topic back -> judge.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCluster } from '../helpers/cluster.js';
import { AgentSupervisor, type AgentLife } from './agent-supervisor.js';
import { DeletedFiles } from './deleted-files.js';
import { FaultInjector, type FaultRecord } from './faults.js';
import { lowWatermarks, readTopic, type TimedRecord } from './kafka-readback.js';
import { LagSampler, type LagPeak } from './lag-sampler.js';
import { countByKind, DEFAULT_MEAN_GAP_MS, planFaults, type FaultKind } from './plan.js';
import { Random } from './random.js';
import { BASE_VARIANT, soakYaml, topicOf, type SoakInput, type SoakLayout } from './soak-config.js';
import { verify, type Verdict, type WrittenLines } from './verifier.js';
import { LogWriter } from './writer.js';
import { identityKey } from '../../src/core/file.js';

/** The agent's /metrics says no byte is in flight (false when it does not answer). */
async function nothingInFlight(metricsUrl: string): Promise<boolean> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(1_000) })).text();
    return /^logship_in_flight_bytes 0$/m.test(text);
  } catch {
    return false;
  }
}

/** Some file in `dirs` has the identity ("dev:ino") now. */
function onDiskUnder(dirs: readonly string[], identity: string): boolean {
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      try {
        if (identityKey(statSync(join(dir, name))) === identity) return true;
      } catch {
        // renamed or removed meanwhile
      }
    }
  }
  return false;
}

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Writers, split over the two inputs (default 4). */
  writers?: number;
  /** Per writer (default 250). */
  linesPerSecond?: number;
  /** Each fault kind at least this often (default: one per two minutes, at least 1). */
  minEach?: number;
  /**
   * Mean time between faults, ms (default 8 s: each fault settles before the next). Small values
   * make faults pile up: a crash right after a rotation, several faults within one stall.
   */
  meanGapMs?: number;
  /** Keep the work directory (files, registry, agent logs): 'always', 'on-failure' (default) or 'never'. */
  keep?: 'always' | 'on-failure' | 'never';
  /** One line per event worth telling while the soak runs. */
  progress?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  minutes: number;
  meanGapMs: number;
  writers: number;
  linesPerSecond: number;
  inputs: SoakInput[];
  dir: string;
  dirKept: boolean;
  /** When the writers started (ms since the epoch): report times are relative to it. */
  startedAt: number;
  durationMs: number;
  faults: FaultRecord[];
  faultCounts: Map<FaultKind, number>;
  verdict: Verdict;
  lag: { total: LagPeak; file: LagPeak; samples: number; inFlightLow: { bytes: number; at: number } };
  lives: AgentLife[];
  peakRssBytes: number;
  /** Deleted files whose shipping could not be confirmed before a crash because their inode was reused. */
  deletedUnverifiable: number;
  /** Everything that makes the run fail; empty = passed. */
  problems: string[];
}

/** agent.shutdown_timeout in soakYaml. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** How long the end of the soak waits for the agent to deliver what was written. */
const DELIVERY_TIMEOUT_MS = 120_000;
const DELIVERY_POLL_MS = 1_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const writersCount = options.writers ?? 4;
  const linesPerSecond = options.linesPerSecond ?? 250;
  const minEach = options.minEach ?? Math.max(1, Math.floor(options.minutes / 2));
  const meanGapMs = options.meanGapMs ?? DEFAULT_MEAN_GAP_MS;
  const progress = options.progress ?? (() => undefined);
  const random = new Random(options.seed);
  const durationMs = Math.round(options.minutes * 60_000);
  const problems: string[] = [];

  // --- Set up: two inputs over two directories, one file (and topic) per writer.
  const dir = mkdtempSync(join(tmpdir(), 'logship-soak-'));
  const inputs: SoakInput[] = [
    { id: 'alpha', dir: join(dir, 'alpha'), writers: [] },
    { id: 'beta', dir: join(dir, 'beta'), writers: [] },
  ];
  for (let k = 0; k < writersCount; k++) inputs[k < writersCount / 2 ? 0 : 1]!.writers.push(`w${k}`);
  for (const input of inputs) mkdirSync(input.dir);
  const cluster = await TestCluster.start();
  const writers = inputs.flatMap((input) => input.writers.map((name) => new LogWriter(name, join(input.dir, `${name}.log`), linesPerSecond)));
  const topics = new Map(inputs.flatMap((input) => input.writers.map((name) => [name, topicOf(input.id, name)] as const)));
  const layout: SoakLayout = { dataDir: join(dir, 'data'), inputs, bootstrap: cluster.bootstrap, metricsPort: await freePort() };
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(configFile, soakYaml(layout, BASE_VARIANT));
  const agent = new AgentSupervisor(configFile, (life) => {
    problems.push(`agent life ${life.index} exited unexpectedly (${life.exitCode ?? life.exitSignal}): ${life.warnings.at(-1)?.msg ?? ''}`);
    progress(`agent life ${life.index} exited unexpectedly; restarting`);
    void agent.start().catch((err: unknown) => problems.push(String(err)));
  });
  // Reused by a writer's new file, or by any file on disk now (a copytruncate copy takes freed
  // inodes too): the deleted file itself is in no directory any more.
  const deleted = new DeletedFiles(
    join(layout.dataDir, 'registry.json'),
    (identity, since) => writers.some((w) => w.segments.some((s) => s.identity === identity && s.openedAt > since)) || onDiskUnder(inputs.map((i) => i.dir), identity),
    () => nothingInFlight(`http://127.0.0.1:${layout.metricsPort}/metrics`),
  );
  const injector = new FaultInjector({ writers, agent, cluster, deleted, random, yaml: (variant) => soakYaml(layout, variant) });
  const lag = new LagSampler(`http://127.0.0.1:${layout.metricsPort}/metrics`);
  const plan = planFaults(random, durationMs, minEach, meanGapMs);

  let report: SoakReport | undefined;
  try {
    // --- Faults, while the writers write.
    progress(`seed ${options.seed}; ${writersCount} writers x ${linesPerSecond} lines/s; ${plan.length} faults planned over ${options.minutes} min; work dir ${dir}`);
    await agent.start();
    const started = Date.now();
    for (const writer of writers) writer.start();
    lag.start();
    const clock = (): string => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
    for (const fault of plan) {
      await sleep(Math.max(0, started + fault.at - Date.now()));
      const record = await injector.inject(fault.kind);
      progress(`${clock()} ${record.kind}${record.target ? ` ${record.target}` : ''}: ${record.detail}${record.problem ? ` — PROBLEM: ${record.problem}` : ''}`);
    }
    await sleep(Math.max(0, started + durationMs - Date.now()));

    // --- Delivery: no more lines; the agent ships the rest and stops cleanly.
    await injector.settle();
    for (const writer of writers) writer.stop();
    const written = writers.reduce((sum, w) => sum + w.written, 0);
    progress(`${clock()} writers stopped after ${written} lines; waiting for the agent to deliver them`);
    if (!(await waitDelivered(cluster, [...topics.values()], written))) {
      problems.push(`not everything delivered within ${DELIVERY_TIMEOUT_MS / 1000} s of the writers stopping`);
    }
    const lastLife = await agent.terminate();
    await lag.stop();
    if (lastLife.exitCode !== 0) problems.push(`final SIGTERM: the agent exited with ${lastLife.exitCode ?? lastLife.exitSignal}, expected 0`);
    progress(`${clock()} agent stopped (SIGTERM, ${lastLife.stopMs} ms); reading every topic back`);

    // --- Read back and judge.
    const recordsByTopic = await readBack(cluster, new Set(topics.values()), problems);
    const ledger: WrittenLines[] = writers.map((w) => ({
      name: w.name,
      topic: topics.get(w.name)!,
      written: w.written,
      writtenAt: (seq) => w.writtenAt(seq),
      segmentOf: (seq) => w.segmentOf(seq),
    }));
    const verdict = verify(ledger, recordsByTopic, injector.killTimes);
    const faultCounts = countByKind(injector.records.map((r) => r.kind));
    problems.push(...judge(verdict, injector.records, faultCounts, minEach, lag, agent.lives));

    report = {
      seed: options.seed,
      minutes: options.minutes,
      meanGapMs,
      writers: writersCount,
      linesPerSecond,
      inputs,
      dir,
      dirKept: false,
      startedAt: started,
      durationMs: Date.now() - started,
      faults: injector.records,
      faultCounts,
      verdict,
      lag: { total: lag.totalPeak, file: lag.filePeak, samples: lag.samples, inFlightLow: lag.inFlightLow },
      lives: agent.lives,
      peakRssBytes: Math.max(0, ...agent.lives.map((l) => l.peakRssBytes)),
      deletedUnverifiable: deleted.unverifiable,
      problems,
    };
    return report;
  } finally {
    // Also on the way out of a failure: nothing of the soak may outlive it.
    for (const writer of writers) writer.stop();
    await lag.stop();
    await agent.abort();
    await cluster.stop();
    const keep = options.keep ?? 'on-failure';
    if (keep === 'always' || (keep === 'on-failure' && (report === undefined || report.problems.length > 0))) {
      if (report) {
        report.dirKept = true;
        writeDiagnostics(dir, report);
      }
      progress(`work directory kept: ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Every record of every topic; a partition the mock cluster trimmed is a problem (contents incomplete). */
async function readBack(cluster: TestCluster, topics: ReadonlySet<string>, problems: string[]): Promise<Map<string, TimedRecord[]>> {
  const recordsByTopic = new Map<string, TimedRecord[]>();
  for (const topic of topics) {
    const partitions = await cluster.partitions(topic);
    for (const [partition, low] of await lowWatermarks(cluster.bootstrap, topic, partitions)) {
      if (low > 0) problems.push(`${topic}[${partition}] was trimmed by the mock cluster (low watermark ${low}): contents cannot prove delivery; lower --rate`);
    }
    recordsByTopic.set(topic, await readTopic(cluster.bootstrap, topic));
  }
  return recordsByTopic;
}

/** What fails the run besides the readback: lost and unexplained lines, faults gone wrong, broken accounting, slow stops. */
function judge(
  verdict: Verdict,
  faults: readonly FaultRecord[],
  faultCounts: ReadonlyMap<FaultKind, number>,
  minEach: number,
  lag: LagSampler,
  lives: readonly AgentLife[],
): string[] {
  const problems: string[] = [];
  if (verdict.lost > 0) problems.push(`${verdict.lost} line(s) lost`);
  if (verdict.unexplainedDuplicates > 0) problems.push(`${verdict.unexplainedDuplicates} duplicate(s) not explained by a crash`);
  if (verdict.foreign > 0) problems.push(`${verdict.foreign} record(s) that are not lines written to their topic`);
  for (const record of faults) if (record.problem) problems.push(`${record.kind}${record.target ? ` ${record.target}` : ''}: ${record.problem}`);
  for (const [kind, count] of faultCounts) if (count < minEach) problems.push(`fault ${kind} injected ${count} time(s), fewer than ${minEach}`);
  if (lag.inFlightLow.bytes < 0) problems.push(`the agent reported logship_in_flight_bytes ${lag.inFlightLow.bytes} (< 0): its in-flight accounting is broken`);
  // Stalls last seconds and shutdown_timeout is 30 s: a stop that needs all of it never saw its acknowledgements.
  for (const life of lives) {
    if (life.ending === 'SIGTERM' && (life.stopMs ?? 0) >= SHUTDOWN_TIMEOUT_MS - 500) {
      problems.push(`agent life ${life.index}: SIGTERM took ${life.stopMs} ms, all of shutdown_timeout, although the cluster stalls for seconds at most`);
    }
  }
  return problems;
}

/** The agent's logs of each life and the fault records, next to the files they concern. */
function writeDiagnostics(dir: string, report: SoakReport): void {
  for (const life of report.lives) {
    writeFileSync(join(dir, `agent-life-${life.index}.jsonl`), life.logs.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  writeFileSync(join(dir, 'faults.json'), JSON.stringify(report.faults, null, 2));
}

/** Polls high watermarks until the topics hold at least `written` records (duplicates count too). */
async function waitDelivered(cluster: TestCluster, topics: readonly string[], written: number): Promise<boolean> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  for (;;) {
    let records = 0;
    for (const topic of topics) records += await cluster.count(topic);
    if (records >= written) return true;
    if (Date.now() > deadline) return false;
    await sleep(DELIVERY_POLL_MS);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
