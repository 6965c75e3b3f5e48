// Package stack tests the demo stack (docker-compose.yml, Dockerfile and
// deploy/) without a Docker engine: the compose file is loaded with the
// compose-spec loader that Docker Compose itself uses, and the
// Prometheus, Alertmanager and Grafana configuration is checked against it
// and with Debian's promtool and amtool.
package stack
