/*
 * mock-broker: a librdkafka mock cluster (public rdkafka_mock.h API), used by
 * kgate's bench/ as the "peer" to compare against and by the uplink tests
 * (test/helpers/mock-cluster.ts) as a central cluster that is not kgate.
 *
 *   mock-broker [--brokers N] [--coordinator TYPE:KEY=BROKER]...
 *               [topic[:partitions[:leader,leader,...]] ...]
 *
 * --brokers N     brokers 1..N, each on its own ephemeral port (default 1).
 * --coordinator   pins the coordinator of a key: TYPE is "transaction" or
 *                 "group" (otherwise the mock picks crc32(key) % N).
 * topic specs     each listed topic is created with `partitions` partitions
 *                 (default 1) and replication factor min(3, N). Partition p's
 *                 leader is the p-th listed broker id, else broker (p % N) + 1:
 *                 the mock's own choice is random, tests want it fixed.
 *
 * Prints one line "BOOTSTRAP <host:port>[,<host:port>...]" to stdout and runs
 * until SIGINT or SIGTERM. librdkafka 2.0.x's mock API has no way to choose
 * the listener port: the mock binds ephemeral ports on 127.0.0.1, which this
 * line reports.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t running = 1;

static void on_signal(int sig) {
        (void)sig;
        running = 0;
}

/* "TYPE:KEY=BROKER" */
static int set_coordinator(rd_kafka_mock_cluster_t *mcluster,
                           const char *spec) {
        char type[32], key[512];
        const char *colon = strchr(spec, ':');
        const char *equals = strrchr(spec, '=');
        rd_kafka_resp_err_t err;

        if (!colon || !equals || equals < colon ||
            (size_t)(colon - spec) >= sizeof(type) ||
            (size_t)(equals - colon - 1) >= sizeof(key)) {
                fprintf(stderr, "mock-broker: bad --coordinator %s\n", spec);
                return 2;
        }
        memcpy(type, spec, (size_t)(colon - spec));
        type[colon - spec] = '\0';
        memcpy(key, colon + 1, (size_t)(equals - colon - 1));
        key[equals - colon - 1] = '\0';
        err = rd_kafka_mock_coordinator_set(mcluster, type, key,
                                            atoi(equals + 1));
        if (err) {
                fprintf(stderr, "mock-broker: --coordinator %s: %s\n", spec,
                        rd_kafka_err2str(err));
                return 1;
        }
        return 0;
}

/* "name[:partitions[:leader,leader,...]]" */
static int create_topic(rd_kafka_mock_cluster_t *mcluster, int broker_cnt,
                        const char *spec) {
        char name[256];
        int parts = 1, p;
        const char *colon = strchr(spec, ':');
        const char *leaders = colon ? strchr(colon + 1, ':') : NULL;
        size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
        rd_kafka_resp_err_t err;

        if (len == 0 || len >= sizeof(name)) {
                fprintf(stderr, "mock-broker: bad topic spec %s\n", spec);
                return 2;
        }
        memcpy(name, spec, len);
        name[len] = '\0';
        if (colon)
                parts = atoi(colon + 1);
        if (parts < 1)
                parts = 1;

        err = rd_kafka_mock_topic_create(mcluster, name, parts,
                                         broker_cnt < 3 ? broker_cnt : 3);
        if (err) {
                fprintf(stderr, "mock-broker: topic %s: %s\n", name,
                        rd_kafka_err2str(err));
                return 1;
        }
        if (broker_cnt == 1)
                return 0;

        for (p = 0; p < parts; p++) {
                int leader = (p % broker_cnt) + 1;
                if (leaders) {
                        leader   = atoi(leaders + 1);
                        leaders  = strchr(leaders + 1, ',');
                }
                if (leader < 1 || leader > broker_cnt) {
                        fprintf(stderr, "mock-broker: topic %s: no broker %d\n",
                                name, leader);
                        return 2;
                }
                err = rd_kafka_mock_partition_set_leader(mcluster, name, p,
                                                         leader);
                if (err) {
                        fprintf(stderr,
                                "mock-broker: topic %s [%d] leader %d: %s\n",
                                name, p, leader, rd_kafka_err2str(err));
                        return 1;
                }
        }
        return 0;
}

int main(int argc, char **argv) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        int broker_cnt = 1;
        int first = 1;
        int i, rc;

        if (argc > 2 && !strcmp(argv[1], "--brokers")) {
                broker_cnt = atoi(argv[2]);
                first      = 3;
                if (broker_cnt < 1) {
                        fprintf(stderr, "mock-broker: bad --brokers %s\n",
                                argv[2]);
                        return 2;
                }
        }

        /* The handle only does book keeping for the mock cluster. */
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_conf_set(conf, "client.id", "kgate-bench-mock", NULL, 0);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-broker: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }

        mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
        if (!mcluster) {
                fprintf(stderr, "mock-broker: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = first; i < argc; i++) {
                if (!strcmp(argv[i], "--coordinator") && i + 1 < argc)
                        rc = set_coordinator(mcluster, argv[++i]);
                else
                        rc = create_topic(mcluster, broker_cnt, argv[i]);
                if (rc)
                        return rc;
        }

        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);

        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while (running)
                usleep(50 * 1000);

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
