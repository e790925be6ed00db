// The systemd notification protocol (sd_notify(3)) as decisions only: which environment turns
// it on, what to send at each step of the agent's life, and the one-line STATUS= text. No
// socket and no clock here: src/daemon/systemd-notify.ts sends what these functions return.

import type { ReloadOutcome } from '../agent.js';
import { formatSize } from '../config/units.js';

/** Where and how often to notify, read from the environment systemd gives a Type=notify unit. */
export interface NotifyTarget {
  /** $NOTIFY_SOCKET: an absolute path, or an abstract name starting with '@'. */
  socket: string;
  /** Half of $WATCHDOG_USEC (systemd's advice), or null when the unit has no WatchdogSec=. */
  watchdogIntervalMs: number | null;
  /** Why the watchdog is off although WATCHDOG_USEC is set (a warning for the log), else null. */
  watchdogProblem: string | null;
}

/**
 * null when $NOTIFY_SOCKET is unset or empty (a terminal, a container): then nothing is sent.
 * The watchdog is ours only when $WATCHDOG_PID is unset or names this process (systemd sets it
 * so that a child inheriting the environment does not ping for its parent).
 */
export function notifyTargetFromEnv(env: NodeJS.ProcessEnv, pid: number): NotifyTarget | null {
  const socket = env.NOTIFY_SOCKET ?? '';
  if (socket === '') return null;
  const usecText = env.WATCHDOG_USEC ?? '';
  if (usecText === '') return { socket, watchdogIntervalMs: null, watchdogProblem: null };
  const usec = /^[0-9]+$/.test(usecText) ? Number(usecText) : NaN;
  if (!Number.isSafeInteger(usec) || usec <= 0) {
    return { socket, watchdogIntervalMs: null, watchdogProblem: `WATCHDOG_USEC=${JSON.stringify(usecText)} is not a positive number of microseconds` };
  }
  const forPid = env.WATCHDOG_PID ?? '';
  if (forPid !== '' && forPid !== String(pid)) {
    return { socket, watchdogIntervalMs: null, watchdogProblem: `WATCHDOG_PID=${forPid} is another process (this one is ${pid})` };
  }
  // Half the timeout, as sd_watchdog_enabled(3) advises; at least 1 ms for absurdly short ones.
  return { socket, watchdogIntervalMs: Math.max(1, Math.floor(usec / 2_000)), watchdogProblem: null };
}

/** The variables consumed from the environment, removed so that child processes do not inherit them. */
export const NOTIFY_ENV = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

export type DaemonState = 'starting' | 'ready' | 'reloading' | 'stopping';

/**
 * The agent's life as systemd sees it, one state at a time. Each method is a step of that life
 * and returns the assignments to send (newline-separated), or null when the step changes
 * nothing systemd must hear about — e.g. a second SIGHUP while a reload runs: systemd is
 * already waiting for its READY=1, and no READY=1 ever follows STOPPING=1.
 */
export class NotifyLifecycle {
  private current: DaemonState = 'starting';

  get state(): DaemonState {
    return this.current;
  }

  /** Registry loaded, tailers started, producer created (Kafka may still be unreachable). */
  ready(): string | null {
    if (this.current !== 'starting') return null;
    this.current = 'ready';
    return 'READY=1';
  }

  /** SIGHUP. `monotonicUsec`: CLOCK_MONOTONIC now, which systemd matches against its reload request. */
  reloading(monotonicUsec: bigint): string | null {
    if (this.current !== 'ready') return null;
    this.current = 'reloading';
    return `RELOADING=1\nMONOTONIC_USEC=${monotonicUsec}`;
  }

  /** The reload was applied, refused (invalid file) or failed: the agent runs either way. */
  reloaded(): string | null {
    if (this.current !== 'reloading') return null;
    this.current = 'ready';
    return 'READY=1';
  }

  /** SIGTERM/SIGINT: from here on only STATUS= and WATCHDOG=1. */
  stopping(): string | null {
    if (this.current === 'stopping') return null;
    this.current = 'stopping';
    return 'STOPPING=1';
  }
}

/** A STATUS= assignment: one line (systemd shows it as is in `systemctl status`). */
export function statusAssignment(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ').slice(0, 1_000)}`;
}

/** What the one-line summary is made of; read from the running agent every few seconds. */
export interface StatusFacts {
  state: DaemonState;
  files: number;
  /** Records Kafka acknowledged per second since the previous summary; null for the first one. */
  linesPerSecond: number | null;
  lagBytes: number;
  /** null: the first connection attempt is still under way. */
  kafkaReachable: boolean | null;
  inFlightBytes: number;
  /** The outcome of the last reload when it did not apply, so an operator sees it after `systemctl reload`. */
  lastReload: ReloadOutcome | null;
}

/**
 * "ready · 4 files · 1,250 lines/s · lag 12 KiB · Kafka reachable · 64 KiB in flight".
 * Kafka unreachable reads "Kafka UNREACHABLE, lines wait in the files": the agent is up and
 * losing nothing, which is why systemd was told READY=1 anyway.
 */
export function statusText(f: StatusFacts): string {
  const parts: string[] = [f.state === 'ready' ? 'running' : f.state];
  parts.push(`${f.files.toLocaleString('en')} ${f.files === 1 ? 'file' : 'files'}`);
  if (f.linesPerSecond !== null) parts.push(`${Math.round(f.linesPerSecond).toLocaleString('en')} lines/s`);
  parts.push(`lag ${formatSize(f.lagBytes)}`);
  parts.push(f.kafkaReachable === null ? 'connecting to Kafka' : f.kafkaReachable ? 'Kafka reachable' : 'Kafka UNREACHABLE, lines wait in the files');
  parts.push(`${formatSize(f.inFlightBytes)} in flight`);
  if (f.lastReload === 'refused') parts.push('last reload REFUSED (invalid configuration, see the log)');
  else if (f.lastReload === 'failed') parts.push('last reload FAILED (see the log)');
  return parts.join(' · ');
}
