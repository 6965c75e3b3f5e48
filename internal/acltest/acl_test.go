// Package acltest runs lagwatch against one real Kafka broker with ACLs:
// StandardAuthorizer, allow.everyone.if.no.acl.found=false, a SCRAM
// listener for the monitor principals, and the PLAINTEXT listener's
// ANONYMOUS user as super user for setting up topics, groups and ACLs.
// Each test has its own principal and its own topic and group prefix, so
// the tests share the broker without seeing each other's resources.
package acltest

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/scrapetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

const (
	saslListener = "SASL_PLAINTEXT"
	password     = "monitor-Pa55-3e1f"
)

// principals are the monitor users, one per test.
var principals = []string{"none", "groupsonly", "noread", "noconfigs", "full", "prefixed", "filtered", "kip848", "groupsight", "nogroups", "readonly", "hiddentopic"}

var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	users := map[string]string{}
	for _, p := range principals {
		users[p] = password
	}
	l := "listener.name." + strings.ToLower(saslListener) + "."
	opts := kafkatest.Options{
		ExtraListeners: map[string]string{saslListener: "SASL_PLAINTEXT"},
		ScramUsers:     users,
		ServerProperties: map[string]string{
			"authorizer.class.name":              "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"allow.everyone.if.no.acl.found":     "false",
			"super.users":                        "User:ANONYMOUS",
			"sasl.enabled.mechanisms":            "SCRAM-SHA-256",
			l + "sasl.enabled.mechanisms":        "SCRAM-SHA-256",
			l + "scram-sha-256.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		},
	}
	os.Exit(kafkatest.Main(m, opts, &broker))
}

// grant is one ACL for a test's principal.
type grant struct {
	resource  sarama.AclResourceType
	name      string // a prefix, or a literal with literal set
	literal   bool
	operation sarama.AclOperation
}

func aclsOf(principal string, grants []grant) []*sarama.ResourceAcls {
	var out []*sarama.ResourceAcls
	for _, g := range grants {
		pattern := sarama.AclPatternPrefixed
		if g.literal {
			pattern = sarama.AclPatternLiteral
		}
		out = append(out, &sarama.ResourceAcls{
			Resource: sarama.Resource{ResourceType: g.resource, ResourceName: g.name, ResourcePatternType: pattern},
			Acls:     []*sarama.Acl{{Principal: "User:" + principal, Host: "*", Operation: g.operation, PermissionType: sarama.AclPermissionAllow}},
		})
	}
	return out
}

// setUp creates the test's topic prefix-orders (3 partitions, 20 records
// each) and group prefix-app at offset 5 on each, as the super user, and
// grants the principal what grants name.
func setUp(t *testing.T, principal, prefix string, grants []grant) {
	t.Helper()
	addr := kafkatest.Require(t, broker)
	topic := prefix + "orders"
	kafkatest.CreateTopic(t, addr, topic, 3, nil)
	for p := range int32(3) {
		kafkatest.Produce(t, addr, topic, p, 20)
	}
	kafkatest.CommitOffsets(t, addr, prefix+"app", map[string]map[int32]int64{topic: {0: 5, 1: 5, 2: 5}})
	if len(grants) > 0 {
		admin := kafkatest.NewAdmin(t, addr)
		if err := admin.CreateACLs(aclsOf(principal, grants)); err != nil {
			t.Fatalf("create ACLs: %v", err)
		}
	}
}

