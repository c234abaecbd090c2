// kafka-go 0.2.1 (Debian's golang-github-segmentio-kafka-go-dev) scenarios. Built by the runner with Debian's Go in
// GOPATH mode. kafka-go 0.2.1 sends no ApiVersions and speaks fixed versions: Produce v2 and Fetch v2 with message
// format v1 (no headers), Metadata v1, ListOffsets v1, the group APIs at v0/v1. It has no public CreateTopics:
// topics auto-create (the runner starts the gateway with --default-partitions 3).
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

const (
	baseTimestamp = int64(1_700_000_000_000)
	partitions    = 3
	smallRecords  = 10_000
	largeBytes    = 900 * 1024
)

type failure struct{ message string }

func fail(format string, args ...interface{}) { panic(failure{fmt.Sprintf(format, args...)}) }

func must(step string, err error) {
	if err != nil {
		fail("%s: %v", step, err)
	}
}

func topicName(prefix string) string {
	return fmt.Sprintf("%s-%x-%x", prefix, time.Now().UnixNano()/1e6, rand.Int31())
}

// ensureTopic asks for the topic's partitions, which auto-creates it, until all of them are there.
func ensureTopic(bootstrap, topic string, want int) {
	conn, err := kafka.Dial("tcp", bootstrap)
	must("dial", err)
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) == want {
			return
		}
		if time.Now().After(deadline) {
			fail("topic %s: %d partitions, err %v", topic, len(parts), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func basicMessages(from, to int) []kafka.Message {
	var messages []kafka.Message
	for i := from; i < to; i++ {
		messages = append(messages, kafka.Message{
			Key:   []byte(fmt.Sprintf("key-%d", i)),
			Value: []byte(fmt.Sprintf("value-%d", i)),
			Time:  time.Unix(0, (baseTimestamp+int64(i))*int64(time.Millisecond)),
		})
	}
	return messages
}

func produce(bootstrap, topic string, codec kafka.CompressionCodec, messages []kafka.Message) {
	writer := kafka.NewWriter(kafka.WriterConfig{
		Brokers: []string{bootstrap}, Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: -1, BatchSize: 100,
		BatchTimeout: 10 * time.Millisecond, CompressionCodec: codec, MaxAttempts: 10,
	})
	defer writer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must("WriteMessages", writer.WriteMessages(ctx, messages...))
}

// readPartition reads `count` messages of one partition from its first offset.
func readPartition(bootstrap, topic string, partition, count, maxBytes int, timeout time.Duration) []kafka.Message {
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, Topic: topic, Partition: partition, MinBytes: 1, MaxBytes: maxBytes, MaxWait: 200 * time.Millisecond})
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []kafka.Message
	for len(got) < count {
		m, err := reader.ReadMessage(ctx)
		if err != nil {
			fail("partition %d: read %d of %d: %v", partition, len(got), count, err)
		}
		got = append(got, m)
	}
	return got
}

// readAll reads every partition until the total reaches count (the split per partition is found from the offsets).
func readAll(bootstrap, topic string, count int, timeout time.Duration) []kafka.Message {
	var got []kafka.Message
	for p := 0; p < partitions; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", bootstrap, topic, p)
		must("DialLeader", err)
		first, last, err := conn.ReadOffsets()
		conn.Close()
		must("ReadOffsets", err)
		if last > first {
			got = append(got, readPartition(bootstrap, topic, p, int(last-first), 1<<20, timeout)...)
		}
	}
	if len(got) != count {
		fail("read %d of %d records", len(got), count)
	}
	return got
}

// The uplink scenario: records produced at the edge gateway (bootstrap), read back from the central one, the
// program's third argument.
const (
	uplinkRecords = 300
	uplinkTimeout = 30 * time.Second
)

var central string

// readUntil reads every partition from its first offset until the total reaches count. Unlike readAll it does not
// go by offsets: a topic written in transactions (the uplink's, on the central cluster) holds commit markers, which
// take offsets but never reach a Fetch v2 reader.
func readUntil(bootstrap, topic string, count int, timeout time.Duration) []kafka.Message {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := make(chan kafka.Message, count)
	for p := 0; p < partitions; p++ {
		reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond})
		defer reader.Close()
		go func(reader *kafka.Reader) {
			for {
				m, err := reader.ReadMessage(ctx)
				if err != nil {
					return
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			}
		}(reader)
	}
	var got []kafka.Message
	for len(got) < count {
		select {
		case m := <-out:
			got = append(got, m)
		case <-ctx.Done():
			fail("read %d of %d records within %v", len(got), count, timeout)
		}
	}
	return got
}

func checkBasic(got []kafka.Message, count int) { checkBasicOrdered(got, count, count) }

