// Agent: assembles the pipeline for one configuration and runs it —
// discover -> tail -> frame lines -> ship -> acknowledge -> persist — reloads it on request
// without losing or repeating a line, and takes it down in the reverse order so that every
// acknowledged offset is persisted before exit.

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from './config/load.js';
import type { AgentConfig } from './config/types.js';
import { FileActivity } from './metrics/file-activity.js';
import type { FileLag } from './metrics/metrics.js';
import { OffsetRegistry } from './registry/offset-registry.js';
import { startPipelineTrace, type PipelineTrace } from './daemon/pipeline-trace.js';
import { checkpointPosition, type FilePosition, type SourceFile } from './core/file.js';
import { acknowledgementEntries, registrationEntry } from './core/registration.js';
import { OffsetTracker } from './core/offset-tracker.js';
import { startMockCluster, type MockCluster } from './shipper/mock-cluster.js';
import { loadNativeProducer } from './shipper/native-producer.js';
import { effectiveMaxLineBytes, producerConfig } from './shipper/producer-config.js';
import { Shipper, newShipperStats } from './shipper/shipper.js';
import { TailerCounters } from './tailer/counters.js';
import { Tailer } from './tailer/tailer.js';

const PROGRESS_EVERY_MS = 5_000;

/** How a configuration reload (SIGHUP) ended; the agent keeps running in every case. */
export type ReloadOutcome =
  /** The new configuration runs. */
  | 'applied'
  /** The file is invalid: the running configuration stays. */
  | 'refused'
  /** An unexpected error while applying: the agent keeps what it has. */
  | 'failed'
  /** A stop began during the reload. */
  | 'abandoned';

export class Agent {
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly lastReported = new Map<string, number>();
  private stopRequested = false;
  private stopping: Promise<void> | null = null;
  private reloading: Promise<ReloadOutcome> | null = null;
  private reloadAgain = false;
  private metricsServer: Server | null = null;
  /** Kept across reloads so metrics counters never go backwards. */
  private readonly tailerCounters = new TailerCounters();
  private readonly shipperStats = newShipperStats();
  /** Per-file read counters for /metrics, kept across reloads like the stats above. */
  private readonly activity = new FileActivity(() => this.tailer.files().map((f) => f.identity));
  /**
   * Per file: where its reader started, what it handed to the shipper, what Kafka acknowledged;
   * and the descriptors of deleted files a stopped tailer was still reading. Outlives the
   * tailers, so a reload continues exactly where the previous one stood.
   */
  private readonly tracker = new OffsetTracker({
    tracked: (record) => {
      if (record.persistable !== null) this.registerFollowed(record, record.persistable, record.start, record.seenAt);
    },
    announced: (source, at, from) => this.registerFollowed(source, at, from, undefined),
    // A deleted file, read to its end and closed, cannot be resumed: its entry stays (what was
    // acknowledged of it), marked so that a new file on the same inode is not taken for it.
    gone: (identity) => this.registry.markDeleted(identity),
  });
  private shipper!: Shipper;
  private tailer!: Tailer;
  /** Development timeline (LOGSHIP_TRACE_FILE), off by default. */
  private trace: PipelineTrace | null = null;

  private constructor(
    private config: AgentConfig,
    readonly registry: OffsetRegistry,
    private embedded: MockCluster | null,
    private readonly log: Logger,
  ) {}

