package collector

import (
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// findingsLog tells whoever reads lagwatch's log what the polls find, in a
// few lines a user can follow: after the first poll that lists the groups,
// one line with the brokers, the topics and the groups Kafka listed and
// those the filters (and the shard) kept, by type; a warning when a
// filter keeps no topic or no group of the many Kafka listed (a filter
// copied from elsewhere that matches nothing); and one line whenever one
// of those counts moves by more than findingsChange since the last line.
type findingsLog struct {
	logged bool
	last   findings
	// warned is the last warning about a filter keeping nothing, so that
	// it is given once, not every poll.
	warned string
}

// findingsChange is the fraction a count must move by, since the last
// line, to be logged again.
const findingsChange = 0.2

// findings are the counts of one poll.
type findings struct {
	brokers, topicsSeen, topicsKept, groupsSeen, groupsKept int
	// byType counts the groups kept by type: classic, consumer, streams
	// and share.
	byType map[string]int
}

func findingsOf(s *Snapshot) findings {
	f := findings{
		brokers: len(s.Brokers), topicsSeen: s.Seen.Topics, topicsKept: len(s.Topics),
		groupsSeen: s.Seen.Groups, groupsKept: len(s.Groups) + len(s.ShareGroups),
		byType: map[string]int{},
	}
	for _, g := range s.Groups {
		f.byType[g.Protocol]++
	}
	if len(s.ShareGroups) > 0 {
		f.byType["share"] = len(s.ShareGroups)
	}
	return f
}

func (f findings) attrs() []any {
	var types []string
	for _, t := range slices.Sorted(maps.Keys(f.byType)) {
		types = append(types, fmt.Sprintf("%s=%d", t, f.byType[t]))
	}
	return []any{
		"brokers", f.brokers,
		"topics_seen", f.topicsSeen, "topics_kept", f.topicsKept,
		"groups_seen", f.groupsSeen, "groups_kept", f.groupsKept,
		"groups_kept_by_type", strings.Join(types, " "),
	}
}

// movedFrom reports whether a count moved by more than findingsChange
// of its earlier value (any change from or to 0).
func (f findings) movedFrom(old findings) bool {
	for _, c := range [][2]int{
		{old.brokers, f.brokers}, {old.topicsSeen, f.topicsSeen}, {old.topicsKept, f.topicsKept},
		{old.groupsSeen, f.groupsSeen}, {old.groupsKept, f.groupsKept},
	} {
		was, now := float64(c[0]), float64(c[1])
		if was == 0 && now == 0 {
			continue
		}
		if was == 0 || now == 0 || (now-was)/was > findingsChange || (was-now)/was > findingsChange {
			return true
		}
	}
	return false
}

func (l *findingsLog) record(logger *slog.Logger, s *Snapshot, filters Filters) {
	f := findingsOf(s)
	switch {
	case !l.logged:
		logger.Info("first poll: what lagwatch found, and kept by --group.* and --topic.* filters", f.attrs()...)
	case f.movedFrom(l.last):
		logger.Info("what lagwatch finds changed", f.attrs()...)
	default:
		return
	}
	l.logged, l.last = true, f
	l.warnKeptNothing(logger, f, filters)
}

// warnKeptNothing warns, once, when the filters keep no topic or no group
// although Kafka listed some.
func (l *findingsLog) warnKeptNothing(logger *slog.Logger, f findings, filters Filters) {
	var warning string
	var attrs []any
	switch {
	case f.topicsSeen > 0 && f.topicsKept == 0:
		warning = fmt.Sprintf("the topic filters keep none of the %d topics Kafka lists: nothing is exported but lagwatch's own health (the filters match anywhere in a name, as kafka_exporter's)", f.topicsSeen)
		attrs = []any{"topic_filter", exprOf(filters.TopicInclude), "topic_exclude", exprOf(filters.TopicExclude)}
	case f.groupsSeen > 0 && f.groupsKept == 0:
		warning = fmt.Sprintf("the group filters keep none of the %d groups Kafka lists: no consumer-group series are exported (the filters match anywhere in a name, as kafka_exporter's)", f.groupsSeen)
		attrs = []any{"group_filter", exprOf(filters.GroupInclude), "group_exclude", exprOf(filters.GroupExclude)}
		if filters.Shard.Count > 1 {
			attrs = append(attrs, "shard", fmt.Sprintf("%d of %d", filters.Shard.Index, filters.Shard.Count))
		}
	}
	if warning != "" && warning != l.warned {
		logger.Warn(warning, attrs...)
	}
	l.warned = warning
}

func exprOf(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}
