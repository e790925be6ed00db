// The registry's files in agent.data_dir and the only code that touches them:
//   registry.json           the current state (mode 0600)
//   registry.json.prev      the state before it: always one good older copy
//   registry.json.tmp       a write in progress; a leftover one is a crash and is removed at open
//   registry.json.corrupt-* damaged files moved aside for an operator to inspect
// A write never replaces the good file with anything but a complete, fsynced new one.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { RegistryError, errnoCode } from './errors.js';
import type { Checkpoint } from '../core/file.js';
import { decodeRegistry } from './registry-file.js';
import type { RegistryFs } from './registry-fs.js';

export const REGISTRY_FILE_NAME = 'registry.json';
const DIR_MODE = 0o700;
/** What the store logs through (the agent's pino logger in practice). */
type StoreLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
const nothing = (): void => undefined;
/**
 * peek() logs nothing: it reports what it finds to its caller. Not a silent pino instance: a
 * module-level one made every importer of the registry load pino (~30 ms of each Node start),
 * which the registry's SIGKILL test pays per kill in its crash writers.
 */
const SILENT: StoreLog = { debug: nothing, info: nothing, warn: nothing, error: nothing };
const FILE_MODE = 0o600;

export interface LoadedRegistry {
  entries: Checkpoint[];
  /** The state came from registry.json.prev because registry.json was missing or bad. */
  recoveredFromBackup: boolean;
}

/** What a look at the registry without an agent (logship status) finds. */
export interface RegistryPeek {
  entries: Checkpoint[];
  /** Which copy the entries come from, by the rule load() applies; 'none' when neither is good. */
  source: 'current' | 'previous' | 'none';
  /** What was wrong with the copies passed over. */
  problems: string[];
}

type Candidate =
  | { kind: 'missing' }
  | { kind: 'unreadable'; error: unknown }
  | { kind: 'corrupt'; problem: string }
  | { kind: 'good'; entries: Checkpoint[]; writtenAt: number };

export class RegistryStore {
  readonly file: string;
  readonly prevFile: string;
  private readonly tmpFile: string;
  private readonly prevTmpFile: string;
  /**
   * registry.json holds a state known to be good (loaded and validated, or written by us), so
   * it may become the next .prev. False after recovering from a bad main file, so a damaged
   * file never overwrites the good backup.
   */
  private mainIsGood = false;

  private constructor(
    readonly dataDir: string,
    private readonly fs: RegistryFs,
    private readonly log: StoreLog,
    private readonly now: () => number,
  ) {
    this.file = join(dataDir, REGISTRY_FILE_NAME);
    this.prevFile = `${this.file}.prev`;
    this.tmpFile = `${this.file}.tmp`;
    this.prevTmpFile = `${this.file}.prev.tmp`;
  }

  /** Creates the data directory (0700) if needed and removes temp files a crash left behind. */
  static async open(dataDir: string, fs: RegistryFs, log: Logger, now: () => number): Promise<RegistryStore> {
    const store = new RegistryStore(dataDir, fs, log, now);
    await store.prepareDir();
    await store.removeStaleTemps();
    return store;
  }

  /**
   * Reads the registry as load() would choose it — registry.json, else registry.json.prev — but
   * changes nothing: no directory created, no damaged file moved aside, no temp file removed.
   */
  static async peek(dataDir: string, fs: RegistryFs): Promise<RegistryPeek> {
    const store = new RegistryStore(dataDir, fs, SILENT, Date.now);
    const problems: string[] = [];
    let missing = 0;
    for (const [file, source] of [
      [store.file, 'current'],
      [store.prevFile, 'previous'],
    ] as const) {
      const candidate = await store.readCandidate(file);
      if (candidate.kind === 'good') return { entries: candidate.entries, source, problems };
      if (candidate.kind === 'missing') missing++;
      else problems.push(`${file}: ${candidate.kind === 'corrupt' ? candidate.problem : String((candidate.error as Error).message ?? candidate.error)}`);
    }
    if (missing === 2) problems.push('no registry yet: the agent has not committed any offset in this data_dir');
    return { entries: [], source: 'none', problems };
  }

