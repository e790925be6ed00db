// logship's batch producer: a small N-API addon over the librdkafka that
// @confluentinc/kafka-javascript builds (one librdkafka per process, see README).
//
// Why it exists (measured, issue #10): the binding's per-record produce() and per-record
// JavaScript delivery report cost 4-10x what librdkafka itself needs. Here one call produces
// a whole read chunk (values are bounds into one buffer, copied by librdkafka), and a native
// thread polls librdkafka and hands delivery outcomes to JavaScript aggregated per ticket,
// in typed arrays, with at most one call pending.
//
// Threads:
//   - the JavaScript thread: produce(), topic(), metadata() (async work), close(); it also
//     frees the delivered records, handed over in their delivery-report events (serve_events);
//   - the poll thread (one per producer): serves librdkafka's main queue — delivery reports,
//     logs (log.queue), errors and statistics, as events while running, through rd_kafka_poll's
//     callbacks while closing; it aggregates into the fill set and wakes JavaScript through a
//     thread-safe function; at close it flushes, purges, serves the purged records' reports,
//     hands everything over and destroys the handle;
//   - libuv's pool: metadata requests (blocking, bounded by their timeout).
// One mutex guards the outcome sets, the text events and the state.

#define _GNU_SOURCE /* dladdr */
#define NAPI_VERSION 8
#include <node_api.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "json_fields.h"

_Static_assert(sizeof(void *) == 8, "the record opaque packs ticket and index into 64 bits");

#define ENTRY_INTS 5         /* ticket, acked, failed, skipped, first error */
#define ENTRY_CAP 8192       /* tickets per hand-over */
#define DETAIL_INTS 3        /* ticket, record index, error code */
#define DETAIL_CAP 4096      /* failed records described per hand-over; more are counted */
#define IMMEDIATE_CAP 2048   /* records refused by one produce() call (index, code) */
#define SUB_BATCH 1024       /* records per rd_kafka_produce_batch call */
#define TEXT_CAP 20000       /* log/error/stats events held for JavaScript; more are counted */
#define MERGE_SLOTS 256      /* ticket -> entry cache, so interleaved reports still merge */
#define POLL_MS 100

#define CHECK(env, call)                                                   \
  do {                                                                     \
    napi_status status_ = (call);                                          \
    if (status_ != napi_ok) {                                              \
      throw_last(env, #call);                                              \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static void throw_last(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  char msg[512];
  snprintf(msg, sizeof msg, "logship native: %s failed: %s", what, info && info->error_message ? info->error_message : "unknown");
  napi_throw_error(env, NULL, msg);
}

static napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/* ---------------------------------------------------------------- text events */

enum text_kind { TEXT_LOG = 0, TEXT_ERROR = 1, TEXT_FATAL = 2, TEXT_STATS = 3 };

typedef struct text_event {
  struct text_event *next;
  int kind;
  int num;
  char *a;
  char *b;
} text_event;

/* ---------------------------------------------------------------- producer */

enum state { ST_RUNNING = 0, ST_CLOSING = 1, ST_CLOSED = 2 };

typedef struct {
  int32_t *entries; /* ENTRY_CAP * ENTRY_INTS */
  int32_t *details; /* DETAIL_CAP * DETAIL_INTS */
  napi_ref entries_ref;
  napi_ref details_ref;
  int n_entries;
  int n_details;
  int details_dropped;
  text_event *texts_head;
  text_event *texts_tail;
  int n_texts;
  int texts_dropped;
  /* Delivery-report events whose records JavaScript destroys (see serve_events), and how many
   * records and value bytes they hold (subtracted from queued_* once destroyed). */
  rd_kafka_event_t **events;
  int n_events, cap_events;
  uint64_t held_msgs, held_bytes;
} outcome_set;

/* A topic whose partitions are not known yet asks for its own metadata (on libuv's pool), so
 * keyless records stick to one partition per call from the topic's first second on instead of
 * after the next probe (every 2 s): until then librdkafka ran its partitioner for each record —
 * on the raw 1M-line shipment, which takes about 2 s, nearly all of it (measured: ~10 % of the
 * agent's CPU in rd_kafka_toppar_get0, the sticky partitioner's clock reads and locks). */
#define LOOKUP_FIRST_MS 100  /* the retry after an answer without partitions (topic being created) */
#define LOOKUP_MAX_MS 2000   /* then doubling up to this */
#define LOOKUP_TIMEOUT_MS 1000 /* a stop waits for a request under way */

struct topic_lookup {
  int64_t due_ms; /* no request before this */
  int backoff_ms;
};

/* The poll thread's own tally of the reports one rd_kafka_poll() serves, merged into the shared
 * fill set under mu once per poll (hand_over) instead of taking mu for every record: a lock
 * and an unlock per delivered record were a third of the poll thread's CPU (perf, raw 1M
 * shipment). Touched by the poll thread only (delivery reports are served by its
 * rd_kafka_poll and rd_kafka_flush calls, nowhere else). */
#define STAGE_ENTRIES 512
#define STAGE_DETAILS 512
#define STAGE_SLOTS 64
#define STAGE_EVENTS 256

typedef struct {
  int32_t entries[STAGE_ENTRIES * ENTRY_INTS];
  int n_entries;
  int32_t details[STAGE_DETAILS * DETAIL_INTS];
  int n_details;
  uint64_t msgs, bytes; /* reported records and their bytes (see queued_msgs) */
  int last;             /* entry of the last report: reports come in runs of one ticket */
  int slot_entry[STAGE_SLOTS]; /* ticket -> entry + 1 (0: none), for interleaved tickets */
  int holding;          /* reports served from an event JavaScript destroys: not counted in msgs */
  rd_kafka_event_t *events[STAGE_EVENTS];
  int n_events;
  uint64_t held_msgs, held_bytes; /* records and bytes of those events */
} stage;

typedef struct producer {
  rd_kafka_t *rk;
  rd_kafka_queue_t *mainq; /* served as events while running (see serve_events), or NULL: rd_kafka_poll */
  int serve_events;        /* set at construction: serve the main queue as events */
  napi_env env;
  napi_ref wrapper;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  int thread_started;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  int state;            /* guarded by mu */
  int signalled;        /* a call to JavaScript is pending (guarded by mu) */
  int fill;             /* index of the set the poll thread fills (guarded by mu) */
  outcome_set sets[2];
  int32_t merge_ticket[MERGE_SLOTS];
  int merge_entry[MERGE_SLOTS];
  int merge_gen_fill;   /* merge cache valid for this fill generation */
  int merge_gen[MERGE_SLOTS];
  stage staged;         /* poll thread only */
  int64_t flush_deadline_ms;
  int metadata_inflight; /* guarded by mu: destroy waits for these */
  int closed_reported;
  napi_ref close_cb;     /* JS callback for close() */

  int32_t *permanent;   /* error codes that skip a record */
  int n_permanent;

  int32_t *immediate;   /* [count, (index, code)...] of the last produce() */
  napi_ref immediate_ref;

  /* Topic handles by id. The arrays are grown by the JavaScript thread and read by the
   * metadata job, so changes to them hold mu. */
  rd_kafka_topic_t **topics;
  char **topic_names;
  int n_topics;
  int cap_topics;
  /* Keyless records: one partition per produce() call (a whole read chunk), rotating over the
   * partitions the last metadata answer showed with a leader, like librdkafka's sticky
   * partitioner but without running the partitioner per record (measured: 0.64 -> 0.46 us a
   * record). No answer yet for a topic: librdkafka partitions each record (UA). Guarded by mu. */
  int sticky_keyless;
  int32_t **avail;
  int *n_avail;
  uint32_t *rotation;
  /* Per topic: its own metadata request while its partitions are unknown (see
   * request_partitions_locked). Guarded by mu. */
  struct topic_lookup *lookups;
  int lookup_inflight;  /* one topic lookup at a time: never more than one pool thread */
  /* Keyed records: each topic's partition count from the same answers (0: unknown; written by
   * the metadata job, read by produce() without mu: __atomic) and the configured partitioner
   * when it is one librdkafka exposes (NULL: a custom or unknown one). With both, produce()
   * partitions keyed records itself with that very function and enqueues each partition's
   * records together (see produce_grouped) instead of librdkafka partitioning, looking up and
   * locking a partition per record (measured by a V8 profile: the keyed produce call 0.80 s a
   * million lines against 0.33 s keyless). */
  int32_t *n_parts;
  int32_t (*keyed_partitioner)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

  /* librdkafka's queue limits (queue.buffering.max.messages / .kbytes) and an upper bound of
   * what it holds against them: records enqueued minus records whose delivery report was
   * served. A report is subtracted only once its records are freed — librdkafka gives their
   * room back then: after rd_kafka_poll() returned, or, served as events, once call_js
   * destroyed the event — so the bound never falls below librdkafka's own count. It lets a call spanning several topics group
   * its records by topic only when all of them are sure to fit (see produce_grouped). mu. */
  uint64_t max_msgs, max_bytes;
  uint64_t queued_msgs, queued_bytes;
  uint64_t reported_msgs, reported_bytes;

  /* Records with headers go through rd_kafka_produce_batch too, which takes no headers: our
   * on_send interceptor gives each message it makes its record's headers (see on_send).
   * send_headers is the current call's headers while produce_batched runs, NULL otherwise;
   * written and read on the JavaScript thread only (on_send runs inside the produce call).
   * on_send_ready: librdkafka took the interceptor (else records with headers go one by one). */
  const struct header_spec *send_headers;
  int on_send_ready;
  uint64_t max_msg_size; /* message.max.bytes (0: unknown, then every record with headers goes one by one) */
} producer;

static int format_offset(char *out, double v);

/* ---------------------------------------------------------------- record headers */

#define MAX_HEADERS 32
/* A bound of one header's serialized size beyond its name and value: two varint lengths of at
 * most 5 bytes each (rd_kafka_header_add's rkhdr_ser_size). */
#define HEADER_WIRE_EXTRA 10
#define OFFSET_DIGITS_MAX 20 /* format_offset of an offset below 2^64 */

/* The record headers of one produce() call: each header's name and value (the same for every
 * record, or one per record), then an optional header with each record's file offset. */
typedef struct header_spec {
  int n;
  char *names[MAX_HEADERS];
  size_t name_lens[MAX_HEADERS];
  const uint8_t *vals[MAX_HEADERS];
  size_t lens[MAX_HEADERS];
  const uint32_t *bounds[MAX_HEADERS]; /* per-record values: (start, length) into vals by record index, or NULL */
  char *offset_name;                   /* NULL: no offset header */
  size_t offset_name_len;
  const double *offsets;               /* each record's file offset, by record index */
  size_t wire_fixed;                   /* bound of the serialized headers without the per-record values */
} header_spec;

static void header_spec_free(header_spec *h) {
  for (int j = 0; j < h->n; j++) free(h->names[j]);
  free(h->offset_name);
  h->n = 0;
  h->offset_name = NULL;
}

/* Record `idx`'s headers, a new list (librdkafka's message takes it over). */
static rd_kafka_headers_t *record_headers(const header_spec *h, int32_t idx) {
  rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)h->n + 1);
  for (int j = 0; j < h->n; j++) {
    if (h->bounds[j] == NULL) rd_kafka_header_add(hdrs, h->names[j], (ssize_t)h->name_lens[j], h->vals[j], (ssize_t)h->lens[j]);
    else rd_kafka_header_add(hdrs, h->names[j], (ssize_t)h->name_lens[j], h->vals[j] + h->bounds[j][2 * idx], (ssize_t)h->bounds[j][2 * idx + 1]);
  }
  if (h->offset_name) {
    char offbuf[32];
    int len = format_offset(offbuf, h->offsets[idx]);
    rd_kafka_header_add(hdrs, h->offset_name, (ssize_t)h->offset_name_len, offbuf, len);
  }
  return hdrs;
}

