// Scenarios 1-3a: a pre-written file of 1,000,000 lines of 125 B shipped from the beginning as
// raw lines without headers, by kcat (the producer ceiling), by rsyslog's imfile + omkafka (what
// operators run today) and by the agent, in alternation with the same producer settings.
// Throughput, CPU per million lines and peak RSS of each, the agent's as ratios to both peers;
// the agent's CPU with `headers: true` and with `format: json` too. Delivery is checked by
// contents on a file the test cluster keeps whole, and by high watermarks on the large one;
// the agent's committed offset and clean exit as well.

import { compareValues, describeComparison, exact, splitLines } from '../content-check.js';
import { readFileSync } from 'node:fs';
import { shipWithAgent, shipWithKcat, shipWithRsyslog, type AgentShipment, type KcatShipment, type RsyslogShipment, type Shipment } from '../file-to-topic.js';
import type { InputFile } from '../input-files.js';
import { DEFAULT_PRODUCER } from '../producer-settings.js';
import { formatSpread, type ResultBook } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

// Issue 10's targets.
const RATIO_TO_KCAT_MIN = 0.75;
const RATIO_TO_RSYSLOG_MIN = 4;
const CPU_SECONDS_PER_MILLION_MAX = 1.0;
const CPU_SECONDS_PER_MILLION_HEADERS_MAX = 3.0;
const CPU_SECONDS_PER_MILLION_JSON_MAX = 2.0;
const PEAK_RSS_MIB_MAX = 120;

/** Every shipment of one run of the scenario. */
interface Round {
  kcat: KcatShipment;
  rsyslog: RsyslogShipment;
  agent: AgentShipment;
  agentHeaders: AgentShipment;
  agentJson: AgentShipment;
}

/** The agent's configurations measured, by the label they are reported under. */
const AGENT_VARIANTS = [
  ['logship', 'agent', { headers: false, format: 'raw' }],
  ['logship headers: true', 'agentHeaders', { headers: true, format: 'raw' }],
  ['logship format: json', 'agentJson', { headers: false, format: 'json' }],
] as const;

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: '1-3a. Throughput, CPU, peak memory: pre-written file from the beginning, raw, no headers, acks=all, lz4, linger 5 ms, 3 brokers; kcat and rsyslog (imfile + omkafka) in the same runs',
  async run(ctx) {
    const { lines, lineBytes, contentLines } = ctx.plan.throughput;
    await checkContents(ctx, this.name, ctx.inputs.get(contentLines, lineBytes));
    const input = ctx.inputs.get(lines, lineBytes);
    const rounds: Round[] = [];
    for (let run = 1; run <= ctx.plan.runs; run++) {
      // Alternating keeps every shipper exposed to the same background load.
      const kcat = await shipWithKcat(ctx, input, DEFAULT_PRODUCER);
      const agent = await shipWithAgent(ctx, input, DEFAULT_PRODUCER, AGENT_VARIANTS[0][2]);
      const rsyslog = await shipWithRsyslog(ctx, input, DEFAULT_PRODUCER);
      const agentHeaders = await shipWithAgent(ctx, input, DEFAULT_PRODUCER, AGENT_VARIANTS[1][2]);
      const agentJson = await shipWithAgent(ctx, input, DEFAULT_PRODUCER, AGENT_VARIANTS[2][2]);
      rounds.push({ kcat, rsyslog, agent, agentHeaders, agentJson });
      ctx.log.info(
        { run, kcat: Math.round(kcat.linesPerSecond), logship: Math.round(agent.linesPerSecond), rsyslog: Math.round(rsyslog.linesPerSecond) },
        'throughput run done (lines/s)',
      );
    }
    reportThroughput(ctx.book, this.name, input, rounds);
    ctx.book.detail('throughput', { input, rounds });
  },
};

/**
 * Each shipper once on a file the test cluster keeps whole: every line arrives as one record
 * with exactly the line as its value (rsyslog's template and escaping included).
 */
async function checkContents(ctx: ScenarioContext, scenario: string, input: InputFile): Promise<void> {
  const lines = splitLines(readFileSync(input.path, 'latin1'));
  const shipments: Array<[string, Shipment]> = [
    ['kcat', await shipWithKcat(ctx, input, DEFAULT_PRODUCER)],
    ['logship', await shipWithAgent(ctx, input, DEFAULT_PRODUCER)],
    ['rsyslog', await shipWithRsyslog(ctx, input, DEFAULT_PRODUCER)],
  ];
  for (const [name, shipment] of shipments) {
    const values = (await ctx.cluster.consume(shipment.topic)).map((r) => r.value.toString('latin1'));
    const comparison = compareValues(lines, values);
    ctx.book.check(scenario, `${name}: record values == lines (${input.lines.toLocaleString('en-US')}-line file)`, exact(comparison), describeComparison(comparison));
  }
}

