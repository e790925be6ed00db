// Samples the running agent's /metrics once a second for logship_file_lag_bytes (per followed
// file: size on disk minus the offset Kafka acknowledged) and keeps the peaks of the soak: the
// largest lag of one file and the largest sum over files, with when they were seen. Also the
// lowest logship_in_flight_bytes: below 0 the agent's accounting is broken. Scrapes fail while
// the agent is down between lives; those are counted, not errors.

const SAMPLE_EVERY_MS = 1_000;
const LAG_LINE = /^logship_file_lag_bytes\{([^}]*)\} (\S+)$/gm;
const FILE_LABEL = /\bfile="((?:[^"\\]|\\.)*)"/;
const PATH_LABEL = /\bpath="((?:[^"\\]|\\.)*)"/;
const IN_FLIGHT_LINE = /^logship_in_flight_bytes (\S+)$/m;

export interface LagPeak {
  bytes: number;
  /** ms since the epoch */
  at: number;
  /** For the single-file peak: the file's live path. */
  path: string | null;
}

/** Per-file lags from a Prometheus text body: the file's current path (else its live path) -> bytes. */
export function fileLags(metricsText: string): Map<string, number> {
  const lags = new Map<string, number>();
  for (const match of metricsText.matchAll(LAG_LINE)) {
    const labels = match[1]!;
    const file = FILE_LABEL.exec(labels)?.[1] ?? PATH_LABEL.exec(labels)?.[1] ?? labels;
    lags.set(file, (lags.get(file) ?? 0) + Number(match[2]));
  }
  return lags;
}

export class LagSampler {
  readonly totalPeak: LagPeak = { bytes: 0, at: 0, path: null };
  readonly filePeak: LagPeak = { bytes: 0, at: 0, path: null };
  samples = 0;
  failedScrapes = 0;
  /** Lowest logship_in_flight_bytes seen, and when. */
  readonly inFlightLow = { bytes: 0, at: 0 };
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly metricsUrl: string) {}

  start(): void {
    this.timer = setInterval(() => {
      this.inFlight = this.sample();
    }, SAMPLE_EVERY_MS);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private async sample(): Promise<void> {
    let text: string;
    try {
      const response = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(SAMPLE_EVERY_MS) });
      text = await response.text();
    } catch {
      this.failedScrapes++;
      return;
    }
    this.samples++;
    const now = Date.now();
    let total = 0;
    for (const [path, bytes] of fileLags(text)) {
      total += bytes;
      if (bytes > this.filePeak.bytes) Object.assign(this.filePeak, { bytes, at: now, path });
    }
    if (total > this.totalPeak.bytes) Object.assign(this.totalPeak, { bytes: total, at: now });
    const inFlight = Number(IN_FLIGHT_LINE.exec(text)?.[1] ?? 0);
    if (inFlight < this.inFlightLow.bytes) Object.assign(this.inFlightLow, { bytes: inFlight, at: now });
  }
}
