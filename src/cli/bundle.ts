// Build step (`npm run build`, after tsc): the command line and everything it imports, npm
// packages included, in one ES module next to the compiled one, dist/src/cli/cli.bundle.js,
// which main.ts loads (see there for the measured reason). Its source map (cli.bundle.js.map,
// chained through tsc's maps to src/*.ts) maps a stack trace back to the TypeScript with
// `NODE_OPTIONS=--enable-source-maps`; without that flag node never reads it (parsing it at
// every start would cost CPU for the rare stack trace). What is loaded through createRequire —
// the native addons and the binding (one librdkafka, loaded in a set order), prom-client and
// pino-pretty (loaded only when used) — stays outside, resolved from node_modules at run time
// as before. Dynamic imports (`top`, `status`, `tap`) are kept lazy:
// esbuild wraps them so they are evaluated only when called.
//
// Then the startup snapshot (snapshot.ts, see there and README, Performance): the same code as
// a CommonJS bundle (cli.snapshot.cjs), evaluated by this node with the agent's flags into
// logship.blob (`node FLAGS --snapshot-blob logship.blob --build-snapshot cli.snapshot.cjs`),
// logship.blob.id saying which node, flags and compiled code made it and its size, and the launcher `logship` (launcher.ts)
// that starts from the blob when it fits, else from main.js.
//
//   node dist/src/cli/bundle.js [OUTFILE]
// An OUTFILE named cli.bundle<SUFFIX>.js (the tests') names the others with the same suffix.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { dynamicImportIn, launcherScript, snapshotFiles, snapshotId } from './launcher.js';
import { AGENT_NODE_FLAGS } from './node-flags.js';
import { MODULE_URL_GLOBAL } from './snapshot-module.js';

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

const outfile = process.argv[2] ?? here('./cli.bundle.js');
const suffix = /^cli\.bundle(.*)\.js$/.exec(basename(outfile))?.[1] ?? '';
const files = snapshotFiles(suffix);
const out = (name: string): string => join(dirname(outfile), name);

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['@confluentinc/*', '@logship/*', 'prom-client', 'pino-pretty', 'esbuild'],
  // Minified but for its names (stack traces and CPU profiles keep them): 1.75 -> 1.18 MB to
  // compile at every start, ~20 ms less start-up CPU (medians of 5, 2026-11-29).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // The map names src/*.ts; their text is in the repository, not repeated in the map.
  sourcesContent: false,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [here('./start.js')],
  outfile,
  format: 'esm',
  // The CommonJS packages (pino, yaml) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __logshipCreateRequire } from 'node:module'; const require = __logshipCreateRequire(import.meta.url);" },
});

// The snapshot's bundle: CommonJS (what `node --build-snapshot` runs), from snapshot.ts. Our
// modules' `node:module` is snapshot-module.ts's (require() resolved at run time, from where
// the blob is), and `import.meta.url` that module's run-time URL.
const ours = here('../');
const moduleShim: Plugin = {
  name: 'logship-snapshot-module',
  setup(b) {
    b.onResolve({ filter: /^(node:)?module$/ }, (args) =>
      args.importer.startsWith(ours) && !args.importer.endsWith('snapshot-module.js') ? { path: here('./snapshot-module.js') } : undefined,
    );
  },
};
const snapshotSource = out(files.source);
await build({
  ...common,
  entryPoints: [here('./snapshot.js')],
  outfile: snapshotSource,
  format: 'cjs',
  define: { 'import.meta.url': `globalThis.${MODULE_URL_GLOBAL}` },
  plugins: [moduleShim],
});

/** `cksum` of the compiled code's dist/.tsbuildinfo, as the launcher computes it; '' without one. */
function compiledSum(file: string): string {
  if (!existsSync(file)) return '';
  const sum = spawnSync('cksum', { input: readFileSync(file), encoding: 'utf8' });
  if (sum.status !== 0) throw new Error(`logship build: cksum failed: ${sum.stderr}`);
  return sum.stdout.trim();
}

// A dynamic import() left in the snapshot's bundle (of a module esbuild did not bundle, e.g.
// `await import('node:v8')`) fails at run time from the blob: a deserialized main function has
// no dynamic-import callback (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). Refused here, at build
// time. Use process.getBuiltinModule() or a static import instead.
const leftImport = dynamicImportIn(readFileSync(snapshotSource, 'utf8'));
if (leftImport !== null) throw new Error(`logship build: ${snapshotSource} keeps a dynamic import(), which fails when started from the snapshot: …${leftImport}…`);

const blob = out(files.blob);
const id = out(files.id);
// The id goes first and last: while it is missing the launcher does not use the blob, so a
// build that fails or is interrupted half-way never leaves a blob the launcher would start.
rmSync(id, { force: true });
if (typeof process.getBuiltinModule !== 'function') {
  // Node 20 before 20.16: the snapshot's require() needs process.getBuiltinModule.
  rmSync(blob, { force: true });
  process.stderr.write(`logship build: no startup snapshot with node ${process.version} (needs >= 20.16); the launcher starts from main.js\n`);
} else {
  const partial = `${blob}.partial`;
  const made = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '--snapshot-blob', partial, '--build-snapshot', snapshotSource], { encoding: 'utf8' });
  if (made.status !== 0) {
    rmSync(partial, { force: true });
    rmSync(blob, { force: true });
    throw new Error(`logship build: the startup snapshot failed (exit ${made.status}):\n${made.stderr}`);
  }
  renameSync(partial, blob);
  writeFileSync(id, `${snapshotId(process.version, AGENT_NODE_FLAGS)}\n${compiledSum(out('../../.tsbuildinfo'))}\n${statSync(blob).size}\n`);
}
const launcher = out(files.launcher);
writeFileSync(launcher, launcherScript(AGENT_NODE_FLAGS, files));
chmodSync(launcher, 0o755);