/* A bound of record `idx`'s serialized headers (rd_kafka_headers_serialized_size). */
static uint64_t record_headers_wire_bound(const header_spec *h, int32_t idx) {
  uint64_t n = h->wire_fixed;
  for (int j = 0; j < h->n; j++)
    if (h->bounds[j] != NULL) n += h->bounds[j][2 * idx + 1];
  return n;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_permanent(const producer *p, int32_t err) {
  for (int i = 0; i < p->n_permanent; i++)
    if (p->permanent[i] == err) return 1;
  return 0;
}

/* Wakes JavaScript if nothing is pending and there is something to hand over. mu held. */
static void signal_js_locked(producer *p) {
  outcome_set *s = &p->sets[p->fill];
  int closed = p->state == ST_CLOSED && !p->closed_reported;
  if (p->signalled || (s->n_entries == 0 && s->n_details == 0 && s->texts_head == NULL && !closed && s->texts_dropped == 0 && s->details_dropped == 0 && s->n_events == 0)) return;
  p->signalled = 1;
  napi_call_threadsafe_function(p->tsfn, NULL, napi_tsfn_nonblocking);
}

/* The fill set is full: hand it over and wait until JavaScript has taken it. mu held. */
static void wait_for_room_locked(producer *p) {
  int gen = p->fill;
  signal_js_locked(p);
  while (p->fill == gen) pthread_cond_wait(&p->cv, &p->mu);
}

static void push_text_locked(producer *p, int kind, int num, const char *a, const char *b) {
  outcome_set *s = &p->sets[p->fill];
  if (s->n_texts >= TEXT_CAP) {
    s->texts_dropped++;
    return;
  }
  text_event *e = calloc(1, sizeof *e);
  if (!e) return;
  e->kind = kind;
  e->num = num;
  e->a = a ? strdup(a) : NULL;
  e->b = b ? strdup(b) : NULL;
  if (s->texts_tail) s->texts_tail->next = e;
  else s->texts_head = e;
  s->texts_tail = e;
  s->n_texts++;
}

/* ---------------------------------------------------------------- librdkafka callbacks (poll thread) */

/* The fill set's entry for `ticket`, made when missing (the set has room: see merge_stage_locked). mu held. */
static int32_t *fill_entry_locked(producer *p, int32_t ticket) {
  outcome_set *s = &p->sets[p->fill];
  unsigned slot = (unsigned)ticket % MERGE_SLOTS;
  if (p->merge_gen[slot] == p->merge_gen_fill && p->merge_ticket[slot] == ticket) return s->entries + p->merge_entry[slot] * ENTRY_INTS;
  int e = s->n_entries++;
  int32_t *row = s->entries + e * ENTRY_INTS;
  row[0] = ticket;
  row[1] = row[2] = row[3] = row[4] = 0;
  p->merge_gen[slot] = p->merge_gen_fill;
  p->merge_ticket[slot] = ticket;
  p->merge_entry[slot] = e;
  return row;
}

/* Moves the poll thread's tally into the fill set: all of it into one set, so that a ticket's
 * counts and its failed records' rows reach JavaScript in the same hand-over. mu held. */
static void merge_stage_locked(producer *p) {
  stage *st = &p->staged;
  if (st->n_entries == 0 && st->msgs == 0 && st->n_events == 0) return;
  if (p->sets[p->fill].n_entries + st->n_entries > ENTRY_CAP) wait_for_room_locked(p);
  outcome_set *s = &p->sets[p->fill];
  for (int k = 0; k < st->n_entries; k++) {
    const int32_t *from = st->entries + k * ENTRY_INTS;
    int32_t *row = fill_entry_locked(p, from[0]);
    row[1] += from[1];
    row[2] += from[2];
    row[3] += from[3];
    if (row[4] == 0) row[4] = from[4];
  }
  for (int k = 0; k < st->n_details; k++) {
    if (s->n_details < DETAIL_CAP) memcpy(s->details + s->n_details++ * DETAIL_INTS, st->details + k * DETAIL_INTS, DETAIL_INTS * sizeof(int32_t));
    else s->details_dropped++;
  }
  p->reported_msgs += st->msgs;
  p->reported_bytes += st->bytes;
  if (st->n_events > 0) {
    if (s->n_events + st->n_events > s->cap_events) {
      int cap = s->cap_events ? s->cap_events : 1024;
      while (cap < s->n_events + st->n_events) cap *= 2;
      rd_kafka_event_t **ev = realloc(s->events, (size_t)cap * sizeof *ev);
      if (ev) {
        s->events = ev;
        s->cap_events = cap;
      }
    }
    if (s->n_events + st->n_events <= s->cap_events) {
      memcpy(s->events + s->n_events, st->events, (size_t)st->n_events * sizeof st->events[0]);
      s->n_events += st->n_events;
      s->held_msgs += st->held_msgs;
      s->held_bytes += st->held_bytes;
    } else {
      /* No memory for the list: destroyed here, their room given back at this hand-over. */
      for (int k = 0; k < st->n_events; k++) rd_kafka_event_destroy(st->events[k]);
      p->reported_msgs += st->held_msgs;
      p->reported_bytes += st->held_bytes;
    }
    st->n_events = 0;
    st->held_msgs = st->held_bytes = 0;
  }
  st->n_entries = st->n_details = 0;
  st->msgs = st->bytes = 0;
  st->last = -1;
  memset(st->slot_entry, 0, sizeof st->slot_entry);
}

/* The staged entry for `ticket`, made when missing. Poll thread; the stage has room. */
static int32_t *stage_entry(stage *st, int32_t ticket) {
  if (st->last >= 0 && st->entries[st->last * ENTRY_INTS] == ticket) return st->entries + st->last * ENTRY_INTS;
  unsigned slot = (unsigned)ticket % STAGE_SLOTS;
  int e = st->slot_entry[slot] - 1;
  if (e < 0 || st->entries[e * ENTRY_INTS] != ticket) {
    e = st->n_entries++;
    int32_t *row = st->entries + e * ENTRY_INTS;
    row[0] = ticket;
    row[1] = row[2] = row[3] = row[4] = 0;
    st->slot_entry[slot] = e + 1;
  }
  st->last = e;
  return st->entries + e * ENTRY_INTS;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  producer *p = opaque;
  uint64_t packed = (uint64_t)(uintptr_t)m->_private;
  int32_t ticket = (int32_t)(packed >> 32);
  int32_t index = (int32_t)(packed & 0xffffffffu);
  int32_t err = m->err;
  stage *st = &p->staged;
  if (st->n_entries == STAGE_ENTRIES || (err != RD_KAFKA_RESP_ERR_NO_ERROR && st->n_details == STAGE_DETAILS)) {
    pthread_mutex_lock(&p->mu);
    merge_stage_locked(p);
    pthread_mutex_unlock(&p->mu);
  }
  if (!st->holding) {
    st->msgs++;
    st->bytes += m->len;
  }
  int32_t *row = stage_entry(st, ticket);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    row[1]++;
  } else {
    if (is_permanent(p, err)) row[3]++;
    else row[2]++;
    if (row[4] == 0) row[4] = err;
    int32_t *d = st->details + st->n_details++ * DETAIL_INTS;
    d[0] = ticket;
    d[1] = index;
    d[2] = err;
  }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  producer *p = rd_kafka_opaque(rk);
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  push_text_locked(p, TEXT_LOG, level, fac, buf);
  pthread_mutex_unlock(&p->mu);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  producer *p = opaque;
  char fatal[512] = "";
  int fatal_code = 0;
  if (err == RD_KAFKA_RESP_ERR__FATAL) fatal_code = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
  pthread_mutex_lock(&p->mu);
  if (fatal_code) push_text_locked(p, TEXT_FATAL, fatal_code, rd_kafka_err2name(fatal_code), fatal);
  else push_text_locked(p, TEXT_ERROR, err, rd_kafka_err2name(err), reason);
  pthread_mutex_unlock(&p->mu);
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  (void)len;
  producer *p = opaque;
  pthread_mutex_lock(&p->mu);
  push_text_locked(p, TEXT_STATS, 0, NULL, json);
  pthread_mutex_unlock(&p->mu);
  return 0; /* librdkafka frees json */
}

/*
 * librdkafka's on_send interceptor (rdkafka_interceptor.c), called by rd_kafka_msg_new0 for each
 * message a produce call makes, on the calling thread — ours is the JavaScript thread, inside
 * produce_batched — after the message got its size check, timestamp and opaque and before it is
 * partitioned and enqueued. While produce_batched hands records with headers to
 * rd_kafka_produce_batch (send_headers set), it gives each message its record's headers (the
 * record index is the low half of the opaque): the same list produce_each passes to
 * rd_kafka_producev. rd_kafka_message_set_headers hands the list to the message, which frees it
 * with itself — also when rd_kafka_produce_batch refuses the message after this point (an
 * unknown partition). Messages made at any other time (rd_kafka_producev) are left alone.
 * The message is not shared with anything yet: setting its headers here is what producev does
 * a few lines earlier in rd_kafka_msg_new0, not a change under librdkafka's feet.
 */
static rd_kafka_resp_err_t on_send(rd_kafka_t *rk, rd_kafka_message_t *m, void *ic_opaque) {
  (void)rk;
  producer *p = ic_opaque;
  const header_spec *h = p->send_headers;
  if (h == NULL) return RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t idx = (int32_t)((uint64_t)(uintptr_t)m->_private & 0xffffffffu);
  rd_kafka_message_set_headers(m, record_headers(h, idx));
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* on_new: called by rd_kafka_new with the new handle, the only place on_send can be added.
 * Our configuration object goes to one rd_kafka_new and is never duplicated (rd_kafka_conf_dup
 * would not copy interceptors anyway); ic_opaque is the producer, which outlives its handle
 * (destroyed by the poll thread before the producer is freed). */
static rd_kafka_resp_err_t on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *ic_opaque, char *errstr, size_t errstr_size) {
  (void)conf;
  producer *p = ic_opaque;
  rd_kafka_resp_err_t err = rd_kafka_interceptor_add_on_send(rk, "logship-headers", on_send, p);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) snprintf(errstr, errstr_size, "on_send: %s", rd_kafka_err2str(err));
  else p->on_send_ready = 1;
  return err;
}

/* ---------------------------------------------------------------- poll thread */

/*
 * Serves the main queue as events instead of rd_kafka_poll's callbacks, so that delivered
 * records are freed on the JavaScript thread, which allocated them: rd_kafka_poll frees each
 * reported record (its message, value and headers) on this thread right after its callback —
 * glibc's cross-thread pattern: this thread's frees go to the JavaScript thread's arena and
 * fast bins, where that thread's next allocations must consolidate them. A delivery-report
 * event is read here (the same on_delivery per record) and handed over with the outcomes;
 * call_js destroys it, freeing its records, and only then gives their room back (queued_*).
 * Logs, errors and statistics are served here as before. Used while running; closing flushes
 * and purges with rd_kafka_flush and rd_kafka_poll as before (callbacks, freed here).
 */
