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
//   node dist/src/cli/bundle.js [OUTFILE]

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

await build({
  entryPoints: [here('./cli.js')],
  outfile: process.argv[2] ?? here('./cli.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The CommonJS packages (pino, yaml) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __logshipCreateRequire } from 'node:module'; const require = __logshipCreateRequire(import.meta.url);" },
  external: ['@confluentinc/*', '@logship/*', 'prom-client', 'pino-pretty', 'esbuild'],
  // Minified but for its names (stack traces and CPU profiles keep them): 1.75 -> 1.18 MB to
  // compile at every start, ~20 ms less start-up CPU (medians of 5, 2026-11-29).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // The map names src/*.ts; their text is in the repository, not repeated in the map.
  sourcesContent: false,
  logLevel: 'warning',
});
