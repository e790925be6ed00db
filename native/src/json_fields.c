// JSON routing fields (`parse: json`, {json.a.b} in topic and key), found natively: one strict
// RFC 8259 pass per line, no tree, no strings. JavaScript then builds strings only for the
// values it needs (src/lines/json-fields.ts). The pass is exactly what JavaScript's
//   JSON.parse(line.toString('utf8')) + an own-property lookup per dotted path
// answers (property-tested against it, test/lines-json-native.test.ts):
//   - the line is a JSON object: optional spaces/tabs, '{' ... '}', then JSON whitespace;
//   - a duplicate key: the last one wins, a whole subtree at a time;
//   - a path segment that is a whole number also indexes an array ("tags.0");
//   - keys compare by their decoded text (escapes included); bytes >= 0x80 are not checked
//     (JSON.parse of the utf8-decoded line sees U+FFFD there, which JSON allows in a string).
//     JavaScript hands over segments as UTF-8 and only segments without U+FFFD or lone
//     surrogates (else it takes JSON.parse), so byte equality is text equality.
// Nesting deeper than MAX_DEPTH answers LINE_DEEP: JavaScript then takes JSON.parse (no limit).
//
// jsonFields(data: Uint8Array, bounds: Uint32Array [start, length per line], n, spec: Uint8Array,
//            out: Int32Array (n * (1 + 4 * paths)), modes?: Uint8Array (one per path))
//   spec: u32 paths; per path u32 segments; per segment i32 array index (-1: none), u32 length, bytes.
//   out per line: status (LINE_*), then per path: kind (VALUE_* | flags), start, length, and by
//   the path's mode:
//     MODE_HASH (0, the default): FNV-1a of the value's bytes (a cache key for JavaScript, which
//       still compares the bytes);
//     MODE_BOUNDS (1): 0 — JavaScript takes the value's bounds, no hash is spent on it;
//     MODE_DISTINCT (2): the value's index among the call's distinct values of that path (equal
//       kind, flags and bytes: one index), numbered in order of first appearance, so JavaScript
//       makes one string per distinct value of a read instead of looking each line's up; -1 for
//       a missing value or a line that is not an object, -2 once the call saw more than
//       MAX_DISTINCT distinct values (that line's value is then not numbered).

#include <node_api.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json_fields.h"

#define MAX_PATHS 32
#define MAX_SEGMENTS 16
#define MAX_DEPTH 512
#define MAX_KEY 256
#define MAX_DISTINCT 64
#define DISTINCT_SLOTS 128 /* a power of two, at least twice MAX_DISTINCT */

enum { LINE_INVALID = 0, LINE_OBJECT = 1, LINE_DEEP = 2 };
enum { VALUE_MISSING = 0, VALUE_STRING = 1, VALUE_NUMBER = 2, VALUE_TRUE = 3, VALUE_FALSE = 4 };
enum { VALUE_ESCAPED = 8, VALUE_NON_ASCII = 16 };
/* Containers and null: no routing value. */
enum { SEEN_NULL = 5, SEEN_CONTAINER = 6 };
enum { MODE_HASH = 0, MODE_BOUNDS = 1, MODE_DISTINCT = 2 };

typedef struct {
  int segments;
  int32_t index[MAX_SEGMENTS];
  uint32_t length[MAX_SEGMENTS];
  const uint8_t *text[MAX_SEGMENTS];
} Path;

typedef struct {
  int32_t kind, start, length, hash;
} Value;

typedef struct {
  const uint8_t *base, *p, *end;
  int paths;
  const Path *path;
  Value *value; /* per path, for the current line */
  uint32_t hashed; /* paths whose values get their hash (not MODE_BOUNDS) */
  int deep;     /* nesting past MAX_DEPTH met */
} Scan;

static int is_ws(uint8_t c) { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }

static void skip_ws(Scan *s) {
  while (s->p < s->end && is_ws(*s->p)) s->p++;
}

