// The `logship` entry point every launcher runs (bin/logship, the systemd unit, the
// Dockerfile): loads the command line (cli.ts) from its one-file bundle when the build made a
// current one (entry.ts), else module by module.
//
// Why a bundle (measured, issue #10): an agent spent ~470 ms of CPU from spawn to "logship
// running", ~250 ms of it loading ~290 modules — zod's ~95 ESM files, yaml's ~70, pino's, our
// ~80 —, a third of that resolving specifiers and reading package.json files. Loaded from one
// file (esbuild, `npm run build`, minified but for its names) the same start-up took ~260 ms
// (medians of 5 alternated runs). Node 20 has no compile cache to do it instead
// (module.enableCompileCache is Node 22). The bundle's higher peak RSS was read chunks waiting
// for a full collection; they are pooled and reused now (src/tailer/chunk-pool.ts, node-flags.ts).

import { statSync } from 'node:fs';
import { chooseEntry } from './entry.js';

function mtimeMs(url: URL): number | undefined {
  return statSync(url, { throwIfNoEntry: false })?.mtimeMs;
}

const bundle = new URL('./cli.bundle.js', import.meta.url);
const entry = chooseEntry({ bundleMs: mtimeMs(bundle), compiledMs: mtimeMs(new URL('../../.tsbuildinfo', import.meta.url)) });
try {
  await import(entry === 'bundle' ? bundle.href : './start.js');
} catch (err) {
  // A build that cannot load: a runtime failure (cli.ts's EXIT.RUNTIME, not imported here so
  // that the bundle alone loads the command line), not node's exit code 1 ("invalid configuration").
  process.stderr.write(`logship: cannot load the command line (${entry === 'bundle' ? bundle.pathname : 'start.js'}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 3;
}