func newLagwatch(t *testing.T, principal string, filters collector.Filters) (*collector.Poller, *exporter.Exporter, *lockedBuffer) {
	t.Helper()
	conf := kafka.NewSaramaConfig()
	conf.Net.DialTimeout = waitfor.Scaled(5 * time.Second)
	conf.Net.ReadTimeout = waitfor.Scaled(10 * time.Second)
	if err := (kafka.Security{SASL: &kafka.SASL{Mechanism: "scram-sha256", User: principal, Password: password}}).Apply(conf); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	p, err := collector.NewPoller(collector.Config{
		Servers:        []string{broker.ListenerAddr(saslListener)},
		Kafka:          kafka.WrapSarama(conf),
		Filters:        filters,
		PollInterval:   2 * time.Second,
		RequestTimeout: waitfor.Scaled(time.Second),
		Lag:            lagcalc.Settings{Window: time.Minute},
		StaleAfter:     time.Hour,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, exporter.New(p, exporter.Options{}), logs
}

func scrape(t *testing.T, e *exporter.Exporter) scrapetest.Series {
	t.Helper()
	return scrapetest.Scrape(t, exporter.Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
}

// pollOnce polls and returns the poll's error.
func pollOnce(t *testing.T, p *collector.Poller) error {
	t.Helper()
	return p.PollOnce(t.Context())
}

// readAPIs are the requests lagwatch may send: it never writes, commits,
// joins a group or creates a topic.
var readAPIs = []string{"ApiVersions", "Metadata", "DescribeAcls", "ListGroups", "DescribeGroups", "ConsumerGroupDescribe", "OffsetFetch", "ListOffsets", "DescribeConfigs", "Fetch", "ShareGroupDescribe", "DescribeShareGroupOffsets", "StreamsGroupDescribe"}

func checkOnlyReads(t *testing.T, p *collector.Poller) {
	t.Helper()
	for api := range p.Health().Requests {
		if !slices.Contains(readAPIs, api) {
			t.Errorf("lagwatch sent %s, which is not a read", api)
		}
	}
}

// checkOneWarning checks that the log has exactly one warning naming the
// operation and resource type, with the kafka-acls grant, and returns it.
func checkOneWarning(t *testing.T, logs *lockedBuffer, operation, resourceType string) string {
	t.Helper()
	var found []string
	for _, l := range logs.lines("WARN") {
		if strings.Contains(l, "operation="+operation) && strings.Contains(l, "resource_type="+resourceType) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one warning about %s on %s, got %d; log:\n%s", operation, resourceType, len(found), logs.String())
	}
	if !strings.Contains(found[0], "kafka-acls") || !strings.Contains(found[0], "--operation "+operation) || len(found[0]) > 1000 {
		t.Errorf("warning lacks the grant or is unbounded: %s", found[0])
	}
	return found[0]
}

// checkNoKafkaSeries checks that nothing about Kafka is exported as if
// known: no kafka_* series at all.
func checkNoKafkaSeries(t *testing.T, s scrapetest.Series) {
	t.Helper()
	for k := range s {
		if strings.HasPrefix(k, "kafka_") {
			t.Errorf("exported %s while lagwatch sees nothing", k)
		}
	}
}

// Without any ACL, Kafka answers Metadata with no topic and ListGroups
// with no group, silently. lagwatch is not up, not ready, says which grant
// is missing, exports no Kafka figure (not even 0 offline partitions over
// nothing), and sends no write.
func TestNoACLIsNeitherUpNorReady(t *testing.T) {
	setUp(t, "none", "none-", nil)
	p, e, logs := newLagwatch(t, "none", collector.Filters{})
	for range 3 {
		if err := pollOnce(t, p); err == nil {
			t.Fatal("a poll that sees nothing reported no error")
		}
	}
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 0 || p.Ready() {
		t.Errorf("up=%v ready=%v, want 0 and false", s.Value(t, "lagwatch_up"), p.Ready())
	}
	if s.Value(t, "lagwatch_stage_success", "stage", "metadata") != 0 {
		t.Errorf("metadata stage reports success")
	}
	checkNoKafkaSeries(t, s)
	w := checkOneWarning(t, logs, "Describe", "topic")
	if !strings.Contains(w, "User:none") {
		t.Errorf("warning does not name the principal: %s", w)
	}
	checkOnlyReads(t, p)
}

// Group Describe alone shows no topic either: still blind.
func TestGroupDescribeOnlyIsNotUp(t *testing.T) {
	setUp(t, "groupsonly", "groupsonly-", []grant{{sarama.AclResourceGroup, "groupsonly-", false, sarama.AclOperationDescribe}})
	p, e, logs := newLagwatch(t, "groupsonly", collector.Filters{})
	_ = pollOnce(t, p)
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 0 || p.Ready() {
		t.Errorf("up=%v ready=%v with no topic visible, want 0 and false", s.Value(t, "lagwatch_up"), p.Ready())
	}
	checkNoKafkaSeries(t, s)
	checkOneWarning(t, logs, "Describe", "topic")
	checkOnlyReads(t, p)
}

// Topic Describe and DescribeConfigs and Group Describe, without Topic
// Read: the core figures are complete (up, ready), the record dating is
// not attempted at all (no Fetch, so no DENIED line per poll in the
// broker's authorizer log), lag seconds are marked as lower bounds, Kafka's
// denial is counted and logged once.
func TestTopicDescribeWithoutReadMarksLagSecondsAsLowerBounds(t *testing.T) {
	setUp(t, "noread", "noread-", []grant{
		{sarama.AclResourceTopic, "noread-", false, sarama.AclOperationDescribe},
		{sarama.AclResourceTopic, "noread-", false, sarama.AclOperationDescribeConfigs},
		{sarama.AclResourceGroup, "noread-", false, sarama.AclOperationDescribe},
	})
	p, e, logs := newLagwatch(t, "noread", collector.Filters{})
	waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
		if err := pollOnce(t, p); err != nil {
			return err
		}
		if !p.Health().Up {
			return fmt.Errorf("not up")
		}
		return nil
	})
	for range 2 {
		if err := pollOnce(t, p); err != nil {
			t.Fatal(err)
		}
	}
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 1 || !p.Ready() {
		t.Errorf("up=%v ready=%v, want 1 and true", s.Value(t, "lagwatch_up"), p.Ready())
	}
	if n := p.Health().Requests["Fetch"]; n != 0 {
		t.Errorf("sent %d Fetch requests for topics Kafka says lagwatch may not Read", n)
	}
	if got := s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Read", "resource_type", "topic"); got != 1 {
		t.Errorf("denied Read on %v topics, want 1", got)
	}
	for part := range 3 {
		labels := []string{"consumergroup", "noread-app", "partition", fmt.Sprint(part), "topic", "noread-orders"}
		if s.Value(t, "kafka_consumergroup_lag", labels...) != 15 {
			t.Errorf("partition %d: lag %v, want 15", part, s.Value(t, "kafka_consumergroup_lag", labels...))
		}
		if s.Has("kafka_consumergroup_lag_seconds", labels...) && !s.Has("kafka_consumergroup_lag_seconds_lower_bound", labels...) {
			t.Errorf("partition %d: lag seconds exported as exact without Read", part)
		}
	}
	checkOneWarning(t, logs, "Read", "topic")
	checkOnlyReads(t, p)
}

