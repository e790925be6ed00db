// One measured shipment of a pre-written file to a fresh topic, by kcat, rsyslog or the agent: the
// time from process start until the topic's high-watermark sum reaches the file's line count,
// and what the shipment cost. Shared by the throughput, profile and scaling scenarios.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentYaml } from '../test/helpers/configs.js';
import type { InputFile } from './input-files.js';
import { ToolError } from './errors.js';
import { kcatProduceFile } from './kcat.js';
import { MeasuredAgent, startedFromSnapshot, type AgentExit } from './measured-agent.js';
import { kafkaYaml, type ProducerSettings } from './producer-settings.js';
import { committedOffsets } from './registry-check.js';
import { MeasuredRsyslog, type RsyslogExit } from './rsyslog.js';
import type { ScenarioContext } from './scenario.js';
import { TopicCounter, waitForCount } from './watermarks.js';

export interface Shipment {
  /** The fresh topic the file was shipped to. */
  topic: string;
  /** Process start until Kafka held every line. */
  seconds: number;
  linesPerSecond: number;
  mbPerSecond: number;
  /** Records in the topic once the shipper has exited: must equal the file's line count. */
  delivered: number;
  /** CPU seconds (user + system, all threads) of the whole process life. */
  cpuSeconds: number;
}

export interface KcatShipment extends Shipment {
  /** ru_maxrss of the exited kcat (GNU time), MiB. */
  peakRssMiB: number;
}

export interface AgentShipment extends Shipment {
  startupMs: number;
  /** Started from its startup snapshot (the launcher found it current), not from main.js. */
  fromSnapshot: boolean;
  /** CPU seconds read from /proc at the moment delivery completed (before SIGTERM). */
  cpuSecondsAtDone: number;
  /** VmHWM at the moment delivery completed, MiB. */
  peakRssMiB: number;
  exit: AgentExit;
  /** Offset of the file in the registry after the clean stop (null: no entry). */
  committedOffset: number | null;
}

export interface RsyslogShipment extends Shipment {
  /**
   * CPU seconds read from /proc at the moment delivery completed (before SIGTERM); `cpuSeconds`
   * is the same figure: what rsyslog spends after that is its shutdown, which /proc cannot
   * show once it has exited.
   */
  cpuSecondsAtDone: number;
  /** VmHWM at the moment delivery completed, MiB. */
  peakRssMiB: number;
  exit: RsyslogExit;
  /** rsyslog's own warnings and errors during the run (its start/stop banners left out). */
  internalMessages: string[];
}

function deliveryTimeoutMs(lines: number): number {
  // Generous: a run that slow is a finding in itself, not a reason to hang the bench.
  return Math.max(60_000, (lines / 10_000) * 1000);
}

function rates(input: InputFile, seconds: number): Pick<Shipment, 'linesPerSecond' | 'mbPerSecond'> {
  return { linesPerSecond: input.lines / seconds, mbPerSecond: input.bytes / 1e6 / seconds };
}

export interface ShipOptions {
  /** Per-record headers (host, path, offset); kcat sends look-alike static ones. Default false, as the agent's. */
  headers?: boolean;
  /** Agent only: the input's record format. Default raw. */
  format?: 'raw' | 'json';
  /** Agent only: run it under --cpu-prof, writing the profile here. */
  cpuProfileDir?: string;
  /** Agent only: more lines of its `kafka:` section (indented two spaces), for experiments. */
  kafkaExtra?: string;
}

export async function shipWithKcat(ctx: ScenarioContext, input: InputFile, settings: ProducerSettings, o: ShipOptions = {}): Promise<KcatShipment> {
  const topic = ctx.topic('kcat');
  const counter = new TopicCounter(ctx.cluster, topic);
  const run = kcatProduceFile(ctx.cluster.bootstrap, topic, input.path, settings, o.headers ?? false);
  // kcat exits only once every record is acknowledged, so its exit and the first poll seeing
  // the full count are both upper bounds of the delivery time: the earlier one is the tighter.
  // Polling runs during kcat's run too, so both shippers share the cost of being watched.
  const stopPolling = new AbortController();
  const polling = waitForCount(counter, input.lines, deliveryTimeoutMs(input.lines), { signal: stopPolling.signal });
  polling.catch(() => undefined); // awaited below; this only keeps a failure while kcat runs from being unhandled
  let exit: Awaited<typeof run.exited>;
  try {
    exit = await run.exited;
  } finally {
    stopPolling.abort();
  }
  const reached = await polling;
  const delivered = await counter.count();
  const seconds = (Math.min(exit.atMs, reached?.atMs ?? Number.POSITIVE_INFINITY) - run.spawnedAtMs) / 1000;
  return { topic, seconds, ...rates(input, seconds), delivered, cpuSeconds: exit.cpuSeconds, peakRssMiB: exit.peakRssMiB };
}

