// Reads the soak's topics back with kcat (an independent librdkafka build): every record with
// its partition, offset and timestamp (the producer's create time: when the agent produced it,
// which dates each copy of a duplicated line), and each partition's low watermark — the mock
// cluster trims old batches past ~5 MiB per partition, and a trimmed topic cannot prove by
// contents that nothing was lost.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const KCAT_FORMAT = '%p %o %T %S\n%s\n';

export interface TimedRecord {
  partition: number;
  offset: number;
  /** ms since the epoch: when the agent produced the record. */
  timestamp: number;
  value: Buffer;
}

export class ReadbackError extends Error {
  constructor(
    readonly topic: string,
    message: string,
  ) {
    super(`${topic}: ${message}`);
    this.name = 'ReadbackError';
  }
}

/** Every record of `topic`, from the beginning to the current end, byte-exact. */
export async function readTopic(bootstrap: string, topic: string): Promise<TimedRecord[]> {
  const { stdout } = await execFileP('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', KCAT_FORMAT], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return parseRecords(topic, stdout);
}

/** Parses kcat output in KCAT_FORMAT: a header line, then exactly `size` value bytes and "\n". */
export function parseRecords(topic: string, out: Buffer): TimedRecord[] {
  const records: TimedRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const headerEnd = out.indexOf(0x0a, pos);
    const header = out.toString('latin1', pos, headerEnd === -1 ? out.length : headerEnd);
    const fields = /^(\d+) (\d+) (-?\d+) (-?\d+)$/.exec(header);
    if (headerEnd === -1 || fields === null) throw new ReadbackError(topic, `unexpected kcat output at byte ${pos}: ${JSON.stringify(header.slice(0, 80))}`);
    const size = Math.max(0, Number(fields[4]));
    const valueStart = headerEnd + 1;
    records.push({
      partition: Number(fields[1]),
      offset: Number(fields[2]),
      timestamp: Number(fields[3]),
      value: Buffer.from(out.subarray(valueStart, valueStart + size)),
    });
    pos = valueStart + size + 1;
  }
  return records;
}

/** Low watermark per partition ("-t topic:p:-2" answers the first offset still held). */
export async function lowWatermarks(bootstrap: string, topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
  const marks = new Map<number, number>();
  if (partitions.length === 0) return marks;
  const args = ['-Q', '-b', bootstrap];
  for (const p of partitions) args.push('-t', `${topic}:${p}:-2`);
  const { stdout } = await execFileP('kcat', args);
  for (const m of stdout.matchAll(/\[(\d+)\] offset (-?\d+)/g)) marks.set(Number(m[1]), Number(m[2]));
  return marks;
}
