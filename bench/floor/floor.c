// The producer floor of this machine (development tool behind bench/native-floor.ts, not part of
// `npm run bench`): the cheapest shipment of a file that librdkafka allows, with no JavaScript,
// no registry and no framing beyond memchr. It reads the file in 256 KiB chunks as the agent
// does, produces each run of up to 1,024 lines with the settings of the scenario
// (acks=all, lz4, linger 5 ms, 10,000 messages / 1 MiB batches, idempotence), polls delivery
// reports on the same thread, and prints its whole-life CPU as JSON after the last report.
//
//   floor BOOTSTRAP TOPIC FILE MODE [PROPERTY=VALUE ...]
//   MODE  batch     rd_kafka_produce_batch per run of lines, one partition per call, rotating
//                   (what the agent's native producer does for keyless records)
//         batch-ua  rd_kafka_produce_batch, librdkafka's partitioner per record
//         producev  rd_kafka_producev per line, partitioner per record (what kcat does)
//
// The producer properties come from the driver (the scenario's, as given to kcat).
//
// Any difference between the agent and `batch` on the same librdkafka is the agent's own cost;
// `batch` itself is what no agent built on librdkafka can go below here.
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long delivered = 0, failed = 0;
static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o) {
  (void)rk; (void)o;
  if (m->err) failed++; else delivered++;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: floor BOOTSTRAP TOPIC FILE batch|producev|batch-ua [PROPERTY=VALUE ...]\n"); return 2; }
  const char *mode = argv[4];
  double t0 = now();
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  for (int i = 5; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) { fprintf(stderr, "not PROPERTY=VALUE: %s\n", argv[i]); return 2; }
    *eq = 0;
    if (rd_kafka_conf_set(conf, argv[i], eq + 1, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, dr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "%s\n", err); return 1; }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
  int nparts = 0;
  while (nparts == 0) {
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0) {
      if (md->topic_cnt == 1 && !md->topics[0].err) nparts = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
  }
  /* One more request, as the agent's own start makes (its connection check and partition
   * lookups): the first answer comes through the bootstrap connection, which librdkafka 2.15
   * retires once the brokers are learned, and its idempotent producer asks for a producer id
   * only on a metadata answer while a learned broker is up, else from a 500 ms timer — without
   * this request the first delivery report came 0.52 s after start (0.07 s with it; Debian's
   * 2.0.2: 0.02 s either way). */
  const struct rd_kafka_metadata *again;
  if (rd_kafka_metadata(rk, 0, NULL, &again, 5000) == 0) rd_kafka_metadata_destroy(again);
  int fd = open(argv[3], O_RDONLY);
  if (fd < 0) { perror(argv[3]); return 1; }
  enum { CHUNK = 256 * 1024, SUB = 1024 };
  char *buf = malloc(CHUNK * 2);
  size_t have = 0;
  long lines = 0;
  unsigned rot = 0;
  static rd_kafka_message_t msgs[SUB];
  int use_batch = strncmp(mode, "batch", 5) == 0, ua = strcmp(mode, "batch-ua") == 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, CHUNK);
    if (n < 0) { perror("read"); return 1; }
    if (n == 0) break;
    have += (size_t)n;
    char *p = buf, *end = buf + have;
    for (;;) {
      int cnt = 0;
      char *q = p;
      while (cnt < SUB) {
        char *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl) break;
        if (use_batch) {
          memset(&msgs[cnt], 0, sizeof msgs[cnt]);
          msgs[cnt].payload = q;
          msgs[cnt].len = (size_t)(nl - q);
        } else {
          while (rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(q, (size_t)(nl - q)), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        }
        cnt++;
        q = nl + 1;
      }
      if (cnt == 0) break;
      if (use_batch) {
        int32_t part = ua ? RD_KAFKA_PARTITION_UA : (int32_t)(rot++ % (unsigned)nparts);
        int done = 0;
        while (done < cnt) {
          int ok = rd_kafka_produce_batch(rkt, part, RD_KAFKA_MSG_F_COPY, msgs + done, cnt - done);
          done += ok;
          if (done < cnt) {
            if (msgs[done].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) { fprintf(stderr, "produce: %s\n", rd_kafka_err2str(msgs[done].err)); return 1; }
            for (int j = done; j < cnt; j++) msgs[j].err = 0;
            rd_kafka_poll(rk, 10);
          }
        }
      }
      lines += cnt;
      p = q;
      rd_kafka_poll(rk, 0);
    }
    have = (size_t)(end - p);
    memmove(buf, p, have);
  }
  rd_kafka_flush(rk, 120000);
  double t1 = now();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"mode\":\"%s\",\"lines\":%ld,\"delivered\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"cpuSeconds\":%.3f,\"cpuPerMillion\":%.3f,\"maxRssMiB\":%.1f}\n", mode, lines, delivered, failed, t1 - t0, cpu, cpu / (lines / 1e6), ru.ru_maxrss / 1024.0);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}
