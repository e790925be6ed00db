// Where the agent's CPU goes on the throughput scenario's raw 1M-line shipment (development
// tool, not part of `npm run bench`): per thread from /proc/<pid>/task when Kafka holds every
// line, the main thread's V8 profile by code area, and — when `perf` is installed — samples of
// every thread by shared object (librdkafka, lz4, libc, the kernel, node/V8 itself).
//
//   node dist/bench/cpu-breakdown.js [--runs N] [--lines N] [--perf | --perf-shipment] [--plain]
//
// Each thread's CPU is also split at "logship running" (registry loaded, producer created, just
// before the first read): the start-up, and the shipment after it — the per-line cost. --plain
// runs the agent without the V8 profiler (its sampling costs the main thread ~5-10 %), for
// before/after comparisons; medians over the runs close the output.
//
// perf attaches right after the spawn (`perf record -p`), so node's first milliseconds are
// missed; start-up is measured on its own (bench/startup.ts). --perf-shipment attaches at
// "logship running" instead: samples of the shipment alone (the per-line cost). With perf the agent runs with
// --perf-basic-prof, so perf names JIT-compiled JavaScript functions (`perf report --no-children
// --sort sym --tid <pid>` for the JavaScript thread alone).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentProcess } from '../test/helpers/agent-process.js';
import { agentYaml } from '../test/helpers/configs.js';
import { TestCluster } from '../test/helpers/cluster.js';
import { printMainThreadProfile } from './cpu-profile.js';
import { InputFiles } from './input-files.js';
import { DEFAULT_PRODUCER, kafkaYaml } from './producer-settings.js';
import { TopicCounter, waitForCount } from './watermarks.js';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** CPU seconds per thread name (threads of one name summed), from /proc/<pid>/task. */
export function threadCpu(pid: number): Map<string, number> {
  const ticks = 100;
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // Node's main thread, V8's helpers and libuv's pool are all called "node".
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main (JavaScript)' : comm === 'node' ? 'node helpers (V8 GC/compiler, libuv pool)' : comm;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / ticks);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Medians [min..max] over the runs: totals, and each thread after the start-up. */
interface Run {
  total: number;
  startup: number;
  after: Map<string, number>;
  peakRssMiB: number;
}

function printMedians(runs: Run[]): void {
  if (runs.length < 2) return;
  const row = (label: string, xs: number[]): void => console.log(`  ${label.padEnd(49)} ${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)}]`);
  console.log(`medians of ${runs.length} runs, CPU-s [min..max]:`);
  row('total', runs.map((r) => r.total));
  row('start-up', runs.map((r) => r.startup));
  row('after start-up', runs.map((r) => r.total - r.startup));
  row('peak RSS, MiB (VmHWM when Kafka held every line)', runs.map((r) => r.peakRssMiB));
  const names = new Set(runs.flatMap((r) => [...r.after.keys()]));
  for (const name of names) {
    const xs = runs.map((r) => r.after.get(name) ?? 0);
    if (Math.max(...xs) >= 0.005) row(`after start-up: ${name}`, xs);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, lines: { type: 'string', default: '1000000' }, perf: { type: 'boolean', default: false }, 'perf-shipment': { type: 'boolean', default: false }, plain: { type: 'boolean', default: false } } });
  const work = mkdtempSync(join(os.tmpdir(), 'logship-breakdown-'));
  const cluster = await TestCluster.start(3);
  try {
    const input = new InputFiles(work).get(Number(values.lines), 125);
    const perRun: Run[] = [];
    for (let run = 1; run <= Number(values.runs); run++) {
      const dir = join(work, `run-${run}`);
      const prof = join(dir, 'prof');
      mkdirSync(prof, { recursive: true });
      const topic = `breakdown.${run}.${Date.now()}`;
      const yaml = agentYaml({
        dir,
        bootstrap: cluster.bootstrap,
        inputs: `  - id: bench\n    paths: [${JSON.stringify(input.path)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}`,
        kafka: kafkaYaml(DEFAULT_PRODUCER),
      });
      // With perf, node writes /tmp/perf-<pid>.map (kept after exit: delete it) so that perf names JIT-compiled JavaScript.
      const nodeArgs = [...(values.plain ? [] : ['--cpu-prof', '--cpu-prof-dir', prof]), ...(values.perf || values['perf-shipment'] ? ['--perf-basic-prof'] : [])];
      const agent = AgentProcess.start(dir, yaml, {}, nodeArgs);
      const pid = agent.child.pid!;
      const perfData = join(dir, 'perf.data');
      const recordPerf = (): ChildProcess => spawn('perf', ['record', '-q', '-F', '1999', '-g', '-p', String(pid), '-o', perfData], { stdio: 'ignore' });
      let perf = values.perf && !values['perf-shipment'] ? recordPerf() : null;
      const counter = new TopicCounter(cluster, topic);
      await agent.waitForLog((e) => e.msg === 'logship running', 60_000, '"logship running"');
      if (values['perf-shipment']) perf = recordPerf();
      const perfExited = perf === null ? Promise.resolve() : new Promise((resolve) => perf.once('exit', resolve));
      const atStart = threadCpu(pid);
      await waitForCount(counter, input.lines, 300_000);
      const threads = threadCpu(pid);
      const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
      perf?.kill('SIGINT');
      await agent.stop('SIGTERM');
      const total = [...threads.values()].reduce((a, b) => a + b, 0);
      const startup = [...atStart.values()].reduce((a, b) => a + b, 0);
      const after = new Map([...threads].map(([name, s]) => [name, s - (atStart.get(name) ?? 0)]));
      perRun.push({ total, startup, after, peakRssMiB });
      console.log(`run ${run} (load ${os.loadavg()[0]!.toFixed(1)}): ${total.toFixed(2)} CPU-s when Kafka held every line (start-up ${startup.toFixed(2)}, after it ${(total - startup).toFixed(2)}), peak RSS ${peakRssMiB.toFixed(1)} MiB`);
      for (const [name, s] of [...threads].sort((a, b) => b[1] - a[1])) console.log(`  thread ${name.padEnd(42)} ${s.toFixed(2)} s  (after start-up ${after.get(name)!.toFixed(2)})`);
      printMainThreadProfile(prof, REPO_ROOT);
      if (perf !== null) {
        await perfExited;
        console.log(`  perf data: ${perfData} (perf report -i ${perfData} --sort comm,dso --no-children)`);
      }
    }
    printMedians(perRun);
  } finally {
    await cluster.stop();
    if (!values.perf && !values['perf-shipment']) rmSync(work, { recursive: true, force: true });
  }
}

await main();
