// An offset tracker wired to a test registry (FakeCheckpoints) the way the agent wires it to its
// OffsetRegistry (Agent.registerFollowed, Agent's `gone`): followed files registered through
// registrationEntry, deleted and closed files marked deleted.

import { OffsetTracker } from '../../src/core/offset-tracker.js';
import { registrationEntry } from '../../src/core/registration.js';
import type { FakeCheckpoints } from './tailer-harness.js';

export function registeringTracker(checkpoints: FakeCheckpoints): OffsetTracker {
  const register = (file: Parameters<typeof registrationEntry>[0], at: Parameters<typeof registrationEntry>[1], from: Parameters<typeof registrationEntry>[2], seenAt?: number): void => {
    const entry = registrationEntry(file, at, from, checkpoints.get(file.identity), Date.now(), seenAt);
    if (entry !== null) checkpoints.set(entry);
  };
  return new OffsetTracker({
    tracked: (record) => {
      if (record.persistable !== null) register(record, record.persistable, record.start, record.seenAt);
    },
    announced: (source, at, from) => register(source, at, from),
    // Deleted and closed: the entry stays, marked (Agent: registry.markDeleted).
    gone: (identity) => {
      const entry = checkpoints.get(identity);
      if (entry !== undefined) checkpoints.set({ ...entry, deleted: true });
    },
  });
}
