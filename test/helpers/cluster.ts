// The one small API tests use to talk to Kafka: start/stop/stall a 3-broker test cluster in a
// child process, read topics back with kcat (an independent librdkafka build), and count
// delivered records by high watermarks (the mock trims old batches past ~5 MiB/partition, so
// large volumes are verified by counts, contents on smaller ones).

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const CHILD = fileURLToPath(new URL('./cluster-child.js', import.meta.url));

export interface KafkaRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

export class TestCluster {
  private constructor(
    private readonly child: ChildProcess,
    readonly bootstrap: string,
  ) {}

  static async start(brokers = 3): Promise<TestCluster> {
    const child = spawn(process.execPath, [CHILD, String(brokers)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const first = await Promise.race([
      once(lines, 'line').then(([l]) => String(l)),
      once(child, 'exit').then(([code]) => {
        throw new Error(`test cluster exited with ${String(code)} before listening`);
      }),
    ]);
    lines.close();
    const { bootstrap } = JSON.parse(first) as { bootstrap: string };
    return new TestCluster(child, bootstrap);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Freezes every broker (SIGSTOP): connections stay open, nothing answers. */
  stall(): void {
    this.child.kill('SIGSTOP');
  }

  /**
   * Resolves once every thread of the cluster process is stopped: SIGSTOP is asynchronous, and
   * on a loaded machine a broker thread can still answer a request right after stall().
   */
  async stalled(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tasks = readdirSync(`/proc/${this.pid}/task`);
      const states = tasks.map((t) => {
        try {
          const stat = readFileSync(`/proc/${this.pid}/task/${t}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        } catch {
          return 'T'; // the thread is gone
        }
      });
      if (states.every((s) => s === 'T' || s === 't')) return;
      if (Date.now() > deadline) throw new Error(`test cluster not stopped after ${timeoutMs} ms (thread states ${states.join('')})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  partitions(topic: string): Promise<number[]> {
    return kcatPartitions(this.bootstrap, topic);
  }

  count(topic: string): Promise<number> {
    return kcatCount(this.bootstrap, topic);
  }

  consume(topic: string): Promise<KafkaRecord[]> {
    return kcatConsume(this.bootstrap, topic);
  }
}

/** Partition ids of a topic (empty when it does not exist). */
export async function kcatPartitions(bootstrap: string, topic: string): Promise<number[]> {
  const { stdout } = await execFileP('kcat', ['-L', '-J', '-b', bootstrap, '-t', topic, '-m', '10'], { maxBuffer: 1 << 26 });
  const md = JSON.parse(stdout) as { topics: Array<{ topic: string; error?: string; partitions: Array<{ partition: number }> }> };
  const t = md.topics.find((x) => x.topic === topic);
  if (!t || t.error) return [];
  return t.partitions.map((p) => p.partition).sort((a, b) => a - b);
}

/** Sum of the high watermarks of every partition: the number of records delivered. */
export async function kcatCount(bootstrap: string, topic: string): Promise<number> {
  const parts = await kcatPartitions(bootstrap, topic);
  if (parts.length === 0) return 0;
  const args = ['-Q', '-b', bootstrap];
  for (const p of parts) args.push('-t', `${topic}:${p}:-1`);
  const { stdout } = await execFileP('kcat', args, { maxBuffer: 1 << 26 });
  let sum = 0;
  for (const m of stdout.matchAll(/\[(\d+)\] offset (-?\d+)/g)) sum += Math.max(0, Number(m[2]));
  return sum;
}

/**
 * Every record of a topic, read with kcat from the beginning to the current end, byte-exact
 * (payloads are framed by their length, so newlines and binary data survive).
 */
export async function kcatConsume(bootstrap: string, topic: string): Promise<KafkaRecord[]> {
  if ((await kcatPartitions(bootstrap, topic)).length === 0) return [];
  const fmt = '%p %o %K %S\n%k%s\n%h\n';
  const { stdout } = await execFileP('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', fmt], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return parseKcat(stdout);
}

function parseKcat(buf: Buffer): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    const [p, o, k, s] = buf.toString('latin1', pos, nl).split(' ').map(Number) as [number, number, number, number];
    pos = nl + 1;
    const keyLen = Math.max(0, k);
    const key = k >= 0 ? buf.subarray(pos, pos + keyLen) : null;
    pos += keyLen;
    const value = Buffer.from(buf.subarray(pos, pos + s));
    pos += s + 1;
    const hnl = buf.indexOf(0x0a, pos);
    const headerText = buf.toString('utf8', pos, hnl);
    pos = hnl + 1;
    const headers: Record<string, string> = {};
    if (headerText.length > 0) {
      for (const pair of headerText.split(',')) {
        const eq = pair.indexOf('=');
        if (eq > 0) headers[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    out.push({ partition: p, offset: o, key: key ? Buffer.from(key) : null, value, headers });
  }
  return out;
}

/** Records grouped by partition, each in offset order (kcat already delivers them so). */
export function byPartition(records: KafkaRecord[]): Map<number, KafkaRecord[]> {
  const m = new Map<number, KafkaRecord[]>();
  for (const r of records) {
    const list = m.get(r.partition) ?? [];
    list.push(r);
    m.set(r.partition, list);
  }
  for (const list of m.values()) list.sort((a, b) => a.offset - b.offset);
  return m;
}
