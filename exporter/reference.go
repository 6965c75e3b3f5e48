package exporter

import (
	"fmt"
	"strings"
)

// MetricReference renders the metric table as the Markdown of
// docs/metrics.md. A test keeps the file equal to it.
func MetricReference() string {
	var b strings.Builder
	b.WriteString("# Metric reference\n\n")
	b.WriteString("Generated from the metric table in `exporter/metrics.go` by `go test ./exporter -run TestMetricReferenceIsCurrent -update`; do not edit by hand.\n\n")
	b.WriteString("Metrics marked *kafka_exporter* keep the name, labels and meaning of danielqsj/kafka_exporter, so dashboards and alerts written for it keep working. ")
	b.WriteString("The level says what one series describes; `--metric.exclude` drops any family by name, lagwatch's own and the Go and process metrics included.\n\n")
	b.WriteString("| metric | type | level | labels | meaning |\n|---|---|---|---|---|\n")
	for _, f := range Table {
		labels := "—"
		if len(f.Labels) > 0 {
			labels = "`" + strings.Join(f.Labels, "`, `") + "`"
		}
		help := f.Help
		if f.Compatible {
			help += " *kafka_exporter*"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.Type, f.Level, labels, help)
	}
	b.WriteString(referenceNotes)
	return b.String()
}

const referenceNotes = `
## Statuses

` + "`kafka_consumergroup_partition_status`" + ` and ` + "`kafka_consumergroup_status`" + ` carry one of:

| status | meaning |
|---|---|
| ` + "`ok`" + ` | caught up, or the lag is not growing |
| ` + "`lagging`" + ` | the lag trends upward over --lag.window while the offset moves |
| ` + "`stalled`" + ` | the committed offset has not moved, while there was lag, for clearly longer than the partition's own usual interval between commits (1.5 × its learned cadence plus a poll) and at least --lag.stall-after (or the group's --group.stall-after), and the group has members: a poison message or a stuck consumer |
| ` + "`stopped`" + ` | the same with no members: the consumers are gone (memberless committers whose commits move are not stopped) |
| ` + "`inactive`" + ` | offsets nobody consumes: a memberless group lagwatch never saw move whose oldest unconsumed message is older than --group.inactive-after, or a topic no member of an active group subscribes to any more. Listed, never paged |
| ` + "`rewound`" + ` | the committed offset went backwards within the window (an offset reset or replay) |
| ` + "`out_of_range`" + ` | the committed offset is past the log end (topic deleted and re-created, or truncated): the consumer will reset on its next start, skipping or replaying data |
| ` + "`no_commit`" + ` | a member is assigned the partition but the group never committed it |
| ` + "`unknown`" + ` | too little history to decide: a first poll with lag; a history too short to rule out lagging (after lagwatch starts); a partition still past --lag.stall-after before its commit cadence is learned (up to 15 minutes after lagwatch starts); or the last answers read together are older than --kafka.stale-after |

A partition whose committed offset or log offsets are answers reused for a failing broker keeps the status and lag of the last poll that read both: no status is derived from a reused answer.

` + "`kafka_sharegroup_partition_status`" + ` and ` + "`kafka_sharegroup_status`" + ` carry five of them, judged by the share-partition's start offset, its lag and the group's members (there is no committed offset):

| status | meaning for a share group |
|---|---|
| ` + "`ok`" + ` | no lag, or a lag that neither rises nor sits still |
| ` + "`lagging`" + ` | the lag's trend over --lag.window rose by more than --lag.allowed-growth and seven times the lag's swing around it (the consumer groups' rule, with its hysteresis): records arrive faster than the members acknowledge them |
| ` + "`stalled`" + ` | members present, lag at every poll, and for --lag.stall-after neither the start offset moved nor the lag fell: the members release every record, or hold records until their locks time out |
| ` + "`stopped`" + ` | the same with no members: the workers are gone |
| ` + "`unknown`" + ` | no lag known (a member joined but has not fetched yet), a first poll with lag, or too little history to rule out lagging |

## Notes

- **One series per status, not a StateSet.** A status (and a group's state) is written as one series whose label carries the current value, with the value 1; ` + "`kafka_consumergroup_partition_status{status=\"stalled\"} == 1`" + ` selects stalled partitions as before. A full StateSet would write one series per possible status, all but one 0: 8 series per group-partition instead of 1, most of a large cluster's series. The cost is churn: when a status changes, the old series ends (it goes stale in Prometheus at once, as lagwatch no longer writes it) and a new one begins, so a flapping status creates series; lagwatch's statuses have hysteresis for that reason. Queries that need "every status, 0 where not current" use ` + "`count by (status) (...)`" + ` or ` + "`absent`" + `.
- **Families written only when they carry information.** ` + "`kafka_consumergroup_time_to_drain_seconds`" + ` and ` + "`kafka_consumergroup_retention_headroom_seconds`" + ` only for a backlog (the time to drain for lag at least 5 minutes old; the headroom only where retention may delete unconsumed messages: the oldest one half the retention old, or half the log unread under a size limit): the seconds of lag a consumer's commit cadence leaves have neither a drain time nor a retention risk worth a series, and the alerts on them look at backlogs at risk. In steady state a group-partition has 5 series (status, committed offset, lag, lag seconds, consume rate); a backlog adds 2. ` + "`kafka_consumergroup_expired_messages`" + ` only above 0, ` + "`kafka_consumergroup_offset_rewinds_total`" + ` from the first rewind, ` + "`kafka_consumergroup_lag_seconds_lower_bound`" + ` only where the age is a lower bound, ` + "`kafka_topic_dead_letter`" + ` only for dead-letter topics, ` + "`kafka_consumergroup_max_lag_seconds`" + ` only for groups with a lag number.
- **What lag is measured against.** ` + "`kafka_consumergroup_lag`" + ` and ` + "`kafka_consumergroup_lag_seconds`" + ` count from the group's position to the **last stable offset** (ListOffsets with read_committed): the end a read_committed consumer can reach, equal to the log end (high watermark) unless a transaction is open. The position is the committed offset, moved past transaction markers and aborted records when lagwatch read them (only for consumers at rest on a partition that is not moving): a consumer that commits "last record + 1" on a transactional topic stands before a marker no consumer ever receives, and has no lag. ` + "`kafka_topic_partition_current_offset`" + ` stays the high watermark, as in kafka_exporter.
- Lag series exist only for partitions the group committed: Kafka answers OffsetFetch with -1 for a partition a group never committed, and lagwatch reports no lag there rather than a made-up one. A partition a member is assigned but never committed has status ` + "`no_commit`" + `.
- Groups, topics and partitions that no longer exist disappear with the next poll.
- When polls stop succeeding (Kafka unreachable), the last snapshot is served with ` + "`lagwatch_up 0`" + ` for --kafka.stale-after; after that the consumer-group series are dropped rather than report frozen lag as current.
- When one broker fails a request (a coordinator's OffsetFetch or DescribeGroups, a leader's ListOffsets, a broker's ListGroups), the part of the cluster it serves reads as of its last answer for --kafka.stale-after and is dropped after that; the poll counts the error in ` + "`lagwatch_poll_errors_total{stage}`" + ` and sets ` + "`lagwatch_up 0`" + `. The rest of the snapshot is current.
- Lag, lag seconds, rates, time to drain and headroom are never negative, NaN or infinite: a value that cannot be computed is absent.
`
