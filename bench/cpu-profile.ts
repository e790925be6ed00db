// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area of the
// code (our modules, each npm package, Node internals, GC), so the profile says where the
// agent's main thread spends its time. librdkafka's native threads are not in it.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SourceMap, type SourceMapPayload } from 'node:module';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileRow {
  name: string;
  /** file:line, relative to the repository where possible. */
  location: string;
  selfMs: number;
  /** Share of all sampled time, idle included. */
  percentOfTotal: number;
  /** Share of the time the thread was not idle. */
  percentOfBusy: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  topFunctions: ProfileRow[];
  byArea: ProfileRow[];
}

export class CpuProfileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CpuProfileError';
  }
}

export function readCpuProfile(file: string): CpuProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Partial<CpuProfile>;
  if (!Array.isArray(profile.nodes)) throw new CpuProfileError(file, 'no nodes: not a V8 CPU profile');
  return profile as CpuProfile;
}

/** Self time per node id in µs: each sample owns the interval until the next sample. */
function selfMicrosByNode(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const { samples, timeDeltas } = p;
  if (samples && timeDeltas && samples.length === timeDeltas.length && samples.length > 0) {
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, timeDeltas[i + 1] ?? 0));
    }
    return self;
  }
  const hits = p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const perHit = hits > 0 ? (p.endTime - p.startTime) / hits : 0;
  for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * perHit);
  return self;
}

function shortUrl(url: string, repoRoot: string): string {
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(repoRoot) ? path.slice(repoRoot.length).replace(/^\/+/, '') : path;
}

/** The part of the code a frame belongs to: a src/ area, an npm package, Node, or V8 itself. */
export function areaOf(frame: CallFrame, repoRoot: string): string {
  // V8's pseudo-frames ((program), (garbage collector), (idle)) stay themselves; other frames
  // without a script are native code called from JS (fs bindings, librdkafka's binding...).
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : 'native (C++ bindings)';
  if (frame.url.startsWith('node:')) return 'node internals';
  const path = shortUrl(frame.url, repoRoot);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `npm ${pkg[1]}`;
  const ours = /(?:^|\/)(?:dist\/)?(src\/[^/]+)\//.exec(path);
  if (ours) return ours[1]!;
  return path;
}

function toRows(selfUs: Map<string, { name: string; location: string; us: number }>, totalUs: number, busyUs: number, limit: number): ProfileRow[] {
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((r) => ({
      name: r.name,
      location: r.location,
      selfMs: r.us / 1000,
      percentOfTotal: totalUs > 0 ? (100 * r.us) / totalUs : 0,
      percentOfBusy: busyUs > 0 && r.name !== '(idle)' ? (100 * r.us) / busyUs : 0,
    }));
}

/**
 * The agent runs from a one-file bundle (dist/src/cli/cli.bundle.js, see src/cli/main.ts),
 * minified but for its names. Its source map (cli.bundle.js.map, chained through tsc's maps)
 * gives each frame the TypeScript file and line it came from (src/*.ts, or the npm package's
 * file), so areas and locations read as they do for the modules.
 */
export class BundleModules {
  private readonly maps = new Map<string, SourceMap | null>();

  unbundled(frame: CallFrame): CallFrame {
    if (!frame.url.endsWith('.bundle.js')) return frame;
    const found = this.mapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (found?.originalSource === undefined) return frame;
    return { ...frame, url: new URL(found.originalSource, `${frame.url}.map`).href, lineNumber: found.originalLine ?? 0, columnNumber: found.originalColumn ?? 0 };
  }

  private mapOf(url: string): SourceMap | null {
    let map = this.maps.get(url);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(new URL(`${url}.map`), 'utf8')) as SourceMapPayload);
      } catch {
        // gone since the run, or built without a map: frames keep the bundle's URL
        map = null;
      }
      this.maps.set(url, map);
    }
    return map;
  }
}

export function summarizeCpuProfile(p: CpuProfile, file: string, repoRoot: string, top = 25, topAreas = 15): ProfileSummary {
  const selfByNode = selfMicrosByNode(p);
  const bundles = new BundleModules();
  const byFunction = new Map<string, { name: string; location: string; us: number }>();
  const byArea = new Map<string, { name: string; location: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of p.nodes) {
    const us = selfByNode.get(node.id) ?? 0;
    if (us === 0) continue;
    const f = bundles.unbundled(node.callFrame);
    totalUs += us;
    if (f.functionName === '(idle)') idleUs += us;
    const name = f.functionName || '(anonymous)';
    const location = f.url === '' ? '' : `${shortUrl(f.url, repoRoot)}:${f.lineNumber + 1}`;
    const key = `${name}\u0000${location}:${f.columnNumber}`;
    const fn = byFunction.get(key) ?? { name, location, us: 0 };
    fn.us += us;
    byFunction.set(key, fn);
    const area = areaOf(f, repoRoot);
    const a = byArea.get(area) ?? { name: area, location: '', us: 0 };
    a.us += us;
    byArea.set(area, a);
  }
  const busyUs = totalUs - idleUs;
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    topFunctions: toRows(byFunction, totalUs, busyUs, top),
    byArea: toRows(byArea, totalUs, busyUs, topAreas),
  };
}

/**
 * Prints the main thread's V8 profile found in `dir` (the agent's --cpu-prof-dir), if any:
 * busy time, self time by code area, then the top functions. Development tools' shared report.
 */
export function printMainThreadProfile(dir: string, repoRoot: string, nameWidth = 90): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return;
  const summary = summarizeCpuProfile(readCpuProfile(join(dir, file)), join(dir, file), repoRoot, 30, 20);
  console.log(`  main thread (V8 profile, ${((summary.totalMs - summary.idleMs) / 1000).toFixed(2)} s busy):`);
  for (const row of summary.byArea) console.log(`    ${row.name.padEnd(40)} ${(row.selfMs / 1000).toFixed(3)} s`);
  for (const row of summary.topFunctions) console.log(`    fn ${`${row.name} ${row.location}`.slice(0, nameWidth).padEnd(nameWidth)} ${(row.selfMs / 1000).toFixed(3)} s`);
}
