// Symlinked files and where they lead. A write to a symlinked file is reported by the watch of
// the directory its TARGET is in (inotify reports an entry's events to its own directory, not
// to the directory of a link to it), and so is a new file created at the target's name — the
// kubelet's rotation of /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, reached through
// /var/log/containers/<pod>_<ns>_<container>-<id>.log. A watch of the symlinked file itself
// follows one inode: after a rename-rotation the new generation went unnoticed until the next
// safety-net scan (~10 s), and a kubelet rotating faster than that lost whole generations.
// So the target's directory is watched, and its events are told under the link's path too.

export class SymlinkTargets {
  /** Link path -> resolved target path, and the scan generation that last saw it. */
  private readonly targets = new Map<string, { target: string; seen: number }>();
  /** Target path -> the link paths leading to it. */
  private readonly links = new Map<string, Set<string>>();
  private generation = 0;

  /** `link` leads to `target` (as resolved now). */
  set(link: string, target: string): void {
    const current = this.targets.get(link);
    if (current !== undefined && current.target !== target) this.unlink(link, current.target);
    this.targets.set(link, { target, seen: this.generation });
    let set = this.links.get(target);
    if (set === undefined) this.links.set(target, (set = new Set()));
    set.add(link);
  }

  /** Where `link` led when last resolved, if it is a known symlink. */
  targetOf(link: string): string | undefined {
    return this.targets.get(link)?.target;
  }

  /** The link paths that lead to `target` (none for most paths). */
  linksTo(target: string): ReadonlySet<string> {
    return this.links.get(target) ?? NONE;
  }

  /** A point in time for `retain`: links set after it are kept. */
  mark(): number {
    return ++this.generation;
  }

  /** After a complete scan begun at `since`: forgets the links it did not find (set before it). */
  retain(found: ReadonlySet<string> | ReadonlyMap<string, unknown>, since: number): void {
    for (const [link, { target, seen }] of this.targets) {
      if (found.has(link) || seen >= since) continue;
      this.targets.delete(link);
      this.unlink(link, target);
    }
  }

  private unlink(link: string, target: string): void {
    const set = this.links.get(target);
    set?.delete(link);
    if (set?.size === 0) this.links.delete(target);
  }
}

const NONE: ReadonlySet<string> = new Set();