static void serve_events(producer *p, int timeout_ms) {
  stage *st = &p->staged;
  for (int k = 0; k < 1000; k++) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(p->mainq, k == 0 ? timeout_ms : 0);
    if (ev == NULL) return;
    switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_DR: {
      const rd_kafka_message_t *m;
      uint64_t n = 0, bytes = 0;
      st->holding = 1;
      while ((m = rd_kafka_event_message_next(ev)) != NULL) {
        on_delivery(p->rk, m, p);
        n++;
        bytes += m->len;
      }
      st->holding = 0;
      if (n == 0) {
        rd_kafka_event_destroy(ev);
        break;
      }
      if (st->n_events == STAGE_EVENTS) {
        pthread_mutex_lock(&p->mu);
        merge_stage_locked(p);
        pthread_mutex_unlock(&p->mu);
      }
      st->events[st->n_events++] = ev;
      st->held_msgs += n;
      st->held_bytes += bytes;
      break;
    }
    case RD_KAFKA_EVENT_LOG: {
      const char *fac = "", *str = "";
      int level = 0;
      rd_kafka_event_log(ev, &fac, &str, &level);
      on_log(p->rk, level, fac, str);
      rd_kafka_event_destroy(ev);
      break;
    }
    case RD_KAFKA_EVENT_ERROR: {
      /* rd_kafka_queue_poll translated a fatal error to its underlying code and reason. */
      int err = rd_kafka_event_error(ev);
      const char *reason = rd_kafka_event_error_string(ev);
      pthread_mutex_lock(&p->mu);
      push_text_locked(p, rd_kafka_event_error_is_fatal(ev) ? TEXT_FATAL : TEXT_ERROR, err, rd_kafka_err2name(err), reason);
      pthread_mutex_unlock(&p->mu);
      rd_kafka_event_destroy(ev);
      break;
    }
    case RD_KAFKA_EVENT_STATS: {
      pthread_mutex_lock(&p->mu);
      push_text_locked(p, TEXT_STATS, 0, NULL, rd_kafka_event_stats(ev));
      pthread_mutex_unlock(&p->mu);
      rd_kafka_event_destroy(ev);
      break;
    }
    default:
      rd_kafka_event_destroy(ev);
    }
  }
}

static void hand_over(producer *p) {
  pthread_mutex_lock(&p->mu);
  merge_stage_locked(p);
  /* rd_kafka_poll/flush returned: the reported records are freed, their room is librdkafka's again. */
  p->queued_msgs -= p->reported_msgs;
  p->queued_bytes -= p->reported_bytes;
  p->reported_msgs = p->reported_bytes = 0;
  signal_js_locked(p);
  pthread_mutex_unlock(&p->mu);
}

static void *poll_main(void *arg) {
  producer *p = arg;
  int purged = 0;
  pthread_setname_np(pthread_self(), "logship-poll"); /* shows in top -H, /proc/<pid>/task */
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int state = p->state;
    int64_t deadline = p->flush_deadline_ms;
    pthread_mutex_unlock(&p->mu);
    if (state == ST_RUNNING) {
      if (p->mainq) serve_events(p, POLL_MS);
      else rd_kafka_poll(p->rk, POLL_MS);
    } else {
      /* Closing: flush until the deadline, purge what is left, serve every purged record's
       * report so that each ticket learns its records failed, then stop. */
      int64_t left = deadline - now_ms();
      if (!purged && left > 0 && rd_kafka_outq_len(p->rk) > 0) {
        rd_kafka_flush(p->rk, (int)(left < 50 ? left : 50));
      } else if (!purged) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        purged = 1;
      } else if (rd_kafka_outq_len(p->rk) > 0) {
        rd_kafka_poll(p->rk, 10);
      } else {
        break;
      }
    }
    hand_over(p);
  }
  /* Nothing is queued any more. Wait for metadata requests still running on the pool. */
  pthread_mutex_lock(&p->mu);
  while (p->metadata_inflight > 0) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_topics; i++) rd_kafka_topic_destroy(p->topics[i]);
  if (p->mainq) rd_kafka_queue_destroy(p->mainq);
  rd_kafka_destroy(p->rk);
  /* Destroying may log (served on no queue now): those lines are dropped, not an issue. */
  pthread_mutex_lock(&p->mu);
  p->rk = NULL;
  p->state = ST_CLOSED;
  /* The final hand-over: wait until JavaScript took the last outcomes, then report closed. */
  signal_js_locked(p);
  pthread_mutex_unlock(&p->mu);
  napi_release_threadsafe_function(p->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---------------------------------------------------------------- JavaScript side of the hand-over */

static napi_value text_events_to_js(napi_env env, text_event *head, int count) {
  napi_value arr;
  if (napi_create_array_with_length(env, (size_t)count, &arr) != napi_ok) return NULL;
  uint32_t i = 0;
  for (text_event *e = head; e; e = e->next) {
    napi_value row, v;
    napi_create_array_with_length(env, 4, &row);
    napi_create_int32(env, e->kind, &v);
    napi_set_element(env, row, 0, v);
    napi_create_int32(env, e->num, &v);
    napi_set_element(env, row, 1, v);
    if (e->a) napi_create_string_utf8(env, e->a, NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    napi_set_element(env, row, 2, v);
    if (e->b) napi_create_string_utf8(env, e->b, NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    napi_set_element(env, row, 3, v);
    napi_set_element(env, arr, i++, row);
  }
  return arr;
}

static void free_texts(text_event *head) {
  while (head) {
    text_event *next = head->next;
    free(head->a);
    free(head->b);
    free(head);
    head = next;
  }
}

/* onEvents(set, entries, details, detailsDropped, texts | null, textsDropped, closed) */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)data;
  producer *p = context;
  pthread_mutex_lock(&p->mu);
  int set = p->fill;
  outcome_set *s = &p->sets[set];
  int n_entries = s->n_entries, n_details = s->n_details, dropped = s->details_dropped;
  int texts_dropped = s->texts_dropped, n_texts = s->n_texts;
  text_event *texts = s->texts_head;
  int closed = p->state == ST_CLOSED && !p->closed_reported;
  if (closed) p->closed_reported = 1;
  /* Swap: the poll thread fills the other set while JavaScript reads this one. */
  p->fill = 1 - set;
  outcome_set *o = &p->sets[p->fill];
  o->n_entries = o->n_details = o->details_dropped = o->n_texts = o->texts_dropped = 0;
  o->texts_head = o->texts_tail = NULL;
  s->texts_head = s->texts_tail = NULL;
  p->merge_gen_fill++;
  p->signalled = 0;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);

  /* The handed-over set is JavaScript's until the next swap: free its delivered records here,
   * on the thread that allocated them, then give their room back (see serve_events). Also when
   * the environment is going away (env NULL): the poll thread waits for them to be freed. */
  if (s->n_events > 0) {
    for (int k = 0; k < s->n_events; k++) rd_kafka_event_destroy(s->events[k]);
    pthread_mutex_lock(&p->mu);
    p->queued_msgs -= s->held_msgs;
    p->queued_bytes -= s->held_bytes;
    pthread_mutex_unlock(&p->mu);
    s->n_events = 0;
    s->held_msgs = s->held_bytes = 0;
  }
  if (env == NULL) {
    free_texts(texts);
    return;
  }

  napi_value argv[7], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, set, &argv[0]);
  napi_create_int32(env, n_entries, &argv[1]);
  napi_create_int32(env, n_details, &argv[2]);
  napi_create_int32(env, dropped, &argv[3]);
  if (texts) argv[4] = text_events_to_js(env, texts, n_texts);
  else napi_get_null(env, &argv[4]);
  napi_create_int32(env, texts_dropped, &argv[5]);
  napi_get_boolean(env, closed, &argv[6]);
  free_texts(texts);
  if (js_cb) napi_call_function(env, undefined, js_cb, 7, argv, NULL);
  if (closed && p->close_cb) {
    napi_value cb;
    if (napi_get_reference_value(env, p->close_cb, &cb) == napi_ok && cb) napi_call_function(env, undefined, cb, 0, NULL, NULL);
    napi_delete_reference(env, p->close_cb);
    p->close_cb = NULL;
  }
  /* Whatever arrived meanwhile goes out at the poll thread's next turn; while closing wake it. */
  pthread_mutex_lock(&p->mu);
  if (p->state != ST_RUNNING) signal_js_locked(p);
  pthread_mutex_unlock(&p->mu);
}

/* ---------------------------------------------------------------- construction */

