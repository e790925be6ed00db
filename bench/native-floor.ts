// What a shipment of the throughput scenario's file can cost on this machine at the least
// (development tool, not part of `npm run bench`): kcat, the agent and bench/floor/floor.c — a C
// producer with no JavaScript, reading the file and producing it through the agent's own
// librdkafka build (and through Debian's, kcat's) — alternate round by round against one
// cluster; medians of CPU-s per million lines and lines/s close the output.
//
//   node dist/bench/native-floor.js [--runs N] [--lines N] [--modes batch,producev,batch-ua,debian-batch,debian-producev] [--no-agent] [--rsyslog]
//
// Why it exists: issue #10's absolute targets (<= 1.0 CPU-s per million lines, >= 4 x rsyslog's
// lines/s) were set where kcat cost 0.65 CPU-s per million lines. The floor says what is left to
// the agent on the machine at hand: its figure minus the floor's is the agent's own cost. Every
// shipper is timed alike, from its spawn until it exits with every record acknowledged (the agent
// and rsyslog: until Kafka holds every line, as in `npm run bench`).
// floor.c is compiled here with the system's C compiler (the native addon's toolchain).

import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TestCluster } from '../test/helpers/cluster.js';
import { ToolError } from './errors.js';
import { shipWithAgent, shipWithKcat, shipWithRsyslog } from './file-to-topic.js';
import type { InputFile } from './input-files.js';
import type { ScenarioContext } from './scenario.js';
import { DEFAULT_PRODUCER, kcatProducerProperties } from './producer-settings.js';
import { summarize } from './stats.js';
import { toolContext } from './tool-context.js';
import { TopicCounter } from './watermarks.js';

const SOURCE = fileURLToPath(new URL('../../bench/floor/floor.c', import.meta.url));
const DEBIAN_LIBRDKAFKA = '/usr/lib/x86_64-linux-gnu/librdkafka.so.1';
const MODES = ['batch', 'batch-ua', 'producev', 'debian-batch', 'debian-producev'] as const;
type Mode = (typeof MODES)[number];

/** What floor.c prints on its last line. */
interface FloorRun {
  lines: number;
  delivered: number;
  failed: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
}

/** The directory of the binding's librdkafka.so.1 and its headers (the agent's build). */
function bindingLibrdkafka(): { libDir: string; includeDir: string } {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@confluentinc/kafka-javascript/package.json'));
  return { libDir: join(pkg, 'build', 'deps'), includeDir: join(pkg, 'build', 'deps', 'include') };
}

