// The lives of the watcher and of its discovery, each one state moved only here, pure (no file,
// no clock) so the moves are tested alone (test/tailer-watch-life.test.ts). A move from a state
// it does not come from throws TailerStateError.
//
//   Discovery:  watching ──refused──► scan-only        Watcher:  open ──pathEvent──► looks-queued
//                  └───────┴──close──► closed                       ▲ ◄──takePaths──────┘
//                                                                   └──┴──close──► closed
// A closed discovery still tells the mode it ran in (`logship status`, the scan period).

import { TailerStateError } from './errors.js';

export type DiscoveryMode = 'inotify' | 'scan-only';

export type DiscoveryLifeState =
  /** Directories are watched (inotify). */
  | { readonly kind: 'watching' }
  /** The kernel refused a watch: only scans find changes now. */
  | { readonly kind: 'scan-only' }
  | { readonly kind: 'closed'; readonly mode: DiscoveryMode };

export class DiscoveryLife {
  private state: DiscoveryLifeState = { kind: 'watching' };

  get kind(): DiscoveryLifeState['kind'] {
    return this.state.kind;
  }

  get mode(): DiscoveryMode {
    const state = this.state;
    if (state.kind === 'closed') return state.mode;
    return state.kind === 'watching' ? 'inotify' : 'scan-only';
  }

  /** Watches may be started and kept. */
  get watching(): boolean {
    return this.state.kind === 'watching';
  }

  get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /** The kernel refused a watch: true when this is news (fall back to scans now). */
  refused(): boolean {
    const kind = this.state.kind;
    if (kind === 'closed') throw new TailerStateError('discovery', kind, 'refused');
    this.state = { kind: 'scan-only' };
    return kind === 'watching';
  }

  close(): void {
    if (this.state.kind !== 'closed') this.state = { kind: 'closed', mode: this.mode };
  }
}

export type WatcherLifeState =
  /** No look at paths pending. */
  | { readonly kind: 'open' }
  /** A look at `paths` waits on the decision queue; paths told meanwhile join it. */
  | { readonly kind: 'looks-queued'; readonly paths: Set<string> }
  | { readonly kind: 'closed' };

export class WatcherLife {
  private state: WatcherLifeState = { kind: 'open' };

  get kind(): WatcherLifeState['kind'] {
    return this.state.kind;
  }

  get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /** A watch event at `path`: true when a look must be queued (none is pending). */
  pathEvent(path: string): boolean {
    const state = this.state;
    if (state.kind === 'closed') return false;
    if (state.kind === 'looks-queued') {
      state.paths.add(path);
      return false;
    }
    this.state = { kind: 'looks-queued', paths: new Set([path]) };
    return true;
  }

  /** The queued look runs: the paths to look at, in the order told (none once closed). */
  takePaths(): string[] {
    const state = this.state;
    if (state.kind === 'closed') return [];
    if (state.kind === 'open') throw new TailerStateError('watcher', state.kind, 'takePaths');
    this.state = { kind: 'open' };
    return [...state.paths];
  }

  close(): void {
    this.state = { kind: 'closed' };
  }
}