static void producer_free(producer *p) {
  for (int i = 0; i < p->n_topics; i++) {
    free(p->topic_names[i]);
    free(p->avail[i]);
  }
  free(p->avail);
  free(p->n_avail);
  free(p->rotation);
  free(p->lookups);
  free(p->n_parts);
  free(p->topics);
  free(p->topic_names);
  free(p->permanent);
  for (int i = 0; i < 2; i++) {
    free_texts(p->sets[i].texts_head);
    free(p->sets[i].events);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}

static void producer_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  producer *p = data;
  /* A producer is closed before it is dropped (the shipper always closes it). If not, the poll
   * thread still owns the handle: leak it rather than free memory a thread uses. */
  if (p->thread_started && p->state != ST_CLOSED) return;
  if (p->thread_started) pthread_join(p->thread, NULL);
  for (int i = 0; i < 2; i++) {
    if (p->sets[i].entries_ref) napi_delete_reference(env, p->sets[i].entries_ref);
    if (p->sets[i].details_ref) napi_delete_reference(env, p->sets[i].details_ref);
  }
  if (p->immediate_ref) napi_delete_reference(env, p->immediate_ref);
  producer_free(p);
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value make_int32_array(napi_env env, size_t n, int32_t **data, napi_ref *ref) {
  napi_value ab, ta;
  void *raw = NULL;
  if (napi_create_arraybuffer(env, n * sizeof(int32_t), &raw, &ab) != napi_ok) return NULL;
  memset(raw, 0, n * sizeof(int32_t));
  if (napi_create_typedarray(env, napi_int32_array, n, ab, 0, &ta) != napi_ok) return NULL;
  if (napi_create_reference(env, ta, 1, ref) != napi_ok) return NULL;
  *data = raw;
  return ta;
}

/* new Producer(confPairs: string[], permanentCodes: Int32Array, onEvents: Function, stickyKeyless: boolean) */
static napi_value producer_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 3) return throw_msg(env, "ERR_ARGS", "Producer(conf, permanentCodes, onEvents)");

  producer *p = calloc(1, sizeof *p);
  if (!p) return throw_msg(env, "ERR_NOMEM", "out of memory");
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->env = env;
  p->merge_gen_fill = 1;
  p->staged.last = -1;
  if (argc > 3) {
    bool sticky = false;
    napi_get_value_bool(env, argv[3], &sticky);
    p->sticky_keyless = sticky;
  }

  /* permanent error codes */
  napi_typedarray_type tt;
  size_t tlen;
  void *tdata;
  if (napi_get_typedarray_info(env, argv[1], &tt, &tlen, &tdata, NULL, NULL) != napi_ok || tt != napi_int32_array) {
    producer_free(p);
    return throw_msg(env, "ERR_ARGS", "permanentCodes must be an Int32Array");
  }
  p->permanent = malloc((tlen ? tlen : 1) * sizeof(int32_t));
  memcpy(p->permanent, tdata, tlen * sizeof(int32_t));
  p->n_permanent = (int)tlen;

  /* configuration */
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    napi_value k, v;
    napi_get_element(env, argv[0], i, &k);
    napi_get_element(env, argv[0], i + 1, &v);
    char *ks = get_string(env, k), *vs = get_string(env, v);
    if (!ks || !vs) {
      free(ks);
      free(vs);
      rd_kafka_conf_destroy(conf);
      producer_free(p);
      return throw_msg(env, "ERR_ARGS", "configuration keys and values must be strings");
    }
    if (rd_kafka_conf_set(conf, ks, vs, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      char msg[1024];
      /* The value is not echoed: it may be a secret. */
      snprintf(msg, sizeof msg, "librdkafka property %s: %s", ks, errstr);
      free(ks);
      free(vs);
      rd_kafka_conf_destroy(conf);
      producer_free(p);
      napi_value err, code, m;
      napi_create_string_utf8(env, "ERR_LIBRDKAFKA_CONF", NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
      napi_create_error(env, code, m, &err);
      napi_throw(env, err);
      return NULL;
    }
    free(ks);
    free(vs);
  }
  /* Logs are served by the poll thread, not spontaneously from librdkafka's threads. */
  rd_kafka_conf_set(conf, "log.queue", "true", errstr, sizeof errstr);
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  /* Headers of batched records (see on_send). Should librdkafka not take it, on_send_ready
   * stays 0 and records with headers go one by one through rd_kafka_producev. */
  rd_kafka_conf_interceptor_add_on_new(conf, "logship-headers", on_new, p);

  /* outcome sets and the immediate-error array, owned by JavaScript objects we keep */
  napi_value sets_js, imm;
  napi_create_array_with_length(env, 4, &sets_js);
  for (int i = 0; i < 2; i++) {
    napi_value e = make_int32_array(env, ENTRY_CAP * ENTRY_INTS, &p->sets[i].entries, &p->sets[i].entries_ref);
    napi_value d = make_int32_array(env, DETAIL_CAP * DETAIL_INTS, &p->sets[i].details, &p->sets[i].details_ref);
    if (!e || !d) {
      rd_kafka_conf_destroy(conf);
      return throw_msg(env, "ERR_NOMEM", "cannot allocate outcome buffers");
    }
    napi_set_element(env, sets_js, (uint32_t)(2 * i), e);
    napi_set_element(env, sets_js, (uint32_t)(2 * i + 1), d);
  }
  imm = make_int32_array(env, 1 + 2 * IMMEDIATE_CAP, &p->immediate, &p->immediate_ref);
  if (!imm) {
    rd_kafka_conf_destroy(conf);
    return throw_msg(env, "ERR_NOMEM", "cannot allocate buffers");
  }

  {
    char v[64];
    size_t vn = sizeof v;
    if (rd_kafka_conf_get(conf, "queue.buffering.max.messages", v, &vn) == RD_KAFKA_CONF_OK) p->max_msgs = strtoull(v, NULL, 10);
    vn = sizeof v;
    if (rd_kafka_conf_get(conf, "queue.buffering.max.kbytes", v, &vn) == RD_KAFKA_CONF_OK) p->max_bytes = strtoull(v, NULL, 10) * 1024;
    vn = sizeof v;
    if (rd_kafka_conf_get(conf, "message.max.bytes", v, &vn) == RD_KAFKA_CONF_OK) p->max_msg_size = strtoull(v, NULL, 10);
    /* Served as events, the main queue would hand us the token refreshes of SASL/OAUTHBEARER's
     * unsecured JWT (rd_kafka_poll runs librdkafka's own builder for them): callbacks then. */
    vn = sizeof v;
    p->serve_events = !(rd_kafka_conf_get(conf, "enable.sasl.oauthbearer.unsecure.jwt", v, &vn) == RD_KAFKA_CONF_OK && strcmp(v, "true") == 0);
    /* The partitioner librdkafka would run for keyed records (a topic property; unset, or no
     * topic properties at all: its default, consistent_random). Only those hashing a non-empty
     * key (all but `random`): records with an empty or no key are left to librdkafka. */
    static const struct {
      const char *name;
      int32_t (*fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);
    } named[] = {
        {"consistent_random", rd_kafka_msg_partitioner_consistent_random}, {"consistent", rd_kafka_msg_partitioner_consistent},
        {"murmur2", rd_kafka_msg_partitioner_murmur2},                     {"murmur2_random", rd_kafka_msg_partitioner_murmur2_random},
        {"fnv1a", rd_kafka_msg_partitioner_fnv1a},                         {"fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random},
    };
    vn = sizeof v;
    rd_kafka_conf_res_t res = rd_kafka_conf_get(conf, "partitioner", v, &vn);
    const char *partitioner = res == RD_KAFKA_CONF_OK ? v : res == RD_KAFKA_CONF_UNKNOWN ? "consistent_random" : "";
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
      if (strcmp(partitioner, named[i].name) == 0) p->keyed_partitioner = named[i].fn;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    char msg[600];
    snprintf(msg, sizeof msg, "librdkafka refused the producer configuration: %s", errstr);
    return throw_msg(env, "ERR_LIBRDKAFKA_CONF", msg);
  }
  p->rk = rk;
  rd_kafka_set_log_queue(rk, NULL); /* NULL: the main queue, served by the poll thread */

  napi_value name;
  napi_create_string_utf8(env, "logship-producer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, p, call_js, &p->tsfn) != napi_ok) {
    rd_kafka_destroy(rk);
    return throw_msg(env, "ERR_TSFN", "cannot create the thread-safe function");
  }
  /* Idle producers do not keep the process alive; close() references it until closed. */
  napi_unref_threadsafe_function(env, p->tsfn);
  if (p->serve_events) p->mainq = rd_kafka_queue_get_main(rk);

  CHECK(env, napi_wrap(env, self, p, producer_finalize, NULL, &p->wrapper));
  napi_set_named_property(env, self, "outcomeBuffers", sets_js);
  napi_set_named_property(env, self, "immediate", imm);

  if (pthread_create(&p->thread, NULL, poll_main, p) != 0) return throw_msg(env, "ERR_THREAD", "cannot start the poll thread");
  p->thread_started = 1;
  return self;
}

static producer *unwrap(napi_env env, napi_value self) {
  producer *p = NULL;
  if (napi_unwrap(env, self, (void **)&p) != napi_ok || !p) {
    napi_throw_error(env, "ERR_ARGS", "not a Producer");
    return NULL;
  }
  return p;
}

static int running(napi_env env, producer *p) {
  pthread_mutex_lock(&p->mu);
  int ok = p->state == ST_RUNNING;
  pthread_mutex_unlock(&p->mu);
  if (!ok) napi_throw_error(env, "ERR_CLOSED", "the producer is closed");
  return ok;
}

/* A method call's arguments and its producer; NULL (with an exception pending) when `this` is
 * not a producer, or not a running one when `need_running`. */
static producer *method_args(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, int need_running) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return NULL;
  }
  producer *p = unwrap(env, self);
  if (!p || (need_running && !running(env, p))) return NULL;
  return p;
}

/* topic(name) -> id (stable for this producer) */
static napi_value producer_topic(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  producer *p = method_args(env, info, &argc, argv, 1);
  if (!p) return NULL;
  char *name = get_string(env, argv[0]);
  if (!name) return throw_msg(env, "ERR_ARGS", "topic name must be a string");
  for (int i = 0; i < p->n_topics; i++) {
    if (strcmp(p->topic_names[i], name) == 0) {
      free(name);
      napi_create_int32(env, i, &out);
      return out;
    }
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, name, NULL);
  if (!rkt) {
    char msg[600];
    snprintf(msg, sizeof msg, "topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
    free(name);
    return throw_msg(env, "ERR_TOPIC", msg);
  }
  pthread_mutex_lock(&p->mu);
  if (p->n_topics == p->cap_topics) {
    int cap = p->cap_topics ? p->cap_topics * 2 : 16;
    rd_kafka_topic_t **t = realloc(p->topics, (size_t)cap * sizeof *t);
    if (t) p->topics = t;
    char **nm = t ? realloc(p->topic_names, (size_t)cap * sizeof *nm) : NULL;
    if (nm) p->topic_names = nm;
    int32_t **av = nm ? realloc(p->avail, (size_t)cap * sizeof *av) : NULL;
    if (av) p->avail = av;
    int *na = av ? realloc(p->n_avail, (size_t)cap * sizeof *na) : NULL;
    if (na) p->n_avail = na;
    uint32_t *rot = na ? realloc(p->rotation, (size_t)cap * sizeof *rot) : NULL;
    if (rot) p->rotation = rot;
    struct topic_lookup *lk = rot ? realloc(p->lookups, (size_t)cap * sizeof *lk) : NULL;
    if (lk) p->lookups = lk;
    int32_t *np = lk ? realloc(p->n_parts, (size_t)cap * sizeof *np) : NULL;
    if (np) p->n_parts = np;
    if (!np) {
      pthread_mutex_unlock(&p->mu);
      rd_kafka_topic_destroy(rkt);
      free(name);
      return throw_msg(env, "ERR_NOMEM", "out of memory");
    }
    p->cap_topics = cap;
  }
  int id = p->n_topics;
  p->topics[id] = rkt;
  p->topic_names[id] = name;
  p->avail[id] = NULL;
  p->n_avail[id] = 0;
  p->rotation[id] = (uint32_t)rand();
  memset(&p->lookups[id], 0, sizeof p->lookups[id]);
  p->n_parts[id] = 0;
  p->n_topics++;
  pthread_mutex_unlock(&p->mu);
  napi_create_int32(env, id, &out);
  return out;
}

static int get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is = false;
  napi_is_arraybuffer(env, v, &is);
  if (is) return napi_get_arraybuffer_info(env, v, (void **)data, len) == napi_ok;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type t;
    size_t n;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, &n, (void **)data, &ab, &off) != napi_ok || t != napi_uint8_array) return 0;
    *len = n;
    return 1;
  }
  return 0;
}

typedef struct {
  producer *p;
  int timeout_ms;
  int err;
  int brokers;
  napi_ref cb;          /* NULL: a topic's own request (no JavaScript to call) */
  rd_kafka_topic_t *only; /* ask for this topic only (a topic lookup), or NULL (all known topics) */
  napi_async_work work;
} metadata_job;

static void metadata_execute(napi_env env, void *data);
static void metadata_complete(napi_env env, napi_status status, void *data);

/* Asks for `topic_id`'s partitions (see struct topic_lookup): one request at a time, a topic's
 * next one no sooner than its backoff; the answer fills avail like a probe's. JavaScript
 * thread (it queues work on libuv's pool), mu held. */
