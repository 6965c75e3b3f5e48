package alerts

// lagwatch's process-level families (exporter.LevelProcess): the shard a
// replica serves and the state of --config.file. They carry no cluster's
// labels; LagwatchShardsDisagree reads lagwatch_shard_info.
func init() {
	lagwatchMetrics["lagwatch_shard_info"] = []string{"shard", "shards"}
	lagwatchMetrics["lagwatch_config_last_reload_successful"] = nil
	lagwatchMetrics["lagwatch_config_last_reload_success_timestamp_seconds"] = nil
}
