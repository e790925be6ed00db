// Describes the machine and tools a bench run measured on, so results from different runs
// (and machines) are compared knowingly. The load average matters: this machine is shared.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import Kafka from '@confluentinc/kafka-javascript';

export interface MachineDescription {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  kcat: string;
  agentLibrdkafka: string;
  loadAverageAtStart: number[];
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function kcatVersion(): string {
  try {
    const text = execFileSync('kcat', ['-V'], { encoding: 'utf8' });
    const version = /Version (\S+)/.exec(text)?.[1] ?? '?';
    const librdkafka = /librdkafka (\S+)/.exec(text)?.[1] ?? '?';
    return `kcat ${version} (librdkafka ${librdkafka})`;
  } catch {
    return 'kcat not found';
  }
}

export function describeMachine(): MachineDescription {
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    kcat: kcatVersion(),
    agentLibrdkafka: Kafka.librdkafkaVersion,
    loadAverageAtStart: os.loadavg(),
  };
}

export function formatMachine(m: MachineDescription): string[] {
  return [
    `  machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB RAM, ${m.kernel}`,
    `  node ${m.node}; agent librdkafka ${m.agentLibrdkafka}; peer ${m.kcat}`,
    `  load average at start: ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`,
  ];
}
