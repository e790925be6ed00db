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

/**
 * One character position of a segment's shape: which characters fit, how many times. A shape
 * is the same language as the segment's regular expression below, in a form a glob can be
 * intersected with (see globSegmentCanFit).
 */
interface Repeat {
  readonly fits: (ch: string) => boolean;
  readonly min: number;
  readonly max: number;
}
type Shape = readonly Repeat[];

export interface LayoutSegment {
  /** What the path parser matches (src/lines/kubernetes.ts). */
  readonly pattern: RegExp;
  /** The same language as alternatives of shapes. */
  readonly shapes: readonly Shape[];
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
/** "<pod>_<namespace>_<container>-<12 to 64 hex id>.log": groups 1..4. */
export const CONTAINER_LINK_FILE = /^([^_/]+)_([^_/]+)_([^_/]+)-([0-9a-f]{12,64})\.log$/;

const one = (fits: (ch: string) => boolean, min = 1, max = 1): Repeat => ({ fits, min, max });
const text = (word: string): Repeat[] => [...word].map((c) => one((ch) => ch === c));
const NAME = one((ch) => ch !== '_' && ch !== '/', 1, Infinity);
const digits = (min: number, max = min): Repeat => one((ch) => ch >= '0' && ch <= '9', min, max);
const HEX_ID = one((ch) => (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'), 12, 64);
const LOG = [digits(1, Infinity), ...text('.log')];
const ROTATED = [...LOG, ...text('.'), digits(8), ...text('-'), digits(6)];

export const KUBERNETES_LAYOUTS: readonly KubernetesLayout[] = [
  {
    name: 'pods',
    segments: [
      { pattern: /^pods$/, shapes: [text('pods')] },
      { pattern: POD_DIRECTORY, shapes: [[NAME, ...text('_'), NAME, ...text('_'), NAME]] },
      { pattern: CONTAINER_DIRECTORY, shapes: [[NAME]] },
      { pattern: POD_LOG_FILE, shapes: [LOG, ROTATED, [...ROTATED, ...text('.gz')]] },
    ],
  },
  {
    name: 'containers',
    segments: [
      { pattern: /^containers$/, shapes: [text('containers')] },
      { pattern: CONTAINER_LINK_FILE, shapes: [[NAME, ...text('_'), NAME, ...text('_'), NAME, ...text('-'), HEX_ID, ...text('.log')]] },
    ],
  },
];

/**
 * Can a file matched by `glob` (an absolute path glob) lie in one of the Kubernetes layouts?
 * Decided segment by segment, right-aligned against each layout's trailing segments (any
 * root): each glob segment must be able to match some name that fits the layout's segment.
 * That is decided exactly for literals, "*", "?" and [classes]; braces and extglobs get the
 * benefit of the doubt, as does anything before a "**": a false "yes" only means a variable
 * renders its default, a false "no" would refuse a good config.
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
      const segment = wanted[wanted.length - i]!;
      if (!globSegmentCanFit(tail[tail.length - i]!, segment.shapes)) return false;
    }
    return true;
  });
}

/** A glob segment as single-character matchers, with "*" as null (any run of characters). */
type GlobToken = ((ch: string) => boolean) | null;

/** Characters tried where a glob allows "any" or a negated class (a segment never holds "/"). */
const ALPHABET = [...Array(95)].map((_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '/');

function tokenise(segment: string): GlobToken[] | 'undecided' {
  if (/[{}()]|^[!+@]|[!+@*?]\(/.test(segment)) return 'undecided';
  const tokens: GlobToken[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') {
      if (tokens[tokens.length - 1] !== null || tokens.length === 0) tokens.push(null);
    } else if (c === '?') {
      tokens.push(() => true);
    } else if (c === '\\' && i + 1 < segment.length) {
      const literal = segment[++i]!;
      tokens.push((ch) => ch === literal);
    } else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) return 'undecided';
      let body = segment.slice(i + 1, close);
      const negated = body[0] === '!' || body[0] === '^';
      if (negated) body = body.slice(1);
      const members = new Set<string>();
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          for (let code = body.charCodeAt(k); code <= body.charCodeAt(k + 2); code++) members.add(String.fromCharCode(code));
          k += 2;
        } else {
          members.add(body[k]!);
        }
      }
      tokens.push((ch) => members.has(ch) !== negated);
      i = close;
    } else {
      tokens.push((ch) => ch === c);
    }
  }
  return tokens;
}

/**
 * Is there a name that both the glob segment and one of the shapes match? A search over
 * (glob token, shape position, repetitions so far): small, since segments are short.
 */
function globSegmentCanFit(segment: string, shapes: readonly Shape[]): boolean {
  const tokens = tokenise(segment);
  if (tokens === 'undecided') return true;
  return shapes.some((shape) => intersects(tokens, shape));
}

function intersects(tokens: readonly GlobToken[], shape: Shape): boolean {
  const seen = new Set<string>();
  const stack: [number, number, number][] = [[0, 0, 0]];
  const push = (i: number, j: number, k: number): void => {
    const capped = j < shape.length && shape[j]!.max === Infinity ? Math.min(k, shape[j]!.min) : k;
    const key = `${i},${j},${capped}`;
    if (!seen.has(key)) {
      seen.add(key);
      stack.push([i, j, capped]);
    }
  };
  while (stack.length > 0) {
    const [i, j, k] = stack.pop()!;
    if (i === tokens.length && j === shape.length) return true;
    const repeat = shape[j];
    if (repeat !== undefined && k >= repeat.min) push(i, j + 1, 0);
    if (i === tokens.length || repeat === undefined || k >= repeat.max) {
      if (i < tokens.length && tokens[i] === null) push(i + 1, j, k);
      continue;
    }
    const token = tokens[i]!;
    if (token === null) {
      push(i + 1, j, k);
      if (ALPHABET.some((ch) => repeat.fits(ch))) push(i, j, k + 1);
    } else if (ALPHABET.some((ch) => token(ch) && repeat.fits(ch))) {
      push(i + 1, j, k + 1);
    }
  }
  return false;
}
