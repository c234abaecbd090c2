// Sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev) scenarios. Built by the runner with Debian's Go in
// GOPATH mode: GOPATH=/usr/share/gocode GO111MODULE=off go build.
//
// Sarama 1.22 sends no ApiVersions: Config.Version fixes every request version. The default is V0_8_2_0 (message
// format v0: Produce v0, Fetch v0); users set a newer one. The scenarios use V2_1_0_0 (Produce v7, Fetch v10,
// record batches with headers) unless they say otherwise; versions runs the default, V0_10_2_0 and MaxVersion.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/ioutil"
	"log"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const (
	baseTimestamp = int64(1_700_000_000_000)
	partitions    = 3
	smallRecords  = 10_000
	largeBytes    = 900 * 1024
)

type received struct {
	partition int32
	offset    int64
	key       string
	value     []byte
	headers   map[string]string
	timestamp int64
}

type failure struct{ message string }

func fail(format string, args ...interface{}) { panic(failure{fmt.Sprintf(format, args...)}) }

func must(step string, err error) {
	if errs, ok := err.(sarama.ProducerErrors); ok && len(errs) > 0 {
		fail("%s: %d messages failed, first: %v", step, len(errs), errs[0].Err)
	}
	if err != nil {
		fail("%s: %v", step, err)
	}
}

func topicName(prefix string) string {
	return fmt.Sprintf("%s-%x-%x", prefix, time.Now().UnixNano()/1e6, rand.Int31())
}

func newConfig(version sarama.KafkaVersion) *sarama.Config {
	config := sarama.NewConfig()
	config.Version = version
	config.ClientID = "interop-sarama"
	config.Producer.Return.Successes = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Retry.Max = 10
	config.Producer.Retry.Backoff = 200 * time.Millisecond
	config.Metadata.Retry.Backoff = 200 * time.Millisecond
	config.Consumer.Return.Errors = true
	return config
}

var modern = sarama.V2_1_0_0

// The uplink scenario: records produced at the edge gateway (bootstrap), read back from the central one, the
// program's third argument.
const (
	uplinkRecords = 300
	uplinkTimeout = 30 * time.Second
)

var central string

// waitForTopic waits until the cluster has the topic with parts partitions (the uplink creates it on the central one).
func waitForTopic(bootstrap, topic string, parts int, timeout time.Duration) {
	client, err := sarama.NewClient([]string{bootstrap}, newConfig(modern))
	must("new client", err)
	defer client.Close()
	deadline := time.Now().Add(timeout)
	for {
		got, err := client.Partitions(topic)
		if err == nil && len(got) == parts {
			return
		}
		if time.Now().After(deadline) {
			fail("topic %s on %s: %d partitions, err %v", topic, bootstrap, len(got), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func basicMessage(topic string, i int, withHeaders bool) *sarama.ProducerMessage {
	message := &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.StringEncoder(fmt.Sprintf("key-%d", i)),
		Value:     sarama.StringEncoder(fmt.Sprintf("value-%d", i)),
		Timestamp: time.Unix(0, (baseTimestamp+int64(i))*int64(time.Millisecond)),
	}
	if withHeaders {
		message.Headers = []sarama.RecordHeader{{Key: []byte("index"), Value: []byte(strconv.Itoa(i))}, {Key: []byte("origin"), Value: []byte("interop")}}
	}
	return message
}

func produceBasic(bootstrap string, config *sarama.Config, topic string, from, to int, withHeaders bool) {
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
	must("new producer", err)
	defer producer.Close()
	var messages []*sarama.ProducerMessage
	for i := from; i < to; i++ {
		messages = append(messages, basicMessage(topic, i, withHeaders))
	}
	for len(messages) > 0 {
		n := 100
		if n > len(messages) {
			n = len(messages)
		}
		must("produce", producer.SendMessages(messages[:n]))
		messages = messages[n:]
	}
}

// consumeAll reads every partition from the oldest offset until count records came back.
func consumeAll(bootstrap string, config *sarama.Config, topic string, parts int32, count int, timeout time.Duration) []received {
	consumer, err := sarama.NewConsumer([]string{bootstrap}, config)
	must("new consumer", err)
	defer consumer.Close()
	out := make(chan received, 1024)
	errs := make(chan error, 16)
	for p := int32(0); p < parts; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		must(fmt.Sprintf("consume partition %d", p), err)
		defer pc.Close()
		go func(pc sarama.PartitionConsumer) {
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					headers := map[string]string{}
					for _, h := range m.Headers {
						headers[string(h.Key)] = string(h.Value)
					}
					out <- received{m.Partition, m.Offset, string(m.Key), m.Value, headers, m.Timestamp.UnixNano() / 1e6}
				case e, ok := <-pc.Errors():
					if ok {
						errs <- e
					}
				}
			}
		}(pc)
	}
	var got []received
	deadline := time.After(timeout)
	for len(got) < count {
		select {
		case r := <-out:
			got = append(got, r)
		case e := <-errs:
			fail("consume: %v", e)
		case <-deadline:
			fail("received %d of %d records within %v", len(got), count, timeout)
		}
	}
	return got
}

