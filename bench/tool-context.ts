// The scenario context of a development tool run outside `npm run bench` (paired.ts,
// native-floor.ts): one scratch directory for inputs and shipments, figures printed by the tool
// itself, the bench's own log at warnings only.

import { createLogger } from '../src/log.js';
import type { TestCluster } from '../test/helpers/cluster.js';
import { InputFiles } from './input-files.js';
import { benchPlan } from './plan.js';
import { ResultBook } from './results.js';
import type { ScenarioContext } from './scenario.js';

export function toolContext(name: string, workRoot: string, cluster: TestCluster): ScenarioContext {
  let topics = 0;
  return {
    plan: benchPlan(false),
    book: new ResultBook(() => undefined),
    inputs: new InputFiles(workRoot),
    cluster,
    workDir: workRoot,
    benchDir: workRoot,
    runId: name,
    log: createLogger({ level: 'warn', format: 'json' }, process.stderr),
    topic: (tag) => `${name}.${tag}.${++topics}`,
  };
}
