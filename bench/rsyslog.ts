// rsyslog (imfile + omkafka), the shipper many operators run today, as a measured child
// process: `rsyslogd -n` in the foreground with a generated configuration (rsyslog-config.ts),
// its own work directory and pid file, so it never touches the system's rsyslog, /dev/log or
// /var/log. CPU and peak memory are read from /proc like the agent's.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError } from './errors.js';
import { cpuSeconds, memoryUse, type MemoryUse } from './proc-stats.js';
import type { ProducerSettings } from './producer-settings.js';
import { rsyslogConfig } from './rsyslog-config.js';

/** rsyslog flushes omkafka for up to closeTimeout (1 s) on SIGTERM; more means it hangs. */
const STOP_TIMEOUT_MS = 15_000;
const RSYSLOGD = 'rsyslogd';
const ROUTINE_MESSAGES = [/\[origin software="rsyslogd".*\] (start|exiting on signal \d+\.)$/, /high activity - starting \d+ additional worker thread/];

export interface RsyslogOptions {
  /** Scratch directory of this instance: config, pid file, work directory, internal log. */
  dir: string;
  inputFile: string;
  bootstrap: string;
  topic: string;
  settings: ProducerSettings;
}

export interface RsyslogExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class MeasuredRsyslog {
  private stderr = '';
  private readonly exited: Promise<RsyslogExit>;

  private constructor(
    private readonly child: ChildProcess,
    /** performance.now() just before the spawn. */
    readonly spawnedAtMs: number,
    readonly configFile: string,
    private readonly internalLogFile: string,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Not installed or not executable: there will be no 'exit'.
      child.once('error', (err) => {
        this.stderr += `spawn failed: ${err.message}`;
        resolve({ code: null, signal: null });
      });
    });
  }

  static start(o: RsyslogOptions): MeasuredRsyslog {
    const workDir = join(o.dir, 'work');
    mkdirSync(workDir, { recursive: true });
    const internalLogFile = join(o.dir, 'rsyslog-internal.log');
    const configFile = join(o.dir, 'rsyslog.conf');
    writeFileSync(configFile, rsyslogConfig({ workDir, inputFile: o.inputFile, internalLogFile, bootstrap: o.bootstrap, topic: o.topic, settings: o.settings }));
    // -n: stay in the foreground as our child (its pid is the one measured); -i: our own pid
    // file, so a system rsyslogd (if any) is neither seen nor disturbed.
    const args = ['-n', '-f', configFile, '-i', join(o.dir, 'rsyslogd.pid')];
    const spawnedAtMs = performance.now();
    const child = spawn(RSYSLOGD, args, { cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    return new MeasuredRsyslog(child, spawnedAtMs, configFile, internalLogFile);
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new ToolError(RSYSLOGD, ['-f', this.configFile], `did not start (is it installed? bash scripts/bench-setup.sh): ${this.describe()}`);
    return pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  memory(): MemoryUse {
    return memoryUse(this.pid);
  }

  /**
   * rsyslog's own messages other than its start and stop banners and the main queue starting
   * a worker (warnings, errors, an action suspended by omkafka): anything here means the run
   * was not a clean one.
   */
  internalMessages(): string[] {
    if (!existsSync(this.internalLogFile)) return [];
    return readFileSync(this.internalLogFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !ROUTINE_MESSAGES.some((routine) => routine.test(line)));
  }

  /** Its stderr and internal log, for error messages. */
  describe(): string {
    const internal = existsSync(this.internalLogFile) ? readFileSync(this.internalLogFile, 'utf8').trim() : '';
    return [`stderr: ${this.stderr.trim() || '(empty)'}`, `internal log: ${internal || '(empty)'}`].join('\n');
  }

  /** Resolves when the process has exited, for whatever reason. */
  whenExited(): Promise<RsyslogExit> {
    return this.exited;
  }

  /** SIGTERM (rsyslog flushes omkafka, then exits), SIGKILL if it hangs; reports how it exited. */
  async stop(): Promise<RsyslogExit> {
    if (this.child.pid === undefined) return { code: null, signal: null };
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