static void request_partitions_locked(producer *p, int32_t topic_id) {
  struct topic_lookup *l = &p->lookups[topic_id];
  int64_t now = now_ms();
  /* One lookup at a time for the whole producer: a thousand new per-file topics must not fill
   * libuv's pool (the file reads' threads) with metadata requests, each up to its timeout
   * when the cluster stalls. The others ask at their next call after it. */
  if (p->lookup_inflight || p->state != ST_RUNNING || now < l->due_ms) return;
  metadata_job *j = calloc(1, sizeof *j);
  if (!j) return;
  j->p = p;
  j->timeout_ms = LOOKUP_TIMEOUT_MS;
  j->only = p->topics[topic_id];
  napi_value name;
  if (napi_create_string_utf8(p->env, "logship-topic-metadata", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(p->env, NULL, name, metadata_execute, metadata_complete, j, &j->work) != napi_ok) {
    free(j);
    return;
  }
  if (napi_queue_async_work(p->env, j->work) != napi_ok) {
    napi_delete_async_work(p->env, j->work);
    free(j);
    return;
  }
  p->lookup_inflight = 1;
  p->metadata_inflight++;
  l->backoff_ms = l->backoff_ms == 0 ? LOOKUP_FIRST_MS : l->backoff_ms * 2 > LOOKUP_MAX_MS ? LOOKUP_MAX_MS : l->backoff_ms * 2;
  l->due_ms = now + l->backoff_ms;
}

/* The partition keyless records of `topic_id` stick to for one call (or one topic's group of
 * a call), rotating per call; UA (librdkafka partitions each record) before metadata named the
 * topic's partitions. */
static int32_t sticky_partition(producer *p, int32_t topic_id) {
  int32_t partition = RD_KAFKA_PARTITION_UA;
  pthread_mutex_lock(&p->mu);
  if (p->n_avail[topic_id] > 0) partition = p->avail[topic_id][p->rotation[topic_id]++ % (uint32_t)p->n_avail[topic_id]];
  else request_partitions_locked(p, topic_id);
  pthread_mutex_unlock(&p->mu);
  return partition;
}

static void count_queued(producer *p, uint64_t msgs, uint64_t bytes) {
  pthread_mutex_lock(&p->mu);
  p->queued_msgs += msgs;
  p->queued_bytes += bytes;
  pthread_mutex_unlock(&p->mu);
}

/* The partition librdkafka would give a keyed record of `topic_id`, computed here with the
 * configured partitioner and the partition count our own metadata lookup learnt (the same
 * answers sticky_partition uses); UA when either is unknown, or for an empty or no key (the
 * *_random partitioners place those at random or sticky: left to librdkafka). */
static int32_t own_partition(producer *p, int32_t topic_id, const void *key, size_t key_len) {
  int32_t cnt = __atomic_load_n(&p->n_parts[topic_id], __ATOMIC_RELAXED);
  if (p->keyed_partitioner == NULL || cnt <= 0 || key == NULL || key_len == 0) return RD_KAFKA_PARTITION_UA;
  return p->keyed_partitioner(p->topics[topic_id], key, key_len, cnt, NULL, NULL);
}

/* Keyed records of a topic whose partition count is not known yet ask for it, as keyless ones
 * do in sticky_partition: else the count came only with the next readiness probe (every 2 s),
 * and librdkafka partitioned each record until then. */
static void learn_partitions(producer *p, int32_t topic_id) {
  if (p->keyed_partitioner == NULL || __atomic_load_n(&p->n_parts[topic_id], __ATOMIC_RELAXED) > 0) return;
  pthread_mutex_lock(&p->mu);
  request_partitions_locked(p, topic_id);
  pthread_mutex_unlock(&p->mu);
}

/* Distinct (topic, partition) pairs a grouped window may hold; more and the window goes record
 * run by run. */
#define MAX_GROUPS 64

/* The records of one produce() call, as its arguments describe them (see producer_produce). */
typedef struct {
  const int32_t *record_topics; /* a topic id per record (by record index), or NULL: topic_id */
  int32_t topic_id;
  const uint8_t *data;
  const uint32_t *bounds;       /* (start, length) of each record's value in data */
  const uint8_t *key;           /* one key for every record (NULL: none), */
  size_t key_len;
  const uint8_t *key_data;      /* or one per record: key_bounds (start, length) into key_data, */
  const uint32_t *key_bounds;   /* length UINT32_MAX for none */
  int keyless;                  /* no keys at all, and keyless records stick to one partition per call */
  int32_t partition;            /* one topic: the call's partition (sticky keyless, one key's own) or UA */
  int32_t ticket;
  int64_t ts_ms;                /* 0: librdkafka stamps the records */
  const header_spec *headers;   /* NULL: none */
} produce_call;

static void *record_opaque(const produce_call *c, int32_t idx) {
  return (void *)(uintptr_t)(((uint64_t)(uint32_t)c->ticket << 32) | (uint32_t)idx);
}

static void *record_key(const produce_call *c, int32_t idx) {
  if (c->key_bounds == NULL) return (void *)c->key;
  return c->key_bounds[2 * idx + 1] == UINT32_MAX ? NULL : (void *)(c->key_data + c->key_bounds[2 * idx]);
}

static size_t record_key_len(const produce_call *c, int32_t idx) {
  if (c->key_bounds == NULL) return c->key_len;
  return c->key_bounds[2 * idx + 1] == UINT32_MAX ? 0 : (size_t)c->key_bounds[2 * idx + 1];
}

/* Record `idx` as rd_kafka_produce_batch's message `m` (zeroed by the caller): value, key, opaque. */
static void set_message(rd_kafka_message_t *m, const produce_call *c, int32_t idx) {
  m->payload = (void *)(c->data + c->bounds[2 * idx]);
  m->len = c->bounds[2 * idx + 1];
  m->key = record_key(c, idx);
  m->key_len = record_key_len(c, idx);
  m->_private = record_opaque(c, idx);
}

/* Record `idx` refused by librdkafka for another reason than a full queue: listed in `immediate`
 * (index, code) for JavaScript, which skips, retries or dead-letters it. The callers keep
 * imm[0] below IMMEDIATE_CAP. */
static void refuse(producer *p, int32_t idx, int32_t err) {
  int32_t *imm = p->immediate;
  imm[1 + 2 * imm[0]] = idx;
  imm[2 + 2 * imm[0]] = err;
  imm[0]++;
}

/* librdkafka's bound of a v2 record's framing is RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD, 36 bytes
 * (rdkafka_proto.h): taken larger here, so that the check below stays conservative. */
#define RECORD_WIRE_OVERHEAD 64

/*
 * Whether record `idx` surely fits message.max.bytes with its headers. rd_kafka_produce_batch
 * checks a record's size in rd_kafka_msg_new0 before on_send adds the headers (v2 framing + key
 * + value + serialized headers against message.max.bytes): a record fitting only without its
 * headers would pass that check instead of being refused at once as MSG_SIZE_TOO_LARGE (a
 * permanent per-record error: skipped, logged with file and offset, counted) — and then abort
 * the process in librdkafka's batch writer (rd_kafka_msgset_writer_finalize asserts the record
 * fits: seen with test/native-headers-batch.test.ts and this check left out). Records that may not fit go through rd_kafka_producev (produce_each), which checks
 * them with their headers; one near the limit that would fit after all goes that way too, with
 * the same outcome.
 */
static int fits_with_headers(const producer *p, const produce_call *c, int32_t idx) {
  uint64_t size = RECORD_WIRE_OVERHEAD + (uint64_t)c->bounds[2 * idx + 1] + record_key_len(c, idx) + record_headers_wire_bound(c->headers, idx);
  return size <= p->max_msg_size;
}

/*
 * Records first .. first+count-1 whose topics interleave (routed by a field of each line: four
 * services alternate record by record), produced as one rd_kafka_produce_batch per topic and
 * window instead of one per run of equal topics — a run is often a single record — and, keyless,
 * each topic's records to one sticky partition per window (runs of one record each took the
 * next partition: a window spread over every partition of every topic, librdkafka's batches a
 * quarter as large). Keyed records (of one topic or several) whose partition own_partition
 * knows are grouped by topic and that partition, each group produced to its partition: the
 * partition librdkafka would choose, without its partitioner, partition lookup and lock per
 * record. Records keep their order within a topic's partition (and within its records left
 * to librdkafka's partitioner).
 *
 * produce() consumes a prefix, stopping at the first record librdkafka's queue has no room for.
 * Grouped, a full queue could take a later record and refuse an earlier one: so a window is
 * grouped only when the queue surely holds all of it (the bound of what librdkafka holds, see
 * the producer struct, plus the window within queue.buffering.max.messages and .kbytes), and
 * never holds more records than `immediate` can list. Otherwise the caller goes on run by run.
 * Returns how many records were consumed (refusals are listed in `immediate`).
 */
static int produce_grouped(producer *p, const produce_call *c, int32_t first, int32_t count, rd_kafka_message_t *msgs) {
  int32_t *imm = p->immediate;
  const uint32_t *bounds = c->bounds;
  int consumed = 0;
  uint8_t group_of[IMMEDIATE_CAP];
  int32_t order[IMMEDIATE_CAP];
  while (consumed < count && imm[0] < IMMEDIATE_CAP) {
    int32_t from = first + consumed;
    int w = count - consumed;
    if (w > IMMEDIATE_CAP - imm[0]) w = IMMEDIATE_CAP - imm[0];
    uint64_t bytes = 0;
    for (int j = 0; j < w; j++) bytes += bounds[2 * (from + j) + 1];
    pthread_mutex_lock(&p->mu);
    int room = p->max_msgs > 0 && p->max_bytes > 0 && p->queued_msgs + (uint64_t)w <= p->max_msgs && p->queued_bytes + bytes <= p->max_bytes;
    pthread_mutex_unlock(&p->mu);
    if (!room) break;
    int32_t group_topic[MAX_GROUPS], group_part[MAX_GROUPS];
    int group_size[MAX_GROUPS];
    int groups = 0, last = 0;
    for (int j = 0; j < w; j++) {
      int32_t idx = from + j;
      int32_t t = c->record_topics != NULL ? c->record_topics[idx] : c->topic_id;
      int32_t part = RD_KAFKA_PARTITION_UA;
      if (!c->keyless) part = own_partition(p, t, record_key(c, idx), record_key_len(c, idx));
      int g = last;
      if (groups == 0 || group_topic[g] != t || group_part[g] != part) {
        for (g = 0; g < groups && (group_topic[g] != t || group_part[g] != part); g++) {}
        if (g == groups) {
          if (groups == MAX_GROUPS) break;
          group_topic[g] = t;
          group_part[g] = part;
          group_size[g] = 0;
          groups++;
        }
        last = g;
      }
      group_of[j] = (uint8_t)g;
      group_size[g]++;
    }
    int total = 0;
    for (int g = 0; g < groups; g++) total += group_size[g];
    if (total < w) break; /* more groups than MAX_GROUPS: run by run */
    /* A stable counting sort: each group's records in record order. */
    int start[MAX_GROUPS];
    for (int g = 0, at = 0; g < groups; g++) {
      start[g] = at;
      at += group_size[g];
    }
    for (int j = 0; j < w; j++) order[start[group_of[j]]++] = from + j;
    uint64_t queued_msgs = 0, queued_bytes = 0;
    for (int g = 0, at = 0; g < groups; g++) {
      rd_kafka_topic_t *rkt = p->topics[group_topic[g]];
      int32_t partition = c->keyless ? sticky_partition(p, group_topic[g]) : group_part[g];
      if (partition == RD_KAFKA_PARTITION_UA && !c->keyless) learn_partitions(p, group_topic[g]);
      for (int done = 0; done < group_size[g];) {
        int n = group_size[g] - done < SUB_BATCH ? group_size[g] - done : SUB_BATCH;
        memset(msgs, 0, (size_t)n * sizeof msgs[0]);
        for (int j = 0; j < n; j++) set_message(&msgs[j], c, order[at + done + j]);
        int ok = rd_kafka_produce_batch(rkt, partition, RD_KAFKA_MSG_F_COPY, msgs, n);
        for (int j = 0; j < n; j++) {
          if (ok < n && msgs[j].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* A full queue is not expected here (room was checked); if it happens anyway, the
             * record is refused retriably rather than left out of a prefix. */
            refuse(p, order[at + done + j], msgs[j].err);
          } else {
            queued_msgs++;
            queued_bytes += msgs[j].len;
          }
        }
        done += n;
      }
      at += group_size[g];
    }
    count_queued(p, queued_msgs, queued_bytes);
    consumed += w;
  }
  return consumed;
}

/*
 * Records first .. first+count-1 through rd_kafka_produce_batch: one clock read per call, not
 * four per record, and no partitioner, partition lookup and lock per record. Records with
 * headers too: rd_kafka_produce_batch takes none, so on_send gives each message it makes its
 * record's headers while send_headers names them (a record whose headers may take it past
 * message.max.bytes must not come here: see fits_with_headers). Returns how many records were
 * consumed: a prefix, ending at the first record the queue had no room for, or where
 * `immediate` might not hold another sub-batch's refusals.
 */
static int produce_batched(producer *p, const produce_call *c, int32_t first, int32_t count, rd_kafka_message_t *msgs) {
  int32_t *imm = p->immediate;
  int consumed = 0;
  int32_t partition = c->partition;
  p->send_headers = c->headers;
  /* Records routed by a field interleave their topics record by record: grouped per topic.
   * Records keyed one by one, their partitions computable: grouped per partition. */
  int keyed_own = c->key_bounds != NULL && p->keyed_partitioner != NULL && count > 0 &&
                  (c->record_topics != NULL || __atomic_load_n(&p->n_parts[c->topic_id], __ATOMIC_RELAXED) > 0);
  if (c->record_topics != NULL || keyed_own) consumed = produce_grouped(p, c, first, count, msgs);
  while (consumed < count && imm[0] <= IMMEDIATE_CAP - SUB_BATCH) {
    int n = count - consumed < SUB_BATCH ? count - consumed : SUB_BATCH;
    rd_kafka_topic_t *run_rkt = p->topics[c->topic_id];
    if (c->record_topics != NULL) {
      /* The run of records of one topic; keyless, it sticks to one partition like a call's. */
      int32_t run_topic = c->record_topics[first + consumed];
      int same = 1;
      while (same < n && c->record_topics[first + consumed + same] == run_topic) same++;
      n = same;
      run_rkt = p->topics[run_topic];
      partition = c->keyless ? sticky_partition(p, run_topic) : RD_KAFKA_PARTITION_UA;
    }
    memset(msgs, 0, (size_t)n * sizeof msgs[0]);
    uint64_t bytes = 0;
    for (int j = 0; j < n; j++) {
      set_message(&msgs[j], c, first + consumed + j);
      bytes += msgs[j].len;
    }
    int ok = rd_kafka_produce_batch(run_rkt, partition, RD_KAFKA_MSG_F_COPY, msgs, n);
    if (ok == n) {
      count_queued(p, (uint64_t)n, bytes);
      consumed += n;
      continue;
    }
    int stop = 0;
    for (int j = 0; j < n; j++) {
      if (msgs[j].err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        stop = 1;
        break;
      }
      if (msgs[j].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        refuse(p, first + consumed, msgs[j].err);
      } else {
        count_queued(p, 1, msgs[j].len); /* rare: a call with refusals */
      }
      consumed++;
    }
    if (stop) break;
  }
  p->send_headers = NULL;
  return consumed;
}

/*
 * Records first .. first+count-1 one by one through rd_kafka_producev, with their headers as
 * an argument: records with a timestamp (rd_kafka_produce_batch stamps each message with its
 * own clock, and no public call sets a message's timestamp afterwards), and records with
 * headers that may not fit message.max.bytes with them (see fits_with_headers). Same contract
 * as produce_batched.
 */
static int produce_each(producer *p, const produce_call *c, int32_t first, int32_t count) {
  int32_t *imm = p->immediate;
  int consumed = 0;
  int32_t partition = c->partition;
  uint64_t queued_msgs = 0, queued_bytes = 0;
  /* Keyless records routed to several topics: each topic's records of the call in one sticky
   * partition, as in produce_grouped (else librdkafka's partitioner runs per record). */
  int32_t sticky_topic[MAX_GROUPS], sticky_part[MAX_GROUPS];
  int n_sticky = 0, last_sticky = 0;
  while (consumed < count && imm[0] < IMMEDIATE_CAP) {
    int32_t idx = first + consumed;
    if (c->record_topics != NULL && c->keyless) {
      int32_t t = c->record_topics[idx];
      int g = last_sticky;
      if (n_sticky == 0 || sticky_topic[g] != t) {
        for (g = 0; g < n_sticky && sticky_topic[g] != t; g++) {}
        if (g == n_sticky && n_sticky < MAX_GROUPS) {
          sticky_topic[g] = t;
          sticky_part[g] = sticky_partition(p, t);
          n_sticky++;
        }
        if (g < n_sticky) last_sticky = g;
      }
      partition = g < n_sticky ? sticky_part[g] : RD_KAFKA_PARTITION_UA;
    }
    rd_kafka_headers_t *hdrs = c->headers != NULL ? record_headers(c->headers, idx) : NULL;
    rd_kafka_topic_t *rkt = p->topics[c->record_topics == NULL ? c->topic_id : c->record_topics[idx]];
    rd_kafka_resp_err_t err = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_VALUE((void *)(c->data + c->bounds[2 * idx]), c->bounds[2 * idx + 1]),
                                                RD_KAFKA_V_KEY(record_key(c, idx), record_key_len(c, idx)), RD_KAFKA_V_HEADERS(hdrs),
                                                RD_KAFKA_V_OPAQUE(record_opaque(c, idx)), RD_KAFKA_V_TIMESTAMP(c->ts_ms), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (hdrs) rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      refuse(p, idx, err);
    } else {
      queued_msgs++;
      queued_bytes += c->bounds[2 * idx + 1];
    }
    consumed++;
  }
  count_queued(p, queued_msgs, queued_bytes);
  return consumed;
}

