// The agent's CPU and peak RSS under different memory allocators (development tool, not part
// of `npm run bench`): the throughput scenario's raw 1M-line shipment, and the same with
// `headers: true`, shipped by the agent under each allocator in turn, the order rotated round
// by round so that every allocator sees the same background load. An allocator is an
// environment for the agent: LD_PRELOAD of a malloc library, glibc's tunables, jemalloc's
// MALLOC_CONF (the whole list is below; --only picks some, glibc always runs as the baseline).
//
//   node dist/bench/allocators.js [--rounds N] [--lines N] [--only name,name] [--variants raw,headers]
//
// CPU per thread from /proc/<pid>/task when Kafka holds every line (the JavaScript thread,
// librdkafka's broker threads, the delivery poll thread, node's helpers), split at "logship
// running" (start-up, then the shipment); peak RSS = VmHWM then. Medians [min..max] close the
// output, each allocator's total paired per round with the first one's (glibc). For the same
// comparison in `npm run bench` beside kcat and rsyslog, give the agent its environment with
// LOGSHIP_BENCH_AGENT_ENV (bench/measured-agent.ts).

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentProcess } from '../test/helpers/agent-process.js';
import { agentYaml } from '../test/helpers/configs.js';
import { TestCluster } from '../test/helpers/cluster.js';
import { InputFiles } from './input-files.js';
import { DEFAULT_PRODUCER, kafkaYaml } from './producer-settings.js';
import { summarize } from './stats.js';
import { TopicCounter, waitForCount } from './watermarks.js';

const LIB = '/usr/lib/x86_64-linux-gnu';
const JEMALLOC = { LD_PRELOAD: `${LIB}/libjemalloc.so.2` };
const MIMALLOC = { LD_PRELOAD: `${LIB}/libmimalloc.so.2` };
const TCMALLOC = { LD_PRELOAD: `${LIB}/libtcmalloc_minimal.so.4` };

/**
 * Name → the agent's environment (Debian's libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4;
 * glibc 2.36's tunables). The first is the baseline the others are paired with. Everything
 * measured for README, Performance ("The allocator"), so that a later run can repeat it.
 */
