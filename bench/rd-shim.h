/*
 * rd-shim.h: the few librdkafka-internal helpers that rdkafka_performance.c
 * (shipped by Debian's librdkafka-dev under its doc/examples folder) uses but
 * whose headers (rd.h, rdtime.h) the package does not ship.
 *
 * Written for kgate's bench/ (not copied from librdkafka). setup.sh generates
 * tiny rd.h / rdtime.h / rdkafka.h wrappers under bench/out/include/src that
 * include this file or the public <librdkafka/rdkafka.h>.
 */
#ifndef KGATE_RD_SHIM_H
#define KGATE_RD_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* same (empty) definition the example uses: no redefinition warning */
#endif

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

/* Microsecond timestamp type and monotonic clock, as librdkafka's rdtime.h. */
typedef int64_t rd_ts_t;

static inline rd_ts_t rd_clock(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ((rd_ts_t)ts.tv_sec * 1000000LL) + ((rd_ts_t)ts.tv_nsec / 1000);
}

#define rd_snprintf(...) snprintf(__VA_ARGS__)

#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))

#endif /* KGATE_RD_SHIM_H */