/*
 * produce(topicId, ticket, first, count, data, bounds, key, headers, offsets, timestampMs)
 *   topicId: a topic id for every record, or an Int32Array of one per record (indexed by
 *            record index: records routed by their content; a run of one topic is still one
 *            rd_kafka_produce_batch call)
 *   data:    ArrayBuffer or Uint8Array holding the values
 *   bounds:  Uint32Array of (start, length) pairs into data, indexed by record index
 *   key:     Uint8Array or null (one key for the whole batch), or [keyData, keyBounds]: one key
 *            per record, keyData a Uint8Array, keyBounds a Uint32Array of (start, length) pairs
 *            into it indexed by record index, length 0xFFFFFFFF for no key
 *   headers: null, or an array [name, value, name, value, ..., offsetHeaderName|null], each
 *            value a Uint8Array (the same for every record) or [valueData, valueBounds]: one
 *            value per record, (start, length) pairs into valueData by record index (headers
 *            rendered from each line's fields)
 *   offsets: Float64Array of each record's file offset (for the offset header), or null
 *   timestampMs: 0 (librdkafka stamps the records), or every record's timestamp
 * Produces records first .. first+count-1; returns how many were consumed: a prefix, ending
 * at the first record librdkafka's queue had no room for. Records refused for another reason
 * (too large, ...) are consumed and listed in `immediate` as (index, code).
 */
