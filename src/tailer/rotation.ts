// Rotation detective work on a directory: where a followed file went after a rename, which
// files were created at a path and rotated away before we looked again ("middle" files, e.g.
// two rotations within one scan interval), and where the copy of a copytruncate'd file is.
// Compressed archives are never candidates.

import type { Stats } from 'node:fs';
import { type FileHandle, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OpenFile } from './file-access.js';
import type { FileIdentity, FilePosition } from '../core/file.js';
import { continuationMismatch, fingerprintOf, identityOf, markerAt, readHead, sameIdentity } from './identity.js';

export interface DirectoryFile {
  path: string;
  name: string;
  identity: FileIdentity;
  stat: Stats;
}

/**
 * Kernel file times come from a coarse clock that lags Date.now() by up to a tick (a few ms), so
 * "born after t" is tested against t minus this margin.
 */
export const CLOCK_MARGIN_MS = 25;

const COMPRESSED_SUFFIXES = ['.gz', '.tgz', '.bz2', '.xz', '.zst', '.zip', '.lz4'];
const COMPRESSED_MAGIC: readonly Buffer[] = [
  Buffer.from([0x1f, 0x8b]), // gzip
  Buffer.from('BZh'), // bzip2
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
  Buffer.from([0x50, 0x4b, 0x03, 0x04]), // zip
];

export function isCompressedName(name: string): boolean {
  const lower = name.toLowerCase();
  return COMPRESSED_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** True when a file's first bytes are the magic number of a compressed format. */
export function isCompressedHead(head: Buffer): boolean {
  return COMPRESSED_MAGIC.some((magic) => head.length >= magic.length && magic.equals(head.subarray(0, magic.length)));
}

/** Creation time where the filesystem records it (statx), else the last status change. */
export function bornAtMs(stats: Stats): number {
  return stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.ctimeMs;
}

export function bornAfter(stats: Stats, sinceMs: number): boolean {
  return bornAtMs(stats) > sinceMs - CLOCK_MARGIN_MS;
}

/** Regular files of `dir` (symlinks followed); entries that vanish meanwhile are skipped. */
export async function listDirectoryFiles(dir: string): Promise<DirectoryFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const files: DirectoryFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const stats = await stat(path);
      if (stats.isFile()) files.push({ path, name, identity: identityOf(stats), stat: stats });
    } catch {
      // Renamed or removed since readdir: whoever it is, the next look will find it.
    }
  }
  return files;
}

export async function findByIdentity(dir: string, identity: FileIdentity): Promise<string | undefined> {
  const files = await listDirectoryFiles(dir);
  return files.find((file) => sameIdentity(file.identity, identity))?.path;
}

/**
 * Files in `livePath`'s directory that look like they were created at `livePath` after
 * `sinceMs` and rotated away before we looked again: name starting with its basename, born
 * after `sinceMs`, not compressed and not known. Oldest first.
 */
export function middleFiles(
  files: readonly DirectoryFile[],
  livePath: string,
  sinceMs: number,
  isKnown: (identity: FileIdentity) => boolean,
): DirectoryFile[] {
  const dir = dirname(livePath);
  const base = basename(livePath);
  return files
    .filter(
      (file) =>
        dirname(file.path) === dir &&
        file.name !== base &&
        file.name.startsWith(base) &&
        !isCompressedName(file.name) &&
        bornAfter(file.stat, sinceMs) &&
        !isKnown(file.identity),
    )
    .sort((a, b) => bornAtMs(a.stat) - bornAtMs(b.stat));
}

/**
 * copytruncate: the copy of the file at `livePath`, made just before it was truncated — a file
 * named after it whose first bytes and bytes before `point.offset` are the ones we read.
 * Newest first. Each candidate is opened briefly, outside max_open_files.
 */
export async function findTruncatedCopy(
  livePath: string,
  point: FilePosition,
  isKnown: (identity: FileIdentity) => boolean,
  openFile: OpenFile,
): Promise<DirectoryFile | undefined> {
  const base = basename(livePath);
  const candidates = (await listDirectoryFiles(dirname(livePath)))
    .filter((file) => file.name !== base && file.name.startsWith(base) && !isCompressedName(file.name) && file.stat.size >= point.offset && !isKnown(file.identity))
    .sort((a, b) => bornAtMs(b.stat) - bornAtMs(a.stat));
  for (const candidate of candidates) {
    if (await continuesAt(candidate.path, point, openFile)) return candidate;
  }
  return undefined;
}

/** Does the file at `path` hold the bytes `point` describes (first bytes, bytes before its offset)? */
export async function continuesAt(path: string, point: FilePosition, openFile: OpenFile): Promise<boolean> {
  return (
    (await withOpenFile(path, openFile, async (handle, size) => (await continuationMismatch(handle, size, await readHead(handle, size), point)) === null)) ?? false
  );
}

/**
 * Does the file at `heldBy` hold the bytes of the file at `path` from its start, as far as its
 * first bytes and the bytes before its end tell (as a position is checked)? A copytruncate copy
 * and its original before the truncation do. An empty file holds nothing to tell: false.
 */
export async function holdsAllOf(heldBy: string, path: string, openFile: OpenFile): Promise<boolean> {
  const end = await withOpenFile(path, openFile, async (handle, size): Promise<FilePosition | undefined> =>
    size === 0 ? undefined : { offset: size, fingerprint: fingerprintOf(await readHead(handle, size)), marker: await markerAt(handle, size) },
  );
  return end !== undefined && (await continuesAt(heldBy, end, openFile));
}

/** `look` at the file at `path` opened briefly (outside max_open_files); undefined if it cannot be opened or read. */
async function withOpenFile<T>(path: string, openFile: OpenFile, look: (handle: FileHandle, size: number) => Promise<T>): Promise<T | undefined> {
  let handle;
  try {
    handle = await openFile(path);
  } catch {
    return undefined;
  }
  try {
    return await look(handle, (await handle.stat()).size);
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
