// What logrotate and operators do to a live log file, done to one LogWriter's file:
// rotation by rename (app.log -> app.log.1, older ones shifted up), rotation by copytruncate,
// and delete + recreate. Rotated names end in a digit, so the soak's inputs (which exclude
// "*.[0-9]") never match them: the agent must finish them through what it already knows.

import { closeSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { copyFile, truncate } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { identityKey } from '../../src/core/file.js';
import { FINGERPRINT_MAX_BYTES } from '../../src/tailer/identity.js';
import type { LogWriter } from './writer.js';

/** A file removed from disk by the soak: the agent may still be reading it through its handle. */
export interface DeletedFile {
  /** "dev:ino" */
  identity: string;
  path: string;
  /** Its size when it was deleted: everything the agent must ship from it. */
  size: number;
  /** Its first bytes (up to a fingerprint's length) when it was deleted. */
  head: Buffer;
  deletedAt: number;
}

/** Renames path.N to path.N+1, highest first, so path.1 is free. */
function shiftRotated(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const generations = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .map((name) => Number(name.slice(prefix.length)))
    .sort((a, b) => b - a);
  for (const n of generations) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
}

/**
 * logrotate's default: rename the live file to .1 (shifting older ones); the application keeps
 * writing to the renamed file for `lingerMs` (until its postrotate signal), then reopens.
 */
export async function rotateByRename(writer: LogWriter, lingerMs: number): Promise<string> {
  shiftRotated(writer.path);
  renameSync(writer.path, `${writer.path}.1`);
  await delay(lingerMs);
  writer.reopen();
  return `renamed to ${basename(writer.path)}.1, writer reopened after ${lingerMs} ms`;
}

/**
 * logrotate's copytruncate: copy the live file to .1, then truncate it in place. The writer is
 * paused from before the copy to after the truncate: a line written in between would be lost
 * by logrotate itself (it is in neither file), which says nothing about the agent.
 */
export async function rotateByCopyTruncate(writer: LogWriter): Promise<string> {
  writer.pause();
  try {
    shiftRotated(writer.path);
    const copy = `${writer.path}.1`;
    await copyFile(writer.path, copy);
    const copied = statSync(copy).size;
    await truncate(writer.path, 0);
    return `copied ${copied} bytes to ${basename(copy)}, truncated`;
  } finally {
    writer.resume();
  }
}

/**
 * Deletes the live file (after the writer closed it) and lets the writer create a new one.
 * Callers make sure the agent holds the file open first (see agentHolds): the unread tail of a
 * file deleted while nobody has it open is gone for any reader.
 */
export function deleteAndRecreate(writer: LogWriter): DeletedFile {
  let deleted: DeletedFile | undefined;
  writer.replace(() => {
    const stats = statSync(writer.path);
    const head = readHead(writer.path);
    unlinkSync(writer.path);
    deleted = { identity: identityKey(stats), path: writer.path, size: stats.size, head, deletedAt: Date.now() };
  });
  return deleted!;
}

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(FINGERPRINT_MAX_BYTES);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The file `identity` ("dev:ino") is among the open descriptors of process `pid`. */
export function agentHolds(pid: number, identity: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return identityKey(statSync(`/proc/${pid}/fd/${fd}`)) === identity;
    } catch {
      return false; // closed meanwhile
    }
  });
}
