// Reads the offsets the agent committed (<data_dir>/registry.json) through the registry's own
// decoder, so the bench checks the file exactly as the agent would resume from it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRegistry } from '../src/registry/registry-file.js';
import { REGISTRY_FILE_NAME } from '../src/registry/registry-store.js';

export class RegistryReadError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'RegistryReadError';
  }
}

/** Committed byte offset per file path. */
export function committedOffsets(dataDir: string): Map<string, number> {
  const path = join(dataDir, REGISTRY_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RegistryReadError(path, (err as Error).message);
  }
  const decoded = decodeRegistry(text);
  if (!decoded.ok) throw new RegistryReadError(path, decoded.problem);
  return new Map(decoded.entries.map((e) => [e.path, e.offset]));
}