func checkBasic(got []received, count int, headers, timestamps bool) {
	seen := map[int]received{}
	for _, r := range got {
		if !strings.HasPrefix(r.key, "key-") {
			fail("unexpected key %q", r.key)
		}
		i, _ := strconv.Atoi(r.key[4:])
		if _, dup := seen[i]; dup {
			fail("key-%d received twice", i)
		}
		seen[i] = r
		if string(r.value) != fmt.Sprintf("value-%d", i) {
			fail("key-%d: value %q", i, r.value)
		}
		if headers && (r.headers["index"] != strconv.Itoa(i) || r.headers["origin"] != "interop") {
			fail("key-%d: headers %v", i, r.headers)
		}
		if timestamps && r.timestamp != baseTimestamp+int64(i) {
			fail("key-%d: timestamp %d, want %d", i, r.timestamp, baseTimestamp+int64(i))
		}
	}
	if len(seen) != count {
		fail("received %d of %d records", len(seen), count)
	}
	byPartition := map[int32][]received{}
	for _, r := range got {
		byPartition[r.partition] = append(byPartition[r.partition], r)
	}
	if len(byPartition) != partitions {
		fail("records landed in %d partitions, want %d", len(byPartition), partitions)
	}
	for p, records := range byPartition {
		sort.Slice(records, func(a, b int) bool { return records[a].offset < records[b].offset })
		for j := 1; j < len(records); j++ {
			before, _ := strconv.Atoi(records[j-1].key[4:])
			after, _ := strconv.Atoi(records[j].key[4:])
			if after < before {
				fail("partition %d: key-%d after key-%d", p, after, before)
			}
		}
	}
}

func createTopic(bootstrap string, topic string, parts int32) {
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, newConfig(modern))
	must("new cluster admin", err)
	defer admin.Close()
	must("CreateTopic", admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: parts, ReplicationFactor: 1}, false))
}

func largeValue() []byte {
	value := make([]byte, largeBytes)
	for i := range value {
		value[i] = byte((i*31 + 7) & 0xff)
	}
	return value
}

func askRestart() {
	fmt.Println("RESTART")
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		if strings.Contains(scanner.Text(), "RESTARTED") {
			return
		}
	}
	fail("runner closed stdin before the gateway restarted")
}