static int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller); -1 if not. */
static int hex4(const uint8_t *p) {
  int a = hex_value(p[0]), b = hex_value(p[1]), c = hex_value(p[2]), d = hex_value(p[3]);
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/* Byte classes inside a string: 0 plain ASCII, 1 the closing quote, 2 a backslash, 3 a control character (invalid), 4 >= 0x80. */
static uint8_t string_class[256];

static void string_classes_init(void) {
  for (int c = 0; c < 256; c++) string_class[c] = c < 0x20 ? 3 : c == '"' ? 1 : c == '\\' ? 2 : c >= 0x80 ? 4 : 0;
}

/* The escape at p (on its backslash): its code point, p moved past it; -1 if invalid. */
static int64_t escape_at(const uint8_t **pp, const uint8_t *end) {
  const uint8_t *p = *pp;
  if (p + 1 >= end) return -1;
  int64_t cp;
  switch (p[1]) {
    case '"': case '\\': case '/': cp = p[1]; p += 2; break;
    case 'b': cp = 8; p += 2; break;
    case 'f': cp = 12; p += 2; break;
    case 'n': cp = 10; p += 2; break;
    case 'r': cp = 13; p += 2; break;
    case 't': cp = 9; p += 2; break;
    case 'u': {
      if (p + 6 > end) return -1;
      int u = hex4(p + 2);
      if (u < 0) return -1;
      p += 6;
      cp = u;
      if (cp >= 0xd800 && cp <= 0xdbff && p + 6 <= end && p[0] == '\\' && p[1] == 'u') {
        int lo = hex4(p + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
      }
      break;
    }
    default: return -1;
  }
  *pp = p;
  return cp;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
/* Some byte of v is zero (high bits of bytes above the first zero may be set too: callers only test for any). */
static inline uint64_t has_zero(uint64_t v) { return (v - ONES) & ~v; }

/*
 * A string at s->p (on its opening quote). On success s->p is past the closing quote, *content
 * and *length bound the text between the quotes, *flags has VALUE_ESCAPED / VALUE_NON_ASCII.
 */
static int scan_string(Scan *s, const uint8_t **content, uint32_t *length, int *flags) {
  const uint8_t *p = s->p + 1, *end = s->end;
  const uint8_t *start = p;
  int f = 0;
  for (;;) {
#ifdef __SSE2__
    /* Sixteen bytes at a time while none is a quote, a backslash, a control character or >= 0x80
       (a signed compare below 0x20 catches both): most of a log line's bytes are plain string
       text, and most keys and short values end within one load. */
    while (end - p >= 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)p);
      __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
      int mask = _mm_movemask_epi8(special);
      if (mask) {
        p += __builtin_ctz((unsigned)mask);
        goto classify;
      }
      p += 16;
    }
#endif
    /* Eight bytes at a time likewise (the tail, or without SSE2): about twice as fast as byte by byte. */
    while (end - p >= 8) {
      uint64_t v;
      memcpy(&v, p, 8);
      uint64_t special = (has_zero(v ^ (ONES * '"')) | has_zero(v ^ (ONES * '\\')) | ((v - ONES * 0x20) & ~v) | v) & HIGHS;
      if (special) {
        /* The lowest flagged byte is exact (a borrow only runs upward): go straight to it
           rather than byte by byte (most keys and short values end within one word). */
        p += __builtin_ctzll(special) >> 3;
        goto classify;
      }
      p += 8;
    }
    while (p < end && string_class[*p] == 0) p++;
  classify:
    if (p >= end) return 0;
    switch (string_class[*p]) {
      case 1:
        *content = start;
        *length = (uint32_t)(p - start);
        *flags = f;
        s->p = p + 1;
        return 1;
      case 2:
        f |= VALUE_ESCAPED;
        if (escape_at(&p, end) < 0) return 0;
        break;
      case 3:
        return 0;
      default:
        f |= VALUE_NON_ASCII;
        p++;
    }
  }
}

/*
 * The decoded UTF-8 of a valid escaped string's content into `out` (room MAX_KEY): its length,
 * or -1 when it does not fit or holds a lone surrogate (such a key matches no segment).
 */
static int decode_key(const uint8_t *p, const uint8_t *end, uint8_t *out) {
  int w = 0;
  while (p < end) {
    if (*p != '\\') {
      if (w >= MAX_KEY) return -1;
      out[w++] = *p++;
      continue;
    }
    int64_t cp = escape_at(&p, end);
    if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    uint8_t buf[4];
    int n;
    if (cp < 0x80) { buf[0] = (uint8_t)cp; n = 1; }
    else if (cp < 0x800) { buf[0] = (uint8_t)(0xc0 | (cp >> 6)); buf[1] = (uint8_t)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) { buf[0] = (uint8_t)(0xe0 | (cp >> 12)); buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); buf[2] = (uint8_t)(0x80 | (cp & 0x3f)); n = 3; }
    else { buf[0] = (uint8_t)(0xf0 | (cp >> 18)); buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)); buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); buf[3] = (uint8_t)(0x80 | (cp & 0x3f)); n = 4; }
    if (w + n > MAX_KEY) return -1;
    memcpy(out + w, buf, (size_t)n);
    w += n;
  }
  return w;
}

