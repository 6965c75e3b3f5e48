package frameworks

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// FullEnv chooses the full run: LAGWATCH_PAGE_CORPUS=full runs lagwatch,
// Prometheus and Alertmanager at their default settings and the members at
// their real cadences, with 20 minutes of observation (make page-corpus).
// Otherwise every duration is divided by ten (about 2.5 minutes).
const FullEnv = "LAGWATCH_PAGE_CORPUS"

// scale is one version of the run. div divides every duration: the
// members' cadences, lagwatch's time flags, the rules' `for`s,
// Alertmanager's waits and the scrape interval. Thresholds and range
// windows inside the rules' expressions are not scaled.
type scale struct {
	name string
	div  time.Duration
}

func (s scale) d(x time.Duration) time.Duration { return x / s.div }

func chooseScale() scale {
	if os.Getenv(FullEnv) == "full" {
		return scale{name: "full (default settings)", div: 1}
	}
	return scale{name: "short (durations / 10)", div: 10}
}

// The run's timeline at full scale, from lagwatch's start.
const (
	// warmUp: statuses before it are not judged (notifications are).
	warmUp = 3 * time.Minute
	// The revived group consumes from the end of the warm-up for this long,
	// then leaves with most of its old backlog unread.
	revivedFor = 5 * time.Minute
	// faultSpacing separates the poison, the crash and the revived group's
	// death, in that order, from the end of the revival on.
	faultSpacing = time.Minute
	// observe: how long the members are watched after the warm-up.
	observe = 20 * time.Minute
	// poisonPageWithin is the bound for a poison message's page at
	// default settings.
	poisonPageWithin = 3 * time.Minute
)

// What a member must read.
type expectation int

const (
	healthy  expectation = iota // never stalled, stopped, lagging or out_of_range after the warm-up; no notification at all
	inactive                    // inactive at every sample after the warm-up; never a page (a ticket at most)
	fault                       // reaches status after its fault, and pages exactly once
)

// statusInactive is lagcalc.StatusInactive's label (added by issue 19's
// status work; named here as a string so this package builds without it).
const statusInactive = "inactive"

var unhealthy = map[string]bool{"stalled": true, "stopped": true, "lagging": true, "out_of_range": true}

type member struct {
	name   string
	group  string
	topics *regexp.Regexp // nil: every topic of the group
	expect expectation
	alert  string // fault: the page
	status string // fault: the status it reaches
	// faultAt: when the fault happened (set during the run).
	faultAt time.Time
}

func (m member) owns(group, topic string) bool {
	return group == m.group && (m.topics == nil || topic == "" || m.topics.MatchString(topic))
}

