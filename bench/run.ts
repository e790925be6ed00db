// Entry point of `npm run bench`: starts a fresh test cluster per scenario, runs the selected
// scenarios, prints every figure with its target and verdict as it is measured, then a summary,
// and saves everything to .bench/results-<timestamp>.json.
//
//   node dist/bench/run.js [--quick] [--only NAME[,NAME...]]
//
// Exit code 0 when every scenario ran to the end (targets may still FAIL: those are findings),
// 1 when a scenario could not complete, 2 on wrong usage.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createLogger } from '../src/log.js';
import { TestCluster } from '../test/helpers/cluster.js';
import { InputFiles } from './input-files.js';
import { describeMachine, formatMachine, type MachineDescription } from './machine.js';
import { benchPlan, type BenchPlan } from './plan.js';
import { formatFigure, ResultBook, type Printer } from './results.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { latencyScenario } from './scenarios/latency.js';
import { lineStagesScenario } from './scenarios/line-stages.js';
import { manyFilesScenario } from './scenarios/many-files.js';
import { profileScenario } from './scenarios/profile.js';
import { scalingScenario } from './scenarios/scaling.js';
import { stallScenario } from './scenarios/stall.js';
import { tailerReadScenario } from './scenarios/tailer-read.js';
import { throughputScenario } from './scenarios/throughput.js';

const SCENARIOS: Scenario[] = [tailerReadScenario, throughputScenario, profileScenario, stallScenario, latencyScenario, manyFilesScenario, scalingScenario, lineStagesScenario];
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIME_BUDGET_S = 600;

const USAGE = `usage: node dist/bench/run.js [--quick] [--only NAME[,NAME...]]
  --quick   one run per figure, smaller inputs and shorter windows
  --only    run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
`;

class UsageError extends Error {}

interface Options {
  quick: boolean;
  only: string | null;
  scenarios: Scenario[];
}

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    values = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const only = values.only ?? null;
  if (only === null) return { quick: values.quick ?? false, only, scenarios: SCENARIOS };
  const names = only.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(', ')}`);
  return { quick: values.quick ?? false, only, scenarios: SCENARIOS.filter((s) => names.includes(s.name)) };
}

/** What every scenario of one bench run shares. */
interface RunShared {
  plan: BenchPlan;
  book: ResultBook;
  inputs: InputFiles;
  workRoot: string;
  benchDir: string;
  runId: string;
  log: Logger;
  print: Printer;
}

/** Runs one scenario against its own fresh cluster; false when it could not complete. */
async function runScenario(scenario: Scenario, shared: RunShared): Promise<boolean> {
  shared.print('');
  shared.print(`== ${scenario.title} ==`);
  const began = performance.now();
  const cluster = await TestCluster.start(3);
  const workDir = mkdtempSync(join(shared.workRoot, `${scenario.name}-`));
  let topics = 0;
  const ctx: ScenarioContext = {
    ...shared,
    cluster,
    workDir,
    log: shared.log.child({ scenario: scenario.name }),
    topic: (tag) => `bench.${scenario.name}.${tag}.${++topics}`,
  };
  let completed = true;
  try {
    await scenario.run(ctx);
  } catch (err) {
    completed = false;
    shared.book.check(scenario.name, 'scenario ran to the end', false, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    ctx.log.error({ err }, `scenario ${scenario.name} failed`);
  } finally {
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - began) / 1000;
  shared.book.detail(`seconds.${scenario.name}`, seconds);
  shared.print(`  (${scenario.name}: ${seconds.toFixed(1)} s)`);
  return completed;
}

function printSummary(book: ResultBook, print: Printer, totalSeconds: number): void {
  print('');
  print('== Summary: figures with a target ==');
  for (const f of book.figures.filter((x) => x.target !== null)) print(`${formatFigure(f)}  [${f.scenario}]`);
  const failedChecks = book.checks.filter((c) => !c.ok);
  print(`  correctness checks: ${book.checks.length - failedChecks.length} PASS, ${failedChecks.length} FAIL`);
  for (const c of failedChecks) print(`    FAIL [${c.scenario}] ${c.label}: ${c.detail}`);
  if (book.notes.length > 0) {
    print('  notes:');
    for (const n of book.notes) print(`    [${n.scenario}] ${n.text}`);
  }
  const counts = book.verdictCounts();
  print(`  verdicts: ${counts.PASS} PASS, ${counts.FAIL} FAIL, ${counts.INFO} INFO`);
  print(
    `  bench time ${totalSeconds.toFixed(0)} s (budget for the whole npm run bench incl. build: < ${TIME_BUDGET_S} s); ` +
      `load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
}

function saveResults(file: string, startedAt: Date, options: Options, plan: BenchPlan, machine: MachineDescription, book: ResultBook, totalSeconds: number): void {
  const { figures, checks, tables, notes, details } = book;
  const document = { startedAt: startedAt.toISOString(), options: { quick: options.quick, only: options.only }, plan, machine, totalSeconds, loadAverageAtEnd: os.loadavg(), figures, checks, tables, notes, details };
  writeFileSync(file, JSON.stringify(document, null, 2));
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const print: Printer = (line) => void process.stdout.write(line + '\n');
  const plan = benchPlan(options.quick);
  const book = new ResultBook(print);
  const startedAt = new Date();
  const benchDir = join(REPO_ROOT, '.bench');
  mkdirSync(benchDir, { recursive: true });
  const workRoot = mkdtempSync(join(os.tmpdir(), 'logship-bench-'));
  const shared: RunShared = {
    plan,
    book,
    inputs: new InputFiles(workRoot),
    workRoot,
    benchDir,
    runId: startedAt.toISOString().replace(/[:.]/g, '-'),
    log: createLogger({ level: 'info', format: 'pretty' }, process.stderr),
    print,
  };
  const machine = describeMachine();
  print(`logship bench ${startedAt.toISOString()}${plan.quick ? ' (--quick: 1 run each, smaller inputs)' : ` (${plan.runs} runs per figure: median [min .. max])`}`);
  for (const line of formatMachine(machine)) print(line);

  const began = performance.now();
  let allCompleted = true;
  try {
    for (const scenario of options.scenarios) allCompleted = (await runScenario(scenario, shared)) && allCompleted;
  } finally {
    rmSync(workRoot, { recursive: true, force: true });
  }
  const totalSeconds = (performance.now() - began) / 1000;
  printSummary(book, print, totalSeconds);
  const resultsFile = join(benchDir, `results-${shared.runId}.json`);
  saveResults(resultsFile, startedAt, options, plan, machine, book, totalSeconds);
  print(`  results: ${resultsFile}`);
  return allCompleted ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
