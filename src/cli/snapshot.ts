// The entry of the startup snapshot (`npm run build`: bundled to CommonJS by bundle.ts, run by
// `node --build-snapshot`, see there): evaluates the command line and everything it imports —
// zod, yaml, pino, our modules — once, at build time, so that a start from the blob
// (`node --snapshot-blob logship.blob ARGS`) deserializes them instead. Nothing here may read
// the run's world (arguments, environment, cwd, time, pid, hostname) or open a handle: that all
// happens in the deserialized main function, at run time.

import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startupSnapshot } from 'node:v8';
import { runCommandLine } from './cli.js';
import { blobPath, setModuleUrl } from './snapshot-module.js';

startupSnapshot.setDeserializeMainFunction(() => {
  const blob = blobPath(process.execArgv);
  // The blob lives next to the bundles in dist/src/cli/: require() resolves from there.
  setModuleUrl(pathToFileURL(join(dirname(blob ?? process.execPath), 'cli.snapshot.cjs')).href);
  // No script name in a snapshot's argv: [node, ...arguments].
  runCommandLine(process.argv.slice(1));
});
