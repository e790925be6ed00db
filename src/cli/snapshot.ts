// The entry of the startup snapshot (`npm run build`: bundled to CommonJS by bundle.ts, run by
// `node --build-snapshot`, see there): evaluates the command line and everything it imports —
// zod, yaml, pino, our modules — once, at build time, so that a start from the blob
// (`node --snapshot-blob logship.blob ARGS`) deserializes them instead. Nothing here may read
// the run's world (arguments, environment, cwd, time, pid, hostname) or open a handle: that all
// happens in the deserialized main function, at run time.

import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startupSnapshot } from 'node:v8';
import { parseConfigText } from '../config/load.js';
import { runCommandLine } from './cli.js';
import { blobPath, setModuleUrl } from './snapshot-module.js';

// Warm-up: one made-up configuration parsed at build time, so that the functions a start runs
// first (yaml's parser, zod's checks, ours) are compiled in the blob rather than at each start:
// ~12 ms less CPU to "logship running" (medians of 9 alternated starts, 144 vs 156 ms, load 9).
// It reads nothing of the build machine (no environment, a fixed hostname) and config/ keeps no
// state between parses, so nothing of it reaches a run.
parseConfigText(
  'inputs:\n  - id: app\n    paths: [/var/log/app/*.log]\n    topic: logs.app\nkafka: {brokers: ["kafka:9092"]}\n',
  '/etc/logship/agent.yaml',
  {},
  { hostname: 'build' },
);

if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(() => {
    const blob = blobPath(process.execArgv);
    // The blob lives next to the bundles in dist/src/cli/: require() resolves from there.
    setModuleUrl(pathToFileURL(join(dirname(blob ?? process.execPath), 'cli.snapshot.cjs')).href);
    // No script name in a snapshot's argv: [node, ...arguments].
    runCommandLine(process.argv.slice(1));
  });
} else {
  // Run as a plain script (`node FLAGS dist/src/cli/cli.snapshot.cjs ARGS`: the same code
  // without the snapshot, to tell the two apart when measuring).
  setModuleUrl(pathToFileURL(process.argv[1]!).href);
  runCommandLine(process.argv.slice(2));
}