function reportThroughput(book: ResultBook, scenario: string, input: InputFile, rounds: Round[]): void {
  const millions = input.lines / 1e6;
  const all = <K extends keyof Round>(key: K): Array<Round[K]> => rounds.map((r) => r[key]);
  const kcat = all('kcat');
  const rsyslog = all('rsyslog');
  const agent = all('agent');

  book.figure(scenario, 'kcat lines/s', 'lines/s', kcat.map((s) => s.linesPerSecond));
  book.figure(scenario, 'rsyslog lines/s', 'lines/s', rsyslog.map((s) => s.linesPerSecond));
  book.figure(scenario, 'logship lines/s', 'lines/s', agent.map((s) => s.linesPerSecond));
  book.figure(scenario, 'logship / kcat lines/s (paired runs)', 'ratio', rounds.map((r) => r.agent.linesPerSecond / r.kcat.linesPerSecond), { op: '>=', value: RATIO_TO_KCAT_MIN });
  book.figure(scenario, 'logship / rsyslog lines/s (paired runs)', 'ratio', rounds.map((r) => r.agent.linesPerSecond / r.rsyslog.linesPerSecond), {
    op: '>=',
    value: RATIO_TO_RSYSLOG_MIN,
  });
  book.figure(scenario, 'logship MB/s', 'MB/s', agent.map((s) => s.mbPerSecond));
  book.figure(scenario, 'logship start-up (spawn to "logship running")', 'ms', agent.map((s) => s.startupMs));
  const fromSnapshot = agent.filter((s) => s.fromSnapshot).length;
  book.detail(`${scenario}.logshipRunsFromSnapshot`, fromSnapshot);
  if (fromSnapshot < agent.length) book.note(scenario, `logship started through the build's launcher: ${agent.length - fromSnapshot} of ${agent.length} runs from main.js, not from its startup snapshot (stale or missing blob, or LOGSHIP_BENCH_ENTRY=main)`);

  book.figure(scenario, 'logship CPU per million lines (at exit)', 'CPU-s', agent.map((s) => s.cpuSeconds / millions), { op: '<=', value: CPU_SECONDS_PER_MILLION_MAX });
  book.figure(scenario, 'logship CPU per million lines (/proc, at done)', 'CPU-s', agent.map((s) => s.cpuSecondsAtDone / millions));
  book.figure(scenario, 'logship CPU cores busy while shipping', 'cores', agent.map((s) => s.cpuSecondsAtDone / s.seconds));
  book.figure(scenario, 'kcat CPU per million lines (at exit)', 'CPU-s', kcat.map((s) => s.cpuSeconds / millions));
  book.figure(scenario, 'rsyslog CPU per million lines (/proc, at done)', 'CPU-s', rsyslog.map((s) => s.cpuSecondsAtDone / millions));
  // Like with like: whole-life CPU against kcat's whole life, /proc at done against rsyslog's.
  book.figure(scenario, 'logship / kcat CPU per line (at exit)', 'ratio', rounds.map((r) => r.agent.cpuSeconds / r.kcat.cpuSeconds));
  book.figure(scenario, 'logship / rsyslog CPU per line (at done)', 'ratio', rounds.map((r) => r.agent.cpuSecondsAtDone / r.rsyslog.cpuSecondsAtDone));

  book.figure(scenario, 'logship peak RSS (VmHWM at done)', 'MiB', agent.map((s) => s.peakRssMiB), { op: '<=', value: PEAK_RSS_MIB_MAX });
  book.figure(scenario, 'logship peak RSS (getrusage at exit)', 'MiB', agent.map((s) => s.exit.usage?.maxRssMiB ?? Number.NaN));
  book.figure(scenario, 'kcat peak RSS (ru_maxrss at exit)', 'MiB', kcat.map((s) => s.peakRssMiB));
  book.figure(scenario, 'rsyslog peak RSS (VmHWM at done)', 'MiB', rsyslog.map((s) => s.peakRssMiB));
  book.figure(scenario, 'logship / rsyslog peak RSS', 'ratio', rounds.map((r) => r.agent.peakRssMiB / r.rsyslog.peakRssMiB));

  const headers = all('agentHeaders');
  const json = all('agentJson');
  book.figure(scenario, 'logship headers: true lines/s', 'lines/s', headers.map((s) => s.linesPerSecond));
  book.figure(scenario, 'logship headers: true CPU per million lines (at exit)', 'CPU-s', headers.map((s) => s.cpuSeconds / millions), {
    op: '<=',
    value: CPU_SECONDS_PER_MILLION_HEADERS_MAX,
  });
  book.figure(scenario, 'logship format: json lines/s', 'lines/s', json.map((s) => s.linesPerSecond));
  book.figure(scenario, 'logship format: json CPU per million lines (at exit)', 'CPU-s', json.map((s) => s.cpuSeconds / millions), {
    op: '<=',
    value: CPU_SECONDS_PER_MILLION_JSON_MAX,
  });

  book.table({
    scenario,
    title: `${input.lines.toLocaleString('en-US')} lines of ${input.lineBytes} B, median (min..max) over runs; CPU and peak RSS: kcat at exit, others from /proc when Kafka held every line`,
    columns: ['shipper', 'lines/s', 'x kcat', 'x rsyslog', 'CPU-s/M lines', 'peak RSS MiB'],
    rows: [
      ['kcat', formatSpread(kcat.map((s) => s.linesPerSecond)), '1', formatSpread(rounds.map((r) => r.kcat.linesPerSecond / r.rsyslog.linesPerSecond)), formatSpread(kcat.map((s) => s.cpuSeconds / millions)), formatSpread(kcat.map((s) => s.peakRssMiB))],
      [
        'rsyslog imfile+omkafka',
        formatSpread(rsyslog.map((s) => s.linesPerSecond)),
        formatSpread(rounds.map((r) => r.rsyslog.linesPerSecond / r.kcat.linesPerSecond)),
        '1',
        formatSpread(rsyslog.map((s) => s.cpuSecondsAtDone / millions)),
        formatSpread(rsyslog.map((s) => s.peakRssMiB)),
      ],
      ...AGENT_VARIANTS.map(([label, key]) => {
        const shipments = all(key);
        return [
          label,
          formatSpread(shipments.map((s) => s.linesPerSecond)),
          formatSpread(rounds.map((r) => r[key].linesPerSecond / r.kcat.linesPerSecond)),
          formatSpread(rounds.map((r) => r[key].linesPerSecond / r.rsyslog.linesPerSecond)),
          formatSpread(shipments.map((s) => s.cpuSecondsAtDone / millions)),
          formatSpread(shipments.map((s) => s.peakRssMiB)),
        ];
      }),
    ],
  });
  checkDelivery(book, scenario, input, rounds);
}

