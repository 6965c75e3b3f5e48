package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
)

func TestBadFlagValuesExitWithCode2AndOneClearLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // a fragment the error line must contain
	}{
		{"bad group regex", []string{"--group.filter=("}, "--group.filter"},
		{"bad topic regex", []string{"--topic.exclude=[a-"}, "--topic.exclude"},
		{"bad dead-letter regex", []string{"--topic.dead-letter-regex=*x"}, "--topic.dead-letter-regex"},
		{"server without port", []string{"--kafka.server=localhost"}, "--kafka.server"},
		{"unparsable duration", []string{"--kafka.poll-interval=soon"}, "poll-interval"},
		{"poll interval of zero", []string{"--kafka.poll-interval=0s"}, "--kafka.poll-interval"},
		{"window shorter than two polls", []string{"--kafka.poll-interval=1m", "--lag.window=1m"}, "--lag.window"},
		{"group stall-after without a duration", []string{"--group.stall-after=sink-.*"}, "--group.stall-after"},
		{"group stall-after with a bad duration", []string{"--group.stall-after=sink-.*=soon"}, "--group.stall-after"},
		{"group stall-after with a bad regex", []string{"--group.stall-after=(=5m"}, "--group.stall-after"},
		{"group stall-after shorter than two polls", []string{"--group.stall-after=sink-.*=20s"}, "--group.stall-after"},
		{"inactive-after under a minute", []string{"--group.inactive-after=30s"}, "--group.inactive-after"},
		{"unparsable inactive-after", []string{"--group.inactive-after=a-day"}, "group.inactive-after"},
		{"unknown kafka version", []string{"--kafka.version=9.9.9"}, "--kafka.version"},
		{"malformed kafka version", []string{"--kafka.version=banana"}, "--kafka.version"},
		{"listen address without port", []string{"--web.listen-address=localhost"}, "--web.listen-address"},
		{"missing web config file", []string{"--web.config.file=/nonexistent/web.yml"}, "--web.config.file"},
		{"unknown log level", []string{"--log.level=loud"}, "log.level"},
		{"unknown flag", []string{"--kafka.servr=x:1"}, "kafka.servr"},
		{"no in-flight requests", []string{"--kafka.max-in-flight-requests=0"}, "--kafka.max-in-flight-requests"},
		{"request timeout of zero", []string{"--kafka.request-timeout=0s"}, "--kafka.request-timeout"},
		{"unknown lag granularity", []string{"--lag.granularity=group"}, "lag.granularity"},
		{"bad metric exclude regex", []string{"--metric.exclude=("}, "--metric.exclude"},
		{"telemetry path without slash", []string{"--web.telemetry-path=metrics"}, "--web.telemetry-path"},
		{"kafka label without value", []string{"--kafka.labels=cluster"}, "--kafka.labels"},
		{"kafka label clashing with a metric's", []string{"--kafka.labels=cluster=a,topic=b"}, "--kafka.labels"},
		{"kafka label name invalid", []string{"--kafka.labels=prod-eu=1"}, "--kafka.labels"},
		{"no shards", []string{"--shard.count=0"}, "--shard.count"},
		{"shard index past the count", []string{"--shard.count=3", "--shard.index=3"}, "--shard.index"},
		{"shard index without shards", []string{"--shard.index=1"}, "--shard.index"},
		{"shards without index or pod ordinal", []string{"--shard.count=3", "--shard.pod-name=lagwatch"}, "--shard.index"},
		{"pod ordinal past the count", []string{"--shard.count=2", "--shard.pod-name=lagwatch-5"}, "--shard.pod-name"},
		{"config file with a single-cluster flag", []string{"--config.file=testdata/none.yml", "--kafka.server=a:1"}, "--kafka.server is set together with --config.file"},
		{"config file with tls flag", []string{"--config.file=testdata/none.yml", "--no-tls.enabled"}, "--tls.enabled is set together with --config.file"},
		{"config file missing", []string{"--config.file=/nonexistent/lagwatch.yml"}, `--config.file "/nonexistent/lagwatch.yml": no such file`},
		{"config file in the demo", []string{"demo", "--config.file=/nonexistent/lagwatch.yml"}, "--config.file"},
		{"server port out of range", []string{"--kafka.server=127.0.0.1:99999"}, `--kafka.server "127.0.0.1:99999" port "99999" is not a number from 1 to 65535`},
		{"server port zero", []string{"--kafka.server=127.0.0.1:0"}, "--kafka.server"},
		{"server port not a number", []string{"--kafka.server=kafka:http"}, "--kafka.server"},
		{"server without host", []string{"--kafka.server=:9092"}, "--kafka.server"},
		{"too many servers", []string{"--kafka.server=" + strings.Repeat("k:1,", config.MaxServersPerCluster) + "k:1"}, "--kafka.server lists 101 servers"},
		{"listen port out of range", []string{"--web.listen-address=:70000"}, "--web.listen-address"},
		{"probe port out of range", []string{"--web.probe-address=:70000"}, "--web.probe-address"},
		{"probe address without port", []string{"--web.probe-address=localhost"}, "--web.probe-address"},
		{"negative max requests", []string{"--web.max-requests=-1"}, "--web.max-requests must not be negative"},
		{"telemetry path clashing with health", []string{"--web.telemetry-path=/-/healthy"}, "--web.telemetry-path"},
		{"telemetry path clashing with readiness", []string{"--web.telemetry-path=/-/ready"}, "--web.telemetry-path"},
		{"telemetry path clashing with pprof", []string{"--web.enable-pprof", "--web.telemetry-path=/debug/pprof/"}, "--web.telemetry-path"},
		{"telemetry path with a brace", []string{"--web.telemetry-path=/metrics{"}, "--web.telemetry-path"},
		{"telemetry path with a space", []string{"--web.telemetry-path=/a b"}, "--web.telemetry-path"},
		{"telemetry path as a wildcard", []string{"--web.telemetry-path=/{x}"}, "--web.telemetry-path"},
		{"telemetry path not clean", []string{"--web.telemetry-path=/a//b"}, "--web.telemetry-path"},
		{"kafka label value too long", []string{"--kafka.labels=cluster=" + strings.Repeat("x", 1025)}, "longer than 1024"},
		{"kafka_exporter's verbosity not a number", []string{"--verbosity=loud"}, "--verbosity"},
		{"boolean flag neither true nor false", []string{"--sasl.handshake=maybe"}, "--sasl.handshake"},
		{"kafka_exporter's HTTPS flags", []string{"--server.tls.enabled", "--server.tls.cert-file=c.pem", "--server.tls.key-file=k.pem"}, "--web.config.file"},
		{"kafka_exporter's sasl.handshake with a config file", []string{"--config.file=testdata/none.yml", "--sasl.handshake=false"}, "--sasl.handshake"},
		{"several unknown flags", []string{"--foo", "--bar=1"}, "unknown flag --foo, --bar"},
		{"demo writing to a cluster without being told it may", []string{"demo", "--kafka.server=kafka:9092"}, "--demo.write-to-cluster"},
		{"demo table flag neither true nor false", []string{"demo", "--demo.status-table=sometimes"}, "--demo.status-table"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), stderr.String())
			}
			if !strings.Contains(lines[0], tc.want) || !strings.HasPrefix(lines[0], "lagwatch: error:") {
				t.Fatalf("stderr %q does not name %q", lines[0], tc.want)
			}
		})
	}
}

