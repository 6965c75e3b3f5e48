package kafka

// TopicPartition names one partition of a topic. Its fields match
// lagcalc.TopicPartition's, so the collector converts one into the other
// without copying names.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// TopicPartitionOffset names one record of a partition.
type TopicPartitionOffset struct {
	TopicPartition
	Offset int64
}
