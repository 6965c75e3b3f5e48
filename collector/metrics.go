package collector

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metric is one row of the metric table: the single source of every
// metric's name, labels and help text, from which both the exporter's
// descriptors and the metric reference in docs/metrics.md are made.
type metric struct {
	name   string
	kind   string // gauge, counter, histogram, stateset
	labels []string
	help   string
	// compatible marks metrics that keep danielqsj/kafka_exporter's name,
	// labels and meaning, so its users' dashboards and alerts keep working.
	compatible bool
	desc       *prometheus.Desc
}

func newMetric(name, kind string, compatible bool, help string, labels ...string) *metric {
	return &metric{
		name: name, kind: kind, labels: labels, help: help, compatible: compatible,
		desc: prometheus.NewDesc(name, help, labels, nil),
	}
}

const (
	gauge     = "gauge"
	counter   = "counter"
	histogram = "histogram"
	stateset  = "stateset"
)

var (
	brokersMetric    = newMetric("kafka_brokers", gauge, true, "Number of brokers in the cluster.")
	brokerInfoMetric = newMetric("kafka_broker_info", gauge, true, "Information about a broker; always 1.", "address", "id")

	topicPartitionsMetric  = newMetric("kafka_topic_partitions", gauge, true, "Number of partitions of the topic.", "topic")
	partitionCurrentOffset = newMetric("kafka_topic_partition_current_offset", gauge, true, "Log-end offset of the partition: the offset the next message will get.", "topic", "partition")
	partitionOldestOffset  = newMetric("kafka_topic_partition_oldest_offset", gauge, true, "Log-start offset of the partition: the oldest offset retention has not deleted.", "topic", "partition")
	partitionLeader        = newMetric("kafka_topic_partition_leader", gauge, true, "Broker id of the partition's leader; -1 when it has none.", "topic", "partition")
	partitionReplicas      = newMetric("kafka_topic_partition_replicas", gauge, true, "Number of replicas of the partition.", "topic", "partition")
	partitionISR           = newMetric("kafka_topic_partition_in_sync_replica", gauge, true, "Number of in-sync replicas of the partition.", "topic", "partition")
	partitionPreferred     = newMetric("kafka_topic_partition_leader_is_preferred", gauge, true, "1 when the partition's leader is its preferred (first) replica.", "topic", "partition")
	partitionUnderRepl     = newMetric("kafka_topic_partition_under_replicated_partition", gauge, true, "1 when some replica of the partition is out of the in-sync set.", "topic", "partition")
	partitionUnderMinISR   = newMetric("kafka_topic_partition_under_min_isr", gauge, false, "1 when the partition has fewer in-sync replicas than the topic's min.insync.replicas: producers with acks=all fail.", "topic", "partition")
	partitionOffline       = newMetric("kafka_topic_partition_offline", gauge, false, "1 when the partition has no leader and can be neither written nor read.", "topic", "partition")
	partitionProduceRate   = newMetric("kafka_topic_partition_produce_rate", gauge, false, "Messages per second appended to the partition, measured over --lag.window.", "topic", "partition")
	clusterOffline         = newMetric("kafka_cluster_offline_partitions", gauge, false, "Number of partitions without a leader, over the topics lagwatch polls.")
	clusterUnderReplicated = newMetric("kafka_cluster_under_replicated_partitions", gauge, false, "Number of under-replicated partitions, over the topics lagwatch polls.")
	topicRetention         = newMetric("kafka_topic_config_retention_seconds", gauge, false, "The topic's retention.ms in seconds; -1 means no time limit.", "topic")
	topicRetentionBytes    = newMetric("kafka_topic_config_retention_bytes", gauge, false, "The topic's retention.bytes per partition; -1 means no size limit.", "topic")
	topicMinISR            = newMetric("kafka_topic_config_min_insync_replicas", gauge, false, "The topic's min.insync.replicas.", "topic")
	topicDeadLetter        = newMetric("kafka_topic_dead_letter", gauge, false, "1 for topics whose name matches --topic.dead-letter-regex; join on it to watch dead-letter topics.", "topic")

	groupCurrentOffset    = newMetric("kafka_consumergroup_current_offset", gauge, true, "Committed offset of the group on the partition. Partitions the group never committed have no series.", "consumergroup", "topic", "partition")
	groupLag              = newMetric("kafka_consumergroup_lag", gauge, true, "Messages the group has not consumed: max(log-end offset - committed offset, 0). Partitions the group never committed have no series.", "consumergroup", "topic", "partition")
	groupCurrentOffsetSum = newMetric("kafka_consumergroup_current_offset_sum", gauge, true, "Sum of the group's committed offsets over the topic's partitions.", "consumergroup", "topic")
	groupLagSum           = newMetric("kafka_consumergroup_lag_sum", gauge, true, "Sum of the group's lag over the topic's partitions.", "consumergroup", "topic")
	groupMembers          = newMetric("kafka_consumergroup_members", gauge, true, "Number of members of the group.", "consumergroup")

	groupLagSeconds   = newMetric("kafka_consumergroup_lag_seconds", gauge, false, "Age of the oldest message the group has not consumed on the partition: how long ago the log-end offset passed the committed offset. 0 when the lag is 0.", "consumergroup", "topic", "partition")
	groupConsumeRate  = newMetric("kafka_consumergroup_consume_rate", gauge, false, "Messages per second by which the group's committed offset advanced over --lag.window.", "consumergroup", "topic", "partition")
	groupTimeToDrain  = newMetric("kafka_consumergroup_time_to_drain_seconds", gauge, false, "Seconds until the lag reaches 0 at the current consume and produce rates: lag / (consume rate - produce rate). Absent while the group is not gaining on the log.", "consumergroup", "topic", "partition")
	groupHeadroom     = newMetric("kafka_consumergroup_retention_headroom_seconds", gauge, false, "Seconds until retention may delete the oldest message the group has not consumed: the smaller of retention.ms - lag seconds and the distance to the log-start offset over the rate it advances. Absent for compacted-only topics and when neither bound applies.", "consumergroup", "topic", "partition")
	groupExpired      = newMetric("kafka_consumergroup_expired_messages", gauge, false, "Messages retention deleted before the group consumed them: max(log-start offset - committed offset, 0). Above 0 means data loss.", "consumergroup", "topic", "partition")
	groupRewinds      = newMetric("kafka_consumergroup_offset_rewinds_total", counter, false, "Times the group's committed offset went backwards (an offset reset or replay) while lagwatch watched.", "consumergroup", "topic", "partition")
	groupPartStatus   = newMetric("kafka_consumergroup_partition_status", stateset, false, "Status of the group on the partition: one series per status, 1 for the current one. ok, lagging (lag not shrinking while the offset moves), stalled (offset unchanged over --lag.window with lag and members), stopped (lag and no members), rewound (offset went backwards within the window), no_commit (assigned but never committed), unknown (too little history).", "consumergroup", "topic", "partition", "status")
	groupStatus       = newMetric("kafka_consumergroup_status", stateset, false, "Worst partition status of the group: one series per status, 1 for the current one.", "consumergroup", "status")
	groupMaxLagSecs   = newMetric("kafka_consumergroup_max_lag_seconds", gauge, false, "Largest lag in seconds over the group's partitions.", "consumergroup")
	groupState        = newMetric("kafka_consumergroup_state", stateset, false, "State of the group as its coordinator reports it: one series per state, 1 for the current one.", "consumergroup", "state")
	groupAssigned     = newMetric("kafka_consumergroup_assigned_partitions", gauge, false, "Partitions of the topic some member of the group is assigned.", "consumergroup", "topic")
	groupUnassigned   = newMetric("kafka_consumergroup_unassigned_partitions", gauge, false, "Partitions of a topic the group consumes that no member is assigned while the group has members: lag there is worked off by nobody.", "consumergroup", "topic")
	groupIdleMembers  = newMetric("kafka_consumergroup_idle_members", gauge, false, "Members of the group assigned no partition (more consumers than partitions).", "consumergroup")
	memberAssignments = newMetric("kafka_consumergroup_member_assigned_partitions", gauge, false, "Partitions assigned to one member of the group. Only with --group.member-detail: it is one series per consumer.", "consumergroup", "member_id", "client_id", "host")

	upMetric          = newMetric("lagwatch_up", gauge, false, "1 when the last poll of Kafka fully succeeded, 0 otherwise.")
	pollDurationMet   = newMetric("lagwatch_poll_duration_seconds", histogram, false, "Wall time of a poll of Kafka.")
	pollErrorsMetric  = newMetric("lagwatch_poll_errors_total", counter, false, "Polls in which a stage failed, by stage.", "stage")
	lastSuccessMetric = newMetric("lagwatch_last_successful_poll_timestamp_seconds", gauge, false, "Unix time at which the last poll that produced a snapshot started. Frozen while Kafka cannot be reached.")
	requestsMetric    = newMetric("lagwatch_kafka_requests_total", counter, false, "Requests sent to Kafka, by API name.", "api")
	overrunsMetric    = newMetric("lagwatch_polls_overrun_total", counter, false, "Polls that took longer than --kafka.poll-interval and so delayed the next one.")
	buildInfoMetric   = newMetric("lagwatch_build_info", gauge, false, "A metric with a constant '1' value labeled by version, revision, branch, goversion from which lagwatch was built, and the goos and goarch for the build.", "version", "revision", "branch", "goversion", "goos", "goarch", "tags")
)