// Without DescribeConfigs the configs are not asked again every poll, the
// config series are absent rather than guessed, and lagwatch is up.
func TestWithoutDescribeConfigsConfigsAreAbsentAndLagwatchIsUp(t *testing.T) {
	setUp(t, "noconfigs", "noconfigs-", []grant{
		{sarama.AclResourceTopic, "noconfigs-", false, sarama.AclOperationDescribe},
		{sarama.AclResourceTopic, "noconfigs-", false, sarama.AclOperationRead},
		{sarama.AclResourceGroup, "noconfigs-", false, sarama.AclOperationDescribe},
	})
	p, e, logs := newLagwatch(t, "noconfigs", collector.Filters{})
	waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
		if err := pollOnce(t, p); err != nil || !p.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		return nil
	})
	before := p.Health().Requests["DescribeConfigs"]
	for range 2 {
		if err := pollOnce(t, p); err != nil {
			t.Fatal(err)
		}
	}
	if after := p.Health().Requests["DescribeConfigs"]; after != before {
		t.Errorf("DescribeConfigs asked again while denied: %d → %d", before, after)
	}
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 1 {
		t.Errorf("not up")
	}
	if s.Has("kafka_topic_config_retention_seconds", "topic", "noconfigs-orders") {
		t.Errorf("retention exported without DescribeConfigs")
	}
	if got := s.Value(t, "lagwatch_kafka_denied_resources", "operation", "DescribeConfigs", "resource_type", "topic"); got != 1 {
		t.Errorf("denied DescribeConfigs on %v topics, want 1", got)
	}
	checkOneWarning(t, logs, "DescribeConfigs", "topic")
	checkOnlyReads(t, p)
}

