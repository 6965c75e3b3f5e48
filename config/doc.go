// Package config turns what the user wrote into what the pollers need:
// --config.file's clusters (Load, one Cluster each, with a fingerprint so
// that a reload keeps unchanged clusters' pollers), the bounds on that
// input, and the TLS and SASL settings the single-cluster flags and the
// file share (Security, Mechanisms), checked into a kafka.Security. Its
// errors are one line naming the file, the cluster and the field, or the
// flag. It registers no flag: the command does.
package config
