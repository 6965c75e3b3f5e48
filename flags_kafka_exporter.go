package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/kafka"
)

// A kafka_exporter (danielqsj/kafka_exporter) command line runs lagwatch
// unchanged. The flags both have (--kafka.server, --kafka.version,
// --kafka.labels, --tls.*, --sasl.enabled, --sasl.username,
// --sasl.password, --sasl.mechanism, the four filters, --web.listen-address,
// --web.telemetry-path, --log.level, --log.format) are lagwatch's own and
// keep kafka_exporter's meaning. The others are registered here, hidden
// from --help, each handled in one of three ways.
type compatHandling int

const (
	// compatMapped: lagwatch does what kafka_exporter did with the flag.
	compatMapped compatHandling = iota
	// compatIgnored: the flag has no meaning in lagwatch; it is accepted
	// and one warning says why it does nothing.
	compatIgnored
	// compatRefused: ignoring the flag would silently serve something
	// else (plain HTTP for HTTPS); lagwatch exits 2 saying what to use.
	compatRefused
)

// kafkaExporterFlag is one of kafka_exporter's flags lagwatch has under
// no name of its own.
type kafkaExporterFlag struct {
	name       string
	isBool     bool
	cumulative bool // repeatable, as kafka_exporter's Strings flags
	handling   compatHandling
	// lagwatch says what lagwatch does with the flag, for the log line
	// and the migration table of the README.
	lagwatch string
}

