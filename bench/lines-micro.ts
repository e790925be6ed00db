// Microbenchmark of the line-processing stages of issue 12 (src/lines), in process, no Kafka:
// the CPU each stage adds per line on top of raw shipping. Inputs are framed in memory first
// (not measured), then pushed through each stage in reads of 500 lines, as a reader would.
//
//   npm run build && node dist/bench/lines-micro.js [--lines N] [--runs N]
//
// Prints, per stage, lines/s and CPU-seconds per million lines (user + system, median of the
// runs). The target: parser cri, and parse: json with field routing, each at most
// 1 CPU-s per million lines above raw.

import { parseArgs } from 'node:util';
import { compileTemplate, fileVars } from '../src/config/templates.js';
import { ContainerLogParser } from '../src/lines/container-log.js';
import { emptyEvents, type FramedInput } from '../src/lines/events.js';
import { LineFilter, LineFilterRules } from '../src/lines/filter.js';
import { JsonFieldExtractor } from '../src/lines/json-fields.js';
import { InputLineCounters } from '../src/lines/stats.js';
import { jsonMessage } from './json-lines.js';

const READ_LINES = 500;

/** A read as the stages get it: bounds into `data` (its one part), and each line as a view for the raw walk. */
interface FramedRead extends FramedInput {
  data: Buffer;
  bounds: number[];
  ends: number[];
  lines: Buffer[];
}

function framed(lines: string[]): FramedRead[] {
  const reads: FramedRead[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i += READ_LINES) {
    const texts = lines.slice(i, i + READ_LINES);
    const one = Buffer.from(texts.join('\n') + '\n');
    const read: FramedRead = { data: one, parts: [one], whole: one, bounds: [], lines: [], ends: [], flags: [] };
    let at = 0;
    for (const text of texts) {
      const len = Buffer.byteLength(text);
      read.lines.push(one.subarray(at, at + len));
      read.bounds.push(at, len);
      at += len + 1;
      read.ends.push(offset + at);
    }
    offset += at;
    reads.push(read);
  }
  return reads;
}

function appMessage(i: number): string {
  return `10.0.${i % 256}.${(i * 7) % 256} - - [15/Mar/2024:10:20:30 +0000] "GET /api/v1/items/${i} HTTP/1.1" 200 ${i % 5000} "-" "curl/8.5.0" rt=0.0${i % 10}`;
}

const TIME = '2024-03-15T10:20:30.123456789Z';

function criLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // One line in 50 arrives in two pieces, as a long line would.
    if (i % 50 === 0) {
      const m = appMessage(i);
      out.push(`${TIME} stdout P ${m.slice(0, 40)}`, `${TIME} stdout F ${m.slice(40)}`);
      i++;
    } else {
      out.push(`${TIME} ${i % 10 === 0 ? 'stderr' : 'stdout'} F ${appMessage(i)}`);
    }
  }
  return out.slice(0, n);
}

function dockerLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ log: `${appMessage(i)}\n`, stream: i % 10 === 0 ? 'stderr' : 'stdout', time: TIME }));
}

interface Figure {
  name: string;
  linesPerSec: number;
  cpuSecondsPerMillion: number;
}

function measure(name: string, lines: number, runs: number, prepare: () => () => void): Figure {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const run = prepare();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    run();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const dc = process.cpuUsage(c0);
    if (r === 0) continue; // warm-up
    cpu.push((dc.user + dc.system) / 1e6);
    wall.push(dt);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { name, linesPerSec: lines / median(wall), cpuSecondsPerMillion: (median(cpu) / lines) * 1e6 };
}

/** Lines held in memory per dataset: processed `repeat` times to make up the count. */
const DATASET_LINES = 100_000;

function main(): void {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
  const n = Number(values.lines);
  const runs = Number(values.runs);
  const size = Math.min(n, DATASET_LINES);
  const repeat = Math.max(1, Math.round(n / size));
  const total = size * repeat;
  let sink = 0;
  // Each dataset is built just before its figure and dropped after, so that the garbage
  // collector of one figure does not walk the inputs of all the others.
  const each = (reads: FramedRead[], perLine: (line: Buffer) => void) => () => {
    for (let k = 0; k < repeat; k++) for (const read of reads) for (const line of read.lines) perLine(line);
  };

  const figures: Figure[] = [];
  {
    // Raw: walking the framed lines, the floor every input pays (the shipper's work is not here).
    const raw = framed(Array.from({ length: size }, (_, i) => appMessage(i)));
    figures.push(measure('raw (walk framed lines)', total, runs, () => each(raw, (line) => (sink += line.length))));
    figures.push(
      measure("exclude_lines: ['^DEBUG', 'healthz']", total, runs, () => {
        const filter = new LineFilter(new LineFilterRules([], ['^DEBUG', 'healthz']));
        const counters = new InputLineCounters();
        return () => {
          for (let k = 0; k < repeat; k++) {
            for (const read of raw) {
              const bounds = [...read.bounds];
              const ends = [...read.ends];
              filter.apply(read.data, bounds, [], [ends], counters);
              sink += ends.length;
            }
          }
        };
      }),
    );
  }
  const containerRun = (reads: FramedInput[], mode: 'cri' | 'docker') => () => {
    const p = new ContainerLogParser(mode, { maxEventBytes: 1 << 20, position: 0 }, new InputLineCounters());
    return () => {
      for (let k = 0; k < repeat; k++) {
        p.reset(0);
        for (const read of reads) {
          const out = emptyEvents();
          p.push(read, out);
          sink += out.ends.length;
        }
      }
    };
  };
  figures.push(measure('parser: cri', total, runs, containerRun(framed(criLines(size)), 'cri')));
  figures.push(measure('parser: docker', total, runs, containerRun(framed(dockerLines(size)), 'docker')));
  {
    const json = framed(Array.from({ length: size }, (_, i) => jsonMessage(i)));
    const topic = compileTemplate('logs.{json.service:-unknown}', 'topic');
    const key = compileTemplate('{json.trace_id:-}', 'key');
    const paths = [...new Set([...topic.jsonPaths, ...key.jsonPaths])];
    const vars = { input: 'app', host: 'h', file: fileVars('/var/log/app/app.log'), env: {} };
    figures.push(
      measure('parse: json + topic and key by field', total, runs, () => {
        const extractor = new JsonFieldExtractor(paths, new InputLineCounters());
        const [t, k] = [topic.bind(vars, paths), key.bind(vars, paths)];
        // Per read, as the line pipeline does: one call into the addon for the read's lines.
        return () => {
          for (let r = 0; r < repeat; r++) {
            for (const read of json) {
              const extracted = extractor.extractBounds(read.data, read.bounds);
              for (const values of extracted) {
                const line = { stream: null, json: values };
                sink += t.renderTopic(line).length + k.render(line).length;
              }
            }
          }
        };
      }),
    );
  }

  const floor = figures[0]!.cpuSecondsPerMillion;
  console.log(`${total} lines (${size} distinct), median of ${runs} runs after one warm-up, Node ${process.version}`);
  for (const f of figures) {
    const above = f.cpuSecondsPerMillion - floor;
    const verdict = f === figures[0] ? '' : `, target <= 1: ${above <= 1 ? 'PASS' : 'FAIL'}`;
    console.log(
      `${f.name.padEnd(40)} ${Math.round(f.linesPerSec).toLocaleString('en').padStart(12)} lines/s  ` +
        `${f.cpuSecondsPerMillion.toFixed(3)} CPU-s/M lines  (${above.toFixed(3)} above raw${verdict})`,
    );
  }
  if (sink === -1) console.log('');
}

main();