  /**
   * Reads registry.json, falling back to registry.json.prev when it is missing, damaged or
   * unreadable. Damaged files are moved aside. Throws RegistryError only when no state can be
   * trusted and starting empty might skip or repeat data that is still there (an unreadable
   * file with no good backup): an operator has to look.
   */
  async load(): Promise<LoadedRegistry> {
    const main = await this.readCandidate(this.file);
    if (main.kind === 'good') {
      this.mainIsGood = true;
      this.log.info({ file: this.file, entries: main.entries.length, writtenAt: new Date(main.writtenAt).toISOString() }, 'registry loaded');
      return { entries: main.entries, recoveredFromBackup: false };
    }

    if (main.kind === 'corrupt') {
      const movedTo = await this.moveAside(this.file);
      this.log.error({ file: this.file, problem: main.problem, movedTo }, `registry file ${this.file} is damaged: ${main.problem}`);
    } else if (main.kind === 'unreadable') {
      this.log.error({ file: this.file, err: main.error }, `registry file ${this.file} cannot be read`);
    }

    const prev = await this.readCandidate(this.prevFile);
    switch (prev.kind) {
      case 'good':
        this.log[main.kind === 'missing' ? 'warn' : 'error'](
          { file: this.prevFile, entries: prev.entries.length, writtenAt: new Date(prev.writtenAt).toISOString() },
          `registry resumed from the previous good copy ${this.prevFile}: lines of at most the last flush interval may be shipped again`,
        );
        return { entries: prev.entries, recoveredFromBackup: true };
      case 'missing':
        if (main.kind === 'missing') {
          this.log.info({ file: this.file }, 'no registry yet (first start): starting empty');
          return { entries: [], recoveredFromBackup: false };
        }
        break;
      case 'corrupt': {
        const movedTo = await this.moveAside(this.prevFile);
        this.log.error({ file: this.prevFile, problem: prev.problem, movedTo }, `registry backup ${this.prevFile} is damaged: ${prev.problem}`);
        break;
      }
      case 'unreadable':
        throw new RegistryError(`registry backup ${this.prevFile} cannot be read and ${this.file} is ${main.kind}`, {
          file: this.prevFile,
          op: 'read',
          cause: prev.error,
        });
    }

    if (main.kind === 'unreadable') {
      throw new RegistryError(`registry file ${this.file} cannot be read and there is no good backup`, {
        file: this.file,
        op: 'read',
        cause: main.error,
      });
    }
    this.log.error(
      { file: this.file },
      `REGISTRY LOST: no good registry in ${this.dataDir}; starting empty, every file is treated as never seen (start_at applies)`,
    );
    return { entries: [], recoveredFromBackup: false };
  }

  /**
   * Atomically replaces registry.json with `bytes`: temp file, fsync, keep the current file as
   * .prev (hard link, so the good file never disappears), rename, fsync the directory.
   * On failure the temp files are removed and registry.json is the one that was there.
   */
  async write(bytes: Uint8Array): Promise<void> {
    try {
      const handle = await this.step('open', this.tmpFile, () => this.fs.open(this.tmpFile, 'w', FILE_MODE));
      try {
        await this.step('write', this.tmpFile, () => handle.writeFile(bytes));
        // The mode given to open only applies when the file is created.
        await this.step('chmod', this.tmpFile, () => handle.chmod(FILE_MODE));
        await this.step('fsync', this.tmpFile, () => handle.sync());
      } finally {
        await handle.close().catch(() => undefined);
      }
      if (this.mainIsGood) await this.keepCurrentAsPrev();
      await this.step('rename', this.file, () => this.fs.rename(this.tmpFile, this.file));
      this.mainIsGood = true;
      await this.syncDir();
    } catch (err) {
      await this.unlinkQuietly(this.tmpFile);
      await this.unlinkQuietly(this.prevTmpFile);
      throw err;
    }
  }

