// The command line: `logship run|check|status -c FILE`, `logship top`, `--version`, `--help`
// (loaded by main.ts, from the one-file bundle when there is a current one). Owns process
// concerns only — arguments, signals, exit codes, telling systemd — and leaves the work to
// Agent, config, status and top.

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent } from '../agent.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { redactedConfig } from '../config/redact.js';
import { parseDuration } from '../config/units.js';
import { installDebugHooks } from '../daemon/debug-hooks.js';
import { SystemdNotifier } from '../daemon/systemd-notify.js';
import { createLogger } from '../log.js';
import { startProgressLine } from './progress.js';
import { blobPath } from './snapshot-module.js';

export const EXIT = {
  OK: 0,
  /** The configuration is invalid (check or run). */
  CONFIG: 1,
  /** Wrong command-line usage. */
  USAGE: 2,
  /** The agent could not start or failed while running (data_dir unusable, internal error). */
  RUNTIME: 3,
} as const;

const HELP = `logship — ship log files to Kafka without losing or duplicating a line

Usage:
  logship run   -c FILE   run the agent with the configuration FILE
  logship check -c FILE   validate FILE and print the effective configuration (secrets redacted)
  logship status -c FILE  table of followed files: committed offset, size, lag (from the
                          registry and the files on disk; no Kafka access needed)
  logship top [-c FILE | --url URL]
                          live view of a running agent, from its /metrics: one row per
                          followed file (lines/s, bytes/s, lag, last line's age), totals,
                          Kafka reachability, bytes in flight; keys l r b p sort by lag,
                          lines/s, bytes/s, path; q or Ctrl-C quits. Not on a terminal: a
                          plain table every interval
  logship tap -c FILE [--input ID] [--from-beginning] [-n N]
                          print the records the agent would produce for the files FILE's
                          inputs match now, one JSON object a line (topic, key, headers,
                          value), after every parser and filter, following new lines until
                          Ctrl-C; no Kafka, registry untouched. Files start at their end
                          (--from-beginning: at 0); -n N stops after N records
  logship --version       print the version
  logship --help          print this help

Options:
  -c, --config FILE       configuration file (default: /etc/logship/agent.yaml)
      --json              status: print JSON instead of a table
      --url URL           top: the agent's metrics endpoint (default: metrics.listen of
                          FILE if it exists, else http://127.0.0.1:9464)
      --interval DURATION top: refresh period (default: 1s)
      --sort KEY          top: first order, lag | rate | bytes | path (default: lag)
      --input ID          tap: only this input
      --from-beginning    tap: read the files there at start from 0, not from their end
  -n, --records N         tap: stop after N records

Signals (run):
  SIGTERM, SIGINT         drain the files (agent.drain_on_stop), stop reading, wait up to
                          agent.shutdown_timeout in all for Kafka to acknowledge, persist
                          offsets, exit 0
  SIGHUP                  re-read the configuration; an invalid one is logged and the running
                          one kept

Under systemd (Type=notify: $NOTIFY_SOCKET set), run sends READY=1 once started (also while
Kafka is unreachable), a STATUS= summary every 5 s, WATCHDOG=1 at half of WatchdogSec from the
event loop, RELOADING=1 and READY=1 around SIGHUP, and STOPPING=1 on SIGTERM.

Exit codes:
  0  success
  1  invalid configuration (the message names the file, line, column and key)
  2  wrong command-line usage
  3  runtime failure (for example an unusable agent.data_dir)
`;

const DEFAULT_CONFIG = '/etc/logship/agent.yaml';
const DEFAULT_METRICS_URL = 'http://127.0.0.1:9464';

function usage(message: string): number {
  process.stderr.write(`logship: ${message}\n\n${HELP}`);
  return EXIT.USAGE;
}

/** `logship top`: where to read the agent from (--url, else the config's metrics.listen), then the live view. */
async function top(values: { config?: string; url?: string; interval?: string; sort?: string }): Promise<number> {
  if (values.url !== undefined && values.config !== undefined) return usage('top: give either --url or -c, not both');
  let intervalMs = 1_000;
  if (values.interval !== undefined) {
    try {
      intervalMs = parseDuration(values.interval);
    } catch (err) {
      return usage(`--interval: ${(err as Error).message}`);
    }
    if (intervalMs < 100) return usage('--interval: at least 100ms');
  }
  // `top` and `status` are loaded on use: `run` does without them at start.
  const { isSortKey } = await import('./top-view.js');
  const { runTop, urlFromListen } = await import('./top.js');
  const sort = values.sort ?? 'lag';
  if (!isSortKey(sort)) return usage(`--sort: expected lag, rate, bytes or path, got "${sort}"`);
  let url = values.url;
  if (url === undefined) {
    const file = values.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : null);
    if (file === null) {
      url = DEFAULT_METRICS_URL;
    } else {
      let config;
      try {
        config = await loadConfig(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`logship: invalid configuration (or use --url)\n${err.message}\n`);
        return EXIT.CONFIG;
      }
      if (config.metrics.listen === '') {
        process.stderr.write(`logship: ${file} turns the metrics endpoint off (metrics.listen: ""); logship top reads it: set metrics.listen\n`);
        return EXIT.CONFIG;
      }
      url = urlFromListen(config.metrics.listen);
    }
  }
  try {
    new URL(url);
  } catch {
    return usage(`--url: not a URL: "${url}"`);
  }
  return runTop({ url, intervalMs, sort });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        json: { type: 'boolean' },
        url: { type: 'string' },
        interval: { type: 'string' },
        sort: { type: 'string' },
        input: { type: 'string' },
        'from-beginning': { type: 'boolean' },
        records: { type: 'string', short: 'n' },
      },
    });
  } catch (err) {
    process.stderr.write(`logship: ${(err as Error).message}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  if (values.version) {
    const blob = blobPath(process.execArgv);
    process.stdout.write(`logship ${version()}${blob === null ? '' : ` (from the startup snapshot ${blob})`}\n`);
    return EXIT.OK;
  }
  const command = positionals[0];
  if (positionals.length !== 1 || (command !== 'run' && command !== 'check' && command !== 'status' && command !== 'top' && command !== 'tap')) {
    process.stderr.write(`logship: expected one command, run, check, status, top or tap${command ? ` (got "${positionals.join(' ')}")` : ''}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (command === 'top') return top(values);
  let limit: number | null = null;
  if (values.records !== undefined) {
    if (command !== 'tap') return usage('-n/--records is an option of tap');
    if (!/^[1-9]\d*$/.test(values.records)) return usage(`-n: expected a positive whole number of records, got "${values.records}"`);
    limit = Number(values.records);
  }
  const file = values.config ?? DEFAULT_CONFIG;
  let config;
  try {
    config = await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`logship: invalid configuration\n${err.message}\n`);
      return EXIT.CONFIG;
    }
    throw err;
  }
  if (command === 'check') {
    process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    process.stderr.write(`logship: ${file} is valid\n`);
    return EXIT.OK;
  }
  if (command === 'status') {
    const { collectStatus, formatStatus } = await import('./status.js');
    const report = await collectStatus(config);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return EXIT.OK;
  }
  if (command === 'tap') return tap(config, values.input ?? null, values['from-beginning'] === true, limit);
  return run(config);
}