// The least privilege docs/security.md names (Topic Describe, Read and
// DescribeConfigs, Group Describe, no Cluster ACL) gives the same series as
// the super user, filtered to the same topics and groups; then revoking
// Topic Describe makes lagwatch blind: not up, and the last snapshot is
// served until it goes stale rather than vanishing within a poll.
func TestFullACLsGiveTheSuperUsersSeriesAndARevokedACLIsNotHealthy(t *testing.T) {
	grants := []grant{
		{sarama.AclResourceTopic, "full-", false, sarama.AclOperationDescribe},
		{sarama.AclResourceTopic, "full-", false, sarama.AclOperationRead},
		{sarama.AclResourceTopic, "full-", false, sarama.AclOperationDescribeConfigs},
		{sarama.AclResourceGroup, "full-", false, sarama.AclOperationDescribe},
	}
	setUp(t, "full", "full-", grants)
	filters := collector.Filters{TopicInclude: anchored(t, "full-.*"), GroupInclude: anchored(t, "full-.*")}
	monitor, monitorExp, logs := newLagwatch(t, "full", filters)
	waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
		if err := pollOnce(t, monitor); err != nil || !monitor.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		return nil
	})
	super := superPoller(t, filters)
	for range 2 {
		if err := pollOnce(t, monitor); err != nil {
			t.Fatal(err)
		}
		if err := super.poller.PollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got, want := kafkaSeries(scrape(t, monitorExp)), kafkaSeries(scrape(t, super.exp))
	if !slices.Equal(got, want) {
		t.Errorf("least-privilege series differ from the super user's:\n only least privilege: %v\n only super user: %v", minus(got, want), minus(want, got))
	}
	if len(got) == 0 {
		t.Fatal("no series at all")
	}
	if w := logs.lines("WARN"); len(w) != 0 {
		t.Errorf("warnings with every ACL lagwatch needs:\n%s", strings.Join(w, "\n"))
	}

	// Revoke the topic ACLs while polling (Read implies Describe, so
	// revoking Describe alone would change nothing).
	admin := kafkatest.NewAdmin(t, kafkatest.Require(t, broker))
	if _, err := admin.DeleteACL(sarama.AclFilter{
		ResourceType: sarama.AclResourceTopic, ResourceName: ptr("full-"), ResourcePatternTypeFilter: sarama.AclPatternPrefixed,
		Principal: ptr("User:full"), Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAllow,
	}, false); err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, 30*time.Second, "the revocation applies", func() error {
		_ = pollOnce(t, monitor)
		if monitor.Health().Up {
			return fmt.Errorf("still up")
		}
		return nil
	})
	s := scrape(t, monitorExp)
	if s.Value(t, "lagwatch_up") != 0 {
		t.Errorf("up after Topic Describe was revoked")
	}
	if !s.Has("kafka_consumergroup_lag", "consumergroup", "full-app", "partition", "0", "topic", "full-orders") {
		t.Errorf("the last snapshot vanished at once instead of going stale after --kafka.stale-after")
	}
	checkOneWarning(t, logs, "Describe", "topic")
	checkOnlyReads(t, monitor)
}

type pollerAndExporter struct {
	poller *collector.Poller
	exp    *exporter.Exporter
}

// superPoller polls as ANONYMOUS on the PLAINTEXT listener: a super user.
func superPoller(t *testing.T, filters collector.Filters) pollerAndExporter {
	t.Helper()
	p, err := collector.NewPoller(collector.Config{
		Servers: []string{kafkatest.Require(t, broker)}, Filters: filters,
		PollInterval: 2 * time.Second, RequestTimeout: waitfor.Scaled(time.Second), Lag: lagcalc.Settings{Window: time.Minute}, StaleAfter: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return pollerAndExporter{p, exporter.New(p, exporter.Options{})}
}

// kafkaSeries are the names and labels of the Kafka-derived series, sorted.
func kafkaSeries(s scrapetest.Series) []string {
	var out []string
	for k := range maps.Keys(s) {
		if strings.HasPrefix(k, "kafka_") && !strings.HasPrefix(k, "kafka_broker") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func anchored(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	re, err := collector.Anchored(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func ptr(s string) *string { return &s }

// lockedBuffer collects a logger's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) lines(level string) []string {
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(l, "level="+level) {
			out = append(out, l)
		}
	}
	return out
}

// With Cluster Describe, ListGroups names every group, also those the
// principal may not Describe. Without filters those groups are denied
// once, counted, summarised in one line and not asked again; lagwatch is
// up with the groups it may see. With filters that mirror the ACLs there
// is nothing to deny and nothing to log.
func TestPrefixScopedACLsWithAndWithoutMatchingFilters(t *testing.T) {
	for _, c := range []struct {
		principal, prefix string
		filtered          bool
	}{{"prefixed", "pfx-", false}, {"filtered", "flt-", true}} {
		t.Run(c.principal, func(t *testing.T) {
			setUp(t, c.principal, c.prefix, []grant{
				{sarama.AclResourceCluster, "kafka-cluster", true, sarama.AclOperationDescribe},
				{sarama.AclResourceTopic, c.prefix, false, sarama.AclOperationRead},
				{sarama.AclResourceTopic, c.prefix, false, sarama.AclOperationDescribeConfigs},
				{sarama.AclResourceGroup, c.prefix, false, sarama.AclOperationDescribe},
			})
			addr := kafkatest.Require(t, broker)
			const others = 12
			for i := range others {
				kafkatest.CommitOffsets(t, addr, fmt.Sprintf("%sother-%02d", strings.TrimSuffix(c.prefix, "-"), i), map[string]map[int32]int64{c.prefix + "orders": {0: 1}})
			}
			var filters collector.Filters
			if c.filtered {
				filters = collector.Filters{TopicInclude: anchored(t, c.prefix+".*"), GroupInclude: anchored(t, c.prefix+".*")}
			}
			p, e, logs := newLagwatch(t, c.principal, filters)
			waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
				if err := pollOnce(t, p); err != nil || !p.Health().Up {
					return fmt.Errorf("not up: %v", err)
				}
				if c.filtered {
					return nil
				}
				if s := scrape(t, e); s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group") < others {
					return fmt.Errorf("the other groups are not denied yet")
				}
				return nil
			})
			warnings := len(logs.lines("WARN"))
			for range 2 {
				if err := pollOnce(t, p); err != nil {
					t.Fatal(err)
				}
			}
			s := scrape(t, e)
			if s.Value(t, "lagwatch_up") != 1 || !p.Ready() {
				t.Errorf("up=%v ready=%v, want 1 and true", s.Value(t, "lagwatch_up"), p.Ready())
			}
			if !s.Has("kafka_consumergroup_lag", "consumergroup", c.prefix+"app", "partition", "0", "topic", c.prefix+"orders") {
				t.Errorf("the group the principal may Describe is not reported")
			}
			for k := range s {
				if strings.Contains(k, "other-") {
					t.Errorf("a group the principal may not Describe is reported: %s", k)
				}
			}
			if c.filtered {
				if w := logs.lines("WARN"); len(w) != 0 {
					t.Errorf("filters mirror the ACLs, yet:\n%s", strings.Join(w, "\n"))
				}
				if s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group") != 0 {
					t.Errorf("groups denied although the filters mirror the ACLs")
				}
			} else {
				checkOneWarning(t, logs, "Describe", "group")
				if n := len(logs.lines("WARN")); n != warnings {
					t.Errorf("the next polls logged again: %d warnings, then %d", warnings, n)
				}
			}
			checkOnlyReads(t, p)
		})
	}
}

