// Command-line entry point: `logship run|check -c FILE`, `--version`, `--help`. Owns process
// concerns only — arguments, signals, exit codes — and leaves the work to Agent and config.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent } from '../agent.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { redactedConfig } from '../config/redact.js';
import { createLogger } from '../log.js';
import { startProgressLine } from './progress.js';
import { collectStatus, formatStatus } from './status.js';

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
  logship --version       print the version
  logship --help          print this help

Options:
  -c, --config FILE       configuration file (default: /etc/logship/agent.yaml)
      --json              status: print JSON instead of a table

Signals (run):
  SIGTERM, SIGINT         drain the files (agent.drain_on_stop), stop reading, wait up to
                          agent.shutdown_timeout in all for Kafka to acknowledge, persist
                          offsets, exit 0
  SIGHUP                  re-read the configuration; an invalid one is logged and the running
                          one kept

Exit codes:
  0  success
  1  invalid configuration (the message names the file, line, column and key)
  2  wrong command-line usage
  3  runtime failure (for example an unusable agent.data_dir)
`;

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
        config: { type: 'string', short: 'c', default: '/etc/logship/agent.yaml' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        json: { type: 'boolean' },
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
    process.stdout.write(`logship ${version()}\n`);
    return EXIT.OK;
  }
  const command = positionals[0];
  if (positionals.length !== 1 || (command !== 'run' && command !== 'check' && command !== 'status')) {
    process.stderr.write(`logship: expected one command, run, check or status${command ? ` (got "${positionals.join(' ')}")` : ''}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  const file = values.config!;
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
    const report = await collectStatus(config);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return EXIT.OK;
  }
  return run(config);
}

async function run(config: Awaited<ReturnType<typeof loadConfig>>): Promise<number> {
  const log = createLogger(config.log);
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
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading configuration');
    if (agent) void agent.requestReload();
    else reloadPending = true;
  });
  try {
    agent = await Agent.start(config, log);
  } catch (err) {
    log.fatal({ err }, `logship could not start: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.RUNTIME;
  }
  const running = agent;
  if (reloadPending) void running.requestReload();
  const stopProgress = startProgressLine(running);
  return new Promise<number>((resolve) => {
    onStop = (signal) => {
      stopProgress();
      log.info({ signal }, 'stopping');
      running.stop().then(
        () => resolve(EXIT.OK),
        (err: unknown) => {
          log.fatal({ err }, 'failure while stopping');
          resolve(EXIT.RUNTIME);
        },
      );
    };
    if (stopSignal) onStop(stopSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`logship: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.RUNTIME);
  },
);