  static async start(config: AgentConfig, log: Logger): Promise<Agent> {
    const trace = startPipelineTrace(process.env, log);
    trace.mark('agent start');
    // Before anything else: refuses to start (saying how to rebuild) unless exactly one
    // librdkafka, the binding's, of the version the native producer was compiled against, runs.
    const librdkafka = loadNativeProducer();
    trace.mark('librdkafka loaded');
    log.info({ librdkafka: librdkafka.path, version: librdkafka.version }, `librdkafka ${librdkafka.version} loaded from ${librdkafka.path} (native batch producer)`);
    const registry = await OffsetRegistry.open({
      dataDir: config.agent.data_dir,
      flushIntervalMs: config.registry.flush_interval,
      cleanAfterMs: config.registry.clean_after,
      log: log.child({ module: 'registry' }),
    });
    trace.mark('registry open');
    const agent = new Agent(config, registry, null, log);
    agent.trace = trace;
    agent.shipper = await agent.createShipper(config);
    trace.mark('producer created');
    trace.sampleWith(() => ({ ...agent.shipper.traceSample(), bytesRead: agent.tailerCounters.totalBytesRead(), linesRead: agent.tailerCounters.totalLinesRead() }));
    agent.tailer = agent.createTailer(config);
    if (config.metrics.listen !== '') {
      // Loaded when the endpoint is on: node:http is not in node's own startup snapshot (a few
      // ms to compile) and cannot be evaluated into ours (snapshot.ts) on Node 20.
      const { serveMetrics } = await import('./metrics/metrics.js');
      const { server } = await serveMetrics(
        config.metrics.listen,
        {
          tailer: agent.tailerCounters.view,
          shipper: agent.shipperStats,
          inFlightBytes: () => agent.shipper.inFlightBytes,
          registry: () => registry.stats,
          files: () => agent.fileLags(),
          ready: () => agent.ready(),
        },
        log.child({ module: 'metrics' }),
      );
      agent.metricsServer = server;
    }
    agent.shipper.start();
    registry.start();
    await agent.tailer.start();
    trace.mark('tailer started');
    agent.progressTimer = setInterval(() => agent.reportProgress(), PROGRESS_EVERY_MS).unref();
    log.info({ inputs: config.inputs.map((i) => i.id), config: config.source }, 'logship running');
    return agent;
  }

  private async bootstrapFor(config: AgentConfig): Promise<string> {
    if (config.kafka.brokers !== 'embedded') return config.kafka.brokers.join(',');
    if (!this.embedded) {
      this.embedded = await startMockCluster(3);
      this.log.warn(
        { bootstrap: this.embedded.bootstrap },
        'kafka.brokers is "embedded": an in-memory DEMO cluster runs inside this process. NOTHING IS DURABLE: records vanish when the agent stops. Point kafka.brokers at real brokers for production.',
      );
    }
    return this.embedded.bootstrap;
  }

  private async createShipper(config: AgentConfig): Promise<Shipper> {
    const registry = this.registry;
    const tracker = this.tracker;
    return new Shipper({
      config,
      librdkafka: producerConfig(config.kafka, await this.bootstrapFor(config)),
      log: this.log,
      stats: this.shipperStats,
      onCommit: (source, pos) => {
        for (const entry of acknowledgementEntries(tracker, source, pos, Date.now())) registry.commit(entry);
      },
    });
  }

  private createTailer(config: AgentConfig): Tailer {
    return new Tailer({
      inputs: config.inputs.map((i) => ({ ...i, max_line_bytes: effectiveMaxLineBytes(i.max_line_bytes, config.kafka) })),
      maxOpenFiles: config.agent.max_open_files,
      inFlightBytes: config.kafka.max_in_flight_bytes,
      sink: this.activity.counting(this.shipper.ship),
      gate: this.shipper.gate,
      checkpoints: this.registry,
      tracker: this.tracker,
      counters: this.tailerCounters,
      log: this.log.child({ module: 'tailer' }),
    });
  }

  /**
   * A followed file gets an entry as soon as a position that owes nothing is known — 0 for a
   * file read from its start, for a copytruncate copy the position up to which its original's
   * lines are acknowledged; announced before the reader opens the file where the start needs no
   * look at it. Should the agent stop or crash before any of its own lines are acknowledged, the
   * restart knows the file — a file written to and rotated away while down is read, a copy is
   * finished — instead of finding an unknown file under a rotated name. An entry the follow
   * continues stays; any other (a reused inode's, a truncated file's old position) is replaced
   * (see registrationEntry). Other starts (a hand-over) may stand on bytes not yet
   * acknowledged: not registered.
   */
  private registerFollowed(file: Pick<SourceFile, 'identity' | 'input' | 'path'>, at: FilePosition, from: FilePosition, seenAt: number | undefined): void {
    const entry = registrationEntry(file, at, from, this.registry.get(file.identity), Date.now(), seenAt);
    if (entry !== null) this.registry.commit(entry);
  }