func TestShardIndexIsTheTrailingOrdinalOfThePodName(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want collector.Shard
	}{
		{[]string{"--shard.count=3"}, "lagwatch-2", collector.Shard{Index: 2, Count: 3}},
		{[]string{"--shard.count=3", "--shard.pod-name=lagwatch-shard-1"}, "lagwatch-2", collector.Shard{Index: 1, Count: 3}},
		{[]string{"--shard.count=3", "--shard.index=0"}, "lagwatch-2", collector.Shard{Index: 0, Count: 3}},
		{nil, "lagwatch-7", collector.Shard{Index: 0, Count: 1}},
	} {
		t.Setenv("POD_NAME", c.env)
		app, f := newApp(io.Discard, io.Discard)
		if _, err := app.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.pollerConfig(false, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%v with POD_NAME=%s: %v", c.args, c.env, err)
		}
		if cfg.Filters.Shard != c.want || f.exporterOpts.Shard != c.want {
			t.Errorf("%v with POD_NAME=%s: shard %+v (exporter %+v), want %+v", c.args, c.env, cfg.Filters.Shard, f.exporterOpts.Shard, c.want)
		}
	}
}

func TestVersionFlagPrintsVersionAndExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if !strings.Contains(stdout.String()+stderr.String(), "lagwatch, version") {
		t.Fatalf("no version printed: %q %q", stdout.String(), stderr.String())
	}
}

func FuzzFlagParsingNeverPanics(f *testing.F) {
	for _, seed := range []string{"--group.filter=(", "--kafka.server=a:1", "--lag.window=1h", "--kafka.version=3.0.0", "--topic.filter=.*"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		// Only flags that are parsed and validated; a valid set would start
		// the exporter, which this fuzz target must not.
		if !strings.HasPrefix(arg, "--") {
			arg = "--group.filter=" + arg
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var stdout, stderr bytes.Buffer
		run(ctx, []string{arg, "--web.listen-address=127.0.0.1:0", "--kafka.server=127.0.0.1:1"}, &stdout, &stderr)
	})
}
