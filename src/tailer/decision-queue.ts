// The tailer's decisions (what a scan or a watch event means, following and releasing files)
// run one at a time, in order, on this queue; readers read concurrently. A failed decision is
// logged and the queue goes on.

import type { Logger } from 'pino';

export class DecisionQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  /** Runs `task` after every decision queued before it; resolves (or rejects) with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'tailer decision failed'),
    );
    return run;
  }

  /** Resolves once every decision queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
