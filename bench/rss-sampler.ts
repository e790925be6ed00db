// Samples a process's resident set size at a fixed interval, to see how memory moves during a
// phase (a Kafka stall, an idle window) rather than only its peak.

import { memoryUse } from './proc-stats.js';

export interface RssSample {
  /** performance.now() of the sample. */
  atMs: number;
  rssMiB: number;
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): RssSample[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.samples;
  }

  /** Samples taken in [fromMs, toMs) (performance.now() times). */
  between(fromMs: number, toMs: number): RssSample[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
  }

  private sample(): void {
    try {
      this.samples.push({ atMs: performance.now(), rssMiB: memoryUse(this.pid).rssMiB });
    } catch {
      // The process exited between two samples: the samples taken so far stand.
      this.stop();
    }
  }
}

export function maxRss(samples: readonly RssSample[]): number {
  return samples.reduce((m, s) => Math.max(m, s.rssMiB), 0);
}