function checkDelivery(book: ResultBook, scenario: string, input: InputFile, rounds: Round[]): void {
  const list = (xs: Array<number | null>): string => xs.map((x) => (x === null ? 'none' : x.toLocaleString('en-US'))).join(', ');
  const expected = `expected ${input.lines.toLocaleString('en-US')}`;
  const kcat = rounds.map((r) => r.kcat);
  const rsyslog = rounds.map((r) => r.rsyslog);
  book.check(scenario, 'kcat: records in Kafka == lines', kcat.every((s) => s.delivered === input.lines), `${expected}, got ${list(kcat.map((s) => s.delivered))}`);
  book.check(scenario, 'rsyslog: records in Kafka == lines', rsyslog.every((s) => s.delivered === input.lines), `${expected}, got ${list(rsyslog.map((s) => s.delivered))}`);
  book.check(scenario, 'rsyslog: clean exit on SIGTERM', rsyslog.every((s) => s.exit.code === 0), `exit codes ${rsyslog.map((s) => String(s.exit.code ?? s.exit.signal)).join(', ')}`);
  const complaints = rsyslog.flatMap((s) => s.internalMessages);
  if (complaints.length > 0) book.note(scenario, `rsyslog logged ${complaints.length} warning(s)/error(s), first: ${complaints[0]}`);
  for (const [label, key] of AGENT_VARIANTS) {
    const agent = rounds.map((r) => r[key]);
    book.check(scenario, `${label}: records in Kafka == lines (no loss/dup)`, agent.every((s) => s.delivered === input.lines), `${expected}, got ${list(agent.map((s) => s.delivered))}`);
    book.check(
      scenario,
      `${label}: registry offset == file size`,
      agent.every((s) => s.committedOffset === input.bytes),
      `expected ${input.bytes.toLocaleString('en-US')}, got ${list(agent.map((s) => s.committedOffset))}`,
    );
    book.check(scenario, `${label}: clean exit on SIGTERM`, agent.every((s) => s.exit.code === 0), `exit codes ${agent.map((s) => String(s.exit.code ?? s.exit.signal)).join(', ')}`);
  }
}
