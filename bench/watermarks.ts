// Counts what Kafka holds: the sum of a topic's partition high watermarks, read with kcat -Q.
// Delivery is always measured this way, never assumed from a producer's say-so. The partition
// list is looked up once the topic exists, so each poll costs one kcat run.

import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { TestCluster } from '../test/helpers/cluster.js';
import { DeliveryTimeoutError } from './errors.js';

const execFileP = promisify(execFile);

export class TopicCounter {
  private partitions: number[] = [];

  constructor(
    private readonly cluster: TestCluster,
    readonly topic: string,
  ) {}

  /** Records in the topic now (0 while it does not exist). */
  async count(): Promise<number> {
    if (this.partitions.length === 0) {
      this.partitions = await this.cluster.partitions(this.topic);
      if (this.partitions.length === 0) return 0;
    }
    const args = ['-Q', '-b', this.cluster.bootstrap];
    for (const p of this.partitions) args.push('-t', `${this.topic}:${p}:-1`);
    const { stdout } = await execFileP('kcat', args);
    let sum = 0;
    for (const m of stdout.matchAll(/\[(\d+)\] offset (-?\d+)/g)) sum += Math.max(0, Number(m[2]));
    return sum;
  }
}

export interface CountReached {
  /** performance.now() when the poll that saw the count returned. */
  atMs: number;
  count: number;
}

export interface WaitOptions {
  everyMs?: number;
  /** Stops polling: the wait then resolves null instead of a count. */
  signal?: AbortSignal;
}

/**
 * Polls every `everyMs` until the topic holds at least `expected` records; the time is that of
 * the poll that saw it (an upper bound, by at most one poll interval).
 */
export async function waitForCount(counter: TopicCounter, expected: number, timeoutMs: number, o: WaitOptions & { signal: AbortSignal }): Promise<CountReached | null>;
export async function waitForCount(counter: TopicCounter, expected: number, timeoutMs: number, o?: Omit<WaitOptions, 'signal'>): Promise<CountReached>;
export async function waitForCount(counter: TopicCounter, expected: number, timeoutMs: number, { everyMs = 100, signal }: WaitOptions = {}): Promise<CountReached | null> {
  const deadline = performance.now() + timeoutMs;
  while (!signal?.aborted) {
    const pollStarted = performance.now();
    const count = await counter.count();
    const atMs = performance.now();
    if (count >= expected) return { atMs, count };
    if (atMs > deadline) throw new DeliveryTimeoutError(counter.topic, expected, count, timeoutMs);
    try {
      await delay(Math.max(0, everyMs - (atMs - pollStarted)), undefined, signal ? { signal } : {});
    } catch {
      break; // aborted while waiting
    }
  }
  return null;
}