// kafkaExporterFlags are kafka_exporter's flags (v1.9.0's main.go) that
// lagwatch does not have under the same name.
var kafkaExporterFlags = []kafkaExporterFlag{
	{name: "verbosity", handling: compatMapped, lagwatch: "0 is --log.level=info, 1 or more --log.level=debug (an explicit --log.level wins)"},
	{name: "log.enable-sarama", isBool: true, handling: compatMapped, lagwatch: "sarama's own log lines, through lagwatch's log with component=sarama"},
	{name: "sasl.handshake", isBool: true, handling: compatMapped, lagwatch: "false sends SASL without Kafka's SaslHandshake request, for non-Kafka SASL proxies (sarama connections; the franz-go ones for share and streams groups always shake hands)"},
	{name: "offset.show-all", isBool: true, handling: compatMapped, lagwatch: "true (its default) is lagwatch's own behaviour: the offsets of every group, with members or without; false keeps, as in kafka_exporter, only the partitions some member is assigned, so a group without members has no lag series and can never read stopped"},
	{name: "refresh.metadata", handling: compatIgnored, lagwatch: "lagwatch reads the metadata on every poll (--kafka.poll-interval)"},
	{name: "concurrent.enable", isBool: true, handling: compatIgnored, lagwatch: "a scrape never queries Kafka: every scrape serves the last background poll"},
	{name: "topic.workers", handling: compatIgnored, lagwatch: "requests to Kafka are batched per broker and bounded by --kafka.max-in-flight-requests"},
	{name: "kafka.allow-auto-topic-creation", isBool: true, handling: compatIgnored, lagwatch: "lagwatch never asks a broker to create a topic"},
	{name: "use.consumelag.zookeeper", isBool: true, handling: compatIgnored, lagwatch: "offsets kept in ZooKeeper (consumers older than Kafka 0.9) are not read; kafka_consumergroupzookeeper_lag_zookeeper is not exported"},
	{name: "zookeeper.server", cumulative: true, handling: compatIgnored, lagwatch: "ZooKeeper is not read (see --use.consumelag.zookeeper)"},
	{name: "sasl.aws-region", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=awsiam"},
	{name: "sasl.oauthbearer-token-url", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=oauthbearer"},
	{name: "sasl.service-name", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "sasl.kerberos-config-path", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "sasl.realm", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "sasl.keytab-path", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "sasl.kerberos-auth-type", handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "sasl.disable-PA-FX-FAST", isBool: true, handling: compatIgnored, lagwatch: "only for --sasl.mechanism=gssapi"},
	{name: "server.tls.enabled", isBool: true, handling: compatRefused, lagwatch: "refused (exit 2) when true: HTTPS comes from --web.config.file, whose content the error gives"},
	{name: "server.tls.mutual-auth-enabled", isBool: true, handling: compatRefused, lagwatch: "as --server.tls.enabled (client_auth_type: RequireAndVerifyClientCert in --web.config.file)"},
	{name: "server.tls.ca-file", handling: compatRefused, lagwatch: "as --server.tls.enabled (client_ca_file in --web.config.file)"},
	{name: "server.tls.cert-file", handling: compatRefused, lagwatch: "as --server.tls.enabled (cert_file in --web.config.file)"},
	{name: "server.tls.key-file", handling: compatRefused, lagwatch: "as --server.tls.enabled (key_file in --web.config.file)"},
}

// saslPasswordEnvKafkaExporter is where kafka_exporter reads the SASL
// password when --sasl.password is empty.
const saslPasswordEnvKafkaExporter = "SASL_USER_PASSWORD"

// compatValue holds a kafka_exporter flag's value as given.
type compatValue struct {
	flag   kafkaExporterFlag
	values []string
}

func (v *compatValue) Set(s string) error {
	switch {
	case v.flag.isBool:
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("--%s %q is not true or false", v.flag.name, s)
		}
	case v.flag.name == "verbosity" || v.flag.name == "topic.workers":
		if _, err := strconv.Atoi(s); err != nil {
			return fmt.Errorf("--%s %q is not a whole number", v.flag.name, s)
		}
	}
	v.values = append(v.values, s)
	return nil
}

func (v *compatValue) String() string     { return strings.Join(v.values, ",") }
func (v *compatValue) IsBoolFlag() bool   { return v.flag.isBool }
func (v *compatValue) IsCumulative() bool { return v.flag.cumulative }

// set reports whether the flag was given (kingpin calls Set only for
// flags on the command line, as these have no default).
func (v *compatValue) set() bool { return len(v.values) > 0 }

// last is the flag's value, "" when not given.
func (v *compatValue) last() string {
	if !v.set() {
		return ""
	}
	return v.values[len(v.values)-1]
}

// isTrue is a bool flag's value; false when not given.
func (v *compatValue) isTrue() bool {
	b, _ := strconv.ParseBool(v.last())
	return b
}

// kafkaExporterCompat are the values of kafka_exporter's flags.
type kafkaExporterCompat struct {
	values map[string]*compatValue
	// restoreSaramaLogger puts back sarama's logger as it was before
	// --log.enable-sarama; called by undo.
	restoreSaramaLogger func()
}

// addKafkaExporterFlags registers kafka_exporter's flags, hidden from
// --help. A flag lagwatch registered already (as another part of lagwatch
// may come to give one of them a meaning) is left to it.
func addKafkaExporterFlags(app *kingpin.Application) *kafkaExporterCompat {
	c := &kafkaExporterCompat{values: map[string]*compatValue{}}
	for _, kf := range kafkaExporterFlags {
		if app.GetFlag(kf.name) != nil {
			continue
		}
		v := &compatValue{flag: kf}
		c.values[kf.name] = v
		app.Flag(kf.name, "kafka_exporter's flag: "+kf.lagwatch+".").Hidden().SetValue(v)
	}
	return c
}

func (c *kafkaExporterCompat) value(name string) *compatValue {
	if v, ok := c.values[name]; ok {
		return v
	}
	return &compatValue{}
}

// applyBeforeLogging gives the flags that decide how lagwatch logs and
// authenticates kafka_exporter's meaning: --verbosity, its case-blind
// --sasl.mechanism and its $SASL_USER_PASSWORD. It refuses --server.tls.*.
func (c *kafkaExporterCompat) applyBeforeLogging(args []string, level *promslog.Level, security *config.Security) error {
	if err := c.refuseServerTLS(); err != nil {
		return err
	}
	if v := c.value("verbosity"); v.set() && !givenOnCommandLine(args, "log.level") {
		if n, _ := strconv.Atoi(v.last()); n >= 1 {
			if err := level.Set("debug"); err != nil {
				return err
			}
		}
	}
	if security != nil {
		security.Mechanism = strings.ToLower(security.Mechanism)
		if security.SASLEnabled && security.Password == "" && security.PasswordFile == "" {
			security.Password = os.Getenv(saslPasswordEnvKafkaExporter)
		}
	}
	return nil
}

// applyToConfig maps the flags that change how lagwatch talks to Kafka,
// and logs one warning per flag that does nothing here.
func (c *kafkaExporterCompat) applyToConfig(configFile string, cfg *collector.Config, logger *slog.Logger) error {
	if v := c.value("sasl.handshake"); v.set() && !v.isTrue() {
		if configFile != "" {
			return fmt.Errorf("--sasl.handshake is set together with --config.file, which gives each cluster's settings")
		}
		if cfg.Kafka != nil {
			cfg.Kafka.SkipSASLHandshake()
		}
	}
	if v := c.value("offset.show-all"); v.set() && !v.isTrue() {
		cfg.AssignedPartitionsOnly = true
	}
	if c.value("log.enable-sarama").isTrue() {
		// sarama logs through one package-level logger.
		c.restoreSaramaLogger = kafka.LogSaramaTo(logger)
	}
	for _, kf := range kafkaExporterFlags {
		v, ok := c.values[kf.name]
		if !ok || !v.set() || v.last() == "" {
			continue
		}
		ignored := kf.handling == compatIgnored ||
			(kf.handling == compatRefused && !c.value("server.tls.enabled").isTrue())
		if ignored {
			logger.Warn("a flag of kafka_exporter that does nothing in lagwatch", "flag", "--"+kf.name, "value", v.String(), "why", kf.lagwatch)
		}
	}
	return nil
}

// undo puts back what applyToConfig changed beyond the configuration:
// sarama's logger.
func (c *kafkaExporterCompat) undo() {
	if c.restoreSaramaLogger != nil {
		c.restoreSaramaLogger()
	}
}

// refuseServerTLS refuses kafka_exporter's HTTPS flags, which without
// --server.tls.enabled did nothing there either, with the one-line
// --web.config.file that serves the same HTTPS.
func (c *kafkaExporterCompat) refuseServerTLS() error {
	if !c.value("server.tls.enabled").isTrue() {
		return nil
	}
	return fmt.Errorf("--server.tls.* is kafka_exporter's HTTPS; lagwatch serves HTTPS from --web.config.file: write %s to a file and pass --web.config.file=<that file> instead", webConfigForServerTLS(
		c.value("server.tls.cert-file").last(), c.value("server.tls.key-file").last(),
		c.value("server.tls.ca-file").last(), c.value("server.tls.mutual-auth-enabled").isTrue()))
}

// webConfigForServerTLS is the exporter-toolkit web configuration, in
// one line of YAML, that serves what kafka_exporter's --server.tls.*
// flags did: TLS 1.2 or later with the certificate and key, and with
// mutual authentication, client certificates signed by the CA required.
func webConfigForServerTLS(cert, key, ca string, mutual bool) string {
	orPlaceholder := func(path, placeholder string) string {
		if path == "" {
			return placeholder
		}
		return strconv.Quote(path)
	}
	fields := []string{
		"cert_file: " + orPlaceholder(cert, "<certificate file>"),
		"key_file: " + orPlaceholder(key, "<key file>"),
	}
	if mutual {
		fields = append(fields, "client_auth_type: RequireAndVerifyClientCert", "client_ca_file: "+orPlaceholder(ca, "<CA file>"))
	}
	return "tls_server_config: {" + strings.Join(fields, ", ") + "}"
}

// givenOnCommandLine reports whether the flag --name (or --no-name) is
// among args.
func givenOnCommandLine(args []string, name string) bool {
	return slices.ContainsFunc(args, func(arg string) bool {
		n, _ := flagName(arg)
		return n == name || n == "no-"+name
	})
}

// flagName is the name of the long flag arg ("--name" or "--name=value"),
// and whether arg is one.
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "--") || arg == "--" {
		return "", false
	}
	name, _, _ := strings.Cut(arg[2:], "=")
	return name, true
}

