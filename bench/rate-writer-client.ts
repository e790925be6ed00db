// Starts the rate writer (rate-writer.js) as a child process, so that appending lines at a
// steady rate does not compete with the bench's own event loop, and reports what it achieved.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ToolError } from './errors.js';

const SCRIPT = fileURLToPath(new URL('./rate-writer.js', import.meta.url));

export interface RateWriterSpec {
  paths: string[];
  linesPerSecondPerFile: number;
  durationMs: number;
  lineBytes: number;
  /** How often it wakes to append what is due, ms. */
  tickMs: number;
}

export interface RateWriterResult {
  /** Lines appended, all files together. */
  lines: number;
  elapsedMs: number;
}

export interface RunningWriter {
  pid: number;
  done: Promise<RateWriterResult & { doneAtMs: number }>;
}

export function startRateWriter(spec: RateWriterSpec): RunningWriter {
  const args = [SCRIPT, JSON.stringify(spec)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = once(child, 'exit').then(([code]) => {
    const doneAtMs = performance.now();
    if (code !== 0) throw new ToolError('rate-writer', args, `exited with ${String(code)}`);
    return { ...(JSON.parse(out) as RateWriterResult), doneAtMs };
  });
  return { pid: child.pid!, done };
}