const ALLOCATORS: ReadonlyArray<readonly [string, NodeJS.ProcessEnv]> = [
  ['glibc', {}],
  ['jemalloc', JEMALLOC],
  ['jemalloc-decay', { ...JEMALLOC, MALLOC_CONF: 'background_thread:false,dirty_decay_ms:1000,muzzy_decay_ms:0' }],
  ['jemalloc-d0', { ...JEMALLOC, MALLOC_CONF: 'dirty_decay_ms:0,muzzy_decay_ms:0' }],
  ['jemalloc-ovs128k', { ...JEMALLOC, MALLOC_CONF: 'oversize_threshold:131072' }],
  ['jemalloc-ovs32k', { ...JEMALLOC, MALLOC_CONF: 'oversize_threshold:32768' }],
  ['jemalloc-1arena', { ...JEMALLOC, MALLOC_CONF: 'narenas:1' }],
  ['jemalloc-1arena-d0', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0' }],
  ['jemalloc-1arena-bg', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0' }],
  ['jemalloc-1arena-bg1s', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,background_thread:true,dirty_decay_ms:1000' }],
  ['jemalloc-1arena-ovs128k', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,oversize_threshold:131072' }],
  ['jemalloc-1arena-ovs1m', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,oversize_threshold:1048576' }],
  ['jemalloc-1arena-notcache', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,tcache:false' }],
  ['jemalloc-1arena-tcache8k', { ...JEMALLOC, MALLOC_CONF: 'narenas:1,tcache_max:8192' }],
  ['mimalloc', MIMALLOC],
  ['mimalloc-reset0', { ...MIMALLOC, MIMALLOC_RESET_DELAY: '0', MIMALLOC_PAGE_RESET: '1' }],
  ['tcmalloc', TCMALLOC],
  ['tcmalloc-decommit', { ...TCMALLOC, TCMALLOC_AGGRESSIVE_DECOMMIT: 'true' }],
  ['glibc-tcache4k', { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=4096' }],
  ['glibc-arena1', { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }],
  ['glibc-arena2', { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }],
  ['glibc-mxfast0', { GLIBC_TUNABLES: 'glibc.malloc.mxfast=0' }],
  ['glibc-mxfast0-arena1', { GLIBC_TUNABLES: 'glibc.malloc.mxfast=0:glibc.malloc.arena_max=1' }],
  ['glibc-tcache4k-arena1', { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=4096:glibc.malloc.arena_max=1' }],
];

const VARIANTS = { raw: 'false', headers: 'true' } as const;
type Variant = keyof typeof VARIANTS;

/** CPU-s by thread group, from /proc/<pid>/task. */
function cpuByGroup(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const group = tid === String(pid) ? 'js' : comm.startsWith('rdk:broker') ? 'broker' : comm === 'logship-poll' ? 'poll' : comm === 'node' ? 'node' : 'other';
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(group, (out.get(group) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

interface Shipment {
  total: number;
  startup: number;
  groups: Map<string, number>;
  peakRssMiB: number;
  seconds: number;
}

const spread = (xs: number[]): string => {
  const { median, min, max } = summarize(xs);
  return `${median.toFixed(2)} [${min.toFixed(2)}..${max.toFixed(2)}]`;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '3' }, lines: { type: 'string', default: '1000000' }, only: { type: 'string' }, variants: { type: 'string', default: 'raw,headers' } },
  });
  const only = values.only?.split(',');
  const unknown = only?.filter((name) => !ALLOCATORS.some(([known]) => known === name)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: unknown ${unknown.join(', ')}; known: ${ALLOCATORS.map(([name]) => name).join(', ')}`);
  const allocators = ALLOCATORS.filter(([name], i) => i === 0 || !only || only.includes(name));
  const variants = values.variants.split(',') as Variant[];
  for (const v of variants) if (!(v in VARIANTS)) throw new Error(`--variants: unknown ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const work = mkdtempSync(join(os.tmpdir(), 'logship-allocators-'));
  const cluster = await TestCluster.start(3);
  const results = new Map<string, Shipment[]>();
  try {
    const input = new InputFiles(work).get(Number(values.lines), 125);
    const millions = input.lines / 1e6;
    let n = 0;
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = allocators.map((_, i) => allocators[(i + round) % allocators.length]!);
      for (const variant of variants) {
        for (const [name, env] of order) {
          const dir = join(work, `s${++n}`);
          mkdirSync(dir);
          const topic = `alloc.${n}.${Date.now()}`;
          const yaml = agentYaml({
            dir,
            bootstrap: cluster.bootstrap,
            inputs: `  - id: bench\n    paths: [${JSON.stringify(input.path)}]\n    start_at: beginning\n    topic: ${JSON.stringify(topic)}\n    headers: ${VARIANTS[variant]}`,
            kafka: kafkaYaml(DEFAULT_PRODUCER),
          });
          const spawnedAt = performance.now();
          const agent = AgentProcess.start(dir, yaml, env);
          const pid = agent.child.pid!;
          await agent.waitForLog((e) => e.msg === 'logship running', 60_000, '"logship running"');
          const atStart = cpuByGroup(pid);
          const preload = env.LD_PRELOAD;
          if (preload !== undefined && !readFileSync(`/proc/${pid}/maps`, 'utf8').includes(preload)) throw new Error(`${name}: ${preload} is not mapped in the agent`);
          await waitForCount(new TopicCounter(cluster, topic), input.lines, 300_000);
          const seconds = (performance.now() - spawnedAt) / 1000;
          const groups = cpuByGroup(pid);
          const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
          const exit = await agent.stop('SIGTERM');
          if (exit.code !== 0) throw new Error(`${name} ${variant}: agent exited ${String(exit.code ?? exit.signal)}\n${agent.stderr.join('\n')}`);
          rmSync(dir, { recursive: true, force: true });
          const total = [...groups.values()].reduce((a, b) => a + b, 0) / millions;
          const startup = [...atStart.values()].reduce((a, b) => a + b, 0);
          for (const [g, s] of groups) groups.set(g, (s - (atStart.get(g) ?? 0)) / millions);
          const key = `${variant} ${name}`;
          results.set(key, [...(results.get(key) ?? []), { total, startup, groups, peakRssMiB, seconds }]);
          const split = ['js', 'broker', 'poll', 'node'].map((g) => `${g} ${(groups.get(g) ?? 0).toFixed(2)}`).join(', ');
          console.log(`round ${round + 1} ${key.padEnd(30)} ${total.toFixed(2)} CPU-s/M (start-up ${startup.toFixed(2)} s; after it: ${split}), peak RSS ${peakRssMiB.toFixed(1)} MiB, ${seconds.toFixed(2)} s, load ${os.loadavg()[0]!.toFixed(1)}`);
        }
      }
    }
    console.log(`\nmedians [min..max] of ${values.rounds} rounds, CPU-s per million lines when Kafka held every line; "x base" paired per round with ${allocators[0]![0]}:`);
    for (const variant of variants) {
      const base = results.get(`${variant} ${allocators[0]![0]}`)!;
      for (const [name] of allocators) {
        const runs = results.get(`${variant} ${name}`)!;
        const groups = ['js', 'broker', 'poll', 'node'].map((g) => `${g} ${spread(runs.map((r) => r.groups.get(g) ?? 0))}`).join(', ');
        console.log(
          `${`${variant} ${name}`.padEnd(30)} total ${spread(runs.map((r) => r.total))}  x base ${spread(runs.map((r, i) => r.total / base[i]!.total))}  start-up ${spread(runs.map((r) => r.startup))}  RSS ${spread(runs.map((r) => r.peakRssMiB))}  s ${spread(runs.map((r) => r.seconds))}\n${' '.repeat(32)}${groups}`,
        );
      }
    }
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