// A group of the Kafka 4 consumer protocol (KIP-848) subscribed to a topic
// the principal may not Describe cannot be described: Kafka fails its
// ConsumerGroupDescribe as a whole with TOPIC_AUTHORIZATION_FAILED. Its
// committed offsets on the visible topic are still reported, its members
// are not made up, lagwatch is up, and one line says which permission is
// missing; the describe is not repeated every poll.
func TestKIP848GroupOnAHiddenTopicKeepsItsVisibleOffsets(t *testing.T) {
	setUp(t, "kip848", "k848-", []grant{
		{sarama.AclResourceTopic, "k848-", false, sarama.AclOperationRead},
		{sarama.AclResourceTopic, "k848-", false, sarama.AclOperationDescribeConfigs},
		{sarama.AclResourceGroup, "k848-", false, sarama.AclOperationDescribe},
	})
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "hidden848", 1, nil)
	kafkatest.Produce(t, addr, "hidden848", 0, 5)
	member := kafkatest.NewKgo(t, addr,
		kgo.ConsumerGroup("k848-live"), kgo.ConsumeTopics("k848-orders", "hidden848"),
		kgo.ServerSideBalancer(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	waitfor.Condition(t, 60*time.Second, "the member consumed and committed", func() error {
		fetches := member.PollRecords(t.Context(), 100)
		if fetches.NumRecords() == 0 {
			return fmt.Errorf("no records yet")
		}
		return member.CommitUncommittedOffsets(t.Context())
	})

	p, e, logs := newLagwatch(t, "kip848", collector.Filters{})
	waitfor.Condition(t, 30*time.Second, "lagwatch sees the group", func() error {
		if err := pollOnce(t, p); err != nil || !p.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		if !scrape(t, e).Mentions("consumergroup", "k848-live") {
			return fmt.Errorf("group not reported yet")
		}
		return nil
	})
	before := p.Health().Requests["ConsumerGroupDescribe"]
	for range 2 {
		if err := pollOnce(t, p); err != nil {
			t.Fatal(err)
		}
	}
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 1 || s.Value(t, "lagwatch_stage_success", "stage", "describe_groups") != 1 {
		t.Errorf("up %v, describe_groups success %v: want 1 and 1", s.Value(t, "lagwatch_up"), s.Value(t, "lagwatch_stage_success", "stage", "describe_groups"))
	}
	if !s.Has("kafka_consumergroup_current_offset", "consumergroup", "k848-live", "partition", "0", "topic", "k848-orders") {
		t.Errorf("the committed offsets on the visible topic are not reported")
	}
	if s.Mentions("topic", "hidden848") {
		t.Errorf("the hidden topic is reported")
	}
	if s.Has("kafka_consumergroup_members", "consumergroup", "k848-live") {
		t.Errorf("members reported for a group Kafka refused to describe")
	}
	if after := p.Health().Requests["ConsumerGroupDescribe"]; after != before {
		t.Errorf("the denied describe was repeated: %d → %d requests", before, after)
	}
	w := checkOneWarning(t, logs, "Describe", "subscribed_topic")
	if !strings.Contains(w, "k848-live") {
		t.Errorf("the warning does not name the group: %s", w)
	}
	checkOnlyReads(t, p)
}

// deniedLines counts the lines of the broker's authorizer log that deny
// the principal an operation on the resource ("Group:LITERAL:app").
func deniedLines(t *testing.T, principal, resource string) int {
	t.Helper()
	data, err := os.ReadFile(broker.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range strings.SplitSeq(string(data), "\n") {
		if strings.Contains(l, "Principal = User:"+principal+" is Denied") && strings.Contains(l, "resource = "+resource+" ") {
			n++
		}
	}
	return n
}

// With Group Describe revoked from a running lagwatch, Kafka's ListGroups
// silently leaves the groups out. lagwatch asks the group that vanished
// directly, learns it is denied, and says so: lagwatch_up 0 and the
// list_groups stage failed, the group counted as denied, one warning with
// the kafka-acls grant, the group's series served as of its last answer
// (until --kafka.stale-after) rather than vanishing, and one DENIED line
// in the broker's log, not one per poll. /-/ready stays 200, as
// documented: it says a poll has succeeded since the start. Restoring the
// grant makes lagwatch up again at the next poll.
func TestRevokedGroupDescribeIsBlindnessUntilRestored(t *testing.T) {
	const principal, prefix = "groupsight", "gsight-"
	setUp(t, principal, prefix, []grant{
		{sarama.AclResourceTopic, prefix, false, sarama.AclOperationRead},
		{sarama.AclResourceTopic, prefix, false, sarama.AclOperationDescribeConfigs},
		{sarama.AclResourceGroup, prefix, false, sarama.AclOperationDescribe},
	})
	// The filters name the groups: blindness must show through them.
	filters := collector.Filters{TopicInclude: anchored(t, prefix+".*"), GroupInclude: anchored(t, prefix+".*")}
	p, e, logs := newLagwatch(t, principal, filters)
	lagOf := []string{"consumergroup", prefix + "app", "partition", "0", "topic", prefix + "orders"}
	waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
		if err := pollOnce(t, p); err != nil || !p.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		if !scrape(t, e).Has("kafka_consumergroup_lag", lagOf...) {
			return fmt.Errorf("group not reported yet")
		}
		return nil
	})

	admin := kafkatest.NewAdmin(t, kafkatest.Require(t, broker))
	groupACL := aclsOf(principal, []grant{{sarama.AclResourceGroup, prefix, false, sarama.AclOperationDescribe}})
	revokedAt := time.Now()
	if _, err := admin.DeleteACL(sarama.AclFilter{
		ResourceType: sarama.AclResourceGroup, ResourceName: ptr(prefix), ResourcePatternTypeFilter: sarama.AclPatternPrefixed,
		Principal: ptr("User:" + principal), Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAllow,
	}, false); err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, 30*time.Second, "the revocation is seen", func() error {
		_ = pollOnce(t, p)
		if p.Health().Up {
			return fmt.Errorf("still up")
		}
		return nil
	})
	t.Logf("revocation seen %v after it was made", time.Since(revokedAt).Round(time.Millisecond))
	resource := "Group:LITERAL:" + prefix + "app"
	denials := deniedLines(t, principal, resource)
	const polls = 5
	for range polls {
		_ = pollOnce(t, p)
	}
	s := scrape(t, e)
	if s.Value(t, "lagwatch_up") != 0 || s.Value(t, "lagwatch_stage_success", "stage", "list_groups") != 0 {
		t.Errorf("up %v, list_groups success %v while blind to the groups: want 0 and 0", s.Value(t, "lagwatch_up"), s.Value(t, "lagwatch_stage_success", "stage", "list_groups"))
	}
	if got := s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group"); got != 1 {
		t.Errorf("denied Describe on %v groups, want 1", got)
	}
	if !p.Ready() {
		t.Errorf("not ready; /-/ready says a poll has succeeded since the start")
	}
	if !s.Has("kafka_consumergroup_lag", lagOf...) {
		t.Errorf("the hidden group's series vanished at once instead of being served as of the last answer")
	}
	w := checkOneWarning(t, logs, "Describe", "group")
	if !strings.Contains(w, prefix+"app") || !strings.Contains(w, "--group '"+prefix+"app'") {
		t.Errorf("the warning does not name the group and its grant: %s", w)
	}
	if after := deniedLines(t, principal, resource); after != denials || denials == 0 {
		t.Errorf("DENIED lines for %s: %d when the revocation was seen, %d after %d more polls; want at least 1, then none", resource, denials, after, polls)
	}
	t.Logf("broker DENIED lines for %s: %d on detection, %d more over %d polls", resource, denials, deniedLines(t, principal, resource)-denials, polls)

	if err := admin.CreateACLs(groupACL); err != nil {
		t.Fatal(err)
	}
	restoredAt := time.Now()
	restoredPolls := 0
	waitfor.Condition(t, 30*time.Second, "the grant is seen again", func() error {
		restoredPolls++
		if err := pollOnce(t, p); err != nil || !p.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		return nil
	})
	t.Logf("up again %v (%d polls) after the grant was restored", time.Since(restoredAt).Round(time.Millisecond), restoredPolls)
	s = scrape(t, e)
	if s.Value(t, "lagwatch_stage_success", "stage", "list_groups") != 1 || s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group") != 0 {
		t.Errorf("after the grant: list_groups success %v, denied groups %v; want 1 and 0",
			s.Value(t, "lagwatch_stage_success", "stage", "list_groups"), s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group"))
	}
	if !strings.Contains(logs.String(), "Kafka allows the operation again") {
		t.Errorf("the restored grant is not logged:\n%s", logs.String())
	}
	checkOnlyReads(t, p)
}

