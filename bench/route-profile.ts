// Where the agent's CPU goes on line-stages' `parse: json` rows (development tool, not part of
// `npm run bench`): the real agent ships the scenario's JSON file routed by field against the
// test cluster, raw first, then each routing; per run the CPU by thread kind from
// /proc/<pid>/task when Kafka held every record, optionally the main thread's V8 profile
// (--prof) and perf samples of every thread (--perf).
//
//   node dist/bench/route-profile.js [--lines N] [--runs N] [--only raw,keyed,keyless,one] [--prof] [--perf]

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentProcess } from '../test/helpers/agent-process.js';
import { agentYaml } from '../test/helpers/configs.js';
import { TestCluster } from '../test/helpers/cluster.js';
import { printMainThreadProfile } from './cpu-profile.js';
import { DEFAULT_PRODUCER, kafkaYaml } from './producer-settings.js';
import { writeJsonFile } from './scenarios/line-stages.js';
import { TopicCounter, waitForCount } from './watermarks.js';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const SERVICES = ['cart', 'checkout', 'search', 'auth'];

function threadKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = { js: 0, poll: 0, librdkafka: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const s = (Number(f[11]) + Number(f[12])) / 100;
    const kind = Number(tid) === pid ? 'js' : comm === 'logship-poll' ? 'poll' : comm.startsWith('rdk:') ? 'librdkafka' : 'other';
    out[kind] = out[kind]! + s;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '1' }, only: { type: 'string', default: 'raw,keyed,keyless,one' }, prof: { type: 'boolean', default: false }, perf: { type: 'boolean', default: false } },
  });
  const lines = Number(values.lines);
  const work = mkdtempSync(join(os.tmpdir(), 'logship-route-profile-'));
  const file = join(work, 'json.log');
  writeJsonFile(file, lines);
  const cluster = await TestCluster.start(3);
  try {
    for (let run = 1; run <= Number(values.runs); run++) {
      for (const kind of values.only.split(',')) {
        const dir = join(work, `${kind}-${run}`);
        const prof = join(dir, 'prof');
        mkdirSync(prof, { recursive: true });
        const t = `rp.${kind}.${run}.${Date.now()}`;
        const [input, topics] =
          kind === 'raw'
            ? [`    topic: ${t}`, [t]]
            : kind === 'keyed'
              ? [`    topic: "${t}.{json.service:-unknown}"\n    key: "{json.trace_id:-}"\n    parse: json`, SERVICES.map((s) => `${t}.${s}`)]
              : kind === 'keyless'
                ? [`    topic: "${t}.{json.service:-unknown}"\n    parse: json`, SERVICES.map((s) => `${t}.${s}`)]
                : [`    topic: "${t}.{json.http.method:-unknown}"\n    parse: json`, [`${t}.GET`]];
        const yaml = agentYaml({ dir, bootstrap: cluster.bootstrap, inputs: `  - id: bench\n    paths: [${JSON.stringify(file)}]\n    start_at: beginning\n${input}`, kafka: kafkaYaml(DEFAULT_PRODUCER) });
        const agent = AgentProcess.start(dir, yaml, {}, values.prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []);
        const pid = agent.child.pid!;
        const perfData = join(dir, 'perf.data');
        const perf = values.perf ? spawn('perf', ['record', '-q', '-F', '999', '-g', '-p', String(pid), '-o', perfData], { stdio: 'ignore' }) : null;
        const perfExited = perf === null ? Promise.resolve() : new Promise((resolve) => perf.once('exit', resolve));
        const counters = topics.map((x) => new TopicCounter(cluster, x));
        const all = { topic: topics.join('+'), count: async () => (await Promise.all(counters.map((c) => c.count()))).reduce((a, b) => a + b, 0) } as TopicCounter;
        await waitForCount(all, lines, 300_000);
        const threads = threadKinds(pid);
        perf?.kill('SIGINT');
        await agent.stop('SIGTERM');
        const total = Object.values(threads).reduce((a, b) => a + b, 0);
        const perM = (s: number): string => (s / (lines / 1e6)).toFixed(2);
        console.log(`${kind} run ${run} (load ${os.loadavg()[0]!.toFixed(1)}): ${perM(total)} CPU-s/M  ` + Object.entries(threads).map(([k, v]) => `${k} ${perM(v)}`).join('  '));
        printMainThreadProfile(prof, REPO_ROOT, 100);
        if (perf !== null) {
          await perfExited;
          console.log(`  perf data: ${perfData}`);
        }
      }
    }
  } finally {
    await cluster.stop();
    if (!values.perf) rmSync(work, { recursive: true, force: true });
  }
}

await main();
