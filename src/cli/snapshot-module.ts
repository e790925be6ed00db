// What the startup snapshot's bundle (snapshot.ts) gets for `node:module`: a createRequire whose
// require() resolves from where the build is at run time, not where it was when the snapshot
// was made. Our modules call createRequire(import.meta.url) at their top level, which runs once,
// at build time, inside `node --build-snapshot`; the snapshot keeps the function it returned.
// Node's own createRequire would bind it to the build's path (a copied install, /opt/logship or
// the Dockerfile's final stage, would load the native addons of the build tree or none), and
// its module loader is not available while the snapshot is built. This one defers both to the
// first call, made after deserialization, and resolves from the `moduleUrl` the snapshot's main
// function sets (the directory of the blob, which `npm run build` writes next to the bundle).

/** What `import.meta.url` stands for in the snapshot's bundle (bundle.ts's `define`). */
export const MODULE_URL_GLOBAL = '__logshipModuleUrl';

/** Where require() and `import.meta.url` resolve from from now on: a file URL in the build's dist/src/cli/. */
export function setModuleUrl(url: string): void {
  (globalThis as Record<string, unknown>)[MODULE_URL_GLOBAL] = url;
}

function currentModuleUrl(): string {
  const url = (globalThis as Record<string, unknown>)[MODULE_URL_GLOBAL];
  if (typeof url !== 'string') throw new Error('logship snapshot: require() called before the snapshot was deserialized');
  return url;
}

/** The blob's path from node's own options (`--snapshot-blob PATH` or `--snapshot-blob=PATH`). */
export function blobPath(execArgv: readonly string[]): string | null {
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '--snapshot-blob') return execArgv[i + 1] ?? null;
    if (arg.startsWith('--snapshot-blob=')) return arg.slice('--snapshot-blob='.length);
  }
  return null;
}

export function createRequire(_url: string | URL): NodeJS.Require {
  let real: NodeJS.Require | null = null;
  const resolved = (): NodeJS.Require => {
    if (real === null) {
      const nodeModule = process.getBuiltinModule('node:module');
      real = nodeModule.createRequire(currentModuleUrl());
    }
    return real;
  };
  const require = ((id: string): unknown => resolved()(id)) as NodeJS.Require;
  require.resolve = ((id: string, options?: { paths?: string[] }) => resolved().resolve(id, options)) as NodeJS.RequireResolve;
  return require;
}
