// Scenarios 1-3a: a pre-written file of 1,000,000 lines of 125 B shipped from the beginning,
// by kcat and by the agent in alternation. Throughput as a ratio to kcat in the same run, the
// agent's CPU per million lines and its peak RSS, and that delivery and the committed offset
// are exact.

import type { InputFile } from '../input-files.js';
import { shipWithAgent, shipWithKcat, type AgentShipment, type Shipment } from '../file-to-topic.js';
import { DEFAULT_PRODUCER } from '../producer-settings.js';
import type { ResultBook } from '../results.js';
import type { Scenario } from '../scenario.js';

const RATIO_TO_KCAT_MIN = 0.25;
const CPU_SECONDS_PER_MILLION_MAX = 2.5;
const PEAK_RSS_MIB_MAX = 120;

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: '1-3a. Throughput, CPU, peak memory: pre-written file from the beginning, acks=all, lz4, linger 5 ms, 3 brokers',
  async run(ctx) {
    const { lines, lineBytes } = ctx.plan.throughput;
    const input = ctx.inputs.get(lines, lineBytes);
    const kcat: Shipment[] = [];
    const agent: AgentShipment[] = [];
    for (let run = 1; run <= ctx.plan.runs; run++) {
      // Alternating keeps both shippers exposed to the same background load.
      kcat.push(await shipWithKcat(ctx, input, DEFAULT_PRODUCER));
      agent.push(await shipWithAgent(ctx, input, DEFAULT_PRODUCER));
      ctx.log.info({ run, kcatLinesPerSec: Math.round(kcat.at(-1)!.linesPerSecond), agentLinesPerSec: Math.round(agent.at(-1)!.linesPerSecond) }, 'throughput run done');
    }
    reportThroughput(ctx.book, this.name, input, kcat, agent);
    ctx.book.detail('throughput', { input, kcat, agent });
  },
};

export function reportThroughput(book: ResultBook, scenario: string, input: InputFile, kcat: Shipment[], agent: AgentShipment[]): void {
  const millions = input.lines / 1e6;
  book.figure(scenario, 'kcat lines/s', 'lines/s', kcat.map((s) => s.linesPerSecond));
  book.figure(scenario, 'logship lines/s', 'lines/s', agent.map((s) => s.linesPerSecond));
  book.figure(
    scenario,
    'logship / kcat lines/s (paired runs)',
    'ratio',
    agent.map((s, i) => s.linesPerSecond / kcat[i]!.linesPerSecond),
    { op: '>=', value: RATIO_TO_KCAT_MIN },
  );
  book.figure(scenario, 'logship MB/s', 'MB/s', agent.map((s) => s.mbPerSecond));
  book.figure(scenario, 'logship start-up (spawn to "logship running")', 'ms', agent.map((s) => s.startupMs));
  book.figure(scenario, 'logship CPU per million lines (at exit)', 'CPU-s', agent.map((s) => s.cpuSeconds / millions), { op: '<=', value: CPU_SECONDS_PER_MILLION_MAX });
  book.figure(scenario, 'logship CPU per million lines (/proc, at done)', 'CPU-s', agent.map((s) => s.cpuSecondsAtDone / millions));
  book.figure(scenario, 'logship CPU cores busy while shipping', 'cores', agent.map((s) => s.cpuSecondsAtDone / s.seconds));
  book.figure(scenario, 'kcat CPU per million lines (at exit)', 'CPU-s', kcat.map((s) => s.cpuSeconds / millions));
  book.figure(scenario, 'logship peak RSS (VmHWM at done)', 'MiB', agent.map((s) => s.peakRssMiB), { op: '<=', value: PEAK_RSS_MIB_MAX });
  book.figure(scenario, 'logship peak RSS (getrusage at exit)', 'MiB', agent.map((s) => s.exit.usage?.maxRssMiB ?? Number.NaN));
  checkDelivery(book, scenario, input, kcat, agent);
}

export function checkDelivery(book: ResultBook, scenario: string, input: InputFile, kcat: Shipment[], agent: AgentShipment[]): void {
  const list = (xs: Array<number | null>): string => xs.map((x) => (x === null ? 'none' : x.toLocaleString('en-US'))).join(', ');
  book.check(scenario, 'kcat: records in Kafka == lines', kcat.every((s) => s.delivered === input.lines), `expected ${input.lines.toLocaleString('en-US')}, got ${list(kcat.map((s) => s.delivered))}`);
  book.check(
    scenario,
    'logship: records in Kafka == lines (no loss/dup)',
    agent.every((s) => s.delivered === input.lines),
    `expected ${input.lines.toLocaleString('en-US')}, got ${list(agent.map((s) => s.delivered))}`,
  );
  book.check(
    scenario,
    'logship: registry offset == file size',
    agent.every((s) => s.committedOffset === input.bytes),
    `expected ${input.bytes.toLocaleString('en-US')}, got ${list(agent.map((s) => s.committedOffset))}`,
  );
  book.check(scenario, 'logship: clean exit on SIGTERM', agent.every((s) => s.exit.code === 0), `exit codes ${agent.map((s) => String(s.exit.code ?? s.exit.signal)).join(', ')}`);
}