// A principal that was never granted Group Describe (Topic Describe, or
// Topic Read, on every topic only) sees no group at all. Where it may see
// __consumer_offsets, and that holds commits, lagwatch does not call the
// empty listing healthy: lagwatch_up 0, not ready, the list_groups stage
// failed, and one warning with the grant for every group.
func TestNeverGrantedGroupDescribeIsNotHealthyWhereCommitsAreVisible(t *testing.T) {
	for _, c := range []struct {
		principal string
		operation sarama.AclOperation
	}{{"nogroups", sarama.AclOperationDescribe}, {"readonly", sarama.AclOperationRead}} {
		t.Run(c.principal, func(t *testing.T) {
			principal, prefix := c.principal, c.principal+"-"
			setUp(t, principal, prefix, []grant{{sarama.AclResourceTopic, "*", true, c.operation}})
			p, e, logs := newLagwatch(t, principal, collector.Filters{})
			addr := kafkatest.Require(t, broker)
			waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
				_ = pollOnce(t, p)
				if !scrape(t, e).Has("kafka_topic_partitions", "topic", prefix+"orders") {
					return fmt.Errorf("topic not visible yet")
				}
				return nil
			})
			for i := range 3 {
				// Some consumer commits between the polls, as in any used cluster.
				kafkatest.CommitOffsets(t, addr, prefix+"app", map[string]map[int32]int64{prefix + "orders": {0: int64(6 + i)}})
				_ = pollOnce(t, p)
			}
			s := scrape(t, e)
			if s.Value(t, "lagwatch_up") != 0 || p.Ready() || s.Value(t, "lagwatch_stage_success", "stage", "list_groups") != 0 {
				t.Errorf("up %v, ready %v, list_groups success %v while blind to every group: want 0, false, 0",
					s.Value(t, "lagwatch_up"), p.Ready(), s.Value(t, "lagwatch_stage_success", "stage", "list_groups"))
			}
			if got := s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group"); got != 1 {
				t.Errorf("denied Describe on %v groups, want 1 (every group: *)", got)
			}
			w := checkOneWarning(t, logs, "Describe", "group")
			if !strings.Contains(w, "--group '*'") || !strings.Contains(w, "User:"+principal) {
				t.Errorf("the warning lacks the grant for every group: %s", w)
			}
			// Nothing is asked of a group lagwatch never saw: no DENIED line.
			if n := deniedLines(t, principal, "Group:LITERAL:"+prefix+"app"); n != 0 {
				t.Errorf("%d DENIED lines for the group in the broker's log, want 0", n)
			}
			checkOnlyReads(t, p)
		})
	}
}

