// A quick paired measurement for development (not part of `npm run bench`): kcat and the agent
// variants alternate on the throughput scenario's file, N rounds, against one fresh cluster;
// prints each round and the medians, ratios paired per round.
//
//   node dist/bench/paired.js [--runs N] [--lines N] [--variants raw,headers,json] [--kafka 'max_in_flight_bytes: 8MiB']

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestCluster } from '../test/helpers/cluster.js';
import { shipWithAgent, shipWithKcat, type AgentShipment } from './file-to-topic.js';
import { DEFAULT_PRODUCER } from './producer-settings.js';
import { summarize } from './stats.js';
import { toolContext } from './tool-context.js';

const VARIANTS = {
  raw: { headers: false, format: 'raw' },
  headers: { headers: true, format: 'raw' },
  json: { headers: false, format: 'json' },
} as const;
type VariantName = keyof typeof VARIANTS;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, lines: { type: 'string', default: '1000000' }, variants: { type: 'string', default: 'raw' }, kafka: { type: 'string' } } });
  const runs = Number(values.runs);
  const lines = Number(values.lines);
  const variants = values.variants.split(',') as VariantName[];
  const workRoot = mkdtempSync(join(os.tmpdir(), 'logship-paired-'));
  const cluster = await TestCluster.start(3);
  const ctx = toolContext('paired', workRoot, cluster);

  const input = ctx.inputs.get(lines, 125);
  const m = lines / 1e6;
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
  try {
    for (let run = 1; run <= runs; run++) {
      const load = os.loadavg()[0]!.toFixed(1);
      const kcat = await shipWithKcat(ctx, input, DEFAULT_PRODUCER);
      add('kcat lines/s', kcat.linesPerSecond);
      add('kcat CPU-s/M', kcat.cpuSeconds / m);
      let line = `run ${run} load ${load}: kcat ${Math.round(kcat.linesPerSecond)}/s ${(kcat.cpuSeconds / m).toFixed(2)} CPU-s/M`;
      for (const v of variants) {
        const a: AgentShipment = await shipWithAgent(ctx, input, DEFAULT_PRODUCER, { ...VARIANTS[v], ...(values.kafka ? { kafkaExtra: `  ${values.kafka}` } : {}) });
        if (a.delivered !== lines || a.committedOffset !== input.bytes || a.exit.code !== 0) throw new Error(`${v}: delivered ${a.delivered}, offset ${a.committedOffset}, exit ${a.exit.code}`);
        add(`${v} x kcat`, a.linesPerSecond / kcat.linesPerSecond);
        add(`${v} CPU-s/M at exit`, a.cpuSeconds / m);
        add(`${v} CPU-s/M at done`, a.cpuSecondsAtDone / m);
        add(`${v} peak RSS MiB`, a.peakRssMiB);
        add(`${v} start-up ms`, a.startupMs);
        line += ` | ${v} ${Math.round(a.linesPerSecond)}/s (${(a.linesPerSecond / kcat.linesPerSecond).toFixed(2)}x) ${(a.cpuSeconds / m).toFixed(2)} CPU-s/M ${a.peakRssMiB.toFixed(0)} MiB start ${a.startupMs.toFixed(0)} ms`;
      }
      process.stdout.write(line + '\n');
    }
  } finally {
    await cluster.stop();
    rmSync(workRoot, { recursive: true, force: true });
  }
  for (const [k, vs] of Object.entries(rows)) {
    const s = summarize(vs);
    process.stdout.write(`${k.padEnd(24)} median ${s.median.toFixed(2)} [${s.min.toFixed(2)}..${s.max.toFixed(2)}]\n`);
  }
  process.stdout.write(`load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`paired: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