static int scan_number(Scan *s) {
  const uint8_t *p = s->p, *end = s->end;
  if (p < end && *p == '-') p++;
  if (p >= end) return 0;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
  else return 0;
  if (p < end && *p == '.') {
    p++;
    if (p >= end || *p < '0' || *p > '9') return 0;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') return 0;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  s->p = p;
  return 1;
}

static int literal(Scan *s, const char *word, size_t n) {
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
  s->p += n;
  return 1;
}

static int32_t fnv1a(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return (int32_t)h;
}

static int scan_value(Scan *s, uint32_t mask, int depth, Value *seen);

/*
 * The member or element just matched `hit` (paths whose segment at `depth` it is): paths
 * ending here take its value, the others look inside it; all forget what an earlier duplicate
 * gave them (the last duplicate wins, a whole subtree at a time).
 */
static int scan_child(Scan *s, uint32_t hit, int depth) {
  uint32_t deeper = 0, ending = 0;
  for (int k = 0; k < s->paths; k++) {
    if (!(hit & (1u << k))) continue;
    s->value[k].kind = VALUE_MISSING;
    if (s->path[k].segments == depth + 1) ending |= 1u << k;
    else deeper |= 1u << k;
  }
  Value seen;
  if (!scan_value(s, deeper, depth + 1, &seen)) return 0;
  int base = seen.kind & 7; /* strings carry flags above the kind */
  if (ending && base >= VALUE_STRING && base <= VALUE_FALSE) {
    seen.hash = (ending & s->hashed) ? fnv1a(s->base + seen.start, (uint32_t)seen.length) : 0;
    for (int k = 0; k < s->paths; k++)
      if (ending & (1u << k)) s->value[k] = seen;
  }
  return 1;
}

enum { MEMBER_INVALID = 0, MEMBER_MORE = 1, MEMBER_CLOSED = 2 };

/*
 * A member's value (or an element) of the container at `depth`, matched by the paths `hit`,
 * then what follows it: a comma (MEMBER_MORE), the container's `close` (MEMBER_CLOSED) or
 * anything else (MEMBER_INVALID).
 */
static int scan_member(Scan *s, uint32_t hit, int depth, uint8_t close) {
  if (hit) {
    if (!scan_child(s, hit, depth)) return MEMBER_INVALID;
  } else {
    Value ignored;
    if (!scan_value(s, 0, depth + 1, &ignored)) return MEMBER_INVALID;
  }
  skip_ws(s);
  if (s->p >= s->end) return MEMBER_INVALID;
  if (*s->p == ',') {
    s->p++;
    skip_ws(s);
    return MEMBER_MORE;
  }
  if (*s->p == close) {
    s->p++;
    return MEMBER_CLOSED;
  }
  return MEMBER_INVALID;
}

static int scan_object(Scan *s, uint32_t mask, int depth) {
  s->p++; /* '{' */
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') { s->p++; return 1; }
  uint8_t key[MAX_KEY];
  for (;;) {
    if (s->p >= s->end || *s->p != '"') return 0;
    const uint8_t *text;
    uint32_t length;
    int flags;
    if (!scan_string(s, &text, &length, &flags)) return 0;
    uint32_t hit = 0;
    if (mask) {
      const uint8_t *k_text = text;
      int64_t k_len = length;
      if (flags & VALUE_ESCAPED) {
        k_text = key;
        k_len = decode_key(text, text + length, key);
      }
      for (int k = 0; k < s->paths; k++) {
        if (!(mask & (1u << k))) continue;
        if (k_len >= 0 && s->path[k].length[depth] == (uint32_t)k_len && memcmp(s->path[k].text[depth], k_text, (size_t)k_len) == 0) hit |= 1u << k;
      }
    }
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') return 0;
    s->p++;
    skip_ws(s);
    if (!hit && s->p < s->end && *s->p == '"' && depth + 1 <= MAX_DEPTH) {
      /* The most common member, a string no path wants: scanned here, without the calls
         through scan_member and scan_value (the same checks, in the same order). */
      if (!scan_string(s, &text, &length, &flags)) return 0;
      skip_ws(s);
      if (s->p >= s->end) return 0;
      if (*s->p == ',') {
        s->p++;
        skip_ws(s);
        continue;
      }
      if (*s->p == '}') {
        s->p++;
        return 1;
      }
      return 0;
    }
    int next = scan_member(s, hit, depth, '}');
    if (next != MEMBER_MORE) return next == MEMBER_CLOSED;
  }
}

static int scan_array(Scan *s, uint32_t mask, int depth) {
  s->p++; /* '[' */
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') { s->p++; return 1; }
  for (int32_t i = 0;; i++) {
    uint32_t hit = 0;
    if (mask)
      for (int k = 0; k < s->paths; k++)
        if ((mask & (1u << k)) && s->path[k].index[depth] == i) hit |= 1u << k;
    int next = scan_member(s, hit, depth, ']');
    if (next != MEMBER_MORE) return next == MEMBER_CLOSED;
  }
}

/* A value at s->p (whitespace before it skipped). `mask`: paths looking inside it at `depth`. */
static int scan_value(Scan *s, uint32_t mask, int depth, Value *seen) {
  if (s->p >= s->end) return 0;
  if (depth > MAX_DEPTH) { s->deep = 1; return 0; }
  const uint8_t *at = s->p;
  seen->start = (int32_t)(at - s->base);
  switch (*at) {
    case '{':
      seen->kind = SEEN_CONTAINER;
      return scan_object(s, mask, depth);
    case '[':
      seen->kind = SEEN_CONTAINER;
      return scan_array(s, mask, depth);
    case '"': {
      const uint8_t *text;
      uint32_t length;
      int flags;
      if (!scan_string(s, &text, &length, &flags)) return 0;
      seen->kind = VALUE_STRING | flags;
      seen->start = (int32_t)(text - s->base);
      seen->length = (int32_t)length;
      return 1;
    }
    case 't':
      seen->kind = VALUE_TRUE;
      seen->length = 4;
      return literal(s, "true", 4);
    case 'f':
      seen->kind = VALUE_FALSE;
      seen->length = 5;
      return literal(s, "false", 5);
    case 'n':
      seen->kind = SEEN_NULL;
      return literal(s, "null", 4);
    default:
      seen->kind = VALUE_NUMBER;
      if (!scan_number(s)) return 0;
      seen->length = (int32_t)(s->p - at);
      return 1;
  }
}

/* One line: its status; s->value holds each path's value when LINE_OBJECT. */
static int scan_line(Scan *s, const uint8_t *line, uint32_t length) {
  s->p = line;
  s->end = line + length;
  s->deep = 0;
  for (int k = 0; k < s->paths; k++) s->value[k].kind = VALUE_MISSING;
  /* What JavaScript checks before JSON.parse: spaces and tabs, then '{'. */
  while (s->p < s->end && (*s->p == 0x20 || *s->p == 0x09)) s->p++;
  if (s->p >= s->end || *s->p != '{') return LINE_INVALID;
  uint32_t all = s->paths >= 32 ? 0xffffffffu : ((1u << s->paths) - 1);
  int ok = scan_object(s, all, 0);
  if (!ok) return s->deep ? LINE_DEEP : LINE_INVALID;
  skip_ws(s);
  return s->p == s->end ? LINE_OBJECT : LINE_INVALID;
}

#define THROW(env, msg)                      \
  do {                                       \
    napi_throw_error((env), NULL, (msg));    \
    return NULL;                             \
  } while (0)

static int typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok) return 0;
  return type == want;
}

