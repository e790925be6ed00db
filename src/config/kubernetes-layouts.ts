// The two on-disk layouts of Kubernetes container logs, as data. One source of truth for two
// questions: "what metadata does this path carry?" (src/lines/kubernetes.ts, per file) and
// "can any path this glob matches carry it?" (the load-time check of {k8s.*} templates, here).
//
//   <root>/pods/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log
//        rotated by the kubelet to <n>.log.<YYYYMMDD-hhmmss>, older ones compressed (.gz)
//   <root>/containers/<pod>_<namespace>_<container>-<container id>.log
//        a symlink into the pods layout, made by the kubelet for each running container
//
// The root is /var/log on every distribution seen, but a DaemonSet may mount the host's
// /var/log elsewhere (/host/var/log), so layouts match the trailing segments of a path only.
// Namespace, pod and container names are DNS labels/subdomains: they never contain "_", which
// is what makes the "_"-separated names unambiguous.

import picomatch from 'picomatch';

/** One path segment of a layout: what it looks like, and names that certainly fit it. */
export interface LayoutSegment {
  readonly pattern: RegExp;
  /** Typical names; a glob segment matching one of these can yield this layout. */
  readonly examples: readonly string[];
  /** Text for each "*" of a glob segment when trying to build a name that fits `pattern`. */
  readonly fillers: readonly string[];
}

export interface KubernetesLayout {
  readonly name: 'pods' | 'containers';
  /** The trailing segments of a matching path, directory first. */
  readonly segments: readonly LayoutSegment[];
}

/** "<namespace>_<pod>_<uid>": groups 1..3. */
export const POD_DIRECTORY = /^([^_/]+)_([^_/]+)_([^_/]+)$/;
/** A container name (DNS label): the directory under the pod's. */
export const CONTAINER_DIRECTORY = /^([^_/]+)$/;
/** "<n>.log", rotated "<n>.log.<YYYYMMDD-hhmmss>" (optionally ".gz"): group 1 is the restart count. */
export const POD_LOG_FILE = /^(\d+)\.log(?:\.\d{8}-\d{6}(?:\.gz)?)?$/;
/** "<pod>_<namespace>_<container>-<64 hex id>.log": groups 1..4. */
export const CONTAINER_LINK_FILE = /^([^_/]+)_([^_/]+)_([^_/]+)-([0-9a-f]{12,64})\.log$/;

const UID = '0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b';
const CONTAINER_ID = 'a'.repeat(64);

export const KUBERNETES_LAYOUTS: readonly KubernetesLayout[] = [
  {
    name: 'pods',
    segments: [
      { pattern: /^pods$/, examples: ['pods'], fillers: [''] },
      { pattern: POD_DIRECTORY, examples: [`default_web-0_${UID}`], fillers: ['a', 'a_b', 'a_b_c', '_b', '_b_c', 'b_', ''] },
      { pattern: CONTAINER_DIRECTORY, examples: ['app'], fillers: ['a', ''] },
      { pattern: POD_LOG_FILE, examples: ['0.log', '0.log.20240101-000000', '0.log.20240101-000000.gz'], fillers: ['0', '', '.20240101-000000'] },
    ],
  },
  {
    name: 'containers',
    segments: [
      { pattern: /^containers$/, examples: ['containers'], fillers: [''] },
      {
        pattern: CONTAINER_LINK_FILE,
        examples: [`web-0_default_app-${CONTAINER_ID}.log`],
        fillers: ['a', 'a_b', 'a_b_c', '_b', '_b_c', 'b_', `a_b_c-${CONTAINER_ID}`, `_b_c-${CONTAINER_ID}`, `_c-${CONTAINER_ID}`, `c-${CONTAINER_ID}`, `-${CONTAINER_ID}`, CONTAINER_ID, ''],
      },
    ],
  },
];

const SIMPLE_MAGIC = /[*?]/;
const OTHER_MAGIC = /[[\]{}()!+@]/;

/**
 * Can a file matched by `glob` (an absolute path glob) lie in one of the Kubernetes layouts?
 * Decided segment by segment, right-aligned against each layout's trailing segments: a
 * literal segment must fit the layout's pattern; a segment with wildcards must match one of
 * the layout's example names, or fit the pattern with its "*"s filled in. Brace, class and
 * extglob segments are given the benefit of the doubt, as is anything before a "**": a false
 * "yes" only means a variable renders its default, a false "no" would refuse a good config.
 */
export function globCanYieldKubernetesPath(glob: string): boolean {
  const segments = glob.split('/').filter((s) => s !== '');
  const globstar = segments.lastIndexOf('**');
  const tail = globstar === -1 ? segments : segments.slice(globstar + 1);
  return KUBERNETES_LAYOUTS.some((layout) => {
    const wanted = layout.segments;
    if (tail.length < wanted.length && globstar === -1) return false;
    const compared = Math.min(tail.length, wanted.length);
    for (let i = 1; i <= compared; i++) {
      if (!segmentCanFit(tail[tail.length - i]!, wanted[wanted.length - i]!)) return false;
    }
    return true;
  });
}

function segmentCanFit(globSegment: string, layout: LayoutSegment): boolean {
  if (!SIMPLE_MAGIC.test(globSegment) && !OTHER_MAGIC.test(globSegment)) return layout.pattern.test(globSegment);
  if (OTHER_MAGIC.test(globSegment)) return true;
  const matches = picomatch(globSegment, { dot: true });
  if (layout.examples.some((example) => matches(example))) return true;
  // Each "*" filled independently ("*_*" needs "ns" and "pod_uid"); segments hold few stars.
  const pieces = globSegment.replaceAll('?', 'a').split('*');
  if (pieces.length > 4) return true;
  const fill = (at: number, text: string): boolean =>
    at === pieces.length ? layout.pattern.test(text) : layout.fillers.some((f) => fill(at + 1, `${text}${f}${pieces[at]}`));
  return fill(1, pieces[0]!);
}