// checkBasicOrdered checks order within each partition only among keys below orderedBelow.
func checkBasicOrdered(got []kafka.Message, count int, orderedBelow int) {
	seen := map[int]bool{}
	for _, m := range got {
		key := string(m.Key)
		if !strings.HasPrefix(key, "key-") {
			fail("unexpected key %q", key)
		}
		i, _ := strconv.Atoi(key[4:])
		if seen[i] {
			fail("key-%d received twice", i)
		}
		seen[i] = true
		if string(m.Value) != fmt.Sprintf("value-%d", i) {
			fail("key-%d: value %q", i, m.Value)
		}
		if ms := m.Time.UnixNano() / 1e6; ms != baseTimestamp+int64(i) {
			fail("key-%d: timestamp %d, want %d", i, ms, baseTimestamp+int64(i))
		}
	}
	if len(seen) != count {
		fail("received %d of %d records", len(seen), count)
	}
	byPartition := map[int][]kafka.Message{}
	for _, m := range got {
		byPartition[m.Partition] = append(byPartition[m.Partition], m)
	}
	if len(byPartition) != partitions {
		fail("records landed in %d partitions, want %d", len(byPartition), partitions)
	}
	for p, records := range byPartition {
		sort.Slice(records, func(a, b int) bool { return records[a].Offset < records[b].Offset })
		for j := 1; j < len(records); j++ {
			before, _ := strconv.Atoi(string(records[j-1].Key[4:]))
			after, _ := strconv.Atoi(string(records[j].Key[4:]))
			if after < before && before < orderedBelow {
				fail("partition %d: key-%d after key-%d", p, after, before)
			}
		}
	}
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

var scenarios = map[string]func(bootstrap string){
	"uplink": func(bootstrap string) {
		topic := topicName("uplink")
		ensureTopic(bootstrap, topic, partitions)
		produce(bootstrap, topic, nil, basicMessages(0, uplinkRecords))
		// Auto-created by the lookup if the uplink has not created it yet: with the same 3 partitions.
		ensureTopic(central, topic, partitions)
		checkBasic(readUntil(central, topic, uplinkRecords, uplinkTimeout), uplinkRecords)
	},

	"basic": func(bootstrap string) {
		topic := topicName("basic")
		ensureTopic(bootstrap, topic, partitions)
		produce(bootstrap, topic, nil, basicMessages(0, 1000))
		checkBasic(readAll(bootstrap, topic, 1000, 20*time.Second), 1000)
	},

	"admin": func(bootstrap string) {
		// kafka-go 0.2.1's admin surface: ReadPartitions (Metadata v1), offsets (ListOffsets v1), DeleteTopics v1.
		topic := topicName("admin")
		ensureTopic(bootstrap, topic, partitions)
		produce(bootstrap, topic, nil, basicMessages(0, 30))
		var total int64
		for p := 0; p < partitions; p++ {
			conn, err := kafka.DialLeader(context.Background(), "tcp", bootstrap, topic, p)
			must("DialLeader", err)
			first, last, err := conn.ReadOffsets()
			must("ReadOffsets", err)
			at, err := conn.ReadOffset(time.Unix(0, baseTimestamp*int64(time.Millisecond)))
			must("ReadOffset(time)", err)
			conn.Close()
			if first != 0 || at != 0 {
				fail("partition %d: first offset %d, offset at the first timestamp %d (want 0, 0)", p, first, at)
			}
			total += last
		}
		if total != 30 {
			fail("last offsets sum to %d, want 30", total)
		}
		conn, err := kafka.Dial("tcp", bootstrap)
		must("dial", err)
		defer conn.Close()
		must("DeleteTopics", conn.DeleteTopics(topic))
	},

	"group": func(bootstrap string) {
		topic := topicName("group")
		groupID := topicName("group-id")
		ensureTopic(bootstrap, topic, partitions)
		produce(bootstrap, topic, nil, basicMessages(0, 300))
		var mu sync.Mutex
		seen := map[string]string{}
		errs := make(chan error, 8)
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
		member := func(name string) (*kafka.Reader, context.CancelFunc) {
			reader := kafka.NewReader(kafka.ReaderConfig{
				Brokers: []string{bootstrap}, Topic: topic, GroupID: groupID, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond,
				CommitInterval: 100 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 5 * time.Second,
			})
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for {
					m, err := reader.ReadMessage(ctx)
					if err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					mu.Lock()
					seen[string(m.Key)] = name
					mu.Unlock()
				}
			}()
			return reader, cancel
		}
		waitFor := func(step string, want int) {
			deadline := time.Now().Add(25 * time.Second)
			for count() < want {
				select {
				case err := <-errs:
					fail("%s: %v", step, err)
				default:
				}
				if time.Now().After(deadline) {
					fail("%s: %d of %d records", step, count(), want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		a, cancelA := member("a")
		b, cancelB := member("b")
		waitFor("two members consume everything", 300)
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
		produce(bootstrap, topic, nil, basicMessages(300, 400))
		waitFor("member a gets the rest", 400)
		time.Sleep(300 * time.Millisecond) // one commit interval
		cancelA()
		must("member a leaves", a.Close())
		produce(bootstrap, topic, nil, basicMessages(400, 450))
		mu.Lock()
		for k := range seen {
			delete(seen, k)
		}
		mu.Unlock()
		c, cancelC := member("c")
		waitFor("a new member resumes from the committed offsets", 50)
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
		// kafka-go 0.2.1 ships gzip, snappy and lz4 (no zstd), written as message-format-v1 wrapper messages.
		var failures []string
		for _, codec := range []struct {
			name  string
			codec kafka.CompressionCodec
		}{{"gzip", gzip.NewCompressionCodec()}, {"snappy", snappy.NewCompressionCodec()}, {"lz4", lz4.NewCompressionCodec()}} {
			collect(&failures, codec.name, func() {
				topic := topicName("compression-" + codec.name)
				ensureTopic(bootstrap, topic, partitions)
				produce(bootstrap, topic, codec.codec, basicMessages(0, 300))
				checkBasic(readAll(bootstrap, topic, 300, 15*time.Second), 300)
			})
		}
		if len(failures) > 0 {
			fail("%s", strings.Join(failures, "; "))
		}
	},

	"large": func(bootstrap string) {
		topic := topicName("large")
		ensureTopic(bootstrap, topic, partitions)
		conn, err := kafka.DialLeader(context.Background(), "tcp", bootstrap, topic, 0)
		must("DialLeader", err)
		conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
		_, err = conn.WriteMessages(kafka.Message{Value: largeValue()})
		must("write 900 KB", err)
		for i := 0; i < smallRecords; i += 1000 {
			var batch []kafka.Message
			for j := i; j < i+1000; j++ {
				batch = append(batch, kafka.Message{Value: []byte(fmt.Sprintf("small-%d", j))})
			}
			_, err = conn.WriteMessages(batch...)
			must("write small", err)
		}
		conn.Close()
		for _, variant := range []struct {
			label    string
			maxBytes int
		}{{"MaxBytes=1024", 1024}, {"MaxBytes=10 MB", 10 << 20}} {
			got := readPartition(bootstrap, topic, 0, smallRecords+1, variant.maxBytes, 25*time.Second)
			if !bytes.Equal(got[0].Value, largeValue()) {
				fail("%s: the 900 KB record came back as %d different bytes", variant.label, len(got[0].Value))
			}
			for i := 0; i < smallRecords; i++ {
				if m := got[i+1]; m.Offset != int64(i+1) || string(m.Value) != fmt.Sprintf("small-%d", i) {
					fail("%s: offset %d holds %q", variant.label, m.Offset, m.Value)
				}
			}
		}
	},

	"restart": func(bootstrap string) {
		topic := topicName("restart")
		ensureTopic(bootstrap, topic, partitions)
		writer := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{bootstrap}, Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: -1, BatchSize: 100, BatchTimeout: 10 * time.Millisecond, MaxAttempts: 20})
		defer writer.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must("write before restart", writer.WriteMessages(ctx, basicMessages(0, 500)...))
		readAll(bootstrap, topic, 500, 10*time.Second)
		askRestart()
		must("the same writer after restart", writer.WriteMessages(ctx, basicMessages(500, 1000)...))
		// kafka-go 0.2.1 retries failed messages in a later WriteMessages attempt, after the rest of the call went
		// out, so the batches that met the closed connections land after later ones: order holds before the restart.
		checkBasicOrdered(readAll(bootstrap, topic, 1000, 15*time.Second), 1000, 500)
	},
}

// Scenarios kafka-go 0.2.1 cannot run at all, with the reason.
var notSupported = map[string]string{
	"versions":     "kafka-go 0.2.1 has no version setting: it always speaks Produce v2/Fetch v2 (message format v1), which basic exercises",
	"idempotent":   "kafka-go 0.2.1 has no idempotent producer: its Writer speaks Produce v2 (message format v1, which has no producer id or sequence numbers) and never sends InitProducerId",
	"transactions": "kafka-go 0.2.1 has no transactions: no InitProducerId, AddPartitionsToTxn or EndTxn, and its Reader fetches at v2, which has no isolation level",
}

func main() {
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