  /** Config loaded (we exist) and Kafka connected and answering. */
  ready(): boolean {
    return !this.stopRequested && this.shipper.stats.connected && this.shipper.stats.reachable;
  }

  /**
   * Per followed file: size on disk against what needs nothing more shipped — acknowledged by
   * Kafka, or before where its reader started when those bytes were not its to ship (a
   * copytruncate copy starts where the original stood), from the offset tracker — and what was read.
   */
  fileLags(): FileLag[] {
    return this.tailer.files().map((f) => {
      const read = this.activity.of(f.identity);
      return {
        path: f.path,
        file: f.currentPath,
        input: f.input,
        state: f.state,
        size: f.size,
        committed: this.tracker.get(f.identity)?.shippedOffset ?? registeredWithin(this.registry.get(f.identity)?.offset ?? 0, f.size),
        linesRead: read?.lines ?? 0,
        bytesRead: read?.bytes ?? 0,
        lastReadAt: read?.lastReadAt ?? null,
      };
    });
  }

  /** The last metadata probe was answered in time (see /readyz); null while the first connection attempt runs. */
  kafkaReachable(): boolean | null {
    const s = this.shipperStats;
    return !s.connected && s.lastError === null ? null : s.reachable;
  }

  /** Records Kafka acknowledged since start, all topics. */
  acknowledgedTotal(): number {
    let sum = 0;
    for (const n of this.shipperStats.acked.values()) sum += n;
    return sum;
  }

  inFlightBytes(): number {
    return this.shipper.inFlightBytes;
  }

