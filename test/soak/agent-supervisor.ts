// Runs the agent under test (`bin/logship run`) through its lives: starts it, crashes it
// (SIGKILL) or stops it (SIGTERM) and starts it again, reloads it (SIGHUP), and samples its
// memory. Every life is recorded — when it ran, how it ended, its exit code, its peak RSS and
// the warnings it logged — and an exit nobody asked for is noticed, recorded and restarted.

import { readFileSync, writeFileSync } from 'node:fs';
import { AgentProcess, type LogEvent } from '../helpers/agent-process.js';

const START_TIMEOUT_MS = 30_000;
const RELOAD_TIMEOUT_MS = 30_000;
const MEMORY_SAMPLE_MS = 500;
/** pino's warn level: events at or above it are kept as the life's warnings. */
const WARN = 40;

export type LifeEnding = 'SIGKILL' | 'SIGTERM' | 'unexpected exit';

export interface AgentLife {
  index: number;
  pid: number;
  startedAt: number;
  /** When it logged "logship running". */
  runningAt: number | null;
  endedAt: number | null;
  ending: LifeEnding | null;
  exitCode: number | null;
  exitSignal: string | null;
  /** SIGTERM: from the signal to the exit, ms. */
  stopMs: number | null;
  /** VmHWM: the highest resident set size the kernel saw, bytes. */
  peakRssBytes: number;
  /** Log events at warn level or above. */
  warnings: LogEvent[];
  /** Every log event of the life (JSON lines from its stdout), for diagnostics. */
  logs: readonly LogEvent[];
}

export class AgentStartError extends Error {
  constructor(
    readonly configFile: string,
    readonly life: number,
    cause: unknown,
  ) {
    super(`agent life ${life} (${configFile}) did not start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AgentStartError';
  }
}

export class AgentSupervisor {
  readonly lives: AgentLife[] = [];
  private agent: AgentProcess | null = null;
  private life: AgentLife | null = null;
  private memoryTimer: NodeJS.Timeout | null = null;
  /** Set while we are the ones ending the process, so the exit is not "unexpected". */
  private ending: LifeEnding | null = null;

  constructor(
    readonly configFile: string,
    private readonly onUnexpectedExit: (life: AgentLife) => void = () => undefined,
  ) {}

  get pid(): number | null {
    return this.life !== null && this.life.endedAt === null ? this.life.pid : null;
  }

  /**
   * The current life's pid while nothing is ending it: a stopping agent reads its files one last
   * time and closes them — a file deleted after that pass loses its unread rest for any agent.
   */
  get steadyPid(): number | null {
    return this.ending === null ? this.pid : null;
  }

  /** Log events of the current life (for diagnostics). */
  get logs(): readonly LogEvent[] {
    return this.agent?.logs ?? [];
  }

  /** Starts a new life and waits for "logship running". */
  async start(): Promise<AgentLife> {
    const agent = AgentProcess.startWith(['run', '-c', this.configFile]);
    const life: AgentLife = {
      index: this.lives.length,
      pid: agent.child.pid!,
      startedAt: Date.now(),
      runningAt: null,
      endedAt: null,
      ending: null,
      exitCode: null,
      exitSignal: null,
      stopMs: null,
      peakRssBytes: 0,
      warnings: [],
      logs: agent.logs,
    };
    this.lives.push(life);
    this.agent = agent;
    this.life = life;
    this.ending = null;
    void agent.exited.then(({ code, signal }) => this.onExit(agent, life, code, signal));
    if (this.memoryTimer !== null) clearInterval(this.memoryTimer);
    this.memoryTimer = setInterval(() => this.sampleMemory(), MEMORY_SAMPLE_MS);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', START_TIMEOUT_MS, 'logship running');
    } catch (err) {
      throw new AgentStartError(this.configFile, life.index, err);
    }
    life.runningAt = Date.now();
    return life;
  }

  /** SIGKILL: a crash. Resolves with the moment the signal was sent, once the process is gone. */
  async kill(): Promise<number> {
    const agent = this.current();
    this.sampleMemory();
    this.ending = 'SIGKILL';
    const at = Date.now();
    await agent.stop('SIGKILL');
    return at;
  }

  /** SIGTERM: a clean stop (drain, flush, persist). Resolves with the ended life. */
  async terminate(): Promise<AgentLife> {
    const agent = this.current();
    const life = this.life!;
    this.sampleMemory();
    this.ending = 'SIGTERM';
    const at = Date.now();
    await agent.stop('SIGTERM');
    life.stopMs = Date.now() - at;
    return life;
  }

  /** Ends the current life, if any, with SIGKILL without recording it as a fault (the soak is aborting). */
  async abort(): Promise<void> {
    if (this.agent === null || this.pid === null) return;
    this.ending = 'SIGKILL';
    await this.agent.stop('SIGKILL');
  }

  /**
   * Writes `yaml` to the config file and sends SIGHUP. Resolves with whether the agent logged
   * "configuration reloaded" (true) or refused the file (false).
   */
  async reload(yaml: string): Promise<boolean> {
    const agent = this.current();
    writeFileSync(this.configFile, yaml);
    const before = new Set(agent.logs);
    agent.child.kill('SIGHUP');
    const outcome = await agent.waitForLog(
      (e) => !before.has(e) && (e.msg === 'configuration reloaded' || e.msg.startsWith('configuration NOT reloaded')),
      RELOAD_TIMEOUT_MS,
      'the reload outcome',
    );
    return outcome.msg === 'configuration reloaded';
  }

  private current(): AgentProcess {
    if (this.agent === null || this.pid === null) throw new Error('the agent is not running');
    return this.agent;
  }

  private onExit(agent: AgentProcess, life: AgentLife, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.memoryTimer !== null && this.agent === agent) clearInterval(this.memoryTimer);
    life.endedAt = Date.now();
    life.exitCode = code;
    life.exitSignal = signal;
    life.ending = this.agent === agent && this.ending !== null ? this.ending : 'unexpected exit';
    life.warnings = agent.logs.filter((e) => e.level >= WARN);
    if (life.ending === 'unexpected exit') {
      life.warnings.push(...agent.stderr.map((line) => ({ level: 60, msg: `stderr: ${line}` })));
      this.onUnexpectedExit(life);
    }
  }

  private sampleMemory(): void {
    const life = this.life;
    if (life === null || life.endedAt !== null) return;
    try {
      const status = readFileSync(`/proc/${life.pid}/status`, 'utf8');
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
      if (hwm) life.peakRssBytes = Math.max(life.peakRssBytes, Number(hwm[1]) * 1024);
    } catch {
      // The process is exiting: its last sample stands.
    }
  }
}
