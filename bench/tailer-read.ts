// Micro-benchmark of the tailer's read path: a 1,000,000-line file of ~125-byte lines read by
// a real Tailer (open, chunked reads, framing, UTF-8 validation, batches with markers) into a
// sink that only counts. Prints lines/s and MB/s. Run: node dist/bench/tailer-read.js

import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type { InputConfig } from '../src/config/types.js';
import { Tailer } from '../src/tailer/tailer.js';

const LINES = 1_000_000;
const LINE_BYTES = 125;

async function writeSampleFile(path: string): Promise<number> {
  const handle = await open(path, 'w');
  try {
    const batch = 10_000;
    for (let from = 0; from < LINES; from += batch) {
      let text = '';
      for (let n = from; n < from + batch; n++) {
        const head = `2024-05-01T12:00:00.${String(n % 1000).padStart(3, '0')}Z INFO request id=${n} path=/api/items status=200 `;
        text += head.padEnd(LINE_BYTES - 1, 'x') + '\n';
      }
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
  return (await stat(path)).size;
}

function benchInput(path: string): InputConfig {
  return {
    id: 'bench',
    paths: [path],
    exclude: [],
    start_at: 'beginning',
    ignore_older: 0,
    topic: 'bench',
    key: null,
    format: 'raw',
    headers: false,
    max_line_bytes: 1024 * 1024,
    partial_line_timeout: 0,
    encoding: 'utf-8',
    multiline: null,
    rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 },
    fields: {},
  };
}

export async function benchTailerRead(): Promise<{ linesPerSec: number; mbPerSec: number }> {
  const dir = await mkdtemp(join(os.tmpdir(), 'logship-bench-tailer-'));
  try {
    const path = join(dir, 'bench.log');
    const bytes = await writeSampleFile(path);
    let lines = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const tailer = new Tailer({
      inputs: [benchInput(path)],
      maxOpenFiles: 16,
      log: pino({ level: 'silent' }),
      gate: { isOpen: () => true, waitOpen: async () => undefined },
      checkpoints: { get: () => undefined, all: () => [], seen: () => undefined },
      sink: (batch) => {
        lines += batch.lines.length;
        if (lines >= LINES) done();
      },
    });
    const started = process.hrtime.bigint();
    await tailer.start();
    await finished;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await tailer.stop();
    return { linesPerSec: Math.round(lines / seconds), mbPerSec: Math.round((bytes / 1e6 / seconds) * 10) / 10 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchTailerRead();
  console.log(`tailer read+split: ${result.linesPerSec.toLocaleString('en-US')} lines/s, ${result.mbPerSec} MB/s (${LINES.toLocaleString('en-US')} lines of ${LINE_BYTES} bytes)`);
}