  private async keepCurrentAsPrev(): Promise<void> {
    await this.unlinkQuietly(this.prevTmpFile);
    try {
      await this.fs.link(this.file, this.prevTmpFile);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return; // registry.json was removed: nothing to keep
      // A filesystem without hard links: a rename leaves a moment without registry.json, which
      // load() covers by resuming from .prev, itself the latest good state at that moment.
      this.log.debug({ err, file: this.file }, 'hard link failed, keeping the previous copy by rename');
      await this.step('rename', this.prevFile, () => this.fs.rename(this.file, this.prevFile));
      return;
    }
    await this.step('rename', this.prevFile, () => this.fs.rename(this.prevTmpFile, this.prevFile));
  }

  private async prepareDir(): Promise<void> {
    await this.step('mkdir', this.dataDir, () => this.fs.mkdir(this.dataDir, { recursive: true, mode: DIR_MODE }));
    const stat = await this.step('stat', this.dataDir, () => this.fs.stat(this.dataDir));
    if (!stat.isDirectory()) {
      throw new RegistryError(`data_dir ${this.dataDir} is not a directory`, { file: this.dataDir, op: 'stat' });
    }
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      this.log.warn(
        { dir: this.dataDir, mode: `0${mode.toString(8)}` },
        `data_dir ${this.dataDir} is accessible to other users (mode 0${mode.toString(8)}); 0700 is recommended`,
      );
    }
  }

  private async removeStaleTemps(): Promise<void> {
    for (const file of [this.tmpFile, this.prevTmpFile]) {
      try {
        await this.fs.unlink(file);
        this.log.warn({ file }, 'removed a temp file left by an interrupted registry write');
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') {
          throw new RegistryError(`cannot remove stale temp file ${file}`, { file, op: 'unlink', cause: err });
        }
      }
    }
  }

  private async readCandidate(file: string): Promise<Candidate> {
    let text: string;
    try {
      text = await this.fs.readFile(file);
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', error: err };
    }
    const decoded = decodeRegistry(text);
    return decoded.ok ? { kind: 'good', entries: decoded.entries, writtenAt: decoded.writtenAt } : { kind: 'corrupt', problem: decoded.problem };
  }

  /** Renames a damaged file to <name>.corrupt-<timestamp>; returns the new name, or null if it could not. */
  private async moveAside(file: string): Promise<string | null> {
    const stamp = new Date(this.now()).toISOString().replaceAll(':', '-');
    for (let attempt = 0; attempt < 100; attempt++) {
      const target = `${file}.corrupt-${stamp}${attempt === 0 ? '' : `.${attempt}`}`;
      if (await this.exists(target)) continue;
      try {
        await this.fs.rename(file, target);
        return target;
      } catch (err) {
        // Not fatal: the agent still starts from the best state it has; the next write replaces the file.
        this.log.error({ err, file, target }, `cannot move damaged registry file ${file} aside`);
        return null;
      }
    }
    return null;
  }

  private async exists(file: string): Promise<boolean> {
    try {
      await this.fs.stat(file);
      return true;
    } catch {
      return false;
    }
  }

  /** fsync the directory so the renames themselves survive a power loss. */
  private async syncDir(): Promise<void> {
    const dir = await this.step('open', this.dataDir, () => this.fs.open(this.dataDir, 'r'));
    try {
      await this.step('fsync', this.dataDir, () => dir.sync());
    } finally {
      await dir.close().catch(() => undefined);
    }
  }

  private async unlinkQuietly(file: string): Promise<void> {
    try {
      await this.fs.unlink(file);
    } catch {
      // Missing is the normal case; anything else is retried by the next write or open.
    }
  }

  /** Runs one filesystem call, turning its failure into a RegistryError that names the file and the operation. */
  private async step<T>(op: string, file: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      const code = errnoCode(err);
      throw new RegistryError(`registry ${op} ${file} failed${code === undefined ? '' : `: ${code}`}`, { file, op, cause: err });
    }
  }
}
