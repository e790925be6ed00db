// Builders for the temporary agent.yaml files and numbered log lines integration tests use.

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import type { InputConfig } from '../../src/config/types.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `logship-${prefix}-`));
}

/** A loopback TCP port free right now (for metrics.listen). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface YamlOptions {
  dir: string;
  bootstrap: string;
  /** YAML for the `inputs:` list (indented by two spaces per item, starting with "  - id:"). */
  inputs: string;
  kafka?: string;
  agent?: string;
  /** YAML lines of the registry section (default: flush_interval 1s). */
  registry?: string;
  metrics?: string;
  logLevel?: string;
}

export function agentYaml(o: YamlOptions): string {
  return `agent:
  name: test-host
  data_dir: ${o.dir}/data
  shutdown_timeout: 10s
${o.agent ?? ''}
log: {level: ${o.logLevel ?? 'info'}}
inputs:
${o.inputs}
kafka:
  brokers: [${o.bootstrap
    .split(',')
    .map((b) => JSON.stringify(b))
    .join(', ')}]
${o.kafka ?? ''}
registry:
${o.registry ?? '  flush_interval: 1s'}
metrics: {listen: "${o.metrics ?? ''}"}
`;
}

/** "<prefix>-000042 <padding>": unique, sortable, recognisable in Kafka. */
export function numberedLine(prefix: string, n: number, pad = 0): string {
  return `${prefix}-${String(n).padStart(7, '0')}${pad > 0 ? ' ' + 'p'.repeat(pad) : ''}`;
}

export function numberedLines(prefix: string, from: number, to: number, pad = 0): string {
  let s = '';
  for (let i = from; i < to; i++) s += numberedLine(prefix, i, pad) + '\n';
  return s;
}

/** Counts how often each line number of `prefix` occurs among record values. */
export function tally(values: Iterable<Buffer>, prefix: string): Map<number, number> {
  const counts = new Map<number, number>();
  const re = new RegExp(`^${prefix}-(\\d{7})`);
  for (const v of values) {
    const m = re.exec(v.toString('latin1'));
    if (!m) throw new Error(`unexpected record ${JSON.stringify(v.toString().slice(0, 80))}`);
    const n = Number(m[1]);
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}

let inputIds = 0;

/** One input parsed as agent.yaml would give it: `yaml` is its keys after id and paths (no filesystem). */
export function inputWith(yaml: string): InputConfig {
  const id = `p${++inputIds}`;
  const text = `agent: {data_dir: /tmp/x}\ninputs:\n  - id: ${id}\n    paths: ["/tmp/*.log"]\n${yaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\nkafka: {brokers: ["k:9092"]}\n`;
  return parseConfigText(text, '/tmp/agent.yaml', {}).inputs[0]!;
}
