// The registry's committed offset of a file, as the agent persisted it (data_dir = <dir>/data,
// as agentYaml writes it): what integration tests wait on instead of time.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { identityKey } from '../../src/core/file.js';
import { persistedOffsets } from '../soak/deleted-files.js';

/** The offset registry.json under `dir`/data holds for `file` (by its identity), if any. */
export function committedOffset(dir: string, file: string): number | undefined {
  return persistedOffsets(join(dir, 'data', 'registry.json')).get(identityKey(statSync(file)));
}
