// Scenario: what the line-processing stages of issue 12 cost the real agent, in CPU-seconds per
// million lines above shipping the same file raw, measured in the same run (paired rounds):
//   - `parser: cri` on a containerd log (2 % of its events in P/F pieces) vs that file raw;
//   - `parse: json` + topic and key by field (4 topics by {json.service}, key {json.trace_id})
//     on a file of JSON lines vs that file raw; and the same without the key (the raw run is
//     shared), to show what keyed records spread over partitions add; and routed by a field
//     that has one value in the file ({json.http.method}: one topic, no key), to tell the
//     agent's own per-line work (extraction, routing) from what four topics cost librdkafka.
//   - headers from templates (`headers: {service: "{json.service}"}`, then three), topic by field,
//     no key: what each header costs beside the keyless row.
// Beside them, kcat (librdkafka alone, the same producer settings) ships the same JSON lines to
// one topic keyless, to one topic keyed by trace_id (`-K`), and to the four service topics
// keyless and keyed (a topic per invocation): what spreading records over topics and
// partitions costs librdkafka itself, the part of the agent's figure that is not ours.
// Target: at most 1 CPU-s per million lines above raw, each. CPU is the agent process's
// (user + system, all threads) from spawn until Kafka held every record: start-up included in
// both sides of each difference.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentYaml } from '../../test/helpers/configs.js';
import { MeasuredAgent } from '../measured-agent.js';
import { kcatProduceFile, parseBashTimes } from '../kcat.js';
import { DEFAULT_PRODUCER, kafkaYaml, kcatProducerProperties } from '../producer-settings.js';
import { formatNumber, formatSpread } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { summarize } from '../stats.js';
import { TopicCounter, waitForCount } from '../watermarks.js';

const TARGET_ABOVE_RAW = 1;
const SERVICES = ['cart', 'checkout', 'search', 'auth'] as const;
const TIME = '2024-03-15T10:20:30.123456789Z';

function appMessage(i: number): string {
  return `10.0.${i % 256}.${(i * 7) % 256} - - [15/Mar/2024:10:20:30 +0000] "GET /api/v1/items/${i} HTTP/1.1" 200 ${i % 5000} rt=0.0${i % 10}`;
}

/** A containerd log of `events` events: one in 50 written as a P piece and its F line. */
function writeCriFile(path: string, events: number): number {
  const out: string[] = [];
  for (let i = 0; i < events; i++) {
    const m = appMessage(i);
    if (i % 50 === 0) out.push(`${TIME} stdout P ${m.slice(0, 40)}`, `${TIME} stdout F ${m.slice(40)}`);
    else out.push(`${TIME} ${i % 10 === 0 ? 'stderr' : 'stdout'} F ${m}`);
  }
  writeFileSync(path, out.join('\n') + '\n');
  return out.length;
}

export function writeJsonFile(path: string, lines: number): void {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(
      JSON.stringify({
        ts: '2024-03-15T10:20:30.123Z',
        level: i % 10 === 0 ? 'warn' : 'info',
        service: SERVICES[i % SERVICES.length],
        trace_id: `4bf92f3577b34da6a3ce929d0e0e${(i % 65536).toString(16).padStart(4, '0')}`,
        msg: `handled request ${i}`,
        http: { method: 'GET', status: 200, path: `/api/v1/items/${i}` },
        duration_ms: i % 97,
      }),
    );
  }
  writeFileSync(path, out.join('\n') + '\n');
}

