// Debian's Go clients (GOPATH mode): Sarama 1.22.1 (golang-github-shopify-sarama-dev) or kafka-go 0.2.1
// (golang-github-segmentio-kafka-go-dev) produce COUNT records ("<topic> <i>") to partition 0 of TOPIC in one send and
// print one JSON line: how many were acknowledged, and the error the send returned.
//
// usage: go-producer sarama|kafka-go BROKER TOPIC COUNT

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
	kafka "github.com/segmentio/kafka-go"
)

type result struct {
	Delivered int      `json:"delivered"`
	Errors    []string `json:"errors"`
}

func main() {
	library, broker, topic := os.Args[1], os.Args[2], os.Args[3]
	var count int
	fmt.Sscan(os.Args[4], &count)
	out := result{Errors: []string{}}
	switch library {
	case "sarama":
		config := sarama.NewConfig()
		config.Version = sarama.V0_11_0_0 // Produce v3, record batches v2
		config.Producer.Return.Successes = true
		config.Producer.RequiredAcks = sarama.WaitForAll
		config.Producer.Partitioner = sarama.NewManualPartitioner
		// Sarama's default budget (3 retries, 100 ms apart) is shorter than the test's refusals: a producer that must
		// ride out a full edge box sets its own, as it would for a leader election.
		config.Producer.Retry.Max = 20
		config.Producer.Retry.Backoff = 100 * time.Millisecond
		producer, err := sarama.NewSyncProducer([]string{broker}, config)
		if err != nil {
			out.Errors = append(out.Errors, err.Error())
			break
		}
		messages := make([]*sarama.ProducerMessage, count)
		for i := range messages {
			messages[i] = &sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("%s %d", topic, i))}
		}
		out.Delivered = count
		if err := producer.SendMessages(messages); err != nil {
			out.Delivered = 0
			if failed, ok := err.(sarama.ProducerErrors); ok {
				out.Delivered = count - len(failed)
				for _, message := range failed {
					out.Errors = append(out.Errors, message.Err.Error())
				}
			} else {
				out.Errors = append(out.Errors, err.Error())
			}
		}
		producer.Close()
	case "kafka-go":
		// Defaults: MaxAttempts 10, backoff 100 ms growing to 1 s; Produce v2 (message format magic 1).
		writer := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{broker}, Topic: topic, BatchSize: count, BatchTimeout: 10 * time.Millisecond})
		messages := make([]kafka.Message, count)
		for i := range messages {
			messages[i] = kafka.Message{Value: []byte(fmt.Sprintf("%s %d", topic, i))}
		}
		if err := writer.WriteMessages(context.Background(), messages...); err != nil {
			out.Errors = append(out.Errors, err.Error())
		} else {
			out.Delivered = count
		}
		writer.Close()
	default:
		out.Errors = append(out.Errors, "unknown library "+library)
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
}