var scenarios = map[string]func(bootstrap string){
	"uplink": func(bootstrap string) {
		topic := topicName("uplink")
		createTopic(bootstrap, topic, partitions)
		produceBasic(bootstrap, newConfig(modern), topic, 0, uplinkRecords, true)
		waitForTopic(central, topic, partitions, uplinkTimeout)
		checkBasic(consumeAll(central, newConfig(modern), topic, partitions, uplinkRecords, uplinkTimeout), uplinkRecords, true, true)
	},

	"basic": func(bootstrap string) {
		topic := topicName("basic")
		createTopic(bootstrap, topic, partitions)
		produceBasic(bootstrap, newConfig(modern), topic, 0, 1000, true)
		checkBasic(consumeAll(bootstrap, newConfig(modern), topic, partitions, 1000, 20*time.Second), 1000, true, true)
	},

	"admin": func(bootstrap string) {
		// Every step runs, and the cell reports all that failed.
		var failures []string
		admin, err := sarama.NewClusterAdmin([]string{bootstrap}, newConfig(modern))
		must("new cluster admin", err)
		defer admin.Close()
		client, err := sarama.NewClient([]string{bootstrap}, newConfig(modern))
		must("new client", err)
		defer client.Close()
		topic := topicName("admin")
		must("CreateTopic", admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false))
		produceBasic(bootstrap, newConfig(modern), topic, 0, 30, true)
		collect(&failures, "ListTopics", func() {
			// Sarama's ListTopics also sends DescribeConfigs for every topic.
			topics, err := admin.ListTopics()
			must("ListTopics", err)
			if detail, ok := topics[topic]; !ok || detail.NumPartitions != partitions {
				fail("created topic missing or with %d partitions", detail.NumPartitions)
			}
		})
		collect(&failures, "DescribeCluster", func() {
			// Sarama 1.22's DescribeCluster sends Metadata v0, which has no controller id (it reports -1 whatever
			// the broker says); the controller comes from Client.Controller(), which uses Metadata v1+.
			brokers, _, err := admin.DescribeCluster()
			must("DescribeCluster", err)
			if len(brokers) != 1 {
				fail("%d brokers", len(brokers))
			}
			controller, err := client.Controller()
			must("Controller", err)
			if controller.ID() < 0 {
				fail("controller id %d", controller.ID())
			}
		})
		collect(&failures, "GetOffset", func() {
			for p := int32(0); p < partitions; p++ {
				oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
				must("oldest", err)
				newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
				must("newest", err)
				if oldest != 0 || newest <= 0 {
					fail("partition %d: oldest %d newest %d", p, oldest, newest)
				}
			}
		})
		collect(&failures, "GetOffset by time", func() {
			for p := int32(0); p < partitions; p++ {
				at, err := client.GetOffset(topic, p, baseTimestamp)
				must("GetOffset", err)
				if at != 0 {
					fail("partition %d: offset %d for the first record's timestamp, want 0", p, at)
				}
			}
		})
		collect(&failures, "DescribeConfig", func() {
			entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
			must("DescribeConfig", err)
			if len(entries) == 0 {
				fail("no config entries")
			}
		})
		groupID := topicName("admin-group")
		collect(&failures, "OffsetManager commit (a group with committed offsets only)", func() {
			manager, err := sarama.NewOffsetManagerFromClient(groupID, client)
			must("NewOffsetManagerFromClient", err)
			pom, err := manager.ManagePartition(topic, 0)
			must("ManagePartition", err)
			pom.MarkOffset(5, "")
			must("close partition offset manager", pom.Close())
			must("close offset manager", manager.Close())
		})
		collect(&failures, "ListConsumerGroupOffsets", func() {
			response, err := admin.ListConsumerGroupOffsets(groupID, map[string][]int32{topic: {0}})
			must("ListConsumerGroupOffsets", err)
			if block := response.GetBlock(topic, 0); block == nil || block.Offset != 5 {
				fail("committed offset %+v, want 5", block)
			}
		})
		collect(&failures, "ListConsumerGroups", func() {
			groups, err := admin.ListConsumerGroups()
			must("ListConsumerGroups", err)
			if _, ok := groups[groupID]; !ok {
				fail("%s not listed", groupID)
			}
		})
		collect(&failures, "DescribeConsumerGroups", func() {
			described, err := admin.DescribeConsumerGroups([]string{groupID})
			must("DescribeConsumerGroups", err)
			if len(described) != 1 || described[0].State != "Empty" {
				fail("%+v", described)
			}
		})
		collect(&failures, "DeleteTopic", func() { must("DeleteTopic", admin.DeleteTopic(topic)) })
		if len(failures) > 0 {
			fail("%s", strings.Join(failures, "; "))
		}
	},

	"group": func(bootstrap string) {
		topic := topicName("group")
		groupID := topicName("group-id")
		createTopic(bootstrap, topic, partitions)
		produceBasic(bootstrap, newConfig(modern), topic, 0, 300, true)
		var mu sync.Mutex
		seen := map[string]string{}
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
		member := func(name string) (sarama.ConsumerGroup, context.CancelFunc, chan error) {
			config := newConfig(modern)
			config.Consumer.Offsets.Initial = sarama.OffsetOldest
			config.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
			config.Consumer.Group.Session.Timeout = 6 * time.Second
			config.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
			group, err := sarama.NewConsumerGroup([]string{bootstrap}, groupID, config)
			must("NewConsumerGroup "+name, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				for ctx.Err() == nil {
					if err := group.Consume(ctx, []string{topic}, handler{name, &mu, seen}); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			go func() {
				for err := range group.Errors() {
					select {
					case done <- err:
					default:
					}
				}
			}()
			return group, cancel, done
		}
		waitFor := func(step string, want int, errs ...chan error) {
			deadline := time.Now().Add(25 * time.Second)
			for count() < want {
				for _, e := range errs {
					select {
					case err := <-e:
						if err != nil {
							fail("%s: %v", step, err)
						}
					default:
					}
				}
				if time.Now().After(deadline) {
					fail("%s: %d of %d records", step, count(), want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		a, cancelA, errA := member("a")
		b, cancelB, errB := member("b")
		waitFor("two members consume everything", 300, errA, errB)
		mu.Lock()
		names := map[string]bool{}
		for _, name := range seen {
			names[name] = true
		}
		mu.Unlock()
		if len(names) != 2 {
			fail("only %d member(s) received records", len(names))
		}
		cancelB()
		must("member b leaves", b.Close())
		produceBasic(bootstrap, newConfig(modern), topic, 300, 400, true)
		waitFor("member a gets the rest", 400, errA)
		cancelA()
		must("member a leaves", a.Close())
		produceBasic(bootstrap, newConfig(modern), topic, 400, 450, true)
		mu.Lock()
		for k := range seen {
			delete(seen, k)
		}
		mu.Unlock()
		c, cancelC, errC := member("c")
		waitFor("a new member resumes from the committed offsets", 50, errC)
		time.Sleep(500 * time.Millisecond)
		cancelC()
		c.Close()
		mu.Lock()
		defer mu.Unlock()
		for k := range seen {
			if i, _ := strconv.Atoi(k[4:]); i < 400 {
				fail("resumed member re-read committed record %s", k)
			}
		}
	},

	"compression": func(bootstrap string) {
		var failures []string
		for _, codec := range []struct {
			name  string
			codec sarama.CompressionCodec
		}{{"gzip", sarama.CompressionGZIP}, {"snappy", sarama.CompressionSnappy}, {"lz4", sarama.CompressionLZ4}, {"zstd", sarama.CompressionZSTD}} {
			func() {
				defer func() {
					if r := recover(); r != nil {
						if f, ok := r.(failure); ok {
							failures = append(failures, codec.name+": "+f.message)
							return
						}
						panic(r)
					}
				}()
				topic := topicName("compression-" + codec.name)
				createTopic(bootstrap, topic, partitions)
				config := newConfig(modern)
				config.Producer.Compression = codec.codec
				if codec.codec == sarama.CompressionZSTD {
					// Sarama 1.22 sends zstd batches in Produce v3, but Kafka accepts zstd only from Produce v7 on
					// (KIP-110) and answers UNSUPPORTED_COMPRESSION_TYPE; Sarama 1.23 fixed this. Check the refusal.
					producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
					must("new producer", err)
					defer producer.Close()
					_, _, err = producer.SendMessage(basicMessage(topic, 0, true))
					if err == nil || !strings.Contains(err.Error(), "compression type") {
						fail("Produce v3 with zstd: want UNSUPPORTED_COMPRESSION_TYPE as Kafka answers, got %v", err)
					}
					return
				}
				produceBasic(bootstrap, config, topic, 0, 300, true)
				checkBasic(consumeAll(bootstrap, newConfig(modern), topic, partitions, 300, 15*time.Second), 300, true, true)
			}()
		}
		if len(failures) > 0 {
			fail("%s", strings.Join(failures, "; "))
		}
	},

	"large": func(bootstrap string) {
		topic := topicName("large")
		createTopic(bootstrap, topic, 1)
		config := newConfig(modern)
		config.Producer.Partitioner = sarama.NewManualPartitioner
		producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
		must("new producer", err)
		_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.ByteEncoder(largeValue())})
		must("produce 900 KB", err)
		var small []*sarama.ProducerMessage
		for i := 0; i < smallRecords; i++ {
			small = append(small, &sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("small-%d", i))})
		}
		for i := 0; i < smallRecords; i += 1000 {
			must("produce small", producer.SendMessages(small[i:i+1000]))
		}
		producer.Close()
		for _, variant := range []struct {
			label string
			bytes int32
		}{{"Fetch.Default=1024", 1024}, {"Fetch.Default=10 MB", 10 << 20}} {
			config := newConfig(modern)
			config.Consumer.Fetch.Default = variant.bytes
			config.Consumer.Fetch.Max = 0
			got := consumeAll(bootstrap, config, topic, 1, smallRecords+1, 25*time.Second)
			sort.Slice(got, func(a, b int) bool { return got[a].offset < got[b].offset })
			if !bytes.Equal(got[0].value, largeValue()) {
				fail("%s: the 900 KB record came back as %d different bytes", variant.label, len(got[0].value))
			}
			for i := 0; i < smallRecords; i++ {
				if r := got[i+1]; r.offset != int64(i+1) || string(r.value) != fmt.Sprintf("small-%d", i) {
					fail("%s: offset %d holds %q", variant.label, r.offset, r.value)
				}
			}
		}
	},

	"versions": func(bootstrap string) {
		var failures []string
		for _, variant := range []struct {
			label   string
			version sarama.KafkaVersion
		}{{"default (V0_8_2_0)", sarama.NewConfig().Version}, {"V0_10_2_0", sarama.V0_10_2_0}, {"V0_11_0_0", sarama.V0_11_0_0}, {"MaxVersion (V2_2_0_0)", sarama.MaxVersion}} {
			func() {
				defer func() {
					if r := recover(); r != nil {
						if f, ok := r.(failure); ok {
							failures = append(failures, variant.label+": "+f.message)
							return
						}
						panic(r)
					}
				}()
				topic := topicName("versions")
				createTopic(bootstrap, topic, partitions)
				headers := variant.version.IsAtLeast(sarama.V0_11_0_0)
				produceBasic(bootstrap, newConfig(variant.version), topic, 0, 30, headers)
				got := consumeAll(bootstrap, newConfig(variant.version), topic, partitions, 30, 10*time.Second)
				checkBasic(got, 30, headers, variant.version.IsAtLeast(sarama.V0_10_0_0))
			}()
		}
		if len(failures) > 0 {
			fail("%s", strings.Join(failures, "; "))
		}
	},

	"restart": func(bootstrap string) {
		topic := topicName("restart")
		createTopic(bootstrap, topic, partitions)
		config := newConfig(modern)
		producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
		must("new producer", err)
		defer producer.Close()
		send := func(from, to int) {
			var messages []*sarama.ProducerMessage
			for i := from; i < to; i++ {
				messages = append(messages, basicMessage(topic, i, true))
			}
			must(fmt.Sprintf("produce %d..%d", from, to), producer.SendMessages(messages))
		}
		send(0, 500)
		got := consumeAll(bootstrap, newConfig(modern), topic, partitions, 500, 10*time.Second)
		askRestart()
		send(500, 1000)
		got = consumeAll(bootstrap, newConfig(modern), topic, partitions, 1000, 15*time.Second)
		checkBasic(got, 1000, true, true)
	},

	"idempotent": func(bootstrap string) {
		topic := topicName("idempotent")
		createTopic(bootstrap, topic, partitions)
		// Sarama's conditions for Idempotent (Config.Validate): Version >= V0_11_0_0, Retry.Max >= 1, WaitForAll
		// and one request in flight per broker. The producer gets its id from InitProducerId when it starts.
		config := newConfig(modern)
		config.Producer.Idempotent = true
		config.Net.MaxOpenRequests = 1
		produceBasic(bootstrap, config, topic, 0, 500, true)
		reader := newConfig(modern)
		reader.Consumer.IsolationLevel = sarama.ReadCommitted
		got := consumeAll(bootstrap, reader, topic, partitions, 500, 20*time.Second)
		checkBasic(got, 500, true, true)
		checkContiguous(got)
	},
}

// checkContiguous fails unless each partition holds its records at offsets 0, 1, 2, ...: with the idempotent
// producer's retries no batch may be stored twice or skipped.
func checkContiguous(got []received) {
	byPartition := map[int32][]int64{}
	for _, r := range got {
		byPartition[r.partition] = append(byPartition[r.partition], r.offset)
	}
	for p, offsets := range byPartition {
		sort.Slice(offsets, func(a, b int) bool { return offsets[a] < offsets[b] })
		for i, offset := range offsets {
			if offset != int64(i) {
				fail("partition %d: offset %d at position %d, want contiguous offsets from 0", p, offset, i)
			}
		}
	}
}

// Scenarios Sarama 1.22 cannot run at all, with the reason.
var notSupported = map[string]string{
	"transactions": "Sarama 1.22 has no transactional producer: its Config has no transactional id and no producer API sends AddPartitionsToTxn or EndTxn (the request types exist, only InitProducerId is sent, for idempotence)",
}

func collect(failures *[]string, label string, body func()) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(failure); ok {
				*failures = append(*failures, label+": "+f.message)
				return
			}
			panic(r)
		}
	}()
	body()
}

type handler struct {
	name string
	mu   *sync.Mutex
	seen map[string]string
}

func (handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h handler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		h.seen[string(m.Key)] = h.name
		h.mu.Unlock()
		session.MarkMessage(m, "")
	}
	return nil
}

func main() {
	sarama.Logger = log.New(ioutil.Discard, "", 0)
	rand.Seed(time.Now().UnixNano())
	scenario, bootstrap := os.Args[1], os.Args[2]
	if len(os.Args) > 3 {
		central = os.Args[3]
	}
	if reason, ok := notSupported[scenario]; ok {
		fmt.Printf("NS: %s\n", reason)
		return
	}
	run, ok := scenarios[scenario]
	if !ok {
		fmt.Printf("FAIL: no scenario %s\n", scenario)
		os.Exit(1)
	}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(failure); ok {
				fmt.Printf("FAIL: %s\n", f.message)
				os.Exit(1)
			}
			fmt.Printf("FAIL: panic: %v\n", r)
			os.Exit(1)
		}
	}()
	run(bootstrap)
	fmt.Println("PASS")
}
