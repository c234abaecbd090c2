// A Sarama 1.22 client (Debian golang-github-shopify-sarama-dev, GOPATH mode): produces COUNT keyed records to
// partition 0 with the given codec and consumes them back from the oldest offset, printing "offset key value" lines.
// The default config speaks Produce v0 / Fetch v0 (magic 0); VERSION 0.10.2 speaks Produce v2 / Fetch v3 (magic 1,
// and lz4, which Sarama refuses below 0.10).

package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

// usage: sarama-client BROKER TOPIC VERSION(default|0.10.2) CODEC(none|gzip|snappy|lz4) COUNT
func main() {
	broker, topic, version, codec := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	var count int
	fmt.Sscan(os.Args[5], &count)
	config := sarama.NewConfig()
	if version == "0.10.2" {
		config.Version = sarama.V0_10_2_0
	}
	config.Producer.Return.Successes = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Flush.Messages = count
	config.Producer.Flush.Frequency = 50 * time.Millisecond
	switch codec {
	case "gzip":
		config.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		config.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		config.Producer.Compression = sarama.CompressionLZ4
	}
	config.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewAsyncProducer([]string{broker}, config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
	for i := 0; i < count; i++ {
		producer.Input() <- &sarama.ProducerMessage{Topic: topic, Partition: 0, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("sarama %s %d %s", codec, i, strings.Repeat("payload ", 8)))}
	}
	for i := 0; i < count; i++ {
		select {
		case <-producer.Successes():
		case err := <-producer.Errors():
			fmt.Fprintln(os.Stderr, "produce:", err.Err)
			os.Exit(1)
		}
	}
	producer.Close()
	consumer, err := sarama.NewConsumer([]string{broker}, config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
	partition, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "consume:", err)
		os.Exit(1)
	}
	for i := 0; i < count; i++ {
		select {
		case message := <-partition.Messages():
			fmt.Printf("%d %s %s\n", message.Offset, message.Key, message.Value)
		case err := <-partition.Errors():
			fmt.Fprintln(os.Stderr, "fetch:", err)
			os.Exit(1)
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "timeout after", i)
			os.Exit(1)
		}
	}
	partition.Close()
	consumer.Close()
}