  /**
   * SIGHUP: re-read and apply the configuration file. Never throws; an invalid file keeps the
   * running configuration. A request arriving during a reload runs once that one is done.
   */
  requestReload(): Promise<ReloadOutcome> {
    if (this.stopRequested) return Promise.resolve('abandoned');
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      let outcome: ReloadOutcome;
      do {
        this.reloadAgain = false;
        try {
          outcome = await this.reloadOnce();
        } catch (err) {
          this.log.error({ err }, 'reload failed; the agent keeps running with what it has');
          outcome = 'failed';
        }
      } while (this.reloadAgain && !this.stopRequested);
      return outcome;
    })().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const previous = this.config;
    let next: AgentConfig;
    try {
      next = await loadConfig(previous.source);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.log.error({ config: previous.source, problems: err.message }, `configuration NOT reloaded, the running one stays:\n${err.message}`);
      return 'refused';
    }
    for (const key of ['data_dir', 'max_open_files'] as const) {
      if (next.agent[key] !== previous.agent[key]) this.log.warn({ key: `agent.${key}` }, 'this setting changes only at restart; keeping the running value');
    }
    if (next.metrics.listen !== previous.metrics.listen || next.log.format !== previous.log.format) {
      this.log.warn('metrics.listen and log.format change only at restart; keeping the running values');
    }
    next = {
      ...next,
      agent: { ...next.agent, data_dir: previous.agent.data_dir, max_open_files: previous.agent.max_open_files },
      metrics: previous.metrics,
      log: { ...next.log, format: previous.log.format },
    };
    this.log.level = next.log.level;

    // Stop reading; what the readers handed over is in the shipper and is not read again: the
    // tracker keeps where they stood (and the descriptors of deleted files still being read).
    await this.tailer.stop();
    if (JSON.stringify(next.kafka) !== JSON.stringify(previous.kafka)) {
      this.log.info('kafka settings changed: draining the running producer before swapping it');
      const drained = await this.drainForSwap(next.agent.shutdown_timeout);
      if (this.stopRequested) return 'abandoned';
      if (!drained) {
        // Whatever the old producer still holds is given up by it and read again from the
        // registry's committed offsets by the new one: at-least-once, never a gap.
        this.log.warn({ unacknowledgedBatches: this.shipper.outstanding }, 'old producer not drained in shutdown_timeout; unacknowledged lines will be read again');
        this.tracker.rewindToAcknowledged((identity) => {
          const cp = this.registry.get(identity);
          return cp === undefined ? undefined : checkpointPosition(cp);
        });
      }
      await this.shipper.stop(1_000);
      if (next.kafka.brokers !== 'embedded' && this.embedded) {
        await this.embedded.stop();
        this.embedded = null;
      }
      this.shipper = await this.createShipper(next);
      this.shipper.start();
    } else {
      this.shipper.updateConfig(next);
    }
    this.config = next;
    this.tailer = this.createTailer(next);
    await this.tailer.start();
    const before = new Set(previous.inputs.map((i) => i.id));
    const after = new Set(next.inputs.map((i) => i.id));
    this.log.info(
      { added: [...after].filter((id) => !before.has(id)), removed: [...before].filter((id) => !after.has(id)) },
      'configuration reloaded',
    );
    return 'applied';
  }

  private async drainForSwap(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stopRequested && Date.now() < deadline) {
      if (await this.shipper.drain(Math.min(500, deadline - Date.now()))) return true;
    }
    return false;
  }

  /** One line per topic that moved since the last report: what an operator watches first. */
  private reportProgress(): void {
    for (const [topic, acked] of this.shipperStats.acked) {
      const before = this.lastReported.get(topic) ?? 0;
      if (acked === before) continue;
      this.lastReported.set(topic, acked);
      this.log.info({ topic, lines: acked - before, total: acked, inFlightBytes: this.shipper.inFlightBytes }, `shipped ${acked - before} lines to topic ${topic}`);
    }
  }

  /**
   * Clean stop within agent.shutdown_timeout: drain the files (drain_on_stop), stop reading,
   * wait for Kafka to acknowledge what is in flight, persist offsets. What was not acknowledged
   * is read again next start.
   */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const timeout = this.config.agent.shutdown_timeout;
    const deadline = Date.now() + timeout;
    if (this.progressTimer) clearInterval(this.progressTimer);
    // A reload in progress notices stopRequested at its next step; let it settle first.
    if (this.reloading) await withDeadline(this.reloading, Math.max(0, deadline - Date.now()));
    if (this.config.agent.drain_on_stop) {
      // Read what is already on disk, keeping part of the time for Kafka's acknowledgements.
      const readUntil = deadline - Math.min(5_000, timeout / 4);
      const drainedFiles = await withDeadline(this.tailer.drained(), readUntil - Date.now());
      if (!drainedFiles) {
        this.log.warn({ lagBytes: this.fileLags().reduce((sum, f) => sum + Math.max(0, f.size - f.committed), 0) }, 'shutdown_timeout: stopped reading before every file was drained; the rest is read at next start');
      }
    }
    await this.tailer.stop();
    await this.tracker.closeHeld();
    const drained = await this.shipper.drain(Math.max(0, deadline - Date.now()));
    if (!drained) {
      this.log.warn(
        { unacknowledgedBatches: this.shipper.outstanding, inFlightBytes: this.shipper.inFlightBytes },
        'shutdown_timeout reached before Kafka acknowledged everything; those lines will be read again at next start (nothing lost)',
      );
    }
    await this.shipper.stop(Math.max(0, deadline - Date.now()));
    this.reportProgress();
    await this.registry.close();
    this.metricsServer?.close();
    if (this.embedded) await this.embedded.stop();
    this.trace?.stop();
    // The process's whole-life CPU and peak memory, for the operator comparing shippers (and
    // for the bench, which cannot preload a probe into an agent started from its snapshot).
    const usage = process.resourceUsage();
    this.log.info(
      { drained, cpuUserSeconds: usage.userCPUTime / 1e6, cpuSystemSeconds: usage.systemCPUTime / 1e6, maxRssMiB: usage.maxRSS / 1024 },
      'logship stopped',
    );
  }
}

/**
 * A file whose reader has not opened it yet (no tracker record) counts as shipped up to its
 * registry offset — unless the file is shorter now: that offset then describes what it held
 * before a truncation (its copy holds the rest), and none of what it holds now is acknowledged.
 */
function registeredWithin(offset: number, size: number): number {
  return offset <= size ? offset : 0;
}

/** true if `work` settles within `ms`, false otherwise (the work itself is not cancelled). */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