// A group that keeps committed offsets on a topic the principal may not
// Describe (it stopped consuming it, or another team's topic) would have
// Kafka authorize that topic, and log a DENIED line, at every OffsetFetch
// that asks for all the group committed. lagwatch asks for all only when
// it first sees the group and once per 5 minutes after; in between it
// asks for the visible topics it knows the group on. The group's visible
// offsets are reported at every poll all the same.
func TestOffsetFetchAsksOnlyForVisibleTopics(t *testing.T) {
	const principal, prefix = "hiddentopic", "htopic-"
	setUp(t, principal, prefix, []grant{
		{sarama.AclResourceTopic, prefix, false, sarama.AclOperationRead},
		{sarama.AclResourceTopic, prefix, false, sarama.AclOperationDescribeConfigs},
		{sarama.AclResourceGroup, prefix, false, sarama.AclOperationDescribe},
	})
	addr := kafkatest.Require(t, broker)
	const hidden = "secret-htopic"
	kafkatest.CreateTopic(t, addr, hidden, 1, nil)
	kafkatest.Produce(t, addr, hidden, 0, 5)
	kafkatest.CommitOffsets(t, addr, prefix+"app", map[string]map[int32]int64{hidden: {0: 2}})

	p, e, logs := newLagwatch(t, principal, collector.Filters{})
	waitfor.Condition(t, 30*time.Second, "the ACLs apply", func() error {
		if err := pollOnce(t, p); err != nil || !p.Health().Up {
			return fmt.Errorf("not up: %v", err)
		}
		if !scrape(t, e).Has("kafka_consumergroup_lag", "consumergroup", prefix+"app", "partition", "0", "topic", prefix+"orders") {
			return fmt.Errorf("group not reported yet")
		}
		return nil
	})
	resource := "Topic:LITERAL:" + hidden
	before := deniedLines(t, principal, resource)
	const polls = 10
	// A commit on a visible topic the group had not committed on, between
	// polls: a partition of a topic it is known on, reported at once.
	kafkatest.CommitOffsets(t, addr, prefix+"app", map[string]map[int32]int64{prefix + "orders": {0: 7}})
	for range polls {
		if err := pollOnce(t, p); err != nil {
			t.Fatal(err)
		}
	}
	after := deniedLines(t, principal, resource)
	t.Logf("broker DENIED lines for %s: %d at the first full fetch, %d more over %d polls", resource, before, after-before, polls)
	if after != before {
		t.Errorf("%d DENIED lines for the hidden topic over %d polls, want none until the 5-minute recheck", after-before, polls)
	}
	s := scrape(t, e)
	if got := s.Value(t, "kafka_consumergroup_current_offset", "consumergroup", prefix+"app", "partition", "0", "topic", prefix+"orders"); got != 7 {
		t.Errorf("committed offset %v on the visible topic, want 7", got)
	}
	if s.Mentions("topic", hidden) {
		t.Errorf("the hidden topic is reported")
	}
	// Kafka hides the topic without a denial lagwatch could count: the
	// group's visible figures are complete, so lagwatch is up and ready.
	if s.Value(t, "lagwatch_up") != 1 || !p.Ready() || s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group") != 0 {
		t.Errorf("up %v, ready %v, denied groups %v: want 1, true, 0", s.Value(t, "lagwatch_up"), p.Ready(), s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group"))
	}
	if w := logs.lines("WARN"); len(w) != 0 {
		t.Errorf("warnings:\n%s", strings.Join(w, "\n"))
	}
	checkOnlyReads(t, p)
}