// allMetrics is the metric table in the order of the reference.
var allMetrics = []*metric{
	brokersMetric, brokerInfoMetric,
	topicPartitionsMetric, partitionCurrentOffset, partitionOldestOffset, partitionLeader, partitionReplicas, partitionISR,
	partitionPreferred, partitionUnderRepl, partitionUnderMinISR, partitionOffline, partitionProduceRate,
	clusterOffline, clusterUnderReplicated, topicRetention, topicRetentionBytes, topicMinISR, topicDeadLetter,
	groupCurrentOffset, groupLag, groupCurrentOffsetSum, groupLagSum, groupMembers,
	groupLagSeconds, groupConsumeRate, groupTimeToDrain, groupHeadroom, groupExpired, groupRewinds,
	groupPartStatus, groupStatus, groupMaxLagSecs,
	groupState, groupAssigned, groupUnassigned, groupIdleMembers, memberAssignments,
	upMetric, pollDurationMet, pollErrorsMetric, lastSuccessMetric, requestsMetric, overrunsMetric, buildInfoMetric,
}

// MetricReference renders the metric table as the Markdown of
// docs/metrics.md. A test keeps the file equal to it.
func MetricReference() string {
	var b strings.Builder
	b.WriteString("# Metric reference\n\n")
	b.WriteString("Generated from `collector/metrics.go` by `go test ./collector -run TestMetricReferenceIsCurrent -update`; do not edit by hand.\n\n")
	b.WriteString("Metrics marked *kafka_exporter* keep the name, labels and meaning of danielqsj/kafka_exporter, so dashboards and alerts written for it keep working.\n\n")
	b.WriteString("| metric | type | labels | meaning |\n|---|---|---|---|\n")
	for _, m := range allMetrics {
		labels := "—"
		if len(m.labels) > 0 {
			labels = "`" + strings.Join(m.labels, "`, `") + "`"
		}
		help := m.help
		if m.compatible {
			help += " *kafka_exporter*"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.name, m.kind, labels, help)
	}
	b.WriteString(referenceNotes)
	return b.String()
}

