// One measured shipment of a pre-written file to a fresh topic, by kcat or by the agent: the
// time from process start until the topic's high-watermark sum reaches the file's line count,
// and what the shipment cost. Shared by the throughput, profile and scaling scenarios.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentYaml } from '../test/helpers/configs.js';
import type { InputFile } from './input-files.js';
import { kcatProduceFile } from './kcat.js';
import { MeasuredAgent, type AgentExit } from './measured-agent.js';
import { kafkaYaml, type ProducerSettings } from './producer-settings.js';
import { committedOffsets } from './registry-check.js';
import type { ScenarioContext } from './scenario.js';
import { TopicCounter, waitForCount } from './watermarks.js';

export interface Shipment {
  /** Process start until Kafka held every line. */
  seconds: number;
  linesPerSecond: number;
  mbPerSecond: number;
  /** Records in the topic once the shipper has exited: must equal the file's line count. */
  delivered: number;
  /** CPU seconds (user + system, all threads) of the whole process life. */
  cpuSeconds: number;
}

export interface AgentShipment extends Shipment {
  startupMs: number;
  /** CPU seconds read from /proc at the moment delivery completed (before SIGTERM). */
  cpuSecondsAtDone: number;
  /** VmHWM at the moment delivery completed, MiB. */
  peakRssMiB: number;
  exit: AgentExit;
  /** Offset of the file in the registry after the clean stop (null: no entry). */
  committedOffset: number | null;
}

function deliveryTimeoutMs(lines: number): number {
  // Generous: a run that slow is a finding in itself, not a reason to hang the bench.
  return Math.max(60_000, (lines / 10_000) * 1000);
}

function rates(input: InputFile, seconds: number): Pick<Shipment, 'linesPerSecond' | 'mbPerSecond'> {
  return { linesPerSecond: input.lines / seconds, mbPerSecond: input.bytes / 1e6 / seconds };
}

export interface ShipOptions {
  /** Per-record headers (the agent's default); kcat sends look-alike static ones. Default true. */
  headers?: boolean;
  /** Agent only: run it under --cpu-prof, writing the profile here. */
  cpuProfileDir?: string;
}

export async function shipWithKcat(ctx: ScenarioContext, input: InputFile, settings: ProducerSettings, o: ShipOptions = {}): Promise<Shipment> {
  const topic = ctx.topic('kcat');
  const counter = new TopicCounter(ctx.cluster, topic);
  const run = kcatProduceFile(ctx.cluster.bootstrap, topic, input.path, settings, o.headers ?? true);
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
  return { seconds, ...rates(input, seconds), delivered, cpuSeconds: exit.cpuSeconds };
}

export async function shipWithAgent(ctx: ScenarioContext, input: InputFile, settings: ProducerSettings, o: ShipOptions = {}): Promise<AgentShipment> {
  const dir = mkdtempSync(join(ctx.workDir, 'agent-'));
  const topic = ctx.topic('logship');
  const yaml = agentYaml({
    dir,
    bootstrap: ctx.cluster.bootstrap,
    inputs: `  - id: bench\n    paths: [${JSON.stringify(input.path)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}\n    headers: ${o.headers ?? true}`,
    kafka: kafkaYaml(settings),
  });
  const agent = await MeasuredAgent.start({ dir, yaml, ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}) });
  try {
    const counter = new TopicCounter(ctx.cluster, topic);
    const reached = await waitForCount(counter, input.lines, deliveryTimeoutMs(input.lines));
    const cpuSecondsAtDone = agent.cpuSeconds();
    const peakRssMiB = agent.memory().hwmMiB;
    const exit = await agent.stop();
    const delivered = await counter.count();
    const committedOffset = committedOffsets(join(dir, 'data')).get(input.path) ?? null;
    const seconds = (reached.atMs - agent.spawnedAtMs) / 1000;
    const cpuSeconds = exit.usage ? exit.usage.userSeconds + exit.usage.systemSeconds : Number.NaN;
    return { seconds, ...rates(input, seconds), delivered, cpuSeconds, startupMs: agent.startupMs, cpuSecondsAtDone, peakRssMiB, exit, committedOffset };
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
