// Package kafka is the only package that talks to Kafka. It owns the
// connections to the brokers (TLS and SASL included), sends the batched
// admin requests a poll needs — one per broker or partition leader, never
// one per group — and returns what Kafka answered as plain values.
//
// It imports nothing else of lagwatch. It speaks through sarama, and
// through franz-go's kmsg for the requests sarama lacks (share and streams
// groups, kmsg.go): the collector decides what to ask and what the answers
// mean; this package only asks, bounds how many requests are in flight,
// and counts every request by API. Which protocol versions it asks for:
// version.go.
package kafka
