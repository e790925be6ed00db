// `npm run soak -- [--minutes N] [--seed S] [--writers K] [--rate R] [--keep]`: runs the soak
// (see soak.ts), prints its summary, and exits 1 when a line was lost or anything else failed.

import { parseArgs } from 'node:util';
import { Random } from './random.js';
import { formatReport } from './report.js';
import { runSoak } from './soak.js';

// `node --test dist/test/` (scripts/test.sh) runs every .js file under a test/ directory as a
// test, this entry point included. A soak of minutes is not that: there it does nothing.
if (process.env.NODE_TEST_CONTEXT !== undefined) process.exit(0);

const USAGE = `usage: npm run soak -- [--minutes N] [--seed S] [--writers K] [--rate LINES_PER_S] [--min-each M] [--gap SECONDS] [--keep]
  --minutes   length of the fault phase (default 3)
  --seed      fixes the fault plan and every random choice (default: fresh, printed)
  --writers   writers, one file each, split over two inputs (default 4)
  --rate      lines per second per writer (default 250)
  --min-each  each fault kind at least this often (default: one per two minutes, at least 1)
  --gap       mean seconds between faults (default 8: each settles before the next; 1-2 piles them up)
  --keep      keep the work directory even when the soak passes
`;

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} must be a positive number, got ${JSON.stringify(text)}\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

function seedFrom(text: string): number {
  if (!/^\d+$/.test(text)) {
    process.stderr.write(`--seed must be a whole number, got ${JSON.stringify(text)}\n${USAGE}`);
    process.exit(2);
  }
  return Number(text) >>> 0;
}

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seed: { type: 'string' },
    writers: { type: 'string' },
    rate: { type: 'string' },
    'min-each': { type: 'string' },
    gap: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const seed = values.seed === undefined ? Random.freshSeed() : seedFrom(values.seed);
const report = await runSoak({
  minutes: positiveNumber('minutes', values.minutes, 3),
  seed,
  writers: Math.floor(positiveNumber('writers', values.writers, 4)),
  linesPerSecond: positiveNumber('rate', values.rate, 250),
  ...(values['min-each'] === undefined ? {} : { minEach: Math.floor(positiveNumber('min-each', values['min-each'], 1)) }),
  ...(values.gap === undefined ? {} : { meanGapMs: positiveNumber('gap', values.gap, 8) * 1000 }),
  keep: values.keep ? 'always' : 'on-failure',
  progress: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`\n${formatReport(report)}\n`);
process.exit(report.problems.length === 0 ? 0 : 1);