/** The JSON file's lines per service, and the same as `trace_id<TAB>line` for kcat -K. */
function writeKcatFiles(jsonFile: string, dir: string): { plain: string[]; keyed: string[]; allKeyed: string } {
  const lines = readFileSync(jsonFile, 'utf8').split('\n').filter((l) => l !== '');
  const keyOf = (line: string): string => (JSON.parse(line) as { trace_id: string }).trace_id;
  const plain = SERVICES.map((s) => join(dir, `kcat-${s}.log`));
  const keyed = SERVICES.map((s) => join(dir, `kcat-${s}.keyed`));
  const allKeyed = join(dir, 'kcat-all.keyed');
  writeFileSync(allKeyed, lines.map((l) => `${keyOf(l)}\t${l}`).join('\n') + '\n');
  SERVICES.forEach((_, k) => {
    const mine = lines.filter((_, i) => i % SERVICES.length === k);
    writeFileSync(plain[k]!, mine.join('\n') + '\n');
    writeFileSync(keyed[k]!, mine.map((l) => `${keyOf(l)}\t${l}`).join('\n') + '\n');
  });
  return { plain, keyed, allKeyed };
}

/** kcat -P of `file` to `topic` (keyed: `-K<TAB>`), its CPU-seconds (bash `times`). */
async function kcatCpu(ctx: ScenarioContext, topic: string, file: string, keyed: boolean): Promise<number> {
  if (!keyed) return (await kcatProduceFile(ctx.cluster.bootstrap, topic, file, DEFAULT_PRODUCER).exited).cpuSeconds;
  const args = ['-P', '-b', ctx.cluster.bootstrap, '-t', topic, ...kcatProducerProperties(DEFAULT_PRODUCER), '-K', '\t', '-l', file];
  const child = spawn('bash', ['-c', 'kcat "$@"; rc=$?; times >&2; exit $rc', 'kcat', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`kcat ${args.join(' ')} exited with ${String(code)}: ${stderr}`);
  return parseBashTimes(stderr) ?? Number.NaN;
}

/** CPU-seconds of the agent's threads by kind: the JavaScript thread, our poll thread, librdkafka's threads (rdk:*), the rest (V8, libuv). */
interface ThreadCpu {
  js: number;
  poll: number;
  librdkafka: number;
  other: number;
}

function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = { js: 0, poll: 0, librdkafka: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    if (Number(tid) === pid) out.js += seconds;
    else if (comm === 'logship-poll') out.poll += seconds;
    else if (comm.startsWith('rdk:')) out.librdkafka += seconds;
    else out.other += seconds;
  }
  return out;
}

interface Run {
  threads: ThreadCpu;
  cpuSeconds: number;
  seconds: number;
  delivered: number;
}

