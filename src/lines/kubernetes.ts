// Kubernetes metadata from a log file's path — no API server needed. The layouts are in
// src/config/kubernetes-layouts.ts (the config checks templates against the same ones).
//   /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log (rotated: <n>.log.<timestamp>)
//   /var/log/containers/<pod>_<namespace>_<container>-<id>.log, a symlink into the former:
//   its name lacks the pod's uid, which the target's path has, so pass the target when known.

import path from 'node:path';
import { CONTAINER_DIRECTORY, CONTAINER_LINK_FILE, POD_DIRECTORY, POD_LOG_FILE } from '../config/kubernetes-layouts.js';
import type { KubernetesVars } from '../config/templates.js';

export interface KubernetesMetadata extends KubernetesVars {
  /** Which layout the path (or its target) is in. */
  layout: 'pods' | 'containers';
  /** The container id of a /var/log/containers name (null from a pods path alone). */
  container_id: string | null;
  /** The container's restart count: the "<n>" of <n>.log (null from a containers name alone). */
  restart_count: number | null;
}

/** A usable name: Kubernetes names are never "." or ".." (templates rely on it). */
function name(text: string | undefined): string | null {
  return text === undefined || /^\.*$/.test(text) ? null : text;
}

function fromPodsPath(segments: string[]): KubernetesMetadata | null {
  const n = segments.length;
  if (n < 4 || segments[n - 4] !== 'pods') return null;
  const pod = POD_DIRECTORY.exec(segments[n - 3]!);
  const container = CONTAINER_DIRECTORY.exec(segments[n - 2]!);
  const file = POD_LOG_FILE.exec(segments[n - 1]!);
  if (!pod || !container || !file) return null;
  const [namespace, podName, uid, containerName] = [name(pod[1]), name(pod[2]), name(pod[3]), name(container[1])];
  if (namespace === null || podName === null || uid === null || containerName === null) return null;
  return { layout: 'pods', namespace, pod: podName, pod_uid: uid, container: containerName, container_id: null, restart_count: Number(file[1]) };
}

function fromContainersPath(segments: string[]): KubernetesMetadata | null {
  const n = segments.length;
  if (n < 2 || segments[n - 2] !== 'containers') return null;
  const link = CONTAINER_LINK_FILE.exec(segments[n - 1]!);
  if (!link) return null;
  const [podName, namespace, containerName] = [name(link[1]), name(link[2]), name(link[3])];
  if (podName === null || namespace === null || containerName === null) return null;
  return { layout: 'containers', namespace, pod: podName, pod_uid: null, container: containerName, container_id: link[4]!, restart_count: null };
}

function parse(filePath: string): KubernetesMetadata | null {
  const segments = path.posix.normalize(filePath).split('/');
  return fromPodsPath(segments) ?? fromContainersPath(segments);
}

/**
 * The metadata `filePath` carries, or null when it is in neither layout. `targetPath`: where a
 * /var/log/containers symlink points (its pods path adds the uid and restart count).
 */
export function kubernetesMetadata(filePath: string, targetPath: string | null = null): KubernetesMetadata | null {
  const own = parse(filePath);
  const target = targetPath === null ? null : parse(targetPath);
  if (own === null) return target;
  if (target === null || own.layout === 'pods') return own;
  // The link names the container; the target knows the pod's uid. They agree on names when
  // the kubelet made the link; if they do not, the path the operator configured wins.
  return { ...own, pod_uid: target.pod_uid, restart_count: target.restart_count };
}