/** Builds floor.c twice: against the agent's librdkafka (run path to it) and Debian's (kcat's). */
function buildFloor(dir: string): { binding: string; debian: string } {
  const { libDir, includeDir } = bindingLibrdkafka();
  const binding = join(dir, 'floor-binding');
  const debian = join(dir, 'floor-debian');
  const cc = (out: string, lib: string[]): void => {
    const args = ['-O2', '-o', out, SOURCE, `-I${includeDir}`, ...lib];
    try {
      execFileSync('cc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new ToolError('cc', args, (err as { stderr?: Buffer }).stderr?.toString() ?? String(err));
    }
  };
  cc(binding, [`-L${libDir}`, '-l:librdkafka.so.1', `-Wl,-rpath,${libDir}`]);
  // Debian's librdkafka has no development package here: the same declarations (2.15's header;
  // every function floor.c calls exists in 2.0.2 with the same signature), linked by path.
  cc(debian, [DEBIAN_LIBRDKAFKA]);
  return { binding, debian };
}

async function runFloor(exe: string, mode: string, ctx: ScenarioContext, input: InputFile): Promise<FloorRun & { topic: string; wallSeconds: number }> {
  const topic = ctx.topic(`floor-${mode}`);
  const props = kcatProducerProperties(DEFAULT_PRODUCER).filter((a) => a !== '-X');
  const args = [ctx.cluster.bootstrap, topic, input.path, mode, ...props];
  const spawnedAt = performance.now();
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errText = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (errText += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const wallSeconds = (performance.now() - spawnedAt) / 1000;
  if (code !== 0) throw new ToolError(exe, args, `exited with ${String(code)}: ${errText.trim()}`);
  const run = JSON.parse(out.trim().split('\n').pop()!) as FloorRun;
  const delivered = await new TopicCounter(ctx.cluster, topic).count();
  if (run.lines !== input.lines || run.delivered !== input.lines || delivered !== input.lines) {
    throw new ToolError(exe, args, `produced ${run.lines}, reported ${run.delivered} delivered, Kafka holds ${delivered} of ${input.lines}`);
  }
  return { ...run, topic, wallSeconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, lines: { type: 'string', default: '1000000' }, modes: { type: 'string', default: 'batch,producev,debian-producev' }, 'no-agent': { type: 'boolean', default: false }, rsyslog: { type: 'boolean', default: false } },
  });
  const modes = values.modes.split(',') as Mode[];
  const unknown = modes.filter((m) => !MODES.includes(m));
  if (unknown.length > 0) throw new Error(`unknown mode ${unknown.join(', ')} (known: ${MODES.join(', ')})`);
  const runs = Number(values.runs);
  const lines = Number(values.lines);
  const workRoot = mkdtempSync(join(os.tmpdir(), 'logship-floor-'));
  const exes = buildFloor(workRoot);
  const cluster = await TestCluster.start(3);
  const ctx = toolContext('floor', workRoot, cluster);

  const input = ctx.inputs.get(lines, 125);
  const m = lines / 1e6;
  const rows = new Map<string, number[]>();
  const add = (k: string, v: number): void => void (rows.get(k) ?? rows.set(k, []).get(k)!).push(v);
  try {
    for (let run = 1; run <= runs; run++) {
      let line = `run ${run} load ${os.loadavg()[0]!.toFixed(1)}:`;
      const kcat = await shipWithKcat(ctx, input, DEFAULT_PRODUCER);
      add('kcat CPU-s/M', kcat.cpuSeconds / m);
      add('kcat lines/s', kcat.linesPerSecond);
      line += ` kcat ${(kcat.cpuSeconds / m).toFixed(2)} CPU-s/M ${Math.round(kcat.linesPerSecond)}/s`;
      let rsyslogLinesPerSecond: number | null = null;
      if (values.rsyslog) {
        const r = await shipWithRsyslog(ctx, input, DEFAULT_PRODUCER);
        if (r.delivered !== lines || r.exit.code !== 0) throw new Error(`rsyslog: delivered ${r.delivered}, exit ${r.exit.code}`);
        add('rsyslog CPU-s/M', r.cpuSeconds / m);
        add('rsyslog lines/s', r.linesPerSecond);
        rsyslogLinesPerSecond = r.linesPerSecond;
        add('kcat / rsyslog lines/s', kcat.linesPerSecond / r.linesPerSecond);
        line += ` | rsyslog ${(r.cpuSeconds / m).toFixed(2)} CPU-s/M ${Math.round(r.linesPerSecond)}/s`;
      }
      for (const mode of modes) {
        const exe = mode.startsWith('debian-') ? exes.debian : exes.binding;
        const f = await runFloor(exe, mode.replace(/^debian-/, ''), ctx, input);
        add(`floor ${mode} CPU-s/M`, f.cpuSeconds / m);
        add(`floor ${mode} lines/s`, lines / f.wallSeconds);
        add(`floor ${mode} / kcat CPU`, f.cpuSeconds / kcat.cpuSeconds);
        if (rsyslogLinesPerSecond !== null) add(`floor ${mode} / rsyslog lines/s`, lines / f.wallSeconds / rsyslogLinesPerSecond);
        line += ` | ${mode} ${(f.cpuSeconds / m).toFixed(2)} CPU-s/M ${Math.round(lines / f.wallSeconds)}/s ${f.maxRssMiB.toFixed(0)} MiB`;
      }
      if (!values['no-agent']) {
        const a = await shipWithAgent(ctx, input, DEFAULT_PRODUCER);
        if (a.delivered !== lines || a.committedOffset !== input.bytes || a.exit.code !== 0) throw new Error(`agent: delivered ${a.delivered}, offset ${a.committedOffset}, exit ${a.exit.code}`);
        add('agent CPU-s/M', a.cpuSeconds / m);
        add('agent lines/s', a.linesPerSecond);
        add('agent / kcat CPU', a.cpuSeconds / kcat.cpuSeconds);
        if (rsyslogLinesPerSecond !== null) add('agent / rsyslog lines/s', a.linesPerSecond / rsyslogLinesPerSecond);
        line += ` | agent ${(a.cpuSeconds / m).toFixed(2)} CPU-s/M ${Math.round(a.linesPerSecond)}/s (start-up ${a.startupMs.toFixed(0)} ms)`;
      }
      process.stdout.write(line + '\n');
    }
  } finally {
    await cluster.stop();
    rmSync(workRoot, { recursive: true, force: true });
  }
  process.stdout.write('medians [min..max]:\n');
  for (const [k, vs] of rows) {
    const s = summarize(vs);
    const digits = k.endsWith(' lines/s') && !k.includes(' / ') ? 0 : 2;
    process.stdout.write(`  ${k.padEnd(30)} ${s.median.toFixed(digits)} [${s.min.toFixed(digits)}..${s.max.toFixed(digits)}]\n`);
  }
  process.stdout.write(`load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`native-floor: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