// A framework corpus on the real broker, watched by the lagwatch binary
// through Prometheus and Alertmanager with the shipped rules and routing:
// the healthy members (Kafka Streams with each protocol and guarantee,
// Connect sinks committing every minute and every 4 minutes, a cron job, a
// consumer of a 1 h-retention topic) never read stalled, stopped or
// lagging and send no notification; abandoned offsets read inactive and
// never page; a poison message, a crashed consumer and an abandoned group
// that came back and died each page exactly once.
func TestFrameworkCorpusPagesOnlyForRealFaults(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	requireJDK(t)
	sc := chooseScale()
	t.Logf("framework corpus, %s", sc.name)
	j := newJVM(t)
	bin := buildLagwatch(t)
	adm := kafkatest.NewKadm(t, addr)

	// --- Topics and members, all running before lagwatch starts. ---
	apps := []streamsApp{
		{id: "fw-streams-v2", protocol: "streams", guarantee: "at_least_once"},
		{id: "fw-streams-classic", protocol: "classic", guarantee: "at_least_once"},
		{id: "fw-streams-eos", protocol: "streams", guarantee: "exactly_once_v2"},
	}
	traffic := map[string]int32{}
	for i := range apps {
		a := &apps[i]
		a.input, a.output = a.id+"-in", a.id+"-out"
		if a.guarantee == "at_least_once" {
			// Kafka Streams commits every 30 s by default (100 ms with
			// exactly_once_v2).
			a.commitInterval = sc.d(30 * time.Second)
		}
		if sc.div == 1 {
			a.commitInterval = 0
		}
		kafkatest.CreateTopic(t, addr, a.input, 3, nil)
		kafkatest.CreateTopic(t, addr, a.output, 3, nil)
		traffic[a.input] = 3
	}
	const (
		connect60, connect4m = "fw-sink-60s", "fw-sink-4m"
		cronGroup, cronTopic = "fw-cron", "fw-cron-batches"
		abandonedGroup       = "fw-abandoned"
		abandonedTopic       = "fw-abandoned-events"
		revivedGroup         = "fw-revived"
		revivedTopic         = "fw-revived-events"
		unsubGroup           = "fw-unsubscribed"
		keptTopic, dropped   = "fw-unsub-kept", "fw-unsub-dropped"
		retentionGroup       = "fw-retention-1h"
		retentionTopic       = "fw-short-retention"
		poisonGroup          = "fw-poison"
		poisonTopic          = "fw-poison-orders"
		crashGroup           = "fw-crash"
		crashTopic           = "fw-crash-payments"
	)
	hour := "3600000"
	for topic, parts := range map[string]int32{
		connect60: 2, connect4m: 2, cronTopic: 2, keptTopic: 2, dropped: 2, poisonTopic: 3, crashTopic: 2,
	} {
		kafkatest.CreateTopic(t, addr, topic, parts, nil)
		traffic[topic] = parts
	}
	kafkatest.CreateTopic(t, addr, retentionTopic, 2, map[string]*string{"retention.ms": &hour})
	traffic[retentionTopic] = 2
	kafkatest.CreateTopic(t, addr, abandonedTopic, 2, nil)
	kafkatest.CreateTopic(t, addr, revivedTopic, 2, nil)

	// Abandoned two days ago: 2,000 records per partition, 200 committed.
	const backlog, abandonedAt = 2000, 200
	abandon(t, addr, abandonedGroup, abandonedTopic, 2, backlog, abandonedAt)
	abandon(t, addr, revivedGroup, revivedTopic, 2, backlog, abandonedAt)

	// A group that consumed two topics and now subscribes to one: the
	// dropped topic's offsets stay behind while its traffic goes on.
	autoCommit := sc.d(5 * time.Second) // the Java consumer's default
	stopBoth := kgoConsumer(t, addr, unsubGroup, []string{keptTopic, dropped}, autoCommit)
	kafkatest.Produce(t, addr, dropped, 0, 10)
	kafkatest.Produce(t, addr, dropped, 1, 10)
	waitfor.Condition(t, 2*time.Minute, "the unsubscribing group committed the topic it will drop", func() error {
		if c := committed(t, adm, unsubGroup, dropped); c[0] < 10 || c[1] < 10 {
			return fmt.Errorf("committed %v", c)
		}
		return nil
	})
	stopBoth()
	droppedAt := committed(t, adm, unsubGroup, dropped)
	kgoConsumer(t, addr, unsubGroup, []string{keptTopic}, autoCommit)
	kgoConsumer(t, addr, retentionGroup, []string{retentionTopic}, autoCommit)

	prod := startProducer(t, addr, 500*time.Millisecond, traffic)
	streams := startStreams(t, j, addr, apps)
	sink60, sink60File := startConnect(t, j, addr, connect60, connect60, sc.d(60*time.Second))
	sink4m, sink4mFile := startConnect(t, j, addr, connect4m, connect4m, sc.d(4*time.Minute))
	cronJob := startCron(t, addr, cronGroup, cronTopic, sc.d(5*time.Minute))
	poisoned := startGroupMember(t, addr, poisonGroup, []string{poisonTopic}, autoCommit, 0)
	crashing := startCrashable(t, addr, crashGroup, crashTopic, max(sc.d(45*time.Second), 6*time.Second), autoCommit)
	jvms := []*process{streams, sink60, sink4m, crashing}
	alive := func() error {
		for _, p := range jvms {
			if err := p.running(); err != nil {
				return err
			}
		}
		return nil
	}

	waitfor.Condition(t, 4*time.Minute, "every Streams app committed its input and repartition topics, which it purges", func() error {
		if err := alive(); err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			if c := committed(t, adm, a.id, a.input); len(c) < 3 {
				return fmt.Errorf("%s committed %v on %s", a.id, c, a.input)
			}
			starts := logStarts(t, adm, a.repartitionTopic())
			if c := committed(t, adm, a.id, a.repartitionTopic()); len(c) == 0 || sum(starts) == 0 {
				return fmt.Errorf("%s: committed %v, log start %v on %s", a.id, c, starts, a.repartitionTopic())
			}
		}
		return nil
	})
	waitfor.Condition(t, 2*time.Minute, "both Connect sinks writing their files, the poisoned and crashing consumers committing", func() error {
		if err := alive(); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{sink60File, sink4mFile} {
			if lines(f) == 0 {
				return fmt.Errorf("%s is empty", f)
			}
		}
		for _, g := range []struct{ group, topic string }{{poisonGroup, poisonTopic}, {crashGroup, crashTopic}, {retentionGroup, retentionTopic}, {unsubGroup, keptTopic}} {
			if c := committed(t, adm, g.group, g.topic); len(c) == 0 {
				return fmt.Errorf("%s has not committed %s", g.group, g.topic)
			}
		}
		return nil
	})
	if n, state, err := describeMembers(adm, abandonedGroup); err != nil || n != 0 || state != "Empty" {
		t.Fatalf("the abandoned group: %d members, state %q, %v; want Empty", n, state, err)
	}

	// --- lagwatch with its default flags (scaled in the short run). ---
	lagwatchAddr := waitfor.FreeAddr(t)
	args := []string{"--kafka.server=" + addr, "--web.listen-address=" + lagwatchAddr}
	if sc.div > 1 {
		args = append(args,
			"--kafka.poll-interval="+sc.d(collector.DefaultPollInterval).String(),
			"--lag.window="+sc.d(lagcalc.DefaultWindow).String(),
			"--lag.stall-after="+sc.d(lagcalc.DefaultStallAfter).String())
	}
	lw := startProcess(t, "lagwatch", newCommand(bin, args...))
	jvms = append(jvms, lw)
	waitfor.Condition(t, time.Minute, "lagwatch serving /metrics", func() error { return httpOK("http://" + lagwatchAddr + "/metrics") })
	s := startStack(t, lagwatchAddr, int(sc.div), sc.d(15*time.Second))
	t0 := time.Now()
	t.Logf("lagwatch, Prometheus and Alertmanager up at %s; the run ends at %s", t0.Format("15:04:05"), t0.Add(sc.d(warmUp+observe)).Format("15:04:05"))

	members := []*member{
		{name: "Streams, streams protocol", group: apps[0].id, expect: healthy},
		{name: "Streams, classic protocol", group: apps[1].id, expect: healthy},
		{name: "Streams, exactly_once_v2", group: apps[2].id, expect: healthy},
		{name: "Connect sink, 60 s flush", group: "connect-" + connect60, expect: healthy},
		{name: "Connect sink, 4 min flush", group: "connect-" + connect4m, expect: healthy},
		{name: "cron job every 5 min", group: cronGroup, expect: healthy},
		{name: "1 h-retention topic", group: retentionGroup, expect: healthy},
		{name: "group, subscribed topic", group: unsubGroup, topics: regexp.MustCompile("^" + keptTopic + "$"), expect: healthy},
		{name: "group, unsubscribed topic", group: unsubGroup, topics: regexp.MustCompile("^" + dropped + "$"), expect: inactive},
		{name: "abandoned 2 days ago", group: abandonedGroup, expect: inactive},
		{name: "poison message", group: poisonGroup, expect: fault, alert: "KafkaConsumerPartitionStalled", status: "stalled"},
		{name: "crash (SIGKILL)", group: crashGroup, expect: fault, alert: "KafkaConsumerGroupStopped", status: "stopped"},
		{name: "abandoned, revived, died", group: revivedGroup, expect: fault, alert: "KafkaConsumerGroupStopped", status: "stopped"},
	}
	byGroup := func(g string) *member {
		for _, m := range members {
			if m.group == g {
				return m
			}
		}
		return nil
	}

	runUntil := func(at time.Time) {
		t.Helper()
		for time.Now().Before(at) {
			if err := alive(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(min(time.Second, time.Until(at)))
		}
	}

	// --- The run. ---
	runUntil(t0.Add(sc.d(warmUp)))
	revivedFrom := time.Now()
	revivedCommitted := committed(t, adm, revivedGroup, revivedTopic)
	// It processes four records a second per partition: its old backlog
	// outlasts the revival.
	revived := startGroupMember(t, addr, revivedGroup, []string{revivedTopic}, autoCommit, 250*time.Millisecond)
	runUntil(revivedFrom.Add(sc.d(revivedFor)))

	// The three faults a minute apart: separate problems, each its own
	// page (KafkaConsumerGroupsStuckClusterWide needs 5 groups at once).
	poisonOffset := prod.poison(poisonTopic, 0)
	byGroup(poisonGroup).faultAt = time.Now()
	t.Logf("%s: poison message at %s/0 offset %d", time.Now().Format("15:04:05"), poisonTopic, poisonOffset)
	runUntil(time.Now().Add(sc.d(faultSpacing)))
	crashing.killed = true
	crashing.kill()
	byGroup(crashGroup).faultAt = time.Now()
	t.Logf("%s: the crashing consumer killed (SIGKILL)", time.Now().Format("15:04:05"))
	runUntil(time.Now().Add(sc.d(faultSpacing)))
	revived.leave()
	byGroup(revivedGroup).faultAt = time.Now()
	t.Logf("%s: the revived group's consumer left", time.Now().Format("15:04:05"))
	runUntil(t0.Add(sc.d(warmUp + observe)))
	end := time.Now()

	// --- Ground truth from the broker. ---
	t.Run("the broker confirms every member's behaviour", func(t *testing.T) {
		for _, a := range apps {
			starts := logStarts(t, adm, a.repartitionTopic())
			c := committed(t, adm, a.id, a.repartitionTopic())
			for p, start := range starts {
				if start > c[p] {
					t.Errorf("%s: log start %d above committed %d on %s/%d, read in that order", a.id, start, c[p], a.repartitionTopic(), p)
				}
			}
			if sum(starts) == 0 {
				t.Errorf("%s never purged %s", a.id, a.repartitionTopic())
			}
		}
		if cronJob.cycles.Load() < int64(sc.d(warmUp+observe)/sc.d(5*time.Minute)) || cronJob.failed.Load() > 0 {
			t.Errorf("cron: %d cycles, %d failed", cronJob.cycles.Load(), cronJob.failed.Load())
		}
		if c := committed(t, adm, unsubGroup, dropped); c[0] != droppedAt[0] || c[1] != droppedAt[1] {
			t.Errorf("the dropped topic's offsets moved: %v, then %v", droppedAt, c)
		}
		if c := committed(t, adm, abandonedGroup, abandonedTopic); c[0] != abandonedAt || c[1] != abandonedAt {
			t.Errorf("the abandoned group's offsets moved: %v", c)
		}
		if c := committed(t, adm, revivedGroup, revivedTopic); sum(c) <= sum(revivedCommitted) || c[0] >= backlog {
			t.Errorf("the revived group committed %v after %v: want progress, with old backlog left", c, revivedCommitted)
		}
		if c := committed(t, adm, poisonGroup, poisonTopic); c[0] != poisonOffset || poisoned.stuck.Load() != poisonOffset {
			t.Errorf("the poisoned consumer committed %d on partition 0 and sits on %d; the poison is at %d", c[0], poisoned.stuck.Load(), poisonOffset)
		}
		if n, _, err := describeMembers(adm, crashGroup); err != nil || n != 0 {
			t.Errorf("the crashed consumer's group has %d members (%v), want 0 after its session timeout", n, err)
		}
		for _, g := range []string{"connect-" + connect60, "connect-" + connect4m, retentionGroup} {
			var topic string
			switch g {
			case retentionGroup:
				topic = retentionTopic
			default:
				topic = strings.TrimPrefix(g, "connect-")
			}
			if c := committed(t, adm, g, topic); len(c) == 0 {
				t.Errorf("%s never committed %s", g, topic)
			}
		}
		t.Logf("produced %d records; sinks wrote %d and %d lines", prod.sent.Load(), lines(sink60File), lines(sink4mFile))
	})

	// --- What lagwatch said, from Prometheus's samples of every scrape. ---
	statusSeries, err := s.rangeOf(`kafka_consumergroup_partition_status == 1`, t0, end)
	if err != nil {
		t.Fatal(err)
	}
	notes := s.webhook.all()
	report := make([]row, len(members))
	for i, m := range members {
		report[i] = summarize(*m, statusSeries, notes, t0.Add(sc.d(warmUp)), end)
	}
	other := 0
	for _, n := range notes {
		if n.Status == "firing" && n.group() == "" {
			other++
		}
	}
	t.Logf("framework corpus, %s: %s of lagwatch, %s of observation after a %s warm-up\n%s\nfiring notifications about no group: %d",
		sc.name, end.Sub(t0).Round(time.Second), sc.d(observe), sc.d(warmUp), table(report), other)
	for _, n := range notes {
		t.Logf("notification: %s", n)
	}

	for i, m := range members {
		r := report[i]
		t.Run(m.name, func(t *testing.T) {
			switch m.expect {
			case healthy:
				for st, n := range r.after {
					if unhealthy[st] {
						t.Errorf("read %s at %d samples after the warm-up (%s)", st, n, r.shares)
					}
				}
				if r.firing > 0 {
					t.Errorf("%d notifications, want none: %v", r.firing, r.notes)
				}
			case inactive:
				if r.after[statusInactive] != r.samples || r.samples == 0 {
					t.Errorf("want %s at every sample after the warm-up, read %s", statusInactive, r.shares)
				}
				// Inactive is a ticket at most, never a page.
				if r.pages > 0 {
					t.Errorf("%d pages, want none: %v", r.pages, r.notes)
				}
			case fault:
				if r.toStatus < 0 {
					t.Errorf("never read %s after the fault (%s)", m.status, r.shares)
				}
				// Tickets (KafkaConsumerLagHigh on an old backlog) are
				// allowed beside the one page.
				if r.pages != 1 || r.pageAlert != m.alert {
					t.Errorf("%d pages (first: %q); want exactly one, %s: %v", r.pages, r.pageAlert, m.alert, r.notes)
				}
				if r.early > 0 {
					t.Errorf("%d statuses among stalled/stopped/lagging before the fault (%s)", r.early, r.beforeFault)
				}
			}
		})
	}
	t.Run("the revived group read inactive until it came back", func(t *testing.T) {
		r := report[len(members)-1]
		if r.lastBefore(revivedFrom) != statusInactive {
			t.Errorf("read %q just before it came back, want %s (statuses %s)", r.lastBefore(revivedFrom), statusInactive, r.shares)
		}
	})
	t.Run("no cluster-wide page: the faults are separate problems", func(t *testing.T) {
		if other > 0 {
			t.Errorf("%d notifications about no group", other)
		}
	})
	if sc.div == 1 {
		t.Run("the poison message pages within 3 minutes", func(t *testing.T) {
			if r := report[len(members)-3]; r.toPage < 0 {
				t.Errorf("never paged, want a page within %v", poisonPageWithin)
			} else if r.toPage > poisonPageWithin {
				t.Errorf("time to page %v, want at most %v", r.toPage.Round(time.Second), poisonPageWithin)
			}
		})
	}
	t.Run("no retention alert on Streams repartition topics or the promptly consumed 1 h-retention topic", func(t *testing.T) {
		// Kafka Streams purges its repartition topics itself (DeleteRecords
		// up to its committed offset): neither loss nor a retention risk.
		// A consumer seconds behind on a 1 h-retention topic risks nothing.
		alerts, err := s.instant(fmt.Sprintf(`count by (alertname, consumergroup, topic) (count_over_time(ALERTS{alertname=~"KafkaConsumerMessagesExpired|KafkaConsumerRetentionHeadroomLow|KafkaConsumerDrainExceedsRetention", topic=~".*-repartition|%s"}[%ds]))`, retentionTopic, int(end.Sub(t0).Seconds())+60))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range alerts {
			t.Errorf("%s pending or firing for %s on %s", l["alertname"], l["consumergroup"], l["topic"])
		}
	})
	t.Run("no expired messages and no retention headroom series on Streams repartition topics", func(t *testing.T) {
		for _, family := range []string{"kafka_consumergroup_expired_messages", "kafka_consumergroup_retention_headroom_seconds"} {
			got, err := s.instant(fmt.Sprintf(`count by (consumergroup, topic) (count_over_time(%s{topic=~".*-repartition"}[%ds]))`, family, int(end.Sub(t0).Seconds())+60))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range got {
				t.Errorf("%s has series for %s on %s", family, l["consumergroup"], l["topic"])
			}
		}
	})
}

