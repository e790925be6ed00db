// Scenario 5: many files. 1,000 followed files, then (a) all idle: CPU and RSS over idle
// windows; (b) 200 of them written at 500 lines/s each: CPU while writing, and how long after
// the writers stop until Kafka holds every line (high watermarks) and the agent reports zero
// lag (logship_file_lag_bytes). One agent serves every window, as one would in production.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { until } from '../../test/helpers/agent-process.js';
import { agentYaml } from '../../test/helpers/configs.js';
import { linePool } from '../log-lines.js';
import { MeasuredAgent } from '../measured-agent.js';
import { totalLagBytes } from '../metrics-scrape.js';
import { DEFAULT_PRODUCER, kafkaYaml } from '../producer-settings.js';
import { startRateWriter } from '../rate-writer-client.js';
import { maxRss, RssSampler } from '../rss-sampler.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { TopicCounter, waitForCount } from '../watermarks.js';

const IDLE_CORE_PERCENT_MAX = 1;
const IDLE_RSS_MIB_MAX = 150;
const BURST_CORES_MAX = 1;
const LAG_CLEAR_SECONDS_MAX = 1;
const CATCH_UP_TIMEOUT_MS = 180_000;
/** After the first lines are shipped: let registry flushes and start-up work finish. */
const SETTLE_MS = 2_000;

interface IdleWindow {
  corePercent: number;
  peakRssMiB: number;
}

interface Burst {
  cores: number;
  linesWritten: number;
  writerLinesPerSecond: number;
  hwmLagClearSeconds: number;
  metricsLagClearSeconds: number;
  peakRssMiB: number;
}

async function measureIdle(agent: MeasuredAgent, windowMs: number): Promise<IdleWindow> {
  const sampler = new RssSampler(agent.pid, 100).start();
  const cpuBefore = agent.cpuSeconds();
  const from = performance.now();
  await delay(windowMs);
  const corePercent = (100 * (agent.cpuSeconds() - cpuBefore)) / ((performance.now() - from) / 1000);
  return { corePercent, peakRssMiB: maxRss(sampler.stop()) };
}

async function secondsUntilLagIsZero(metricsUrl: string, fromMs: number): Promise<number> {
  let lag = Number.NaN;
  await until(
    async () => {
      lag = await totalLagBytes(metricsUrl);
      return lag === 0;
    },
    CATCH_UP_TIMEOUT_MS,
    'logship_file_lag_bytes to reach 0',
  );
  return (performance.now() - fromMs) / 1000;
}

async function measureBurst(ctx: ScenarioContext, agent: MeasuredAgent, counter: TopicCounter, metricsUrl: string, paths: string[]): Promise<Burst> {
  const { burstLinesPerSecondPerFile, burstMs, lineBytes } = ctx.plan.manyFiles;
  const before = await counter.count();
  const sampler = new RssSampler(agent.pid, 100).start();
  const cpuBefore = agent.cpuSeconds();
  const writer = startRateWriter({ paths, linesPerSecondPerFile: burstLinesPerSecondPerFile, durationMs: burstMs, lineBytes, tickMs: 10 });
  const startedAtMs = performance.now();
  const written = await writer.done;
  const cores = (agent.cpuSeconds() - cpuBefore) / ((written.doneAtMs - startedAtMs) / 1000);
  const [hwm, metricsLagClearSeconds] = await Promise.all([
    waitForCount(counter, before + written.lines, CATCH_UP_TIMEOUT_MS),
    secondsUntilLagIsZero(metricsUrl, written.doneAtMs),
  ]);
  return {
    cores,
    linesWritten: written.lines,
    writerLinesPerSecond: written.lines / (written.elapsedMs / 1000),
    hwmLagClearSeconds: Math.max(0, (hwm.atMs - written.doneAtMs) / 1000),
    metricsLagClearSeconds,
    peakRssMiB: maxRss(sampler.stop()),
  };
}

