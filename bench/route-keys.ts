// Microbenchmark of the JavaScript side of `parse: json` + topic and key by field, in process,
// no Kafka: a read of 500 JSON lines goes through the field extractor (as the line pipeline
// runs it) and FileRoute's per-record topics and keys (as the shipper asks for them before
// produce), as the agent runs them (a key that is one field passed as bounds, see
// keyOnlyJsonPath). What the agent's JavaScript thread spends per line, without librdkafka.
//
//   npm run build && node dist/bench/route-keys.js [--lines N] [--runs N]
//
// Prints CPU-seconds per million lines (user + system, median of the runs after a warm-up).

import { parseArgs } from 'node:util';
import { parseConfigText } from '../src/config/load.js';
import { packLines, type LineBatch } from '../src/core/batch.js';
import { JsonFieldExtractor, jsonPathsOfInput, keyOnlyJsonPath } from '../src/lines/json-fields.js';
import { InputLineCounters } from '../src/lines/stats.js';
import { FileRoute, planInput } from '../src/shipper/route.js';
import { jsonMessage } from './json-lines.js';

const READ_LINES = 500;
const DATASET_LINES = 100_000;

function routeOf(inputYaml: string): { route: FileRoute; extractor: JsonFieldExtractor; keyPath: string | null } {
  const text = `agent: {data_dir: /tmp/x}\ninputs:\n  - id: in\n    paths: ["/var/log/*.log"]\n    parse: json\n${inputYaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\nkafka: {brokers: ["k:9092"]}\n`;
  const input = parseConfigText(text, '/tmp/agent.yaml', {}).inputs[0]!;
  const source = { key: '1:2:1', identity: { dev: 1, ino: 2 }, input: 'in', path: '/var/log/app.log' };
  return { route: new FileRoute(source, planInput(input), 'node-1', {}), extractor: new JsonFieldExtractor(jsonPathsOfInput(input), new InputLineCounters()), keyPath: keyOnlyJsonPath(input) };
}

function main(): void {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } } });
  const lines = Number(values.lines);
  const runs = Number(values.runs);
  const reads: { data: Buffer; bounds: Uint32Array }[] = [];
  for (let i = 0; i < DATASET_LINES; i += READ_LINES) {
    const texts: Buffer[] = [];
    for (let k = i; k < i + READ_LINES; k++) texts.push(Buffer.from(jsonMessage(k)));
    reads.push(packLines(texts));
  }
  const cases: [string, string][] = [
    ['topic by {json.service}, no key', 'topic: "logs.{json.service:-unknown}"'],
    ['topic by {json.service}, key {json.trace_id}', 'topic: "logs.{json.service:-unknown}"\nkey: "{json.trace_id}"'],
  ];
  for (const [name, yaml] of cases) {
    const cpu: number[] = [];
    for (let r = 0; r < runs + 1; r++) {
      const { route, extractor, keyPath } = routeOf(yaml);
      const c0 = process.cpuUsage();
      for (let done = 0; done < lines; ) {
        for (const read of reads) {
          const n = read.bounds.length >> 1;
          const ends = new Array<number>(n).fill(0);
          const { json, jsonBounds } = extractor.extractWithBounds(read.data, read.bounds, keyPath);
          const batch: LineBatch = {
            source: route.source,
            epoch: 0,
            data: read.data,
            bounds: read.bounds,
            startOffset: 0,
            ends,
            flags: [],
            endOffset: 0,
            marker: { len: 0, hash: '' },
            fingerprint: { len: 0, hash: '' },
            details: { starts: ends, streams: null, times: null, json, jsonPaths: extractor.paths, jsonBounds },
          };
          route.recordTopics(batch);
          route.recordKeys(batch);
          route.runFrom(batch, 0);
          done += n;
          if (done >= lines) break;
        }
      }
      const dc = process.cpuUsage(c0);
      if (r > 0) cpu.push((dc.user + dc.system) / 1e6);
    }
    const sorted = [...cpu].sort((a, b) => a - b);
    console.log(`${name}: ${((sorted[Math.floor(sorted.length / 2)]! / lines) * 1e6).toFixed(3)} CPU-s per million lines [${sorted.map((c) => ((c / lines) * 1e6).toFixed(3)).join(' ')}]`);
  }
}

main();
