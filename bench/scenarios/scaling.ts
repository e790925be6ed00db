// Scenario 6: how throughput scales with line size (lz4) and with the compression codec
// (125 B lines), raw lines without headers, each row with kcat's figure from the same run beside
// it; plus one row with the agent's optional per-record headers (kcat then sends look-alikes),
// to show what they cost.

import { shipWithAgent, shipWithKcat, type AgentShipment, type Shipment } from '../file-to-topic.js';
import type { ScalingRow } from '../plan.js';
import { DEFAULT_PRODUCER } from '../producer-settings.js';
import { formatNumber, formatSpread } from '../results.js';
import type { Scenario } from '../scenario.js';
import { summarize } from '../stats.js';

interface RowResult {
  row: ScalingRow;
  kcat: Shipment[];
  agent: AgentShipment[];
}

function rowName(row: ScalingRow): string {
  return `${row.lineBytes} B ${row.compression}${row.headers ? ' headers' : ''}`;
}

export const scalingScenario: Scenario = {
  name: 'scaling',
  title: '6. Scaling: lines/s by line size (lz4), by compression codec (125 B), and with record headers',
  async run(ctx) {
    const results: RowResult[] = [];
    for (const row of ctx.plan.scaling) {
      const input = ctx.inputs.get(row.lines, row.lineBytes);
      const settings = { ...DEFAULT_PRODUCER, compression: row.compression };
      const result: RowResult = { row, kcat: [], agent: [] };
      for (let run = 1; run <= ctx.plan.runs; run++) {
        result.kcat.push(await shipWithKcat(ctx, input, settings, { headers: row.headers }));
        result.agent.push(await shipWithAgent(ctx, input, settings, { headers: row.headers }));
      }
      results.push(result);
      const name = rowName(row);
      ctx.book.figure(this.name, `${name}: logship lines/s`, 'lines/s', result.agent.map((s) => s.linesPerSecond));
      ctx.book.figure(this.name, `${name}: kcat lines/s`, 'lines/s', result.kcat.map((s) => s.linesPerSecond));
      ctx.book.figure(this.name, `${name}: logship / kcat`, 'ratio', result.agent.map((s, i) => s.linesPerSecond / result.kcat[i]!.linesPerSecond));
    }
    ctx.book.table({
      scenario: this.name,
      title: 'median (min..max) over runs; MB/s counts line payload + newline',
      columns: ['line', 'codec', 'lines', 'logship lines/s', 'kcat lines/s', 'ratio', 'logship MB/s', 'kcat MB/s', 'logship CPU-s/M'],
      rows: results.map((r) => [
        `${r.row.lineBytes} B`,
        r.row.compression + (r.row.headers ? ', headers' : ''),
        r.row.lines.toLocaleString('en-US'),
        formatSpread(r.agent.map((s) => s.linesPerSecond)),
        formatSpread(r.kcat.map((s) => s.linesPerSecond)),
        formatNumber(summarize(r.agent.map((s, i) => s.linesPerSecond / r.kcat[i]!.linesPerSecond)).median),
        formatNumber(summarize(r.agent.map((s) => s.mbPerSecond)).median),
        formatNumber(summarize(r.kcat.map((s) => s.mbPerSecond)).median),
        formatNumber(summarize(r.agent.map((s) => s.cpuSeconds / (r.row.lines / 1e6))).median),
      ]),
    });
    const badRows = results.filter((r) => r.agent.some((s) => s.delivered !== r.row.lines) || r.kcat.some((s) => s.delivered !== r.row.lines));
    ctx.book.check(
      this.name,
      'every row: records in Kafka == lines (both)',
      badRows.length === 0,
      badRows.length === 0 ? 'all exact' : badRows.map((r) => `${rowName(r.row)}: logship ${r.agent.map((s) => s.delivered).join('/')}, kcat ${r.kcat.map((s) => s.delivered).join('/')}`).join('; '),
    );
    ctx.book.detail('scaling', results);
  },
};
