// kcat, the peer every figure is compared with: a producer reading a file or a pipe with the
// same librdkafka settings as the agent, and a low-delay consumer for latency measurements.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { ToolError } from './errors.js';
import { kcatProducerProperties, type ProducerSettings } from './producer-settings.js';

/** Static record headers of the same names and similar sizes as the agent's (host, path, offset). */
export function agentLikeHeaders(path: string): string[] {
  return ['-H', 'host=test-host', '-H', `path=${path}`, '-H', 'offset=100000000'];
}

export interface KcatRun {
  /** performance.now() just before the spawn. */
  spawnedAtMs: number;
  /** Resolves when kcat exits 0 (it flushes every message before exiting). */
  exited: Promise<{ atMs: number; cpuSeconds: number; peakRssMiB: number }>;
}

/** Parses the children's line of bash `times` ("0m0.512s 0m0.087s"): user + system seconds. */
export function parseBashTimes(stderr: string): number | null {
  const lines = stderr.trim().split('\n');
  const children = lines[lines.length - 1] ?? '';
  const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) return null;
  return parts.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

const MAX_RSS_MARK = 'kcat-max-rss-kib=';

/** GNU time's line "kcat-max-rss-kib=N" (the child's ru_maxrss): MiB, null when absent. */
export function parseMaxRss(stderr: string): number | null {
  const match = new RegExp(`^${MAX_RSS_MARK}(\\d+)$`, 'm').exec(stderr);
  return match ? Number(match[1]) / 1024 : null;
}

/**
 * `kcat -P -l FILE`: every line of FILE becomes a record. Run under bash so that `times`
 * reports kcat's CPU (user + system of all its threads) once it exits, and under GNU time for
 * its peak RSS (the kernel's ru_maxrss of the exited process).
 */
export function kcatProduceFile(bootstrap: string, topic: string, file: string, settings: ProducerSettings, headers = false): KcatRun {
  const args = ['-P', '-b', bootstrap, '-t', topic, ...kcatProducerProperties(settings), ...(headers ? agentLikeHeaders(file) : []), '-l', file];
  const spawnedAtMs = performance.now();
  const script = `/usr/bin/time -f '${MAX_RSS_MARK}%M' kcat "$@"; rc=$?; times >&2; exit $rc`;
  const child = spawn('bash', ['-c', script, 'kcat', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit').then(([code]) => {
    const atMs = performance.now();
    if (code !== 0) throw new ToolError('kcat', args, `exited with ${String(code)}: ${stderr.trim()}`);
    return { atMs, cpuSeconds: parseBashTimes(stderr) ?? Number.NaN, peakRssMiB: parseMaxRss(stderr) ?? Number.NaN };
  });
  return { spawnedAtMs, exited };
}

/** `kcat -P` reading records from its stdin, fed line by line by the caller. */
export class KcatPipeProducer {
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(
    bootstrap: string,
    readonly topic: string,
    settings: ProducerSettings,
  ) {
    const args = ['-P', '-b', bootstrap, '-t', topic, ...kcatProducerProperties(settings)];
    this.child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }

  /** `data` must end with a newline: kcat frames records by it. */
  write(data: string): void {
    this.child.stdin!.write(data);
  }

  /** Closes stdin; kcat flushes what it holds and exits. */
  async end(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.stdin!.end();
    const [code] = (await exited) as [number | null];
    if (code !== 0) throw new ToolError('kcat', ['-P', '-t', this.topic], `exited with ${String(code)}: ${this.stderr.trim()}`);
  }
}

/**
 * A long-running `kcat -C` reading a topic from the beginning and handing each record's value
 * to `onRecord` with its arrival time. Fetches are answered by the broker at most 1 ms after
 * being asked, and output is unbuffered, so the consumer adds little delay of its own.
 */
export class KcatConsumer {
  private readonly child: ChildProcess;

  constructor(bootstrap: string, topic: string, onRecord: (value: string, arrivedAtEpochMs: number) => void) {
    const args = ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-u', '-q', '-f', '%s\n', '-X', 'fetch.wait.max.ms=1', '-X', 'fetch.error.backoff.ms=1'];
    this.child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => onRecord(line, performance.timeOrigin + performance.now()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
