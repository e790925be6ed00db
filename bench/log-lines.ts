// Synthetic log lines of an exact byte length that look like an application's access log
// (timestamps, ids, words), so compression ratios resemble real logs rather than a run of 'x'.
// Deterministic (seeded), ASCII only (one byte per character).

import { closeSync, openSync, writeSync } from 'node:fs';

const WORDS = [
  'request', 'completed', 'user', 'session', 'cache', 'miss', 'hit', 'upstream', 'timeout', 'retry',
  'order', 'payment', 'accepted', 'rejected', 'token', 'refresh', 'query', 'rows', 'index', 'scan',
  'worker', 'queue', 'enqueued', 'dequeued', 'batch', 'flushed', 'connection', 'opened', 'closed', 'pool',
  'latency', 'exceeded', 'threshold', 'invoice', 'customer', 'region', 'eu-west-1', 'us-east-2', 'shard', 'replica',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const STATUSES = [200, 200, 200, 200, 201, 204, 304, 400, 404, 500];
const BASE_TIME_MS = Date.UTC(2024, 10, 21, 5, 51, 0);

/** mulberry32: a tiny seeded PRNG, enough for varied but reproducible text. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LineMaker = (seq: number) => string;

/** Lines of exactly `lineBytes` bytes (without the newline), numbered by `seq`. */
export function lineMaker(lineBytes: number, seed = 42): LineMaker {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return (seq) => {
    const head =
      `${new Date(BASE_TIME_MS + seq * 3).toISOString()} ${pick(LEVELS)} [worker-${seq % 8}] req=${String(seq).padStart(9, '0')} ` +
      `${pick(METHODS)} /api/v1/${pick(WORDS)}/${Math.floor(random() * 100_000)} status=${pick(STATUSES)} ` +
      `dur=${Math.floor(random() * 500)}ms user=u${Math.floor(random() * 50_000)} msg="`;
    let line = head;
    while (line.length < lineBytes) line += `${pick(WORDS)} `;
    return line.slice(0, lineBytes);
  };
}

/** A pool of distinct lines to cycle through when a writer must not spend CPU making lines. */
export function linePool(lineBytes: number, size: number, seed = 7): string[] {
  const make = lineMaker(lineBytes, seed);
  return Array.from({ length: size }, (_, i) => make(i) + '\n');
}

/** Writes `count` lines of `lineBytes` (+ newline) to a new file; returns its size in bytes. */
export function writeLinesFile(path: string, count: number, lineBytes: number): number {
  const make = lineMaker(lineBytes);
  const linesPerChunk = Math.max(1, Math.floor((4 * 1024 * 1024) / (lineBytes + 1)));
  const fd = openSync(path, 'w');
  try {
    for (let from = 0; from < count; from += linesPerChunk) {
      const to = Math.min(count, from + linesPerChunk);
      const chunk: string[] = [];
      for (let seq = from; seq < to; seq++) chunk.push(make(seq));
      writeSync(fd, chunk.join('\n') + '\n');
    }
  } finally {
    closeSync(fd);
  }
  return count * (lineBytes + 1);
}