// unknownFlags names every long flag of args that lagwatch does not
// know, where kingpin stops at the first; each with the nearest known
// name when one is close.
func unknownFlags(app *kingpin.Application, args []string) []string {
	var unknown []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		name, ok := flagName(arg)
		if !ok {
			continue
		}
		flag := app.GetFlag(name)
		if flag == nil && strings.HasPrefix(name, "no-") {
			if f := app.GetFlag(strings.TrimPrefix(name, "no-")); f != nil && f.Model().IsBoolFlag() {
				flag = f
			}
		}
		if flag == nil {
			unknown = append(unknown, "--"+name+didYouMean(app, name))
			continue
		}
		if !strings.Contains(arg, "=") && !flag.Model().IsBoolFlag() {
			i++ // the next argument is the flag's value
		}
	}
	return unknown
}

// boolFlagsWithValues rewrites --name=true and --name=false of a boolean
// flag as --name and --no-name, the only forms kingpin parses: kafka_exporter's
// chart renders --sasl.handshake=false, and scripts write --flag=true.
func boolFlagsWithValues(app *kingpin.Application, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...), nil
		}
		name, ok := flagName(arg)
		_, value, hasValue := strings.Cut(arg, "=")
		if flag := app.GetFlag(name); ok && hasValue && flag != nil && flag.Model().IsBoolFlag() {
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("--%s=%s: the value of --%s is true or false", name, value, name)
			}
			if b {
				arg = "--" + name
			} else {
				arg = "--no-" + name
			}
		}
		out = append(out, arg)
	}
	return out, nil
}

// didYouMean suggests the known flag closest to name, if any is within
// two edits.
func didYouMean(app *kingpin.Application, name string) string {
	best, bestDistance := "", 3
	for _, f := range app.Model().Flags {
		if f.Hidden {
			continue
		}
		if d := editDistance(name, f.Name); d < bestDistance {
			best, bestDistance = f.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean --" + best + "?)"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
