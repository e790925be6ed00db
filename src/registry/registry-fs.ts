// The narrow slice of the filesystem the registry uses. A seam: tests substitute a version
// whose calls fail (ENOSPC, EIO, EACCES, ...) to prove a failed write never hurts the good file.

import * as fsp from 'node:fs/promises';

export interface RegistryFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  chmod(mode: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface RegistryFs {
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  stat(path: string): Promise<{ mode: number; isDirectory(): boolean }>;
  readFile(path: string): Promise<string>;
  /** flags as for fs.open: 'w' to create/truncate a file, 'r' to open a directory for fsync. */
  open(path: string, flags: 'w' | 'r', mode?: number): Promise<RegistryFileHandle>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const nodeRegistryFs: RegistryFs = {
  mkdir: (path, options) => fsp.mkdir(path, options),
  stat: (path) => fsp.stat(path),
  readFile: (path) => fsp.readFile(path, 'utf8'),
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
};
