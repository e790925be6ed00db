// Carries out one fault of the plan against the running soak and records what was done:
// file rotations on a random writer, crashes and clean stops of the agent (each followed by a
// restart after a random pause), cluster stalls (which run on in the background while other
// faults happen), and configuration reloads alternating an identical file and a harmless change.

import { setTimeout as sleep } from 'node:timers/promises';
import type { TestCluster } from '../helpers/cluster.js';
import type { AgentSupervisor } from './agent-supervisor.js';
import type { DeletedFiles } from './deleted-files.js';
import { agentHolds, deleteAndRecreate, rotateByCopyTruncate, rotateByRename } from './file-faults.js';
import type { FaultKind } from './plan.js';
import type { Random } from './random.js';
import { BASE_VARIANT, type ConfigVariant } from './soak-config.js';
import type { LogWriter } from './writer.js';

/** Longest a crash waits for deleted files to be shipped (see DeletedFiles). */
const KILL_GUARD_TIMEOUT_MS = 20_000;
/** Longest a deletion waits for the agent to hold the file open. */
const HOLD_TIMEOUT_MS = 30_000;
const RESTART_PAUSE_MS: readonly [number, number] = [0, 1_500];
const STALL_MS: readonly [number, number] = [2_000, 6_000];
const RENAME_LINGER_MS: readonly [number, number] = [0, 150];

export interface FaultRecord {
  kind: FaultKind;
  /** ms since the epoch */
  at: number;
  tookMs: number;
  /** The writer it hit, for file faults. */
  target: string | null;
  detail: string;
  /** Something about it went wrong (a stop that did not exit 0, a reload refused...). */
  problem: string | null;
}

export interface FaultTargets {
  writers: readonly LogWriter[];
  agent: AgentSupervisor;
  cluster: TestCluster;
  deleted: DeletedFiles;
  random: Random;
  /** The configuration text for a variant. */
  yaml: (variant: ConfigVariant) => string;
}

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  /** When each SIGKILL was sent: duplicates are attributed to these. */
  readonly killTimes: number[] = [];
  private stall: Promise<void> | null = null;
  private reloads = 0;
  private variant: ConfigVariant = BASE_VARIANT;

  constructor(private readonly targets: FaultTargets) {}

  async inject(kind: FaultKind): Promise<FaultRecord> {
    const at = Date.now();
    const record: FaultRecord = { kind, at, tookMs: 0, target: null, detail: '', problem: null };
    try {
      await this.carryOut(record);
    } catch (err) {
      record.problem = err instanceof Error ? err.message : String(err);
    }
    record.tookMs = Date.now() - at;
    this.records.push(record);
    return record;
  }

  /** Waits for a stall in progress to end (the cluster is resumed). */
  async settle(): Promise<void> {
    await this.stall;
  }

  private async carryOut(record: FaultRecord): Promise<void> {
    const { random, agent, cluster } = this.targets;
    switch (record.kind) {
      case 'rotate-rename': {
        const writer = this.pickWriter(record);
        record.detail = await rotateByRename(writer, random.int(...RENAME_LINGER_MS));
        return;
      }
      case 'copytruncate': {
        const writer = this.pickWriter(record);
        record.detail = await rotateByCopyTruncate(writer);
        return;
      }
      case 'delete-recreate': {
        const writer = this.pickWriter(record);
        const held = await this.untilAgentHolds(writer);
        if (!held) {
          record.detail = `skipped: the agent did not open ${writer.name}'s file within ${HOLD_TIMEOUT_MS / 1000} s`;
          record.problem = record.detail;
          return;
        }
        const deleted = deleteAndRecreate(writer);
        this.targets.deleted.add(deleted);
        record.detail = `deleted ${deleted.identity} (${deleted.size} bytes), recreated`;
        return;
      }
      case 'agent-sigkill': {
        const guard = await this.targets.deleted.waitShipped(KILL_GUARD_TIMEOUT_MS);
        const killedAt = await agent.kill();
        this.killTimes.push(killedAt);
        const pause = random.int(...RESTART_PAUSE_MS);
        await sleep(pause);
        await agent.start();
        record.detail = `killed${guard.waitedMs > 0 ? ` after waiting ${guard.waitedMs} ms for deleted files to be shipped` : ''}, restarted after ${pause} ms`;
        if (guard.unconfirmed.length > 0) {
          record.problem = `killed with deleted files not confirmed shipped: ${guard.unconfirmed.map((f) => `${f.identity} (${f.size} bytes)`).join(', ')}`;
        }
        return;
      }
      case 'agent-sigterm': {
        const life = await agent.terminate();
        const pause = random.int(...RESTART_PAUSE_MS);
        await sleep(pause);
        await agent.start();
        record.detail = `stopped in ${life.stopMs} ms (exit ${life.exitCode ?? life.exitSignal}), restarted after ${pause} ms`;
        if (life.exitCode !== 0) record.problem = `SIGTERM ended the agent with ${life.exitCode ?? life.exitSignal}, expected exit 0`;
        return;
      }
      case 'cluster-stall': {
        await this.stall; // one stall at a time
        const ms = random.int(...STALL_MS);
        cluster.stall();
        this.stall = sleep(ms).then(() => {
          cluster.resume();
          this.stall = null;
        });
        record.detail = `cluster SIGSTOPped for ${ms} ms`;
        return;
      }
      case 'config-reload': {
        const previous = this.variant;
        this.variant = this.nextVariant();
        const reloaded = await agent.reload(this.targets.yaml(this.variant));
        record.detail =
          this.variant === previous ? 'SIGHUP with the same configuration' : `SIGHUP with fields.soak_variant=${this.variant.fieldsValue}, log.level=${this.variant.logLevel}`;
        if (!reloaded) record.problem = 'the agent refused the configuration';
        return;
      }
    }
  }

  /** Waits until the agent has the writer's current file open (it reads a deleted file to its end through that descriptor). */
  private async untilAgentHolds(writer: LogWriter): Promise<boolean> {
    const deadline = Date.now() + HOLD_TIMEOUT_MS;
    const identity = writer.segments.at(-1)!.identity;
    for (;;) {
      const pid = this.targets.agent.steadyPid;
      if (pid !== null && agentHolds(pid, identity)) return true;
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
  }

  private pickWriter(record: FaultRecord): LogWriter {
    const writer = this.targets.random.pick(this.targets.writers);
    record.target = writer.name;
    return writer;
  }

  /** Reloads alternate: the running configuration again, then a harmless change (a fields value, or log.level). */
  private nextVariant(): ConfigVariant {
    const n = this.reloads++;
    if (n % 2 === 0) return this.variant;
    if (n % 4 === 1) return { ...this.variant, fieldsValue: `v${n}` };
    return { ...this.variant, logLevel: this.variant.logLevel === 'info' ? 'debug' : 'info' };
  }
}

