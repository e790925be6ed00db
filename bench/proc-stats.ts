// Reads a measured process's CPU time and memory from /proc: utime+stime of /proc/PID/stat
// (all threads, so librdkafka's native threads count too) and VmRSS / VmHWM of
// /proc/PID/status.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ProcReadError } from './errors.js';

let clockTicksPerSecond: number | null = null;

/** USER_HZ, the unit of utime/stime (100 on every mainstream Linux, asked once to be sure). */
function clockTicks(): number {
  if (clockTicksPerSecond === null) {
    const answer = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicksPerSecond = Number.isFinite(answer) && answer > 0 ? answer : 100;
  }
  return clockTicksPerSecond;
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    throw new ProcReadError(pid, file, err);
  }
}

/** User + system CPU seconds the process has used so far, all threads. */
export function cpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new ProcReadError(pid, 'stat', new Error('unexpected format'));
  return (utime + stime) / clockTicks();
}

export interface MemoryUse {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size since start (VmHWM), MiB. */
  hwmMiB: number;
}

export function memoryUse(pid: number): MemoryUse {
  const status = readProc(pid, 'status');
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new ProcReadError(pid, 'status', new Error(`no ${key}`));
    return Number(match[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}