export async function shipWithAgent(ctx: ScenarioContext, input: InputFile, settings: ProducerSettings, o: ShipOptions = {}): Promise<AgentShipment> {
  const dir = mkdtempSync(join(ctx.workDir, 'agent-'));
  const topic = ctx.topic('logship');
  const yaml = agentYaml({
    dir,
    bootstrap: ctx.cluster.bootstrap,
    inputs: `  - id: bench\n    paths: [${JSON.stringify(input.path)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}\n    headers: ${o.headers ?? false}\n    format: ${o.format ?? 'raw'}`,
    kafka: kafkaYaml(settings) + (o.kafkaExtra ? `\n${o.kafkaExtra}` : ''),
  });
  const agent = await MeasuredAgent.start({ dir, yaml, ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}) });
  try {
    const counter = new TopicCounter(ctx.cluster, topic);
    const reached = await waitForCount(counter, input.lines, deliveryTimeoutMs(input.lines));
    const cpuSecondsAtDone = agent.cpuSeconds();
    const peakRssMiB = agent.memory().hwmMiB;
    const fromSnapshot = startedFromSnapshot(agent.pid);
    const exit = await agent.stop();
    const delivered = await counter.count();
    const committedOffset = committedOffsets(join(dir, 'data')).get(input.path) ?? null;
    const seconds = (reached.atMs - agent.spawnedAtMs) / 1000;
    const cpuSeconds = exit.usage ? exit.usage.userSeconds + exit.usage.systemSeconds : Number.NaN;
    return { topic, seconds, ...rates(input, seconds), delivered, cpuSeconds, startupMs: agent.startupMs, fromSnapshot, cpuSecondsAtDone, peakRssMiB, exit, committedOffset };
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * rsyslog's imfile + omkafka on the same file with the same producer settings (no headers: omkafka
 * sends none). Timed like the agent, from spawn until Kafka holds every line; CPU and VmHWM are
 * read from /proc at that moment, then rsyslog is stopped with SIGTERM.
 */
export async function shipWithRsyslog(ctx: ScenarioContext, input: InputFile, settings: ProducerSettings): Promise<RsyslogShipment> {
  const dir = mkdtempSync(join(ctx.workDir, 'rsyslog-'));
  const topic = ctx.topic('rsyslog');
  const rsyslog = MeasuredRsyslog.start({ dir, inputFile: input.path, bootstrap: ctx.cluster.bootstrap, topic, settings });
  try {
    const counter = new TopicCounter(ctx.cluster, topic);
    // A configuration rsyslog refuses makes it exit at once: stop waiting for Kafka then.
    const exitedEarly = new AbortController();
    void rsyslog.whenExited().then(() => exitedEarly.abort());
    let reached;
    try {
      reached = await waitForCount(counter, input.lines, deliveryTimeoutMs(input.lines), { signal: exitedEarly.signal });
    } catch (err) {
      throw new ToolError('rsyslogd', ['-f', rsyslog.configFile], `${(err as Error).message}\n${rsyslog.describe()}`);
    }
    if (reached === null) {
      const exit = await rsyslog.whenExited();
      throw new ToolError('rsyslogd', ['-f', rsyslog.configFile], `exited (${String(exit.code ?? exit.signal)}) before Kafka held every line\n${rsyslog.describe()}`);
    }
    const cpuSecondsAtDone = rsyslog.cpuSeconds();
    const peakRssMiB = rsyslog.memory().hwmMiB;
    const exit = await rsyslog.stop();
    const delivered = await counter.count();
    const seconds = (reached.atMs - rsyslog.spawnedAtMs) / 1000;
    const internalMessages = rsyslog.internalMessages();
    return { topic, seconds, ...rates(input, seconds), delivered, cpuSeconds: cpuSecondsAtDone, cpuSecondsAtDone, peakRssMiB, exit, internalMessages };
  } finally {
    await rsyslog.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
