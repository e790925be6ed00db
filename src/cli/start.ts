// Runs the command line (cli.ts) on this process's arguments: the entry of the one-file bundle
// (cli.bundle.js) and, module by module, what main.ts loads when there is no current bundle.

import { runCommandLine } from './cli.js';

runCommandLine(process.argv.slice(2));