/** `logship tap`: prints records until -n N of them, or until SIGINT/SIGTERM (exit 0 either way). */
async function tap(config: Awaited<ReturnType<typeof loadConfig>>, input: string | null, fromBeginning: boolean, limit: number | null): Promise<number> {
  if (input !== null && !config.inputs.some((i) => i.id === input)) {
    return usage(`--input: no input "${input}" in ${config.source} (inputs: ${config.inputs.map((i) => i.id).join(', ')})`);
  }
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { runTap } = await import('./tap.js');
  await runTap({ config, input, fromBeginning, limit, signal: abort.signal, write: (line) => process.stdout.write(`${line}\n`) });
  return EXIT.OK;
}

async function run(config: Awaited<ReturnType<typeof loadConfig>>): Promise<number> {
  const log = createLogger(config.log);
  const blob = blobPath(process.execArgv);
  if (blob !== null) log.info({ snapshot: blob }, 'started from the startup snapshot');
  // systemd (Type=notify): READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1. Silent
  // without $NOTIFY_SOCKET.
  const notifier = SystemdNotifier.fromEnv(log);
  notifier.status('starting: loading the registry, opening files');
  installDebugHooks(process.env, log);
  // Signals are taken from the first instant: one arriving while the agent starts is acted on
  // once it has started (SIGHUP's default action would otherwise kill the process).
  let agent: Agent | null = null;
  let reloadPending = false;
  let stopSignal: NodeJS.Signals | null = null;
  let onStop: ((signal: NodeJS.Signals) => void) | null = null;
  const stop = (signal: NodeJS.Signals): void => {
    stopSignal ??= signal;
    onStop?.(signal);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const reload = (target: Agent): void => {
    notifier.reloading();
    void target.requestReload().then((outcome) => notifier.reloaded(outcome));
  };
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading configuration');
    if (agent) reload(agent);
    else reloadPending = true;
  });
  try {
    agent = await Agent.start(config, log);
  } catch (err) {
    log.fatal({ err }, `logship could not start: ${err instanceof Error ? err.message : String(err)}`);
    notifier.status(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.RUNTIME;
  }
  const running = agent;
  // Registry loaded, tailers started, producer created: ready for systemd even while Kafka
  // is unreachable (lines wait in the files; /readyz tells about Kafka).
  notifier.ready(running);
  if (reloadPending) reload(running);
  const stopProgress = startProgressLine(running);
  return new Promise<number>((resolve) => {
    onStop = (signal) => {
      stopProgress();
      log.info({ signal }, 'stopping');
      notifier.stopping(`${signal}: draining files, waiting up to ${config.agent.shutdown_timeout / 1_000}s for Kafka`);
      running.stop().then(
        () => {
          notifier.close();
          resolve(EXIT.OK);
        },
        (err: unknown) => {
          log.fatal({ err }, 'failure while stopping');
          notifier.close();
          resolve(EXIT.RUNTIME);
        },
      );
    };
    if (stopSignal) onStop(stopSignal);
  });
}

/**
 * Exits once stdout and stderr are written out. On a pipe Node writes synchronously only while
 * the pipe has room (64 KiB); the rest is queued, and process.exit() drops it: a long config
 * error read by a slow parent (systemd, a script, a loaded CI machine) lost its last lines,
 * one of them cut in half (found by the config fuzz). A zero-length write's callback runs
 * after everything queued before it.
 */
async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map(writtenOut));
  process.exit(code);
}

/** Resolves once what was written to the stream is out, or at once when nobody reads it any more (EPIPE: `logship top | head`). */
function writtenOut(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writable || stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

/**
 * Runs the command line on `argv` (the arguments after the script) and exits with its code once
 * the output is written. Called by start.ts (the bundle and the modules) and, from the startup
 * snapshot, by snapshot.ts's deserialized main function: importing this module runs nothing.
 */
export function runCommandLine(argv: string[]): void {
  main(argv).then(
    (code) => exitWhenWritten(code),
    (err: unknown) => {
      process.stderr.write(`logship: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      return exitWhenWritten(EXIT.RUNTIME);
    },
  );
}
