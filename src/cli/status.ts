// `logship status`: what is behind, from the registry and the files on disk alone — no Kafka
// access and no running agent needed. Reads the registry without changing it (a damaged file
// is reported, not moved aside: that is the running agent's job).

import { stat } from 'node:fs/promises';
import { pino } from 'pino';
import { dirname, join } from 'node:path';
import type { AgentConfig } from '../config/types.js';
import { REGISTRY_FILE_NAME } from '../registry/offset-registry.js';
import { nodeRegistryFs } from '../registry/registry-fs.js';
import { RegistryStore } from '../registry/registry-store.js';
import { identityKey } from '../core/file.js';
import { Discovery } from '../tailer/discovery.js';
import { findByIdentity } from '../tailer/rotation.js';

export interface FileStatus {
  path: string;
  input: string;
  identity: string;
  /** Acknowledged by Kafka and persisted; null when the registry has never seen the file. */
  committed: number | null;
  size: number | null;
  lag: number | null;
  state: 'live' | 'new' | 'rotated' | 'gone';
}

export interface StatusReport {
  registry: string;
  /** Which copy was read, or why none could be. */
  registrySource: 'current' | 'previous' | 'none';
  problems: string[];
  files: FileStatus[];
}

export async function collectStatus(config: AgentConfig): Promise<StatusReport> {
  // The registry's own choice of copy (registry.json, else .prev), read without changing anything.
  const { entries, source, problems } = await RegistryStore.peek(config.agent.data_dir, nodeRegistryFs);
  const byIdentity = new Map(entries.map((e) => [identityKey(e.identity), e]));
  const reported = new Set<string>();
  const files: FileStatus[] = [];
  // The agent's own discovery, with watching stubbed out: the same globs, excludes, symlink
  // and non-regular-file rules, and the same input for a file several inputs match.
  const discovery = new Discovery({
    inputs: config.inputs,
    log: pino({ level: 'silent' }),
    now: Date.now,
    onPathEvent: () => undefined,
    onPathModified: () => undefined,
    startWatch: () => ({ close: () => undefined }),
  });
  const observed = [...(await discovery.scan()).files.values()].sort((a, b) => a.path.localeCompare(b.path));
  discovery.close();
  for (const { path, input, stat: st } of observed) {
    const key = identityKey({ dev: st.dev, ino: st.ino });
    if (reported.has(key)) continue;
    reported.add(key);
    const entry = byIdentity.get(key);
    // An entry of a deleted file says nothing about a new file on its inode.
    const cp = entry?.deleted === true ? undefined : entry;
    const committed = cp ? cp.offset : null;
    files.push({ path, input: input.id, identity: key, committed, size: st.size, lag: committed === null ? st.size : Math.max(0, st.size - committed), state: cp ? 'live' : 'new' });
    if (cp === undefined && entry !== undefined) reported.delete(key); // the deleted file is listed below as gone
  }
  // Registry entries not at a matched path: rotated away (same directory, another name) or gone.
  for (const cp of entries) {
    const key = identityKey(cp.identity);
    if (reported.has(key)) continue;
    // A deleted file's entry (kept for what was acknowledged of it) describes nothing on disk,
    // even if a new file got its inode.
    const found = cp.deleted === true ? undefined : await findByIdentity(dirname(cp.path), cp.identity).catch(() => undefined);
    const st = found ? await stat(found).catch(() => null) : null;
    files.push({
      path: found ?? cp.path,
      input: cp.input,
      identity: key,
      committed: cp.offset,
      size: st ? st.size : null,
      lag: st ? Math.max(0, st.size - cp.offset) : null,
      state: st ? 'rotated' : 'gone',
    });
  }
  return { registry: join(config.agent.data_dir, REGISTRY_FILE_NAME), registrySource: source, problems, files };
}

export function formatStatus(report: StatusReport): string {
  const header = ['PATH', 'INPUT', 'STATE', 'IDENTITY', 'COMMITTED', 'SIZE', 'LAG'];
  const rows = report.files.map((f) => [f.path, f.input, f.state, f.identity, num(f.committed), num(f.size), num(f.lag)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const totalLag = report.files.reduce((sum, f) => sum + (f.lag ?? 0), 0);
  const out = [
    `registry: ${report.registry} (${report.registrySource === 'none' ? 'none readable' : report.registrySource === 'previous' ? 'previous copy: the current one is damaged' : 'ok'})`,
    ...report.problems.map((p) => `  problem: ${p}`),
    line(header),
    ...rows.map(line),
    `${report.files.length} file(s), ${totalLag} byte(s) behind`,
  ];
  return out.join('\n') + '\n';
}

function num(n: number | null): string {
  return n === null ? '-' : String(n);
}