static napi_value producer_produce(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10], out;
  producer *p = method_args(env, info, &argc, argv, 1);
  if (!p) return NULL;
  if (argc < 10) return throw_msg(env, "ERR_ARGS", "produce() takes 10 arguments");
  int32_t topic_id = 0, ticket, first, count;
  double ts_ms;
  napi_get_value_int32(env, argv[1], &ticket);
  napi_get_value_int32(env, argv[2], &first);
  napi_get_value_int32(env, argv[3], &count);
  napi_get_value_double(env, argv[9], &ts_ms);
  if (first < 0 || count < 0) return throw_msg(env, "ERR_ARGS", "bounds too short for the records");
  /* One topic, or one per record. */
  int32_t *record_topics = NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (is_typed) {
    napi_typedarray_type tt;
    size_t tn;
    if (napi_get_typedarray_info(env, argv[0], &tt, &tn, (void **)&record_topics, NULL, NULL) != napi_ok || tt != napi_int32_array || tn < (size_t)(first + count))
      return throw_msg(env, "ERR_ARGS", "per-record topic ids must be an Int32Array covering the records");
    for (int32_t i = first; i < first + count; i++)
      if (record_topics[i] < 0 || record_topics[i] >= p->n_topics) return throw_msg(env, "ERR_ARGS", "unknown topic id");
    if (count > 0) topic_id = record_topics[first];
  } else {
    napi_get_value_int32(env, argv[0], &topic_id);
    if (topic_id < 0 || topic_id >= p->n_topics) return throw_msg(env, "ERR_ARGS", "unknown topic id");
  }
  const uint8_t *data;
  size_t data_len;
  if (!get_bytes(env, argv[4], &data, &data_len)) return throw_msg(env, "ERR_ARGS", "data must be an ArrayBuffer or Uint8Array");
  napi_typedarray_type bt;
  size_t bn;
  uint32_t *bounds;
  if (napi_get_typedarray_info(env, argv[5], &bt, &bn, (void **)&bounds, NULL, NULL) != napi_ok || bt != napi_uint32_array)
    return throw_msg(env, "ERR_ARGS", "bounds must be a Uint32Array");
  if (first < 0 || count < 0 || (size_t)(first + count) * 2 > bn) return throw_msg(env, "ERR_ARGS", "bounds too short for the records");
  const uint8_t *key = NULL;
  size_t key_len = 0;
  /* Or one key per record. */
  const uint8_t *key_data = NULL;
  size_t key_data_len = 0;
  uint32_t *key_bounds = NULL;
  napi_valuetype vt;
  napi_typeof(env, argv[6], &vt);
  bool is_array = false;
  napi_is_array(env, argv[6], &is_array);
  if (is_array) {
    napi_value kd, kb;
    napi_typedarray_type kt;
    size_t kn;
    napi_get_element(env, argv[6], 0, &kd);
    napi_get_element(env, argv[6], 1, &kb);
    if (!get_bytes(env, kd, &key_data, &key_data_len) || napi_get_typedarray_info(env, kb, &kt, &kn, (void **)&key_bounds, NULL, NULL) != napi_ok || kt != napi_uint32_array ||
        kn < (size_t)(first + count) * 2)
      return throw_msg(env, "ERR_ARGS", "per-record keys must be [Uint8Array, Uint32Array covering the records]");
    for (int32_t i = first; i < first + count; i++)
      if (key_bounds[2 * i + 1] != UINT32_MAX && (uint64_t)key_bounds[2 * i] + key_bounds[2 * i + 1] > key_data_len) return throw_msg(env, "ERR_ARGS", "a record's key lies outside the key data");
  } else if (vt != napi_null && vt != napi_undefined && !get_bytes(env, argv[6], &key, &key_len)) {
    return throw_msg(env, "ERR_ARGS", "key must be a Uint8Array or null");
  }

  /* headers: static pairs plus an optional per-record offset header */
  napi_typeof(env, argv[7], &vt);
  int with_headers = vt != napi_null && vt != napi_undefined;
  header_spec h;
  h.n = 0;
  h.offset_name = NULL;
  h.offsets = NULL;
  h.wire_fixed = 0;
  if (with_headers) {
    uint32_t hn = 0;
    napi_get_array_length(env, argv[7], &hn);
    if (hn / 2 > MAX_HEADERS) return throw_msg(env, "ERR_ARGS", "more than 32 headers");
    for (uint32_t i = 0; i + 1 < hn; i += 2) {
      napi_value k, v;
      napi_get_element(env, argv[7], i, &k);
      napi_get_element(env, argv[7], i + 1, &v);
      int j = h.n;
      h.names[j] = get_string(env, k);
      h.bounds[j] = NULL;
      bool per_record = false;
      napi_is_array(env, v, &per_record);
      int ok = h.names[j] != NULL;
      if (ok && per_record) {
        napi_value vd, vb;
        napi_typedarray_type bt2;
        size_t bn2;
        napi_get_element(env, v, 0, &vd);
        napi_get_element(env, v, 1, &vb);
        ok = get_bytes(env, vd, &h.vals[j], &h.lens[j]) && napi_get_typedarray_info(env, vb, &bt2, &bn2, (void **)&h.bounds[j], NULL, NULL) == napi_ok && bt2 == napi_uint32_array &&
             bn2 >= (size_t)(first + count) * 2;
        for (int32_t r = first; ok && r < first + count; r++)
          if ((uint64_t)h.bounds[j][2 * r] + h.bounds[j][2 * r + 1] > h.lens[j]) ok = 0;
      } else if (ok) {
        ok = get_bytes(env, v, &h.vals[j], &h.lens[j]);
      }
      if (!ok) {
        free(h.names[j]);
        header_spec_free(&h);
        return throw_msg(env, "ERR_ARGS", "headers must be [name, Uint8Array or [Uint8Array, Uint32Array covering the records], ...]");
      }
      h.name_lens[j] = strlen(h.names[j]);
      h.wire_fixed += h.name_lens[j] + HEADER_WIRE_EXTRA + (h.bounds[j] == NULL ? h.lens[j] : 0);
      h.n++;
    }
    if (hn % 2 == 1) {
      napi_value last;
      napi_get_element(env, argv[7], hn - 1, &last);
      napi_typeof(env, last, &vt);
      if (vt == napi_string) h.offset_name = get_string(env, last);
    }
    if (h.offset_name) {
      size_t on;
      napi_typedarray_type ot;
      double *offsets = NULL;
      if (napi_get_typedarray_info(env, argv[8], &ot, &on, (void **)&offsets, NULL, NULL) != napi_ok || ot != napi_float64_array || on < (size_t)(first + count)) {
        header_spec_free(&h);
        return throw_msg(env, "ERR_ARGS", "offsets must be a Float64Array covering the records");
      }
      h.offsets = offsets;
      h.offset_name_len = strlen(h.offset_name);
      h.wire_fixed += h.offset_name_len + OFFSET_DIGITS_MAX + HEADER_WIRE_EXTRA;
    }
  }
  for (int32_t i = first; i < first + count; i++) {
    if ((uint64_t)bounds[2 * i] + bounds[2 * i + 1] > data_len) {
      header_spec_free(&h);
      return throw_msg(env, "ERR_ARGS", "a record's bounds lie outside data");
    }
  }

  produce_call c = {
      .record_topics = record_topics,
      .topic_id = topic_id,
      .data = data,
      .bounds = bounds,
      .key = key,
      .key_len = key_len,
      .key_data = key_data,
      .key_bounds = key_bounds,
      /* Keyless records of one call go to one partition, rotating per call like librdkafka's
       * sticky partitioner: the per-record partitioner is skipped (with or without headers). */
      .keyless = key == NULL && key_bounds == NULL && p->sticky_keyless,
      .partition = RD_KAFKA_PARTITION_UA,
      .ticket = ticket,
      .ts_ms = (int64_t)ts_ms,
      .headers = with_headers ? &h : NULL,
  };
  if (record_topics == NULL) {
    if (c.keyless) c.partition = sticky_partition(p, topic_id);
    else if (key_bounds == NULL) c.partition = own_partition(p, topic_id, key, key_len); /* one key for all */
    if (!c.keyless) learn_partitions(p, topic_id);
  }
  p->immediate[0] = 0;
  int consumed = 0;
  rd_kafka_message_t msgs[SUB_BATCH];
  if (c.ts_ms != 0 || (with_headers && !p->on_send_ready)) {
    consumed = produce_each(p, &c, first, count);
  } else if (!with_headers) {
    consumed = produce_batched(p, &c, first, count, msgs);
  } else {
    /* Records with headers: batched, in runs of records that surely fit message.max.bytes
     * with their headers; one that may not goes alone through rd_kafka_producev. Records keep
     * their order, and a run stopped by a full queue stops the call (a prefix). */
    while (consumed < count) {
      int32_t from = first + consumed;
      int run = 0;
      while (run < count - consumed && fits_with_headers(p, &c, from + run)) run++;
      int want = run > 0 ? run : 1;
      int n = run > 0 ? produce_batched(p, &c, from, run, msgs) : produce_each(p, &c, from, 1);
      consumed += n;
      if (n < want) break;
    }
  }
  header_spec_free(&h);
  napi_create_int32(env, consumed, &out);
  return out;
}

/* ---------------------------------------------------------------- metadata (readiness, connect) */

static void metadata_execute(napi_env env, void *data) {
  (void)env;
  metadata_job *j = data;
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(j->p->rk, 0, j->only, &md, j->timeout_ms);
  j->err = err;
  if (!err && md) {
    j->brokers = md->broker_cnt;
    producer *p = j->p;
    pthread_mutex_lock(&p->mu);
    for (int t = 0; t < md->topic_cnt; t++) {
      const rd_kafka_metadata_topic_t *mt = &md->topics[t];
      for (int i = 0; i < p->n_topics; i++) {
        if (strcmp(p->topic_names[i], mt->topic) != 0) continue;
        int32_t *av = mt->partition_cnt > 0 ? malloc((size_t)mt->partition_cnt * sizeof *av) : NULL;
        int n = 0;
        for (int k = 0; av && k < mt->partition_cnt; k++)
          if (mt->partitions[k].err == RD_KAFKA_RESP_ERR_NO_ERROR && mt->partitions[k].leader >= 0) av[n++] = mt->partitions[k].id;
        free(p->avail[i]);
        p->avail[i] = av;
        p->n_avail[i] = mt->err ? 0 : n; /* a topic in error: leave it to librdkafka */
        __atomic_store_n(&p->n_parts[i], mt->err ? 0 : mt->partition_cnt, __ATOMIC_RELAXED);
        break;
      }
    }
    pthread_mutex_unlock(&p->mu);
    rd_kafka_metadata_destroy(md);
  }
  pthread_mutex_lock(&j->p->mu);
  if (j->only) j->p->lookup_inflight = 0;
  j->p->metadata_inflight--;
  pthread_cond_broadcast(&j->p->cv);
  pthread_mutex_unlock(&j->p->mu);
}

static void metadata_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  metadata_job *j = data;
  if (j->cb == NULL) {
    napi_delete_async_work(env, j->work);
    free(j);
    return;
  }
  napi_value cb, undefined, argv[3];
  napi_get_undefined(env, &undefined);
  napi_get_reference_value(env, j->cb, &cb);
  napi_create_int32(env, j->err, &argv[0]);
  napi_create_int32(env, j->brokers, &argv[1]);
  napi_create_string_utf8(env, j->err ? rd_kafka_err2str(j->err) : "", NAPI_AUTO_LENGTH, &argv[2]);
  napi_call_function(env, undefined, cb, 3, argv, NULL);
  napi_delete_reference(env, j->cb);
  napi_delete_async_work(env, j->work);
  free(j);
}

/* metadata(timeoutMs, cb(errCode, brokerCount, errMessage)) */
static napi_value producer_metadata(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  producer *p = method_args(env, info, &argc, argv, 0);
  if (!p) return NULL;
  pthread_mutex_lock(&p->mu);
  int ok = p->state == ST_RUNNING;
  if (ok) p->metadata_inflight++;
  pthread_mutex_unlock(&p->mu);
  if (!ok) return throw_msg(env, "ERR_CLOSED", "the producer is closed");
  metadata_job *j = calloc(1, sizeof *j);
  j->p = p;
  napi_get_value_int32(env, argv[0], &j->timeout_ms);
  napi_create_reference(env, argv[1], 1, &j->cb);
  napi_create_string_utf8(env, "logship-metadata", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, metadata_execute, metadata_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return NULL;
}

/* close(flushMs, cb): flush until the deadline, purge, report every record, destroy. */
static napi_value producer_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  producer *p = method_args(env, info, &argc, argv, 0);
  if (!p) return NULL;
  int32_t flush_ms = 0;
  napi_get_value_int32(env, argv[0], &flush_ms);
  pthread_mutex_lock(&p->mu);
  int first = p->state == ST_RUNNING;
  if (first) {
    /* Under the lock: the poll thread cannot reach rd_kafka_destroy before we are done here. */
    napi_create_reference(env, argv[1], 1, &p->close_cb);
    napi_ref_threadsafe_function(env, p->tsfn);
    p->state = ST_CLOSING;
    p->flush_deadline_ms = now_ms() + (flush_ms > 0 ? flush_ms : 0);
    rd_kafka_yield(p->rk); /* wake the poll thread now */
  }
  pthread_mutex_unlock(&p->mu);
  if (!first) return throw_msg(env, "ERR_CLOSED", "close() called twice");
  return NULL;
}

static napi_value producer_outq_len(napi_env env, napi_callback_info info) {
  napi_value out;
  size_t argc = 0;
  producer *p = method_args(env, info, &argc, NULL, 1);
  if (!p) return NULL;
  napi_create_int32(env, rd_kafka_outq_len(p->rk), &out);
  return out;
}

/* knownPartitions(topicId): how many partitions (with a leader) keyless records of the topic
 * rotate over; 0 while librdkafka partitions each record (tests, diagnostics). */
static napi_value producer_known_partitions(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  producer *p = method_args(env, info, &argc, argv, 0);
  if (!p) return NULL;
  int32_t id = -1;
  napi_get_value_int32(env, argv[0], &id);
  pthread_mutex_lock(&p->mu);
  int n = id >= 0 && id < p->n_topics ? p->n_avail[id] : -1;
  pthread_mutex_unlock(&p->mu);
  if (n < 0) return throw_msg(env, "ERR_ARGS", "unknown topic id");
  napi_create_int32(env, n, &out);
  return out;
}

/* testFatalError(code, reason): librdkafka's hook to fabricate a fatal error (tests only). */
static napi_value producer_test_fatal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  producer *p = method_args(env, info, &argc, argv, 1);
  if (!p) return NULL;
  int32_t code;
  napi_get_value_int32(env, argv[0], &code);
  char *reason = get_string(env, argv[1]);
  rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(p->rk, code, reason ? reason : "test");
  free(reason);
  napi_create_int32(env, err, &out);
  return out;
}

/* ---------------------------------------------------------------- mock cluster (tests) */

typedef struct {
  rd_kafka_t *rk;
} mock_cluster;

static void mock_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  mock_cluster *m = data;
  if (m->rk) rd_kafka_destroy(m->rk);
  free(m);
}

