// The tailer's own micro-benchmark (bench/tailer-read.ts, owned by the tailer): read + split
// of a 1,000,000-line file, without Kafka. Skipped with a note when that module is absent.

import { BenchError } from '../errors.js';
import type { Scenario } from '../scenario.js';

/** The tailer issue's (#3) own target for read + split of 125 B lines on this machine. */
const READ_LINES_PER_SEC_MIN = 1_000_000;

interface TailerReadResult {
  linesPerSec: number;
  mbPerSec: number;
}

type TailerReadBench = () => Promise<TailerReadResult>;

/** Loaded by a computed specifier so the bench compiles whether or not the module exists yet. */
async function loadTailerRead(): Promise<TailerReadBench | null> {
  const specifier = '../tailer-read.js';
  let mod: { benchTailerRead?: unknown };
  try {
    mod = (await import(specifier)) as { benchTailerRead?: unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw err;
  }
  if (typeof mod.benchTailerRead !== 'function') throw new BenchError('bench/tailer-read.js does not export benchTailerRead()', 'tailer-read');
  return mod.benchTailerRead as TailerReadBench;
}

export const tailerReadScenario: Scenario = {
  name: 'tailer-read',
  title: 'Tailer micro-benchmark: read + split a 1,000,000-line file (benchTailerRead)',
  async run(ctx) {
    const bench = await loadTailerRead();
    if (!bench) {
      ctx.book.note(this.name, 'bench/tailer-read.ts is not there (yet): skipped');
      return;
    }
    const runs: TailerReadResult[] = [];
    for (let run = 1; run <= ctx.plan.runs; run++) runs.push(await bench());
    ctx.book.figure(this.name, 'read + split lines/s', 'lines/s', runs.map((r) => r.linesPerSec), { op: '>=', value: READ_LINES_PER_SEC_MIN }, 'target from the tailer issue');
    ctx.book.figure(this.name, 'read + split MB/s', 'MB/s', runs.map((r) => r.mbPerSec));
    ctx.book.detail('tailerRead', runs);
  },
};
