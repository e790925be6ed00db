// The files the soak deleted while the agent may still have been reading them, and the guard
// run before each crash: wait until every one is shipped in full and that is persisted
// (registry.json holds its identity at an offset >= its size at deletion, with the fingerprint of
// its first bytes: an offset the file's earlier content reached before a copytruncate is no
// proof that what it was refilled with was shipped). A deleted file's
// unshipped lines die with the agent's handle in a crash — no agent could ship them after —
// so crashing earlier would measure the soak's cruelty, not the agent.

import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeRegistry } from '../../src/registry/registry-file.js';
import { type Checkpoint, identityKey } from '../../src/core/file.js';
import { fingerprintMatches } from '../../src/tailer/identity.js';
import type { DeletedFile } from './file-faults.js';

const POLL_MS = 100;

export interface GuardOutcome {
  waitedMs: number;
  /** Still not confirmed shipped when the guard gave up: a crash now may lose their tails. */
  unconfirmed: DeletedFile[];
}

/** Persisted entries by "dev:ino"; empty when registry.json is missing or unreadable. */
function persistedEntries(registryFile: string): Map<string, Checkpoint> {
  let text: string;
  try {
    text = readFileSync(registryFile, 'utf8');
  } catch {
    return new Map();
  }
  const decoded = decodeRegistry(text);
  return decoded.ok ? new Map(decoded.entries.map((cp) => [identityKey(cp.identity), cp])) : new Map();
}

/** Persisted offsets by "dev:ino"; empty when registry.json is missing or unreadable. */
export function persistedOffsets(registryFile: string): Map<string, number> {
  return new Map([...persistedEntries(registryFile)].map(([key, cp]) => [key, cp.offset]));
}

/** The registry says all of `file` is shipped: its size reached, in the content it had when deleted. */
export function confirmedShipped(file: DeletedFile, entry: Checkpoint | undefined): boolean {
  return entry !== undefined && entry.offset >= file.size && fingerprintMatches(file.head, entry.fingerprint);
}

export class DeletedFiles {
  private pending: DeletedFile[] = [];
  /** Deleted files whose inode was reused before they could be confirmed: the registry cannot tell them apart. */
  unverifiable = 0;

  constructor(
    private readonly registryFile: string,
    /** True when a file created after `since` has this identity (ext4 reuses inodes). */
    private readonly reusedSince: (identity: string, since: number) => boolean,
    /**
     * The agent holds no unacknowledged line (false while it cannot tell). An inode is reused
     * only once the agent closed the deleted file — read to its end — so its lines are shipped
     * once nothing is in flight; the registry entry is another file's by then.
     */
    private readonly nothingInFlight: () => Promise<boolean> = async () => true,
  ) {}

  add(file: DeletedFile): void {
    this.pending.push(file);
  }

  /**
   * Waits (up to `timeoutMs`) until every pending deleted file is shipped and persisted. Files
   * still unconfirmed at the deadline are returned and forgotten: after the crash that follows,
   * what they still held is gone for good, and they are reported once.
   */
  async waitShipped(timeoutMs: number): Promise<GuardOutcome> {
    const started = Date.now();
    for (;;) {
      await this.settle();
      if (this.pending.length === 0 || Date.now() - started >= timeoutMs) {
        const unconfirmed = this.pending;
        this.pending = [];
        return { waitedMs: Date.now() - started, unconfirmed };
      }
      await delay(POLL_MS);
    }
  }

  private async settle(): Promise<void> {
    const entries = persistedEntries(this.registryFile);
    const reused = this.pending.filter((file) => this.reusedSince(file.identity, file.deletedAt));
    const drained = reused.length > 0 && (await this.nothingInFlight());
    this.pending = this.pending.filter((file) => {
      if (reused.includes(file)) {
        if (drained) this.unverifiable++;
        return !drained;
      }
      return file.size > 0 && !confirmedShipped(file, entries.get(file.identity));
    });
  }
}
