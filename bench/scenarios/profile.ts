// Scenario 1 once more with the agent under the V8 CPU profiler (--cpu-prof), not counted in
// the figures (the profiler slows it): the top functions and code areas by self time, which
// is where optimisation should start.

import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCpuProfile, summarizeCpuProfile, type ProfileRow } from '../cpu-profile.js';
import { BenchError } from '../errors.js';
import { shipWithAgent } from '../file-to-topic.js';
import { DEFAULT_PRODUCER } from '../producer-settings.js';
import { formatNumber } from '../results.js';
import type { Scenario } from '../scenario.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TOP_FUNCTIONS = 25;

function rows(list: ProfileRow[], withLocation: boolean): string[][] {
  return list.map((r, i) => [
    String(i + 1),
    withLocation ? `${r.name}  ${r.location}` : r.name,
    formatNumber(r.selfMs),
    r.name === '(idle)' ? '-' : r.percentOfBusy.toFixed(1),
    r.percentOfTotal.toFixed(1),
  ]);
}

export const profileScenario: Scenario = {
  name: 'profile',
  title: 'Profile: scenario 1 under node --cpu-prof (not timed)',
  async run(ctx) {
    const { lines, lineBytes } = ctx.plan.throughput;
    const input = ctx.inputs.get(lines, lineBytes);
    const dir = join(ctx.benchDir, 'prof', ctx.runId);
    mkdirSync(dir, { recursive: true });
    const shipment = await shipWithAgent(ctx, input, DEFAULT_PRODUCER, { cpuProfileDir: dir });
    ctx.book.figure(this.name, 'logship lines/s under the profiler', 'lines/s', [shipment.linesPerSecond]);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new BenchError(`no .cpuprofile written in ${dir}`, this.name);
    const path = join(dir, file);
    const summary = summarizeCpuProfile(readCpuProfile(path), path, REPO_ROOT, TOP_FUNCTIONS);
    const busyMs = summary.totalMs - summary.idleMs;
    ctx.book.table({
      scenario: this.name,
      title: `Top ${TOP_FUNCTIONS} functions by self time, main thread (${formatNumber(summary.totalMs)} ms sampled, ${formatNumber(busyMs)} ms busy, ${formatNumber(summary.idleMs)} ms idle)`,
      columns: ['#', 'function  location', 'self ms', '% busy', '% total'],
      rows: rows(summary.topFunctions, true),
    });
    ctx.book.table({ scenario: this.name, title: 'Self time by code area', columns: ['#', 'area', 'self ms', '% busy', '% total'], rows: rows(summary.byArea, false) });
    ctx.book.detail('profile', summary);
    ctx.log.info({ profile: path }, 'CPU profile written');
  },
};
