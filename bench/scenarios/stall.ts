// Scenario 3b: memory while Kafka stalls. A writer appends 20,000 lines/s to one followed file;
// after a warm-up the whole cluster is frozen (SIGSTOP) for 30 s, then resumed. The agent must
// hold memory flat (files are the buffer, not RAM) and afterwards deliver every line once.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { agentYaml } from '../../test/helpers/configs.js';
import { MeasuredAgent } from '../measured-agent.js';
import { DEFAULT_PRODUCER, kafkaYaml } from '../producer-settings.js';
import { startRateWriter } from '../rate-writer-client.js';
import { maxRss, RssSampler } from '../rss-sampler.js';
import { mean } from '../stats.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { TopicCounter, waitForCount } from '../watermarks.js';

const RSS_GROWTH_MIB_MAX = 20;
/** The baseline is the mean RSS over this long just before the stall. */
const BASELINE_WINDOW_MS = 1_000;
const DRAIN_TIMEOUT_MS = 180_000;

interface StallRun {
  baselineRssMiB: number;
  peakRssDuringStallMiB: number;
  rssAtResumeMiB: number;
  peakRssAfterResumeMiB: number;
  linesWritten: number;
  writerLinesPerSecond: number;
  drainSeconds: number;
  delivered: number;
  exitCode: number | null;
}

async function stallOnce(ctx: ScenarioContext): Promise<StallRun> {
  const { linesPerSecond, lineBytes, warmMs, stallMs } = ctx.plan.stall;
  const dir = mkdtempSync(join(ctx.workDir, 'stall-'));
  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const topic = ctx.topic('logship');
  const yaml = agentYaml({
    dir,
    bootstrap: ctx.cluster.bootstrap,
    inputs: `  - id: bench\n    paths: [${JSON.stringify(file)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}`,
    kafka: kafkaYaml(DEFAULT_PRODUCER),
  });
  const agent = await MeasuredAgent.start({ dir, yaml });
  try {
    const sampler = new RssSampler(agent.pid, 100).start();
    const writer = startRateWriter({ paths: [file], linesPerSecondPerFile: linesPerSecond, durationMs: warmMs + stallMs, lineBytes, tickMs: 10 });
    await delay(warmMs);
    const stalledAtMs = performance.now();
    ctx.cluster.stall();
    let resumedAtMs: number;
    try {
      await delay(stallMs);
    } finally {
      ctx.cluster.resume();
      resumedAtMs = performance.now();
    }
    const written = await writer.done;
    const counter = new TopicCounter(ctx.cluster, topic);
    const drained = await waitForCount(counter, written.lines, DRAIN_TIMEOUT_MS);
    sampler.stop();
    const exit = await agent.stop();
    const delivered = await counter.count();
    return {
      baselineRssMiB: mean(sampler.between(stalledAtMs - BASELINE_WINDOW_MS, stalledAtMs).map((s) => s.rssMiB)),
      peakRssDuringStallMiB: maxRss(sampler.between(stalledAtMs, resumedAtMs)),
      rssAtResumeMiB: sampler.between(resumedAtMs - 200, resumedAtMs).at(-1)?.rssMiB ?? Number.NaN,
      peakRssAfterResumeMiB: maxRss(sampler.between(resumedAtMs, drained.atMs + 1)),
      linesWritten: written.lines,
      writerLinesPerSecond: written.lines / (written.elapsedMs / 1000),
      drainSeconds: (drained.atMs - resumedAtMs) / 1000,
      delivered,
      exitCode: exit.code,
    };
  } finally {
    ctx.cluster.resume();
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const stallScenario: Scenario = {
  name: 'stall',
  title: '3b. Memory while Kafka is stalled (SIGSTOP) under a 20,000 lines/s writer',
  async run(ctx) {
    const runs: StallRun[] = [];
    for (let run = 1; run <= ctx.plan.runs; run++) {
      runs.push(await stallOnce(ctx));
      ctx.log.info({ run, ...runs.at(-1) }, 'stall run done');
    }
    const b = ctx.book;
    const stallS = ctx.plan.stall.stallMs / 1000;
    b.figure(this.name, 'RSS before the stall (1 s mean)', 'MiB', runs.map((r) => r.baselineRssMiB));
    b.figure(this.name, `RSS growth during ${stallS} s stall (peak - before)`, 'MiB', runs.map((r) => r.peakRssDuringStallMiB - r.baselineRssMiB), { op: '<=', value: RSS_GROWTH_MIB_MAX });
    b.figure(this.name, 'RSS growth at resume (last sample - before)', 'MiB', runs.map((r) => r.rssAtResumeMiB - r.baselineRssMiB));
    b.figure(this.name, 'peak RSS while catching up after resume', 'MiB', runs.map((r) => r.peakRssAfterResumeMiB));
    b.figure(this.name, 'catch-up time after resume', 's', runs.map((r) => r.drainSeconds));
    b.figure(this.name, 'writer rate achieved', 'lines/s', runs.map((r) => r.writerLinesPerSecond));
    b.check(
      this.name,
      'records in Kafka == lines written (no loss/dup)',
      runs.every((r) => r.delivered === r.linesWritten),
      runs.map((r) => `${r.delivered.toLocaleString('en-US')}/${r.linesWritten.toLocaleString('en-US')}`).join(', '),
    );
    b.check(this.name, 'clean exit on SIGTERM', runs.every((r) => r.exitCode === 0), `exit codes ${runs.map((r) => String(r.exitCode)).join(', ')}`);
    b.detail('stall', runs);
  },
};