/* new MockCluster(brokers): librdkafka's mock cluster hosted by an idle client. */
static napi_value mock_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, bs;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t brokers = 3;
  if (argc > 0) napi_get_value_int32(env, argv[0], &brokers);
  char errstr[512], nb[16];
  snprintf(nb, sizeof nb, "%d", brokers);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "test.mock.num.brokers", nb, errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return throw_msg(env, "ERR_MOCK", errstr);
  }
  mock_cluster *m = calloc(1, sizeof *m);
  m->rk = rk;
  CHECK(env, napi_wrap(env, self, m, mock_finalize, NULL, NULL));
  rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
  napi_create_string_utf8(env, rd_kafka_mock_cluster_bootstraps(mc), NAPI_AUTO_LENGTH, &bs);
  napi_set_named_property(env, self, "bootstrap", bs);
  return self;
}

static mock_cluster *unwrap_mock(napi_env env, napi_value self) {
  mock_cluster *m = NULL;
  if (napi_unwrap(env, self, (void **)&m) != napi_ok || !m || !m->rk) {
    napi_throw_error(env, "ERR_ARGS", "not a live MockCluster");
    return NULL;
  }
  return m;
}

/* pushRequestErrors(apiKey, Int32Array codes): the next requests of that kind fail so. */
static napi_value mock_push_errors(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  mock_cluster *m = unwrap_mock(env, self);
  if (!m) return NULL;
  int32_t api;
  napi_get_value_int32(env, argv[0], &api);
  napi_typedarray_type t;
  size_t n;
  int32_t *codes;
  if (napi_get_typedarray_info(env, argv[1], &t, &n, (void **)&codes, NULL, NULL) != napi_ok || t != napi_int32_array)
    return throw_msg(env, "ERR_ARGS", "codes must be an Int32Array");
  rd_kafka_resp_err_t *errs = malloc((n ? n : 1) * sizeof *errs);
  for (size_t i = 0; i < n; i++) errs[i] = (rd_kafka_resp_err_t)codes[i];
  rd_kafka_mock_push_request_errors_array(rd_kafka_handle_mock_cluster(m->rk), (int16_t)api, n, errs);
  free(errs);
  return NULL;
}

static napi_value mock_destroy(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  mock_cluster *m = unwrap_mock(env, self);
  if (!m) return NULL;
  rd_kafka_destroy(m->rk);
  m->rk = NULL;
  return NULL;
}

/* ---------------------------------------------------------------- json envelope */

/* Extra bytes JSON needs to escape each byte (as JSON.stringify does): 0, 1 (\" \\ \n ...) or 5 (\u00XX). */
static uint8_t json_extra[256];

static void json_tables_init(void) {
  for (int c = 0; c < 0x20; c++) json_extra[c] = 5;
  json_extra['\b'] = json_extra['\t'] = json_extra['\n'] = json_extra['\f'] = json_extra['\r'] = 1;
  json_extra['"'] = json_extra['\\'] = 1;
}

static size_t json_escaped_len(const uint8_t *b, size_t n) {
  size_t out = n;
  for (size_t i = 0; i < n; i++) out += json_extra[b[i]];
  return out;
}

static uint8_t *json_escape(uint8_t *o, const uint8_t *b, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t run = 0; /* start of the current run of bytes copied as they are */
  for (size_t i = 0; i < n; i++) {
    uint8_t c = b[i];
    if (json_extra[c] == 0) continue;
    memcpy(o, b + run, i - run);
    o += i - run;
    run = i + 1;
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\b': *o++ = 'b'; break;
      case '\t': *o++ = 't'; break;
      case '\n': *o++ = 'n'; break;
      case '\f': *o++ = 'f'; break;
      case '\r': *o++ = 'r'; break;
      default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = (uint8_t)hex[c >> 4];
        *o++ = (uint8_t)hex[c & 15];
    }
  }
  memcpy(o, b + run, n - run);
  return o + (n - run);
}

/* A file offset (an integer below 2^53) in decimal; returns its length. snprintf("%.0f") cost
 * ~0.4 us a call (measured: most of the envelope's time). */
static int format_offset(char *out, double v) {
  uint64_t x = v > 0 ? (uint64_t)v : 0;
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + x % 10);
    x /= 10;
  } while (x);
  for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

/*
 * jsonEnvelopes(data, bounds, count, offsets, head, middle, tail, outBounds, scratch) -> Buffer
 * Record i = head + decimal(offsets[i]) + middle + '"' + escaped line i + '"' + tail, all
 * packed into one new Buffer; outBounds (Uint32Array, 2*count) receives (start, length).
 * Lines must be valid UTF-8 (the tailer guarantees it): then the escaping equals
 * JSON.stringify's, byte for byte, without a JavaScript string per line.
 */
static napi_value json_envelopes(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return throw_msg(env, "ERR_ARGS", "jsonEnvelopes() takes 9 arguments");
  const uint8_t *data, *head, *middle, *tail;
  size_t data_len, head_len, middle_len, tail_len;
  if (!get_bytes(env, argv[0], &data, &data_len) || !get_bytes(env, argv[4], &head, &head_len) || !get_bytes(env, argv[5], &middle, &middle_len) ||
      !get_bytes(env, argv[6], &tail, &tail_len))
    return throw_msg(env, "ERR_ARGS", "data, head, middle and tail must be bytes");
  int32_t count;
  napi_get_value_int32(env, argv[2], &count);
  napi_typedarray_type t;
  size_t n;
  uint32_t *bounds, *out_bounds;
  double *offsets;
  if (napi_get_typedarray_info(env, argv[1], &t, &n, (void **)&bounds, NULL, NULL) != napi_ok || t != napi_uint32_array || count < 0 || n < (size_t)count * 2)
    return throw_msg(env, "ERR_ARGS", "bounds must be a Uint32Array of 2*count");
  if (napi_get_typedarray_info(env, argv[3], &t, &n, (void **)&offsets, NULL, NULL) != napi_ok || t != napi_float64_array || n < (size_t)count)
    return throw_msg(env, "ERR_ARGS", "offsets must be a Float64Array of count");
  if (napi_get_typedarray_info(env, argv[7], &t, &n, (void **)&out_bounds, NULL, NULL) != napi_ok || t != napi_uint32_array || n < (size_t)count * 2)
    return throw_msg(env, "ERR_ARGS", "outBounds must be a Uint32Array of 2*count");
  char num[32];
  size_t total = 0;
  for (int32_t i = 0; i < count; i++) {
    if ((uint64_t)bounds[2 * i] + bounds[2 * i + 1] > data_len) return throw_msg(env, "ERR_ARGS", "a line's bounds lie outside data");
    int nl = format_offset(num, offsets[i]);
    total += head_len + (size_t)nl + middle_len + 2 + json_escaped_len(data + bounds[2 * i], bounds[2 * i + 1]) + tail_len;
  }
  if (total > 0xffffffffu) return throw_msg(env, "ERR_RANGE", "batch too large to pack");
  /* Into the caller's scratch buffer when it is large enough (reused batch after batch: no
   * allocation, no fresh pages to fault in); else into a new one, returned for reuse. */
  uint8_t *buf = NULL;
  size_t scratch_len = 0;
  napi_valuetype st;
  napi_typeof(env, argv[8], &st);
  if (argc > 8 && st != napi_null && st != napi_undefined && get_bytes(env, argv[8], (const uint8_t **)&buf, &scratch_len) && scratch_len >= total) {
    out = argv[8];
  } else {
    size_t want = total < 65536 ? 65536 : total + total / 4;
    CHECK(env, napi_create_buffer(env, want, (void **)&buf, &out));
  }
  uint8_t *o = buf;
  for (int32_t i = 0; i < count; i++) {
    uint8_t *start = o;
    memcpy(o, head, head_len);
    o += head_len;
    int nl = format_offset(num, offsets[i]);
    memcpy(o, num, (size_t)nl);
    o += nl;
    memcpy(o, middle, middle_len);
    o += middle_len;
    *o++ = '"';
    o = json_escape(o, data + bounds[2 * i], bounds[2 * i + 1]);
    *o++ = '"';
    memcpy(o, tail, tail_len);
    o += tail_len;
    out_bounds[2 * i] = (uint32_t)(start - buf);
    out_bounds[2 * i + 1] = (uint32_t)(o - start);
  }
  return out;
}

/* ---------------------------------------------------------------- module functions */

/* Which librdkafka this process runs: the file (by the address of one of its functions),
 * the version it reports, and the version this addon was compiled against. */
static napi_value librdkafka_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  napi_create_object(env, &out);
  Dl_info dl;
  const char *path = dladdr((void *)rd_kafka_version, &dl) && dl.dli_fname ? dl.dli_fname : "";
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "path", v);
  napi_create_string_utf8(env, rd_kafka_version_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "version", v);
  napi_create_int32(env, rd_kafka_version(), &v);
  napi_set_named_property(env, out, "versionInt", v);
  napi_create_int32(env, RD_KAFKA_VERSION, &v);
  napi_set_named_property(env, out, "compiledVersionInt", v);
  return out;
}

static napi_value error_string(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t code;
  napi_get_value_int32(env, argv[0], &code);
  napi_create_string_utf8(env, rd_kafka_err2str(code), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  json_tables_init();
  napi_property_descriptor methods[] = {
      {"topic", NULL, producer_topic, NULL, NULL, NULL, napi_default, NULL},
      {"produce", NULL, producer_produce, NULL, NULL, NULL, napi_default, NULL},
      {"metadata", NULL, producer_metadata, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, producer_close, NULL, NULL, NULL, napi_default, NULL},
      {"outqLen", NULL, producer_outq_len, NULL, NULL, NULL, napi_default, NULL},
      {"testFatalError", NULL, producer_test_fatal, NULL, NULL, NULL, napi_default, NULL},
      {"knownPartitions", NULL, producer_known_partitions, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  napi_define_class(env, "Producer", NAPI_AUTO_LENGTH, producer_new, NULL, sizeof methods / sizeof methods[0], methods, &cls);
  napi_set_named_property(env, exports, "Producer", cls);

  napi_property_descriptor mock_methods[] = {
      {"pushRequestErrors", NULL, mock_push_errors, NULL, NULL, NULL, napi_default, NULL},
      {"destroy", NULL, mock_destroy, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value mock_cls;
  napi_define_class(env, "MockCluster", NAPI_AUTO_LENGTH, mock_new, NULL, 2, mock_methods, &mock_cls);
  napi_set_named_property(env, exports, "MockCluster", mock_cls);

  napi_value fn;
  napi_create_function(env, "librdkafka", NAPI_AUTO_LENGTH, librdkafka_info, NULL, &fn);
  napi_set_named_property(env, exports, "librdkafka", fn);
  napi_create_function(env, "errorString", NAPI_AUTO_LENGTH, error_string, NULL, &fn);
  napi_set_named_property(env, exports, "errorString", fn);
  napi_create_function(env, "jsonEnvelopes", NAPI_AUTO_LENGTH, json_envelopes, NULL, &fn);
  napi_set_named_property(env, exports, "jsonEnvelopes", fn);
  json_fields_register(env, exports);
  napi_value consts, v;
  napi_create_object(env, &consts);
  napi_create_int32(env, ENTRY_INTS, &v);
  napi_set_named_property(env, consts, "ENTRY_INTS", v);
  napi_create_int32(env, DETAIL_INTS, &v);
  napi_set_named_property(env, consts, "DETAIL_INTS", v);
  napi_set_named_property(env, exports, "constants", consts);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
