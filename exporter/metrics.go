package exporter

import (
	"slices"
	"time"

	"github.com/lagwatch/lagwatch/collector"
)

// groupStates are the values kafka_consumergroup_state takes: the classic
// protocol's states, then those only the consumer protocol (KIP-848) has.
// Anything else a coordinator answers is written as Unknown.
var groupStates = []string{"Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", "Assigning", "Reconciling", "NotReady", "Unknown"}

// Table is the metric table, in the order families are written and listed
// in docs/metrics.md: Kafka-derived families from the cluster down to one
// member, then lagwatch's own.
var Table = []*Family{
	clusterFamily("kafka_brokers", "Number of brokers in the cluster.", true,
		func(s *collector.Snapshot) value { return always(float64(len(s.Brokers))) }),
	brokerInfoFamily("kafka_broker_info", "Information about a broker; always 1."),
	clusterFamily("kafka_cluster_offline_partitions", "Number of partitions without a leader, over the topics lagwatch polls.", false,
		func(s *collector.Snapshot) value { return always(float64(s.OfflinePartitions)) }),
	clusterFamily("kafka_cluster_under_replicated_partitions", "Number of under-replicated partitions, over the topics lagwatch polls.", false,
		func(s *collector.Snapshot) value { return always(float64(s.UnderReplicatedPartitions)) }),

	topicFamily("kafka_topic_partitions", "Number of partitions of the topic.", true,
		func(t *collector.Topic) value { return always(float64(len(t.Partitions))) }),
	topicFamily("kafka_topic_config_retention_seconds", "The topic's retention.ms in seconds; -1 means no time limit.", false,
		func(t *collector.Topic) value { return value{retentionSeconds(t.Config.RetentionMs), t.Config.Known} }),
	topicFamily("kafka_topic_config_retention_bytes", "The topic's retention.bytes per partition; -1 means no size limit.", false,
		func(t *collector.Topic) value { return value{float64(t.Config.RetentionBytes), t.Config.Known} }),
	topicFamily("kafka_topic_config_min_insync_replicas", "The topic's min.insync.replicas.", false,
		func(t *collector.Topic) value { return value{float64(t.Config.MinInsyncReplicas), t.Config.Known} }),
	topicFamily("kafka_topic_dead_letter", "1 for topics whose name matches --topic.dead-letter-regex; written only for those. Join on it to watch dead-letter topics.", false,
		func(t *collector.Topic) value { return value{1, t.DeadLetter} }),

	partitionFamily("kafka_topic_partition_current_offset", "Log-end offset (high watermark) of the partition: the offset the next message will get.", true,
		func(_ *collector.Topic, p *collector.Partition) value {
			return quantity(float64(p.LogEnd), p.HasOffsets)
		}),
	partitionFamily("kafka_topic_partition_oldest_offset", "Log-start offset of the partition: the oldest offset retention has not deleted.", true,
		func(_ *collector.Topic, p *collector.Partition) value {
			return quantity(float64(p.LogStart), p.HasOffsets)
		}),
	partitionFamily("kafka_topic_partition_last_stable_offset", "Last stable offset of the partition: the first offset of the oldest open transaction, or the log-end offset when none is open. read_committed consumers read no further; a gap to the log end that lasts means a hung transaction. Written only while it is below the log-end offset (kafka_topic_partition_current_offset).", false,
		func(_ *collector.Topic, p *collector.Partition) value {
			return quantity(float64(p.LastStable), p.HasOffsets && p.LastStable < p.LogEnd)
		}),
	partitionFamily("kafka_topic_partition_leader", "Broker id of the partition's leader; -1 when it has none.", true,
		func(_ *collector.Topic, p *collector.Partition) value { return always(float64(p.Leader)) }),
	partitionFamily("kafka_topic_partition_replicas", "Number of replicas of the partition.", true,
		func(_ *collector.Topic, p *collector.Partition) value { return always(float64(len(p.Replicas))) }),
	partitionFamily("kafka_topic_partition_in_sync_replica", "Number of in-sync replicas of the partition.", true,
		func(_ *collector.Topic, p *collector.Partition) value { return always(float64(len(p.ISR))) }),
	partitionFamily("kafka_topic_partition_leader_is_preferred", "1 when the partition's leader is its preferred (first) replica.", true,
		func(_ *collector.Topic, p *collector.Partition) value { return always(oneIf(p.LeaderIsPreferred())) }),
	partitionFamily("kafka_topic_partition_under_replicated_partition", "1 when some replica of the partition is out of the in-sync set.", true,
		func(_ *collector.Topic, p *collector.Partition) value { return always(oneIf(p.UnderReplicated())) }),
	partitionFamily("kafka_topic_partition_under_min_isr", "1 when the partition has fewer in-sync replicas than the topic's min.insync.replicas: producers with acks=all fail. Written only for such partitions.", false,
		func(t *collector.Topic, p *collector.Partition) value { return value{1, p.UnderMinISR(t.Config)} }),
	partitionFamily("kafka_topic_partition_offline", "1 when the partition has no leader and can be neither written nor read. Written only for such partitions.", false,
		func(_ *collector.Topic, p *collector.Partition) value { return value{1, p.Offline()} }),
	partitionFamily("kafka_topic_partition_produce_rate", "Messages per second appended to the partition, measured over --lag.window.", false,
		func(_ *collector.Topic, p *collector.Partition) value {
			return quantity(p.ProduceRate, p.HasProduceRate)
		}),

	groupFamily("kafka_consumergroup_members", "Number of members of the group.", true,
		func(g *collector.Group) value { return value{float64(len(g.Members)), g.Described} }),
	groupFamily("kafka_consumergroup_max_lag_seconds", "Largest lag in seconds over the group's partitions; absent when none has a number.", false,
		func(g *collector.Group) value { return quantity(g.MaxLagSeconds, g.HasMaxLagSeconds) }),
	groupFamily("kafka_consumergroup_idle_members", "Members of the group assigned no partition (more consumers than partitions). Written only when there are some.", false,
		func(g *collector.Group) value {
			return value{float64(g.IdleMembers), g.Described && g.TracksAssignment() && g.IdleMembers > 0}
		}),
	groupStateFamily("kafka_consumergroup_state", "State of the group as its coordinator reports it: one series, value 1, whose state label is the current state.", "state",
		func(g *collector.Group) (string, bool) {
			if !slices.Contains(groupStates, g.State) {
				return "Unknown", g.Described
			}
			return g.State, g.Described
		}),
	groupStateFamily("kafka_consumergroup_status", "Worst partition status of the group: one series, value 1, whose status label is the current status.", "status",
		func(g *collector.Group) (string, bool) { return g.Status.String(), len(g.Partitions) > 0 }),

	groupTopicSumFamily("kafka_consumergroup_current_offset_sum", "Sum of the group's committed offsets over the topic's partitions.",
		func(gp *collector.GroupPartition) float64 { return float64(gp.Committed) }),
	groupTopicSumFamily("kafka_consumergroup_lag_sum", "Sum of the group's lag over the topic's partitions.",
		func(gp *collector.GroupPartition) float64 { return float64(gp.Eval.Lag) }),
	groupTopicFamily("kafka_consumergroup_assigned_partitions", "Partitions of the topic some member of the group is assigned.", false,
		func(gt *collector.GroupTopic) value { return always(float64(gt.Assigned)) }),
	groupTopicFamily("kafka_consumergroup_unassigned_partitions", "Partitions of a topic the group consumes that no member is assigned while the group has members: lag there is worked off by nobody. Written only when there are some.", false,
		func(gt *collector.GroupTopic) value { return value{float64(gt.Unassigned), gt.Unassigned > 0} }),

	groupPartitionStateFamily("kafka_consumergroup_partition_status", "Status of the group on the partition: one series, value 1, whose status label is the current status (see the notes below for each status).", "status",
		func(gp *collector.GroupPartition) string { return gp.Eval.Status.String() }),
	groupPartitionFamily("kafka_consumergroup_current_offset", gauge, "Committed offset of the group on the partition. Partitions the group never committed have no series.", true,
		func(gp *collector.GroupPartition) value { return quantity(float64(gp.Committed), gp.HasLag()) }),
	groupPartitionFamily("kafka_consumergroup_lag", gauge, "Messages the group has not consumed: the last stable offset minus the group's position, never negative; transaction markers and aborted records are not lag. Partitions the group never committed have no series.", true,
		func(gp *collector.GroupPartition) value { return quantity(float64(gp.Eval.Lag), gp.HasLag()) }),
	groupPartitionFamily("kafka_consumergroup_lag_seconds", gauge, "Age of the oldest message the group has not consumed on the partition; 0 when the lag is 0. Where the age is only a lower bound, kafka_consumergroup_lag_seconds_lower_bound says so.", false,
		func(gp *collector.GroupPartition) value { return quantity(gp.Eval.LagSeconds, gp.HasLag()) }),
	groupPartitionFamily("kafka_consumergroup_lag_seconds_lower_bound", gauge, "1 where kafka_consumergroup_lag_seconds is only a lower bound: the oldest unconsumed record is older than the history and its timestamp could not be read. Written only there.", false,
		func(gp *collector.GroupPartition) value {
			return value{1, gp.HasLag() && gp.Eval.Lag > 0 && gp.Eval.LagSecondsLowerBound}
		}),
	groupPartitionFamily("kafka_consumergroup_consume_rate", gauge, "Messages per second by which the group's committed offset advanced over --lag.window.", false,
		func(gp *collector.GroupPartition) value {
			return quantity(gp.Eval.ConsumeRate, gp.HasLag() && gp.Eval.HasConsumeRate)
		}),
	groupPartitionFamily("kafka_consumergroup_time_to_drain_seconds", gauge, "Seconds until the lag reaches 0 at the current consume and produce rates: lag / (consume rate - produce rate). Written only for a backlog (lag at least 5 minutes old) while the group gains on the log.", false,
		func(gp *collector.GroupPartition) value {
			return quantity(gp.Eval.TimeToDrainSeconds, isBacklog(gp) && gp.Eval.HasTimeToDrain)
		}),
	groupPartitionFamily("kafka_consumergroup_retention_headroom_seconds", gauge, "Seconds until retention may delete a message the group has not consumed: retention.ms - lag seconds once the oldest unconsumed message is half the retention old, and under retention.bytes the distance to the log-start offset over the speed at which the log start gains on the group once the unconsumed messages are half the log. Written only for a backlog at risk on topics whose cleanup.policy deletes with a retention.ms or retention.bytes limit: a group that keeps up has none, and so has a topic without a limit whose records its application deletes (Kafka Streams repartition topics).", false,
		func(gp *collector.GroupPartition) value {
			h := gp.Eval.RetentionHeadroomSeconds
			return quantity(h, gp.HasLag() && gp.Eval.Lag > 0 && gp.Eval.HasRetentionHeadroom && (isBacklog(gp) || h < nearRetention.Seconds()))
		}),
	groupPartitionFamily("kafka_consumergroup_expired_messages", gauge, "Messages deleted (by retention, or DeleteRecords) before the group consumed them: max(log-start offset - committed offset, 0), the log start read before the committed offset. Written only when above 0, which means data loss.", false,
		func(gp *collector.GroupPartition) value {
			return quantity(float64(gp.Eval.ExpiredMessages), gp.HasLag() && gp.Eval.HasExpiredMessages && gp.Eval.ExpiredMessages > 0)
		}),
	groupPartitionFamily("kafka_consumergroup_offset_rewinds_total", counter, "Times the group's committed offset went backwards (an offset reset or replay) while lagwatch watched. Written from the first rewind on.", false,
		func(gp *collector.GroupPartition) value {
			return quantity(float64(gp.Eval.Rewinds), gp.HasLag() && gp.Eval.Rewinds > 0)
		}),

	memberFamily("kafka_consumergroup_member_assigned_partitions", "Partitions assigned to one member of the group. Only with --group.member-detail: it is one series per consumer.",
		func(m *collector.Member) float64 { return float64(len(m.Assigned)) }),

	groupInfoFamily("kafka_consumergroup_info", "Every group Kafka lists, of every type, value 1; type is classic, consumer (KIP-848), streams (KIP-1071) or share (KIP-932). Consumer and streams groups have the kafka_consumergroup_* series, share groups the kafka_sharegroup_* series; join on consumergroup to select by type."),
	streamsTasksFamily("kafka_streamsgroup_tasks", "Tasks of a streams group's members by kind (active, standby, warmup), as StreamsGroupDescribe reports them. Its assignment, committed offsets, lag and statuses are the kafka_consumergroup_* series."),
	shareGroupFamily("kafka_sharegroup_members", "Number of members of the share group.",
		func(g *collector.ShareGroup) value { return value{float64(len(g.Members)), g.Described} }),
	shareGroupStateFamily("kafka_sharegroup_state", "State of the share group as its coordinator reports it: one series, value 1, whose state label is the current state.", "state", shareGroupState),
	shareGroupStateFamily("kafka_sharegroup_status", "Worst partition status of the share group: one series, value 1, whose status label is the current status.", "status",
		func(g *collector.ShareGroup) (string, bool) { return g.Status.String(), len(g.Partitions) > 0 }),
	shareGroupFamily("kafka_sharegroup_lag_computed", "1 where the coordinator does not report share-group lag (Kafka before 4.2: DescribeShareGroupOffsets v0) and kafka_sharegroup_lag is computed as log end minus start offset, an upper bound that counts acknowledged records above the start offset too. Written only there.",
		func(g *collector.ShareGroup) value { return value{1, !g.OffsetsAt.IsZero() && !g.LagReported} }),
	shareGroupTopicFamily("kafka_sharegroup_assigned_partitions", "Partitions of the topic at least one member of the share group is assigned (several members may share one).",
		func(gt *collector.GroupTopic) value { return always(float64(gt.Assigned)) }),
	shareLagSumFamily("kafka_sharegroup_lag_sum", "Sum of the share group's lag over the topic's partitions."),
	sharePartitionStatusFamily("kafka_sharegroup_partition_status", "Status of the share group on the partition: one series, value 1, whose status label is the current status: ok; lagging (the lag's trend over --lag.window rose by more than --lag.allowed-growth and seven times its swing); stalled (members present, lag at every poll, and neither the start offset moved nor the lag fell for --lag.stall-after); stopped (the same with no members); unknown (no lag known, or too little history to rule out lagging)."),
	sharePartitionFamily("kafka_sharegroup_start_offset", "Share-partition start offset (SPSO): every record below it is acknowledged or archived. It can stay put while records above it are acknowledged; the lag is the measure of work left.",
		func(sp *collector.SharePartition) value {
			return quantity(float64(sp.StartOffset), sp.StartOffset >= 0)
		}),
	sharePartitionFamily("kafka_sharegroup_lag", "Records of the partition the share group has not yet acknowledged or archived, as Kafka reports it (DescribeShareGroupOffsets v1, KIP-1226, Kafka 4.2+); a redelivered record counts until it is acknowledged or archived after share.delivery.count.limit deliveries. Where kafka_sharegroup_lag_computed is 1, log end minus start offset.",
		func(sp *collector.SharePartition) value { return quantity(float64(sp.Lag), sp.Lag >= 0) }),

	exporterFamily("lagwatch_up", gauge, "1 when the last poll read the core figures without fault: metadata listing at least one topic, group listing, committed offsets and log offsets. 0 as well once no poll has succeeded for --kafka.stale-after, in the scrape that drops the Kafka series, even while a poll is still running. Optional stages (descriptions, configs, record timestamps) report in lagwatch_stage_success; resources Kafka denies in lagwatch_kafka_denied_resources.", nil,
		func(w *textWriter, h *collector.HealthReport) { w.sample(nil, oneIf(h.Up)) }),
	exporterFamily("lagwatch_poll_duration_seconds", histogram, "Wall time of a poll of Kafka.", nil,
		func(w *textWriter, h *collector.HealthReport) { writeHistogram(w, &h.PollDurations) }),
	exporterFamily("lagwatch_poll_errors_total", counter, "Polls in which a stage failed, by stage.", []string{"stage"},
		func(w *textWriter, h *collector.HealthReport) {
			writeByLabel(w, "stage", collector.Stages, h.PollErrors)
		}),
	exporterFamily("lagwatch_last_successful_poll_timestamp_seconds", gauge, "Unix time at which the last poll that produced a snapshot started; absent until one has. Frozen while Kafka cannot be reached.", nil,
		func(w *textWriter, h *collector.HealthReport) {
			if !h.LastSuccess.IsZero() {
				w.sample(nil, float64(h.LastSuccess.UnixNano())/1e9)
			}
		}),
	exporterFamily("lagwatch_kafka_requests_total", counter, "Requests sent to Kafka, by API name.", []string{"api"},
		func(w *textWriter, h *collector.HealthReport) {
			writeByLabel(w, "api", sortedKeys(h.Requests), h.Requests)
		}),
	exporterFamily("lagwatch_polls_overrun_total", counter, "Polls that took longer than --kafka.poll-interval and so delayed the next one.", nil,
		func(w *textWriter, h *collector.HealthReport) { w.sample(nil, float64(h.Overruns)) }),
	exporterFamily("lagwatch_stage_success", gauge, "1 when Kafka answered every request of the stage in the last poll that ran it, 0 when some failed. Resources Kafka denied do not count as failures; see lagwatch_kafka_denied_resources.", []string{"stage"},
		writeStageSuccess),
	exporterFamily("lagwatch_stage_done_seconds", gauge, "Seconds from the start of the last poll that ran the stage until the stage finished; stages run in parallel where they can.", []string{"stage"},
		writeStageDone),
	exporterFamily("lagwatch_kafka_authorized_resources", gauge, "Resources on which Kafka allowed lagwatch's principal the operation in the last poll, among those lagwatch polls (topic Describe: the topics the metadata lists).", []string{"operation", "resource_type"},
		writeAuthorized(true)),
	exporterFamily("lagwatch_kafka_denied_resources", gauge, "Resources on which Kafka denied lagwatch's principal the operation, from the last poll's answers and the topics' authorized operations (KIP-430); what depends on it is left out or marked (see docs/security.md). Not written for topic Describe: Kafka hides those topics.", []string{"operation", "resource_type"},
		writeAuthorized(false)),
	buildInfoFamily(),
	processFamily("lagwatch_shard_info", gauge, "This replica's shard and the number of shards it was told there are; always 1. Consumer groups are split over the shards, shard 0 alone writes brokers, topics and partitions. Replicas of one deployment must agree on shards.", []string{"shard", "shards"},
		writeShardInfo),
	processFamily("lagwatch_config_last_reload_successful", gauge, "1 when the last load of --config.file succeeded, 0 when it failed and the configuration before it is still in use. Only with --config.file.", nil,
		writeConfigReloadSuccessful),
	processFamily("lagwatch_config_last_reload_success_timestamp_seconds", gauge, "Unix time of the last successful load of --config.file. Only with --config.file.", nil,
		writeConfigReloadTimestamp),
}

// A lag younger than backlogAge is what a consumer's commit cadence
// leaves behind (seconds, up to a minute for a once-a-minute committer):
// its time to drain is noise and retention is far, so neither is worth a
// series per group-partition. The alerts on drain time and headroom look
// at backlogs hours old; nearRetention keeps the headroom of a young lag
// on a topic whose retention (by size, or a short retention.ms) is close.
const (
	backlogAge    = 5 * time.Minute
	nearRetention = 24 * time.Hour
)

// isBacklog reports whether the group-partition has lag at least
// backlogAge old.
func isBacklog(gp *collector.GroupPartition) bool {
	return gp.HasLag() && gp.Eval.Lag > 0 && gp.Eval.LagSeconds >= backlogAge.Seconds()
}

// retentionSeconds converts retention.ms to the base unit Prometheus
// wants, keeping Kafka's -1 for "no limit" as it is.
func retentionSeconds(ms int64) float64 {
	if ms < 0 {
		return -1
	}
	return float64(ms) / 1000
}
