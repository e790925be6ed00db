// Runs the real agent (`bin/logship run`) as a child process for integration tests: writes a
// config, starts it, waits for log events, stops it with a signal and reports the exit code.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { POISON_ENV } from '../../src/tailer/chunk-pool.js';

export const BIN = fileURLToPath(new URL('../../../bin/logship', import.meta.url));
/** The build's launcher (dist/src/cli/logship): what the systemd unit and the image run. */
export const LAUNCHER = fileURLToPath(new URL('../../src/cli/logship', import.meta.url));

export interface LogEvent {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class AgentProcess {
  readonly logs: LogEvent[] = [];
  readonly stderr: string[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogEvent);
      } catch {
        this.logs.push({ level: 30, msg: line });
      }
      this.notify();
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      this.notify();
    });
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.notify();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Starts `logship run -c <dir>/agent.yaml` after writing `yaml` there. */
  static start(dir: string, yaml: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): AgentProcess {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, yaml);
    return AgentProcess.startWith(['run', '-c', file], env, nodeArgs);
  }

  /**
   * Starts `logship run -c <dir>/agent.yaml` through the build's launcher, as the systemd unit
   * and the container image do: from the startup snapshot when it is current, else main.js.
   * The launcher execs node, so the child's PID is the agent's.
   */
  static startFromLauncher(dir: string, yaml: string, env: NodeJS.ProcessEnv = {}): AgentProcess {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, yaml);
    const child = spawn('/bin/sh', [LAUNCHER, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...poisonUnderTest(), ...process.env, ...env } });
    return new AgentProcess(child);
  }

  /**
   * `nodeArgs` go to node itself, before the script (the benchmark passes --cpu-prof, --import),
   * after the flags every launcher gives the agent (bin/logship's first line).
   */
  static startWith(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): AgentProcess {
    // LOGSHIP_AGENT_BLOB=dist/src/cli/logship.blob (development: benches compared with and
    // without it) starts the agent from that startup snapshot instead of bin/logship; node then
    // ignores --import/--require preloads (the bench's CPU at exit is missing).
    const blob = process.env.LOGSHIP_AGENT_BLOB;
    const script = blob ? ['--snapshot-blob', blob, '--'] : [BIN];
    const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...nodeArgs, ...script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...poisonUnderTest(), ...process.env, ...env } });
    return new AgentProcess(child);
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first log event matching, failing after timeoutMs with the recent logs. */
  async waitForLog(match: (e: LogEvent) => boolean, timeoutMs = 20_000, what = 'log event'): Promise<LogEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`agent exited before ${what}; stderr:\n${this.stderr.join('\n')}\nlogs:\n${this.tail()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; logs:\n${this.tail()}\nstderr:\n${this.stderr.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  tail(n = 30): string {
    return this.logs
      .slice(-n)
      .map((e) => JSON.stringify(e))
      .join('\n');
  }
}

/** Polls `probe` until it returns true (each probe is a real query, e.g. kcat), or fails. */
export async function until(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Under the test runner (node --test sets NODE_TEST_CONTEXT), every agent fills each read chunk
 * it releases with a marker and never reuses it (src/tailer/chunk-pool.ts): a record read from
 * a chunk after its batch was released ships marker bytes, and the tests that compare Kafka's
 * records with the file's lines fail. The bench (not under the runner) measures the agent as
 * operators run it.
 */
function poisonUnderTest(): NodeJS.ProcessEnv {
  return process.env.NODE_TEST_CONTEXT === undefined ? {} : { [POISON_ENV]: '1' };
}
