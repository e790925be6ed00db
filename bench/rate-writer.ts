// Child process: appends lines to a set of files at a steady rate per file for a fixed time,
// then prints {"lines", "elapsedMs"} as JSON. At each tick it writes what is due since the
// start, so a late tick catches up instead of lowering the rate; if the machine cannot keep
// up, elapsedMs grows and the achieved rate (lines / elapsed) shows it.

import { closeSync, openSync, writeSync } from 'node:fs';
import { linePool } from './log-lines.js';
import type { RateWriterResult, RateWriterSpec } from './rate-writer-client.js';

const POOL_SIZE = 1024;

const spec = JSON.parse(process.argv[2] ?? '{}') as RateWriterSpec;
const pool = linePool(spec.lineBytes, POOL_SIZE);
const fds = spec.paths.map((p) => openSync(p, 'a'));
const written = new Array<number>(fds.length).fill(0);
let cursor = 0;

function nextLines(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    text += pool[cursor]!;
    cursor = (cursor + 1) % POOL_SIZE;
  }
  return text;
}

const start = performance.now();

function tick(): void {
  const elapsed = Math.min(performance.now() - start, spec.durationMs);
  const due = Math.floor((elapsed / 1000) * spec.linesPerSecondPerFile);
  for (let i = 0; i < fds.length; i++) {
    if (due > written[i]!) {
      writeSync(fds[i]!, nextLines(due - written[i]!));
      written[i] = due;
    }
  }
  if (elapsed < spec.durationMs) {
    setTimeout(tick, spec.tickMs);
    return;
  }
  for (const fd of fds) closeSync(fd);
  const result: RateWriterResult = { lines: written.reduce((s, n) => s + n, 0), elapsedMs: performance.now() - start };
  process.stdout.write(JSON.stringify(result) + '\n');
}

tick();