/** Ships `file` with the input lines `inputYaml` (topic templates from `topics`), until `records` are in Kafka. */
async function ship(ctx: ScenarioContext, file: string, inputYaml: string, topics: string[], records: number): Promise<Run> {
  const dir = mkdtempSync(join(ctx.workDir, 'agent-'));
  const yaml = agentYaml({
    dir,
    bootstrap: ctx.cluster.bootstrap,
    inputs: `  - id: bench\n    paths: [${JSON.stringify(file)}]\n    start_at: beginning\n${inputYaml}`,
    kafka: kafkaYaml(DEFAULT_PRODUCER),
  });
  const agent = await MeasuredAgent.start({ dir, yaml });
  try {
    const counters = topics.map((t) => new TopicCounter(ctx.cluster, t));
    const all = { topic: topics.join('+'), count: async () => (await Promise.all(counters.map((c) => c.count()))).reduce((a, b) => a + b, 0) } as TopicCounter;
    const reached = await waitForCount(all, records, Math.max(60_000, records / 5));
    const cpuSeconds = agent.cpuSeconds();
    const threads = threadCpu(agent.pid);
    await agent.stop();
    return { threads, cpuSeconds, seconds: (reached.atMs - agent.spawnedAtMs) / 1000, delivered: await all.count() };
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const lineStagesScenario: Scenario = {
  name: 'line-stages',
  title: 'Line stages: CPU per million lines of parser: cri and of parse: json + field routing, above raw (same run)',
  async run(ctx) {
    const events = ctx.plan.throughput.lines;
    const criFile = join(ctx.workDir, 'containerd.log');
    const criLines = writeCriFile(criFile, events);
    const jsonFile = join(ctx.workDir, 'json.log');
    writeJsonFile(jsonFile, events);
    const rows: Array<{ name: string; raw: Run[]; staged: Run[]; lines: number }> = [
      { name: 'parser: cri', raw: [], staged: [], lines: criLines },
      { name: 'parse: json + topic/key by field', raw: [], staged: [], lines: events },
      // The same without the key: what spreading records over partitions by key adds.
      { name: 'parse: json + topic by field, no key', raw: [], staged: [], lines: events },
      { name: 'parse: json + topic by a one-valued field', raw: [], staged: [], lines: events },
      // Headers from templates (the `headers` map): one, then three per record, beside the keyless row.
      { name: 'parse: json + topic by field + 1 header template', raw: [], staged: [], lines: events },
      { name: 'parse: json + topic by field + 3 header templates', raw: [], staged: [], lines: events },
    ];
    const kcatFiles = writeKcatFiles(jsonFile, ctx.workDir);
    // kcat's CPU-s for the JSON lines: one topic keyless (its "raw"), one topic keyed, four topics keyless, four keyed.
    const kcat = { oneTopic: [] as number[], oneTopicKeyed: [] as number[], fourTopics: [] as number[], fourTopicsKeyed: [] as number[] };
    for (let run = 1; run <= ctx.plan.runs; run++) {
      // Paired: each stage's run right after its raw baseline, on the same file.
      let topic = ctx.topic('cri-raw');
      rows[0]!.raw.push(await ship(ctx, criFile, `    topic: ${topic}`, [topic], criLines));
      topic = ctx.topic('cri');
      rows[0]!.staged.push(await ship(ctx, criFile, `    topic: ${topic}\n    parser: cri`, [topic], events));
      topic = ctx.topic('json-raw');
      rows[1]!.raw.push(await ship(ctx, jsonFile, `    topic: ${topic}`, [topic], events));
      const prefix = ctx.topic('json');
      rows[1]!.staged.push(
        await ship(ctx, jsonFile, `    topic: "${prefix}.{json.service:-unknown}"\n    key: "{json.trace_id:-}"\n    parse: json`, SERVICES.map((s) => `${prefix}.${s}`), events),
      );
      rows[2]!.raw.push(rows[1]!.raw[rows[1]!.raw.length - 1]!);
      const keyless = ctx.topic('json-nokey');
      rows[2]!.staged.push(await ship(ctx, jsonFile, `    topic: "${keyless}.{json.service:-unknown}"\n    parse: json`, SERVICES.map((s) => `${keyless}.${s}`), events));
      rows[3]!.raw.push(rows[1]!.raw[rows[1]!.raw.length - 1]!);
      const single = ctx.topic('json-one');
      rows[3]!.staged.push(await ship(ctx, jsonFile, `    topic: "${single}.{json.http.method:-unknown}"\n    parse: json`, [`${single}.GET`], events));
      for (const [row, headers] of [
        [rows[4]!, '{service: "{json.service:-unknown}"}'],
        [rows[5]!, '{service: "{json.service:-unknown}", trace: "{json.trace_id:-none}", method: "{json.http.method:-}"}'],
      ] as const) {
        row.raw.push(rows[1]!.raw[rows[1]!.raw.length - 1]!);
        const t = ctx.topic('json-headers');
        row.staged.push(await ship(ctx, jsonFile, `    topic: "${t}.{json.service:-unknown}"\n    parse: json\n    headers: ${headers}`, SERVICES.map((s) => `${t}.${s}`), events));
      }
      kcat.oneTopic.push(await kcatCpu(ctx, ctx.topic('kcat-json'), jsonFile, false));
      kcat.oneTopicKeyed.push(await kcatCpu(ctx, ctx.topic('kcat-json-keyed'), kcatFiles.allKeyed, true));
      const kp = ctx.topic('kcat-json4');
      let four = 0;
      let fourKeyed = 0;
      for (const [k, service] of SERVICES.entries()) {
        four += await kcatCpu(ctx, `${kp}.${service}`, kcatFiles.plain[k]!, false);
        fourKeyed += await kcatCpu(ctx, `${kp}-keyed.${service}`, kcatFiles.keyed[k]!, true);
      }
      kcat.fourTopics.push(four);
      kcat.fourTopicsKeyed.push(fourKeyed);
    }
    const perM = (cpu: number[]): number[] => cpu.map((c) => c / (events / 1e6));
    ctx.book.figure(this.name, 'kcat, JSON lines to one topic keyless: CPU-s per million lines', 'CPU-s', perM(kcat.oneTopic));
    ctx.book.figure(this.name, 'kcat, to one topic keyed by trace_id, above one topic keyless (paired)', 'CPU-s', perM(kcat.oneTopicKeyed.map((c, i) => c - kcat.oneTopic[i]!)));
    ctx.book.figure(this.name, 'kcat, to 4 topics keyless (4 invocations), above one topic keyless (paired)', 'CPU-s', perM(kcat.fourTopics.map((c, i) => c - kcat.oneTopic[i]!)));
    ctx.book.figure(this.name, 'kcat, to 4 topics keyed (4 invocations), above one topic keyless (paired)', 'CPU-s', perM(kcat.fourTopicsKeyed.map((c, i) => c - kcat.oneTopic[i]!)));
    for (const row of rows) {
      const perMillion = (r: Run, lines: number): number => r.cpuSeconds / (lines / 1e6);
      // Per million lines of the file: the raw run ships every line of it, the staged one fewer
      // records (joined pieces) from the same lines.
      const above = row.staged.map((s, i) => perMillion(s, row.lines) - perMillion(row.raw[i]!, row.lines));
      ctx.book.figure(this.name, `${row.name}: CPU-s per million lines, raw`, 'CPU-s', row.raw.map((r) => perMillion(r, row.lines)));
      ctx.book.figure(this.name, `${row.name}: CPU-s per million lines`, 'CPU-s', row.staged.map((r) => perMillion(r, row.lines)));
      ctx.book.figure(this.name, `${row.name}: CPU-s per million lines above raw (paired runs)`, 'CPU-s', above, { op: '<=', value: TARGET_ABOVE_RAW });
      // Whose CPU the difference is: ours (the JavaScript thread, the poll thread) or librdkafka's threads.
      for (const kind of ['js', 'poll', 'librdkafka', 'other'] as const) {
        const byKind = row.staged.map((st, i) => (st.threads[kind] - row.raw[i]!.threads[kind]) / (row.lines / 1e6));
        ctx.book.figure(this.name, `${row.name}: ${kind} thread(s) CPU-s per million lines above raw`, 'CPU-s', byKind);
      }
    }
    ctx.book.table({
      scenario: this.name,
      title: 'median (min..max) over paired runs; CPU of the agent process from spawn to the last record in Kafka',
      columns: ['stage', 'file lines', 'raw lines/s', 'staged lines/s', 'raw CPU-s/M', 'staged CPU-s/M', 'above raw'],
      rows: rows.map((row) => [
        row.name,
        row.lines.toLocaleString('en-US'),
        formatSpread(row.raw.map((r) => row.lines / r.seconds)),
        formatSpread(row.staged.map((r) => row.lines / r.seconds)),
        formatNumber(summarize(row.raw.map((r) => r.cpuSeconds / (row.lines / 1e6))).median),
        formatNumber(summarize(row.staged.map((r) => r.cpuSeconds / (row.lines / 1e6))).median),
        formatNumber(summarize(row.staged.map((s, i) => (s.cpuSeconds - row.raw[i]!.cpuSeconds) / (row.lines / 1e6))).median),
      ]),
    });
    // Raw, every line of the file is a record; staged, every event (the cri file's P/F pairs are one).
    const bad = rows.flatMap((row) => [...row.raw.map((r): [Run, number] => [r, row.lines]), ...row.staged.map((r): [Run, number] => [r, events])]).filter(([r, n]) => r.delivered !== n);
    ctx.book.check(this.name, 'every run: records in Kafka == events (raw cri: its lines)', bad.length === 0, bad.length === 0 ? 'all exact' : `${bad.length} runs off`);
  },
};
