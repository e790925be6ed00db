// The startup snapshot's files (bundle.ts writes them next to the bundles in dist/src/cli/) and
// the launcher script that chooses between the snapshot and main.js at every start. Pure, so
// what the build writes is tested without building.
//
// Why a shell launcher: the blob is given to node on its command line (`node --snapshot-blob
// logship.blob -- ARGS`), before any JavaScript runs, and node refuses a blob made by another
// node version or with other V8 flags (it prints "Failed to load the startup snapshot" and
// exits 14: under systemd's Restart=on-failure, a crash loop). So the choice is made before
// node starts, by comparing logship.blob.id — the node version and flags that made the blob,
// written by the build after the blob — with `node --version` (node answers it without
// starting V8, ~1 ms) and the flags the launcher passes. It falls back to main.js (the one-file
// bundle, or the modules: entry.ts) when the blob or its id is missing, the id differs, the
// compiled code changed since (tsc ran after the build: the id's second line is `cksum` of
// dist/.tsbuildinfo as the build saw it — its contents, not its time, so that a copy made in
// any order keeps its blob; without .tsbuildinfo, as in the container image, the blob is the
// build's), the blob's size is not the one the build wrote (a copy cut short: node crashes on a
// truncated blob, SIGSEGV, instead of refusing it), or NODE_OPTIONS is set (its V8 flags would change what node expects of the blob,
// and node ignores its --require/--import preloads when starting from a snapshot).

export interface SnapshotFiles {
  /** The CommonJS bundle that `node --build-snapshot` evaluates. */
  source: string;
  blob: string;
  /** Three lines: the node version and flags that made the blob (snapshotId), `cksum` of dist/.tsbuildinfo then, the blob's size in bytes. */
  id: string;
  /** The shell launcher. */
  launcher: string;
}

/** The files' names in dist/src/cli/; the tests build theirs with a suffix. */
export function snapshotFiles(suffix = ''): SnapshotFiles {
  return { source: `cli.snapshot${suffix}.cjs`, blob: `logship${suffix}.blob`, id: `logship${suffix}.blob.id`, launcher: `logship${suffix}` };
}

/** What logship.blob.id holds: `node --version`'s answer, then the V8 flags, space-separated. */
export function snapshotId(nodeVersion: string, flags: readonly string[]): string {
  return [nodeVersion, ...flags].join(' ');
}

const shellWord = /^[A-Za-z0-9_.,=:/+-]+$/;

/** The launcher (POSIX sh): starts node from the blob when its id matches, else main.js. */
export function launcherScript(flags: readonly string[], files: SnapshotFiles): string {
  for (const word of [...flags, files.blob, files.id]) {
    if (!shellWord.test(word)) throw new Error(`launcherScript: "${word}" would need shell quoting`);
  }
  const f = flags.join(' ');
  return `#!/bin/sh
# logship's launcher, written by \`npm run build\` (src/cli/bundle.ts, src/cli/launcher.ts): the
# systemd unit and the Dockerfile run it. It starts the agent from its startup snapshot
# (${files.blob}, ~half the start-up CPU) when the blob was made by this node with these flags
# from the current build, else from main.js (same agent, slower start). See README, Performance.
flags='${f}'
# Its directory without a fork unless it is called through a link (/usr/local/bin/logship).
if [ -L "$0" ]; then here=$(dirname -- "$(readlink -f -- "$0")"); else case $0 in */*) here=\${0%/*} ;; *) here=. ;; esac; fi
compiled=$here/../../.tsbuildinfo
if [ -z "\${NODE_OPTIONS:-}" ] && [ -f "$here/${files.blob}" ] && [ -f "$here/${files.id}" ]; then
  made= from= size=
  { read -r made; read -r from; read -r size; } < "$here/${files.id}" || true
  if [ "$made" = "$(node --version) $flags" ] && [ "$size" = "$(($(wc -c < "$here/${files.blob}")))" ] &&
    { ! [ -f "$compiled" ] || [ "$from" = "$(cksum < "$compiled")" ]; }; then
    # \`--\`: every argument after it is logship's, none node's.
    exec node $flags --snapshot-blob "$here/${files.blob}" -- "$@"
  fi
fi
exec node $flags "$here/main.js" "$@"
`;
}

/**
 * The text around the first dynamic `import(` in the snapshot's bundle, or null: one fails at
 * run time from the blob (a deserialized main function has no dynamic-import callback), so the
 * build refuses it. esbuild turns imports of bundled modules into plain calls; what is left is
 * an import of something external (a built-in, a native package).
 */
export function dynamicImportIn(bundle: string): string | null {
  const at = /(?<![\w$.])import\((?!\))/.exec(bundle);
  return at === null ? null : bundle.slice(Math.max(0, at.index - 60), at.index + 40);
}