static int read_u32(const uint8_t **p, const uint8_t *end, uint32_t *v) {
  if (end - *p < 4) return 0;
  memcpy(v, *p, 4);
  *p += 4;
  return 1;
}

/* A call's distinct values of one MODE_DISTINCT path: open addressing by the value's hash. */
typedef struct {
  int count; /* distinct values numbered so far; past MAX_DISTINCT nothing more is numbered */
  int32_t slot[DISTINCT_SLOTS]; /* index + 1, 0: free */
  Value value[MAX_DISTINCT];
} Distinct;

/* The index of `v` (found: its hash in v->hash) among `d`'s values, numbered if new; -2 when full. */
static int32_t distinct_index(Distinct *d, const uint8_t *base, const Value *v) {
  uint32_t at = (uint32_t)v->hash & (DISTINCT_SLOTS - 1);
  for (;; at = (at + 1) & (DISTINCT_SLOTS - 1)) {
    int32_t k = d->slot[at] - 1;
    if (k < 0) break;
    const Value *e = &d->value[k];
    if (e->hash == v->hash && e->kind == v->kind && e->length == v->length && memcmp(base + e->start, base + v->start, (size_t)v->length) == 0) return k;
  }
  if (d->count >= MAX_DISTINCT) return -2;
  d->value[d->count] = *v;
  d->slot[at] = ++d->count;
  return d->count - 1;
}

