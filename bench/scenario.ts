// What every scenario gets to work with, and the shape of a scenario.

import type { Logger } from 'pino';
import type { TestCluster } from '../test/helpers/cluster.js';
import type { InputFiles } from './input-files.js';
import type { BenchPlan } from './plan.js';
import type { ResultBook } from './results.js';

export interface ScenarioContext {
  readonly plan: BenchPlan;
  readonly book: ResultBook;
  readonly inputs: InputFiles;
  /** A fresh 3-broker test cluster for this scenario alone. */
  readonly cluster: TestCluster;
  /** Scratch directory of this scenario (removed afterwards). */
  readonly workDir: string;
  /** The repository's .bench/ directory (git-ignored): results and profiles. */
  readonly benchDir: string;
  /** Identifies this bench run in file names (a timestamp). */
  readonly runId: string;
  readonly log: Logger;
  /** A topic name never used before in this scenario, so high watermarks count one run only. */
  topic(tag: string): string;
}

export interface Scenario {
  /** Used by --only. */
  readonly name: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<void>;
}
