// A timeline of the pipeline for development (bench/trace-shipment.ts), off unless
// LOGSHIP_TRACE_FILE names a file: every LOGSHIP_TRACE_MS (default 10) one JSON line with
// what was read, produced, acknowledged and is in flight, whether the gate is open, librdkafka's
// queue depth... Off, it costs nothing: no timer, no sample. On, each sample is one synchronous
// append of ~300 bytes on the JavaScript thread (the trace itself, not the agent's work).

import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';

export const TRACE_FILE_ENV = 'LOGSHIP_TRACE_FILE';
export const TRACE_MS_ENV = 'LOGSHIP_TRACE_MS';
const DEFAULT_TRACE_MS = 10;

export type TraceSettings = { on: false } | { on: true; file: string; everyMs: number } | { on: false; problem: string };

/** What the environment asks for; a bad interval is a problem to log, and the trace stays off. */
export function traceSettings(env: NodeJS.ProcessEnv): TraceSettings {
  const file = env[TRACE_FILE_ENV];
  if (file === undefined || file === '') return { on: false };
  const text = env[TRACE_MS_ENV];
  const everyMs = text === undefined || text === '' ? DEFAULT_TRACE_MS : Number(text);
  if (!Number.isSafeInteger(everyMs) || everyMs < 1) return { on: false, problem: `${TRACE_MS_ENV}=${String(text)} is not a whole number of milliseconds >= 1` };
  return { on: true, file, everyMs };
}

/**
 * A running trace: `mark` adds a named point in time (start-up steps), `sampleWith` says what a
 * sample holds (nothing is sampled before), `stop` ends it.
 */
export interface PipelineTrace {
  mark(name: string): void;
  sampleWith(sample: () => object): void;
  stop(): void;
}

const OFF: PipelineTrace = { mark: () => undefined, sampleWith: () => undefined, stop: () => undefined };

/**
 * Starts the trace when the environment asks for it. Times are ms since the process's time
 * origin (performance.now()); the first line gives that origin as epoch ms, so a tool can
 * line the trace up with its own clock (the spawn).
 */
export function startPipelineTrace(env: NodeJS.ProcessEnv, log: Logger): PipelineTrace {
  const settings = traceSettings(env);
  if (!settings.on) {
    if ('problem' in settings) log.warn({ problem: settings.problem }, 'pipeline trace off');
    return OFF;
  }
  const fd = openSync(settings.file, 'w');
  const write = (record: object): void => void writeSync(fd, `${JSON.stringify(record)}\n`);
  write({ kind: 'origin', timeOriginMs: performance.timeOrigin, everyMs: settings.everyMs });
  let sampler: (() => object) | null = null;
  const timer = setInterval(() => {
    if (sampler !== null) write({ kind: 'sample', at: performance.now(), ...sampler() });
  }, settings.everyMs);
  timer.unref();
  log.warn({ file: settings.file, everyMs: settings.everyMs }, 'DEBUG: pipeline trace on (LOGSHIP_TRACE_FILE)');
  let open = true;
  return {
    mark: (name) => {
      if (open) write({ kind: 'mark', at: performance.now(), name });
    },
    sampleWith: (sample) => {
      sampler = sample;
    },
    stop: () => {
      if (!open) return;
      open = false;
      clearInterval(timer);
      closeSync(fd);
    },
  };
}