export const manyFilesScenario: Scenario = {
  name: 'many-files',
  title: '5. Many files: 1,000 followed files idle, then 200 of them at 500 lines/s each',
  async run(ctx) {
    const mf = ctx.plan.manyFiles;
    const dir = mkdtempSync(join(ctx.workDir, 'many-'));
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const first = linePool(mf.lineBytes, 1)[0]!;
    const paths = Array.from({ length: mf.files }, (_, i) => join(logs, `app-${String(i).padStart(4, '0')}.log`));
    for (const p of paths) writeFileSync(p, first);
    const topic = ctx.topic('logship');
    const yaml = agentYaml({
      dir,
      bootstrap: ctx.cluster.bootstrap,
      inputs: `  - id: bench\n    paths: [${JSON.stringify(join(logs, '*.log'))}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}`,
      kafka: kafkaYaml(DEFAULT_PRODUCER),
      metrics: '127.0.0.1:0',
    });
    const agent = await MeasuredAgent.start({ dir, yaml });
    try {
      const counter = new TopicCounter(ctx.cluster, topic);
      const firstLines = await waitForCount(counter, mf.files, CATCH_UP_TIMEOUT_MS);
      const metricsUrl = await agent.metricsUrl();
      await secondsUntilLagIsZero(metricsUrl, performance.now());
      await delay(SETTLE_MS);
      const b = ctx.book;
      b.figure(this.name, `start to first line of all ${mf.files} files in Kafka`, 's', [(firstLines.atMs - agent.spawnedAtMs) / 1000]);

      const idle: IdleWindow[] = [];
      for (let run = 1; run <= ctx.plan.runs; run++) {
        idle.push(await measureIdle(agent, mf.idleWindowMs));
        ctx.log.info({ run, ...idle.at(-1) }, 'idle window done');
      }
      const windowS = mf.idleWindowMs / 1000;
      b.figure(this.name, `idle CPU, ${mf.files} files (${windowS} s windows)`, '% core', idle.map((w) => w.corePercent), { op: '<=', value: IDLE_CORE_PERCENT_MAX });
      b.figure(this.name, `idle peak RSS, ${mf.files} files`, 'MiB', idle.map((w) => w.peakRssMiB), { op: '<=', value: IDLE_RSS_MIB_MAX });

      const bursts: Burst[] = [];
      for (let run = 1; run <= ctx.plan.runs; run++) {
        bursts.push(await measureBurst(ctx, agent, counter, metricsUrl, paths.slice(0, mf.burstFiles)));
        ctx.log.info({ run, ...bursts.at(-1) }, 'burst done');
      }
      const target = mf.burstFiles * mf.burstLinesPerSecondPerFile;
      const label = `${mf.burstFiles} files x ${mf.burstLinesPerSecondPerFile} lines/s`;
      b.figure(this.name, `writer rate achieved (asked ${target.toLocaleString('en-US')})`, 'lines/s', bursts.map((x) => x.writerLinesPerSecond));
      b.figure(this.name, `logship CPU while writing, ${label}`, 'cores', bursts.map((x) => x.cores), { op: '<=', value: BURST_CORES_MAX });
      b.figure(this.name, 'lag to 0 after writers stop (high watermarks)', 's', bursts.map((x) => x.hwmLagClearSeconds), { op: '<=', value: LAG_CLEAR_SECONDS_MAX });
      b.figure(this.name, 'lag to 0 after writers stop (logship_file_lag_bytes)', 's', bursts.map((x) => x.metricsLagClearSeconds), { op: '<=', value: LAG_CLEAR_SECONDS_MAX });
      b.figure(this.name, 'peak RSS while writing', 'MiB', bursts.map((x) => x.peakRssMiB));
      if (bursts.some((x) => x.writerLinesPerSecond < 0.95 * target)) {
        b.note(this.name, `the writer could not sustain ${target.toLocaleString('en-US')} lines/s on this machine; figures are for the rate it achieved`);
      }

      const exit = await agent.stop();
      const expected = mf.files + bursts.reduce((s, x) => s + x.linesWritten, 0);
      const delivered = await counter.count();
      b.check(this.name, 'records in Kafka == lines written (no loss/dup)', delivered === expected, `${delivered.toLocaleString('en-US')}/${expected.toLocaleString('en-US')}`);
      b.check(this.name, 'clean exit on SIGTERM', exit.code === 0, `exit code ${String(exit.code)}`);
      b.detail('manyFiles', { idle, bursts });
    } finally {
      await agent.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
