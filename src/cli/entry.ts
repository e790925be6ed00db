// Which build of the command line main.ts loads: the one-file bundle (cli.bundle.js, written by
// `npm run build` after tsc) or the compiled modules (cli.js and its ~80 imports). Pure, so
// the rule is tested without a filesystem.
//
// The bundle is only right while it matches the compiled code. `tsc` is incremental: after an
// edit it rewrites the changed modules and dist/.tsbuildinfo, not the bundle — so a bundle
// older than .tsbuildinfo is stale and the modules are loaded instead (correct, only slower to
// start). The bundle is written a second or so after .tsbuildinfo; a copy (`cp -r dist`, the
// Dockerfile's stage copy) gives both the same time give or take a second, hence the margin:
// no edit-and-recompile fits in it (tsc alone takes seconds). Without .tsbuildinfo (the
// container image copies dist/src only) the bundle is the build's.

/** How much older than .tsbuildinfo the bundle may look and still be current, ms. */
export const COPY_MARGIN_MS = 5_000;

export interface BuildTimes {
  /** mtime of dist/src/cli/cli.bundle.js, ms; undefined when there is none. */
  bundleMs: number | undefined;
  /** mtime of dist/.tsbuildinfo, ms; undefined when there is none. */
  compiledMs: number | undefined;
}

export function chooseEntry({ bundleMs, compiledMs }: BuildTimes): 'bundle' | 'modules' {
  if (bundleMs === undefined) return 'modules';
  if (compiledMs === undefined) return 'bundle';
  return bundleMs >= compiledMs - COPY_MARGIN_MS ? 'bundle' : 'modules';
}
