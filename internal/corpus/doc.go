// Package corpus runs the consumer behaviours production clusters carry
// every day against a real Apache Kafka broker, with real clients (sarama and
// franz-go), and checks lagwatch's verdict on each against its ground truth:
// an assign()-mode committer that never joins a group, transactional
// producers with read_committed consumers, busy topics with auto-commit and
// once-a-minute commits, idle topics, a compacted topic, a topic deleted and
// re-created under its group, an old backlog of large batches, KIP-848 and
// classic groups side by side, and a consumer stuck on a poison message.
//
// Every test first asserts what the broker says (high watermark, last
// stable offset, committed offsets, control records), so a failure tells a
// broken workload from a wrong verdict. Polls run on a simulated clock that
// advances one poll interval per poll, so minutes of lagwatch history take
// seconds; workloads whose timing matters are paced to the same ratio.
package corpus
