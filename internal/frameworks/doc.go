// Package frameworks is lagwatch's framework corpus: the consumers
// production clusters run most, as real clients on a real Apache Kafka
// broker, watched by the lagwatch binary with its default flags through
// real Prometheus and Alertmanager with the shipped rules and routing.
//
// Members: Kafka Streams apps with a repartition step (streams protocol,
// classic protocol, exactly_once_v2), Kafka Connect standalone workers with
// a FileStreamSink committing every 60 s (the default) and every 4 minutes,
// a cron consumer, an abandoned group, a group that stopped subscribing to
// one of its topics, a consumer of a 1 h-retention topic, and three faults:
// a poison message, a crashed consumer and an abandoned group that comes
// back to life and then dies.
//
// The full run (default settings, 20 minutes of observation) is
// `make page-corpus` (LAGWATCH_PAGE_CORPUS=full); `go test` runs the same
// corpus with every duration scaled down by ten.
package frameworks