const referenceNotes = `
## Notes

- A StateSet has one series per possible value with the value 1 for the current one and 0 for the others, so ` + "`kafka_consumergroup_partition_status{status=\"stalled\"} == 1`" + ` selects stalled partitions.
- Lag series exist only for partitions the group committed: Kafka answers OffsetFetch with -1 for a partition a group never committed, and lagwatch reports no lag there rather than a made-up one. A partition a member is assigned but never committed has status ` + "`no_commit`" + `.
- Groups, topics and partitions that no longer exist disappear with the next poll.
- When polls stop succeeding (Kafka unreachable), the last snapshot is served with ` + "`lagwatch_up 0`" + ` for --kafka.stale-after; after that the consumer-group series are dropped rather than report frozen lag as current.
- When one broker fails a request (a coordinator's OffsetFetch or DescribeGroups, a leader's ListOffsets, a broker's ListGroups), the part of the cluster it serves reads as of its last answer for --kafka.stale-after and is dropped after that; the poll counts the error in ` + "`lagwatch_poll_errors_total{stage}`" + ` and sets ` + "`lagwatch_up 0`" + `. The rest of the snapshot is current.
- Lag, lag seconds, rates, time to drain and headroom are never negative, NaN or infinite: a value that cannot be computed is absent.
`