// row is one member's line of the report.
type row struct {
	member
	samples     int            // (partition, sample) pairs after the warm-up
	after       map[string]int // status → samples after the warm-up
	shares      string
	changes     int
	early       int // unhealthy samples before the fault (faults only)
	beforeFault string
	toStatus    time.Duration // fault → first sample in the fault's status; -1 never
	toPage      time.Duration // fault → first page; -1 never
	firing      int           // firing notifications about the member
	pages       int           // of which to the page receiver
	pageAlert   string
	notes       []string
	timeline    []sample
}

type sample struct {
	at     time.Time
	status string
}

func (r row) lastBefore(at time.Time) string {
	last := "<none>"
	for _, s := range r.timeline {
		if s.at.Before(at) {
			last = s.status
		}
	}
	return last
}

// summarize reads one member's statuses (one sample per partition and
// scrape) and notifications.
func summarize(m member, all []series, notes []notification, judgeFrom, end time.Time) row {
	r := row{member: m, after: map[string]int{}, toStatus: -1, toPage: -1}
	before := map[string]int{}
	perPartition := map[string][]sample{}
	for _, se := range all {
		if !m.owns(se.labels["consumergroup"], se.labels["topic"]) {
			continue
		}
		key := se.labels["topic"] + "/" + se.labels["partition"]
		for _, at := range se.times {
			perPartition[key] = append(perPartition[key], sample{at, se.labels["status"]})
		}
	}
	for _, seq := range perPartition {
		sort.Slice(seq, func(i, j int) bool { return seq[i].at.Before(seq[j].at) })
		for i, s := range seq {
			r.timeline = append(r.timeline, s)
			if !s.at.Before(judgeFrom) {
				r.samples++
				r.after[s.status]++
				if i > 0 && seq[i-1].status != s.status && !seq[i-1].at.Before(judgeFrom) {
					r.changes++
				}
			}
			if m.expect == fault {
				if s.at.Before(m.faultAt) {
					before[s.status]++
					if unhealthy[s.status] {
						r.early++
					}
				} else if s.status == m.status && (r.toStatus < 0 || s.at.Sub(m.faultAt) < r.toStatus) {
					r.toStatus = s.at.Sub(m.faultAt)
				}
			}
		}
	}
	sort.Slice(r.timeline, func(i, j int) bool { return r.timeline[i].at.Before(r.timeline[j].at) })
	r.shares = shares(r.after, r.samples)
	r.beforeFault = shares(before, sum32(before))
	for _, n := range notes {
		if n.Status != "firing" {
			continue
		}
		about := false
		for _, a := range n.Alerts {
			if m.owns(a.Labels["consumergroup"], a.Labels["topic"]) {
				about = true
			}
		}
		if !about {
			continue
		}
		r.firing++
		r.notes = append(r.notes, n.String())
		if n.Receiver == "page" {
			r.pages++
			if r.pages == 1 {
				r.pageAlert = n.Alerts[0].Labels["alertname"]
				if m.expect == fault && !m.faultAt.IsZero() {
					r.toPage = n.at.Sub(m.faultAt)
				}
			}
		}
	}
	return r
}

func sum32(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// shares formats status → share of samples, largest first.
func shares(counts map[string]int, total int) string {
	if total == 0 {
		return "no samples"
	}
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range counts {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var parts []string
	for _, e := range all {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", e.k, 100*float64(e.v)/float64(total)))
	}
	return strings.Join(parts, ", ")
}

func table(rows []row) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "member\tgroup\tstatuses after warm-up (share of samples)\tchanges\tnotifications (pages)\tto status\tto page")
	for _, r := range rows {
		to := func(d time.Duration) string {
			if r.expect != fault {
				return "-"
			}
			if d < 0 {
				return "never"
			}
			return d.Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d (%d)\t%s\t%s\n", r.name, r.group, r.shares, r.changes, r.firing, r.pages, to(r.toStatus), to(r.toPage))
	}
	w.Flush()
	return b.String()
}

func lines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
