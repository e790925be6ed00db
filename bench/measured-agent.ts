// The real agent (`logship run`) as a measured child process: records its start-up time,
// exposes its PID for /proc readings, and on stop collects its resource usage at exit
// (through the exit-usage preload). Optionally runs it under the V8 CPU profiler.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AgentProcess } from '../test/helpers/agent-process.js';
import { USAGE_FILE_ENV, type ExitUsage } from './exit-usage.js';
import { cpuSeconds, memoryUse, type MemoryUse } from './proc-stats.js';

const EXIT_USAGE_PRELOAD = pathToFileURL(fileURLToPath(new URL('./exit-usage.js', import.meta.url))).href;
const START_TIMEOUT_MS = 30_000;

/**
 * LOGSHIP_BENCH_AGENT_ENV='{"LD_PRELOAD": "...", "GLIBC_TUNABLES": "..."}': environment for the
 * measured agent only — not for the bench itself, kcat, rsyslog or the test cluster, which an
 * exported LD_PRELOAD or GLIBC_TUNABLES would reach as well (used to compare allocators, see
 * README: Performance).
 */
export const AGENT_ENV_VARIABLE = 'LOGSHIP_BENCH_AGENT_ENV';

export function agentEnvFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const text = env[AGENT_ENV_VARIABLE];
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${AGENT_ENV_VARIABLE}: not JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw new Error(`${AGENT_ENV_VARIABLE}: expected a JSON object of strings, e.g. {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}`);
  }
  return parsed as Record<string, string>;
}

/** LOGSHIP_BENCH_ENTRY=main: start the measured agent from main.js, not through the launcher. */
export const ENTRY_VARIABLE = 'LOGSHIP_BENCH_ENTRY';

/** Whether the process runs from a startup snapshot (its command line names the blob). */
export function startedFromSnapshot(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--snapshot-blob');
  } catch {
    return false;
  }
}

export interface MeasuredAgentOptions {
  /** Scratch directory: agent.yaml is written here, the config should put data_dir under it. */
  dir: string;
  yaml: string;
  /** When set, the agent runs with --cpu-prof writing its profile into this directory. */
  cpuProfileDir?: string;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** null when the agent died without running its exit handlers (e.g. SIGKILL). */
  usage: ExitUsage | null;
}

export class MeasuredAgent {
  private constructor(
    readonly process: AgentProcess,
    /** performance.now() just before the spawn. */
    readonly spawnedAtMs: number,
    /** Spawn until the agent logged "logship running". */
    readonly startupMs: number,
    private readonly usageFile: string,
  ) {}

  static async start(o: MeasuredAgentOptions): Promise<MeasuredAgent> {
    const usageFile = join(o.dir, 'exit-usage.json');
    const nodeArgs = ['--import', EXIT_USAGE_PRELOAD];
    if (o.cpuProfileDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir);
    const env = { ...agentEnvFrom(process.env), [USAGE_FILE_ENV]: usageFile };
    // The agent is started as operators start it: through the build's launcher (the systemd
    // unit's and the image's entry), which uses the startup snapshot when it is current. Node
    // runs no --import preload from a snapshot: the usage at exit then comes from the agent's
    // own "logship stopped" line. The CPU profiler needs node's flags: main.js then, as with
    // LOGSHIP_BENCH_ENTRY=main (to compare the two starts).
    const viaLauncher = o.cpuProfileDir === undefined && process.env[ENTRY_VARIABLE] !== 'main';
    const spawnedAtMs = performance.now();
    const agent = viaLauncher ? AgentProcess.startFromLauncher(o.dir, o.yaml, env) : AgentProcess.start(o.dir, o.yaml, env, nodeArgs);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', START_TIMEOUT_MS, 'agent start');
    } catch (err) {
      await agent.stop('SIGKILL');
      throw err;
    }
    return new MeasuredAgent(agent, spawnedAtMs, performance.now() - spawnedAtMs, usageFile);
  }

  get pid(): number {
    return this.process.child.pid!;
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  memory(): MemoryUse {
    return memoryUse(this.pid);
  }

  /** "http://host:port" of the metrics endpoint, from the agent's own log line. */
  async metricsUrl(): Promise<string> {
    const event = await this.process.waitForLog((e) => e.msg.startsWith('metrics endpoint listening'), 5_000, 'metrics endpoint');
    return `http://${String(event.address)}`;
  }

  /** Stops the agent with SIGTERM (a clean stop: drain, persist offsets) and reports its exit. */
  async stop(): Promise<AgentExit> {
    const { code, signal } = await this.process.stop('SIGTERM');
    const usage = existsSync(this.usageFile) ? (JSON.parse(readFileSync(this.usageFile, 'utf8')) as ExitUsage) : this.stoppedUsage();
    return { code, signal, usage };
  }

  /**
   * The usage the agent logged with "logship stopped" (its last line), for an agent started from
   * its startup snapshot: node runs no --import preload there, so the exit-usage file is missing.
   */
  private stoppedUsage(): ExitUsage | null {
    const stopped = this.process.logs.find((e) => e.msg === 'logship stopped');
    if (stopped === undefined || typeof stopped.cpuUserSeconds !== 'number' || typeof stopped.cpuSystemSeconds !== 'number' || typeof stopped.maxRssMiB !== 'number') return null;
    return { userSeconds: stopped.cpuUserSeconds, systemSeconds: stopped.cpuSystemSeconds, maxRssMiB: stopped.maxRssMiB };
  }

  /** Last resort for a failed scenario: never leave an agent running. */
  async kill(): Promise<void> {
    await this.process.stop('SIGKILL');
  }
}
