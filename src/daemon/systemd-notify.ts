// Speaks the systemd notification protocol for `logship run` (Type=notify units): READY=1,
// STATUS= every few seconds, WATCHDOG=1 from the event loop, RELOADING=1/READY=1 around a
// reload, STOPPING=1. What to send when is decided in notify-protocol.ts; this module owns the
// effects — the datagrams (through the small native addon @logship/sd-notify, since Node.js
// cannot send a unix datagram) and the timers. Without $NOTIFY_SOCKET it is a no-op and does
// not even load the addon.

import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { ReloadOutcome } from '../agent.js';
import { perSecond } from '../metrics/rates.js';
import {
  NOTIFY_ENV,
  NotifyLifecycle,
  notifyTargetFromEnv,
  statusAssignment,
  statusText,
  type NotifyTarget,
} from './notify-protocol.js';

/** Often enough for `systemctl status` to look live, rarely enough to cost nothing. */
export const STATUS_EVERY_MS = 5_000;

/** The datagram sender: the native addon, or a stand-in in tests. */
export interface NotifySender {
  notify(socket: string, state: string): void;
  monotonicUsec(): bigint;
}

/** What the STATUS= line reads from the running agent (Agent has these methods). */
export interface StatusSource {
  fileLags(): ReadonlyArray<{ size: number; committed: number }>;
  acknowledgedTotal(): number;
  /** null while the first connection attempt runs. */
  kafkaReachable(): boolean | null;
  inFlightBytes(): number;
}

/** The steps of the agent's life that systemd hears about. */
export interface DaemonNotifier {
  /** A STATUS= line outside the periodic summary ("starting", "could not start: ..."). */
  status(text: string): void;
  /** READY=1, then a summary of `agent` every STATUS_EVERY_MS. */
  ready(agent: StatusSource): void;
  reloading(): void;
  reloaded(outcome: ReloadOutcome): void;
  stopping(detail: string): void;
  close(): void;
}

/** Without $NOTIFY_SOCKET: nothing to tell anyone. */
class SilentNotifier implements DaemonNotifier {
  status(): void {}
  ready(): void {}
  reloading(): void {}
  reloaded(): void {}
  stopping(): void {}
  close(): void {}
}

function loadAddon(): NotifySender {
  return createRequire(import.meta.url)('@logship/sd-notify') as NotifySender;
}

export class SystemdNotifier implements DaemonNotifier {
  private readonly lifecycle = new NotifyLifecycle();
  private watchdogTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private lastReload: ReloadOutcome | null = null;
  private previous: { at: number; acknowledged: number } | null = null;
  /** errno codes already logged: a gone socket is reported once, not every 5 seconds. */
  private readonly reported = new Set<string>();
  private sentCount = 0;

  constructor(
    private readonly target: NotifyTarget,
    private readonly sender: NotifySender,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The notifier the environment asks for: silent without $NOTIFY_SOCKET. The variables are
   * removed from process.env so that child processes (an embedded cluster) cannot speak for
   * us. The watchdog starts at once: systemd arms it only after READY=1, and pings before
   * that are harmless.
   */
  static fromEnv(log: Logger, env: NodeJS.ProcessEnv = process.env, load: () => NotifySender = loadAddon): DaemonNotifier {
    const target = notifyTargetFromEnv(env, process.pid);
    for (const name of NOTIFY_ENV) delete env[name];
    if (target === null) return new SilentNotifier();
    let sender: NotifySender;
    try {
      sender = load();
    } catch (err) {
      log.error({ err, notifySocket: target.socket }, 'NOTIFY_SOCKET is set but the @logship/sd-notify addon cannot be loaded (run npm ci to build it): systemd will not hear READY=1 nor watchdog pings');
      return new SilentNotifier();
    }
    if (target.watchdogProblem) log.warn({ notifySocket: target.socket }, `systemd watchdog not served: ${target.watchdogProblem}`);
    const notifier = new SystemdNotifier(target, sender, log);
    notifier.startWatchdog();
    log.info({ notifySocket: target.socket, watchdogIntervalMs: target.watchdogIntervalMs }, 'systemd notification socket found: speaking sd_notify');
    return notifier;
  }

  /** Datagrams sent successfully (for tests and the log). */
  get sent(): number {
    return this.sentCount;
  }

  /**
   * WATCHDOG=1 from a timer of the event loop: a loop blocked by a busy callback runs no
   * timer, so the pings stop and systemd restarts the agent after WatchdogSec=.
   */
  startWatchdog(): void {
    const every = this.target.watchdogIntervalMs;
    if (every === null || this.watchdogTimer) return;
    this.watchdogTimer = setInterval(() => this.send('WATCHDOG=1'), every).unref();
  }

  status(text: string): void {
    this.send(statusAssignment(text));
  }

  ready(agent: StatusSource): void {
    const ready = this.lifecycle.ready();
    if (ready === null) return;
    this.send(`${ready}\n${statusAssignment(this.summary(agent))}`);
    this.statusTimer = setInterval(() => this.status(this.summary(agent)), STATUS_EVERY_MS).unref();
  }

  reloading(): void {
    const msg = this.lifecycle.reloading(this.sender.monotonicUsec());
    if (msg !== null) this.send(`${msg}\n${statusAssignment('reloading the configuration')}`);
  }

  reloaded(outcome: ReloadOutcome): void {
    this.lastReload = outcome === 'applied' ? null : outcome;
    const msg = this.lifecycle.reloaded();
    if (msg !== null) this.send(`${msg}\n${statusAssignment(`configuration ${outcome === 'applied' ? 'reloaded' : `NOT reloaded (${outcome}), the running one stays`}`)}`);
  }

  stopping(detail: string): void {
    const msg = this.lifecycle.stopping();
    if (msg === null) return;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    this.send(`${msg}\n${statusAssignment(`stopping: ${detail}`)}`);
  }

  close(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.watchdogTimer = null;
    this.statusTimer = null;
  }

  private summary(agent: StatusSource): string {
    const at = this.now();
    const acknowledged = agent.acknowledgedTotal();
    const lags = agent.fileLags();
    const linesPerSecond = this.previous ? perSecond(this.previous.acknowledged, acknowledged, at - this.previous.at) : null;
    this.previous = { at, acknowledged };
    return statusText({
      state: this.lifecycle.state,
      files: lags.length,
      linesPerSecond,
      lagBytes: lags.reduce((sum, f) => sum + Math.max(0, f.size - f.committed), 0),
      kafkaReachable: agent.kafkaReachable(),
      inFlightBytes: agent.inFlightBytes(),
      lastReload: this.lastReload,
    });
  }

  /** Never throws: a notification that cannot be sent must not take the agent down. */
  private send(state: string): void {
    try {
      this.sender.notify(this.target.socket, state);
      this.sentCount++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      if (this.reported.has(code)) return;
      this.reported.add(code);
      this.log.warn({ err, notifySocket: this.target.socket, message: state.split('\n')[0] }, 'could not notify systemd (further failures of this kind are not logged)');
    }
  }
}
