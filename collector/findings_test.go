package collector

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// snapshotOf is a poll that listed seenTopics topics and seenGroups
// groups and kept the named ones.
func snapshotOf(seenTopics, seenGroups int, topics []string, groups map[string]string) *Snapshot {
	s := &Snapshot{Brokers: []Broker{{ID: 1}, {ID: 2}, {ID: 3}}, Seen: Seen{Topics: seenTopics, Groups: seenGroups}}
	for _, t := range topics {
		s.Topics = append(s.Topics, Topic{Name: t})
	}
	for name, protocol := range groups {
		if protocol == "share" {
			s.ShareGroups = append(s.ShareGroups, ShareGroup{Name: name})
			continue
		}
		s.Groups = append(s.Groups, Group{Name: name, Protocol: protocol})
	}
	return s
}

func manyGroups(n int, protocol string) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf("%s-%d", protocol, i)] = protocol
	}
	return out
}

func TestFirstPollLogsWhatWasFoundAndKeptThenOnlyChangesAboveAFifth(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var l findingsLog
	groups := map[string]string{"orders": "classic", "billing": "consumer", "payments": "share", "audit": "classic"}
	l.record(logger, snapshotOf(12, 40, []string{"orders", "payments"}, groups), Filters{})
	want := `level=INFO msg="first poll: what lagwatch found, and kept by --group.* and --topic.* filters" brokers=3 topics_seen=12 topics_kept=2 groups_seen=40 groups_kept=4 groups_kept_by_type="classic=2 consumer=1 share=1"`
	if got := strings.TrimSpace(logs.String()); !strings.HasSuffix(got, want) {
		t.Fatalf("first poll logged\n%s\nwant a line ending\n%s", got, want)
	}

	logs.Reset()
	l.record(logger, snapshotOf(12, 40, []string{"orders", "payments"}, groups), Filters{})
	l.record(logger, snapshotOf(13, 45, []string{"orders", "payments"}, groups), Filters{}) // +8 %, +12.5 %
	if logs.Len() > 0 {
		t.Errorf("unchanged or small changes logged:\n%s", logs.String())
	}
	l.record(logger, snapshotOf(13, 60, []string{"orders", "payments"}, groups), Filters{}) // 40 → 60 groups
	if n := strings.Count(logs.String(), `msg="what lagwatch finds changed"`); n != 1 || !strings.Contains(logs.String(), "groups_seen=60") {
		t.Errorf("a change of half the groups logged:\n%s", logs.String())
	}
}

func TestFiltersThatKeepNothingAreWarnedOnce(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var l findingsLog
	filters := Filters{GroupInclude: regexp.MustCompile("svc"), GroupExclude: regexp.MustCompile("^$")}
	for range 3 {
		l.record(logger, snapshotOf(4, 10, []string{"orders"}, nil), filters)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 ||
		!strings.Contains(logs.String(), `the group filters keep none of the 10 groups Kafka lists`) || !strings.Contains(logs.String(), "group_filter=svc") {
		t.Errorf("want one warning naming the group filter:\n%s", logs.String())
	}

	logs.Reset()
	l = findingsLog{}
	l.record(logger, snapshotOf(4, 10, nil, manyGroups(10, "classic")), Filters{TopicInclude: regexp.MustCompile("^orders$")})
	if !strings.Contains(logs.String(), "the topic filters keep none of the 4 topics") || !strings.Contains(logs.String(), `topic_filter=^orders$`) {
		t.Errorf("want a warning naming the topic filter:\n%s", logs.String())
	}

	logs.Reset()
	l = findingsLog{}
	l.record(logger, snapshotOf(0, 0, nil, nil), Filters{})
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("an empty cluster is not a filter keeping nothing:\n%s", logs.String())
	}
}