static napi_value json_fields(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) THROW(env, "jsonFields(data, bounds, n, spec, out, modes?)");
  uint8_t *data, *spec;
  uint32_t *bounds;
  int32_t *out;
  size_t data_length, bounds_length, spec_length, out_length;
  uint32_t n;
  if (!typed_array(env, argv[0], napi_uint8_array, (void **)&data, &data_length)) THROW(env, "jsonFields: data must be a Uint8Array");
  if (!typed_array(env, argv[1], napi_uint32_array, (void **)&bounds, &bounds_length)) THROW(env, "jsonFields: bounds must be a Uint32Array");
  if (napi_get_value_uint32(env, argv[2], &n) != napi_ok) THROW(env, "jsonFields: n must be a number");
  if (!typed_array(env, argv[3], napi_uint8_array, (void **)&spec, &spec_length)) THROW(env, "jsonFields: spec must be a Uint8Array");
  if (!typed_array(env, argv[4], napi_int32_array, (void **)&out, &out_length)) THROW(env, "jsonFields: out must be an Int32Array");

  Path paths[MAX_PATHS];
  const uint8_t *sp = spec, *send = spec + spec_length;
  uint32_t count;
  if (!read_u32(&sp, send, &count) || count == 0 || count > MAX_PATHS) THROW(env, "jsonFields: bad spec (paths)");
  for (uint32_t k = 0; k < count; k++) {
    uint32_t segments;
    if (!read_u32(&sp, send, &segments) || segments == 0 || segments > MAX_SEGMENTS) THROW(env, "jsonFields: bad spec (segments)");
    paths[k].segments = (int)segments;
    for (uint32_t g = 0; g < segments; g++) {
      uint32_t index, length;
      if (!read_u32(&sp, send, &index) || !read_u32(&sp, send, &length) || (size_t)(send - sp) < length) THROW(env, "jsonFields: bad spec (segment)");
      paths[k].index[g] = (int32_t)index;
      paths[k].length[g] = length;
      paths[k].text[g] = sp;
      sp += length;
    }
  }
  size_t stride = 1 + 4 * (size_t)count;
  if (bounds_length < 2 * (size_t)n || out_length < stride * n) THROW(env, "jsonFields: bounds or out too short");
  uint8_t mode[MAX_PATHS] = {0};
  napi_valuetype modes_type = napi_undefined;
  if (argc >= 6) napi_typeof(env, argv[5], &modes_type);
  if (modes_type != napi_undefined && modes_type != napi_null) {
    uint8_t *modes;
    size_t modes_length;
    if (!typed_array(env, argv[5], napi_uint8_array, (void **)&modes, &modes_length) || modes_length < count) THROW(env, "jsonFields: modes must be a Uint8Array, one per path");
    for (uint32_t k = 0; k < count; k++) {
      if (modes[k] > MODE_DISTINCT) THROW(env, "jsonFields: bad mode");
      mode[k] = modes[k];
    }
  }
  /* At most one distinct table per call is needed (the topic's field); more paths may ask. */
  Distinct distinct[MAX_PATHS];
  uint32_t hashed = 0;
  for (uint32_t k = 0; k < count; k++) {
    if (mode[k] != MODE_BOUNDS) hashed |= 1u << k;
    if (mode[k] == MODE_DISTINCT) {
      distinct[k].count = 0;
      memset(distinct[k].slot, 0, sizeof distinct[k].slot);
    }
  }

  Value values[MAX_PATHS];
  Scan s = {.base = data, .paths = (int)count, .path = paths, .value = values, .hashed = hashed};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t start = bounds[2 * i], length = bounds[2 * i + 1];
    if ((size_t)start + length > data_length) THROW(env, "jsonFields: a line's bounds are outside data");
    int32_t *o = out + stride * i;
    int status = scan_line(&s, data + start, length);
    o[0] = status;
    for (uint32_t k = 0; k < count; k++) {
      Value *v = &values[k];
      int ok = status == LINE_OBJECT && v->kind != VALUE_MISSING;
      o[1 + 4 * k] = ok ? v->kind : VALUE_MISSING;
      o[2 + 4 * k] = ok ? v->start : 0;
      o[3 + 4 * k] = ok ? v->length : 0;
      o[4 + 4 * k] = mode[k] == MODE_HASH ? (ok ? v->hash : 0) : mode[k] == MODE_BOUNDS ? 0 : ok ? distinct_index(&distinct[k], data, v) : -1;
    }
  }
  return NULL;
}

void json_fields_register(napi_env env, napi_value exports) {
  string_classes_init();
  napi_value fn;
  napi_create_function(env, "jsonFields", NAPI_AUTO_LENGTH, json_fields, NULL, &fn);
  napi_set_named_property(env, exports, "jsonFields", fn);
}
