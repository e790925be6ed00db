// Typed failures of the benchmark harness, each carrying what it was doing when it failed, so
// a broken run says which scenario, topic or process to look at.

export class BenchError extends Error {
  constructor(
    message: string,
    readonly scenario: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'BenchError';
  }
}

/** Kafka never reached the expected record count (high-watermark sum) in time. */
export class DeliveryTimeoutError extends Error {
  constructor(
    readonly topic: string,
    readonly expected: number,
    readonly seen: number,
    readonly timeoutMs: number,
  ) {
    super(`topic ${topic}: ${seen} of ${expected} records after ${timeoutMs} ms`);
    this.name = 'DeliveryTimeoutError';
  }
}

/** A /proc file of a measured process could not be read or parsed (usually: it exited). */
export class ProcReadError extends Error {
  constructor(
    readonly pid: number,
    readonly file: string,
    override readonly cause?: unknown,
  ) {
    super(`cannot read /proc/${pid}/${file}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'ProcReadError';
  }
}

/** A child tool (kcat, the rate writer) failed. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    message: string,
  ) {
    super(`${tool}: ${message}`);
    this.name = 'ToolError';
  }
}