// A group deleted for real is not blindness: asked directly, Kafka answers
// without a denial, so lagwatch stays up and the group's series go at once.
func TestDeletedGroupIsNotBlindness(t *testing.T) {
	setUp(t, "", "gone-", nil)
	addr := kafkatest.Require(t, broker)
	kafkatest.CommitOffsets(t, addr, "gone-kept", map[string]map[int32]int64{"gone-orders": {0: 1}})
	super := superPoller(t, collector.Filters{TopicInclude: anchored(t, "gone-.*"), GroupInclude: anchored(t, "gone-.*")})
	waitfor.Condition(t, 30*time.Second, "the groups are reported", func() error {
		if err := super.poller.PollOnce(t.Context()); err != nil {
			return err
		}
		if !scrape(t, super.exp).Mentions("consumergroup", "gone-app") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	kafkatest.DeleteGroup(t, addr, "gone-app")
	for range 2 {
		if err := super.poller.PollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	s := scrape(t, super.exp)
	if s.Value(t, "lagwatch_up") != 1 || s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group") != 0 {
		t.Errorf("up %v, denied groups %v after a group was deleted: want 1 and 0", s.Value(t, "lagwatch_up"), s.Value(t, "lagwatch_kafka_denied_resources", "operation", "Describe", "resource_type", "group"))
	}
	if s.Mentions("consumergroup", "gone-app") || !s.Mentions("consumergroup", "gone-kept") {
		t.Errorf("the deleted group is still reported, or the other one is not")
	}
}
