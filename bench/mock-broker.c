/*
 * mock-broker: a one-broker librdkafka mock cluster (public rdkafka_mock.h
 * API) used by kgate's bench/ as the "peer" to compare against.
 *
 *   mock-broker [topic[:partitions] ...]
 *
 * Creates each listed topic (default 1 partition, replication factor 1),
 * prints one line "BOOTSTRAP <host:port>" to stdout and runs until SIGINT or
 * SIGTERM. librdkafka 2.0.x's mock API has no way to choose the listener port:
 * the mock binds an ephemeral port on 127.0.0.1, which this line reports.
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

int main(int argc, char **argv) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        int i;

        /* The handle only does book keeping for the mock cluster. */
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_conf_set(conf, "client.id", "kgate-bench-mock", NULL, 0);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-broker: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }

        mcluster = rd_kafka_mock_cluster_new(rk, 1);
        if (!mcluster) {
                fprintf(stderr, "mock-broker: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = 1; i < argc; i++) {
                char name[256];
                int parts = 1;
                const char *colon = strchr(argv[i], ':');
                size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
                rd_kafka_resp_err_t err;

                if (len == 0 || len >= sizeof(name)) {
                        fprintf(stderr, "mock-broker: bad topic spec %s\n", argv[i]);
                        return 2;
                }
                memcpy(name, argv[i], len);
                name[len] = '\0';
                if (colon)
                        parts = atoi(colon + 1);
                if (parts < 1)
                        parts = 1;

                err = rd_kafka_mock_topic_create(mcluster, name, parts, 1);
                if (err) {
                        fprintf(stderr, "mock-broker: topic %s: %s\n", name,
                                rd_kafka_err2str(err));
                        return 1;
                }
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
