// Start-up CPU of the agent (development tool, not part of `npm run bench`): CPU time of all
// its threads from the spawn to its "logship running" log line (the registry loaded, files
// opened, producer created: just before its first read), per entry script, alternated run by
// run so that every script sees the same background load. Read from /proc/<pid>/task/*/schedstat
// (nanoseconds; /proc/<pid>/stat counts 10 ms ticks). No Kafka needed: the producer is created
// against an address nobody listens on, and the agent is stopped right after.
//
//   node dist/bench/startup.js [--runs N] ENTRY.js[@FLAG,FLAG...] [...]
//   e.g. node dist/bench/startup.js --runs 5 dist/src/cli/logship.blob dist/src/cli/main.js
// An ENTRY ending in .blob is a startup snapshot (src/cli/snapshot.ts), started as
// `node FLAGS --snapshot-blob ENTRY run -c ...`.
// An entry's own node flags after `@` replace the agent's (src/cli/node-flags.ts) for it, e.g.
// `dist/src/cli/cli.js@--max-semi-space-size=4` for a build with other flags before.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { AGENT_NODE_FLAGS } from '../src/cli/node-flags.js';
import { memoryUse } from './proc-stats.js';
import { summarize } from './stats.js';

/** CPU nanoseconds of every live thread of `pid`. */
function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

interface StartupSample {
  cpuMs: number;
  /** Wall time from just before the spawn to reading the "logship running" line, ms. */
  wallMs: number;
  /** VmRSS at "logship running", MiB. */
  rssMiB: number;
}

async function startup(spec: string, config: string): Promise<StartupSample> {
  const [entry, flags] = spec.split('@') as [string, string | undefined];
  const nodeFlags = flags === undefined ? AGENT_NODE_FLAGS : flags.split(',').filter((f) => f !== '');
  // A startup snapshot (`npm run build`'s logship.blob) is started from the blob, not a script.
  const script = entry.endsWith('.blob') ? ['--snapshot-blob', entry] : [entry];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, ...script, 'run', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.includes('"msg":"logship running"')) return { cpuMs: cpuNs(child.pid!) / 1e6, wallMs: performance.now() - spawnedAt, rssMiB: memoryUse(child.pid!).rssMiB };
    }
    throw new Error(`${entry} exited before "logship running"`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '5' } } });
  if (positionals.length === 0) throw new Error('usage: node dist/bench/startup.js [--runs N] ENTRY.js [ENTRY.js ...]');
  const dir = mkdtempSync(join(os.tmpdir(), 'logship-startup-'));
  try {
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'app.log'), 'one line\n');
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      `agent: {data_dir: ${JSON.stringify(join(dir, 'data'))}, shutdown_timeout: 1s}\ninputs:\n  - id: app\n    paths: [${JSON.stringify(join(dir, 'logs', '*.log'))}]\n    topic: startup\nkafka: {brokers: ["127.0.0.1:9"]}\nmetrics: {listen: ""}\n`,
    );
    const entries = positionals.map((p) => (p.includes('@') ? `${resolve(p.slice(0, p.indexOf('@')))}${p.slice(p.indexOf('@'))}` : resolve(p)));
    const samples = new Map(entries.map((e) => [e, [] as StartupSample[]]));
    for (let run = 1; run <= Number(values.runs); run++) {
      for (const entry of entries) samples.get(entry)!.push(await startup(entry, config));
    }
    console.log(`load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; CPU and wall ms from spawn to "logship running" and VmRSS then, median [min..max]:`);
    for (const [entry, list] of samples) {
      const cpu = summarize(list.map((s) => s.cpuMs));
      const wall = summarize(list.map((s) => s.wallMs));
      const rss = summarize(list.map((s) => s.rssMiB));
      console.log(`  ${entry}: CPU ${cpu.median.toFixed(0)} ms [${cpu.min.toFixed(0)}..${cpu.max.toFixed(0)}]  (${list.map((s) => s.cpuMs.toFixed(0)).join(' ')}); wall ${wall.median.toFixed(0)} ms [${wall.min.toFixed(0)}..${wall.max.toFixed(0)}]; RSS ${rss.median.toFixed(1)} MiB [${rss.min.toFixed(1)}..${rss.max.toFixed(1)}]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
