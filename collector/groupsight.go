package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

// Kafka's ListGroups silently leaves out the groups the principal may not
// Describe, so "no groups" and "not allowed to see the groups" look alike,
// and a revoked Group Describe would make every group's series vanish
// while lagwatch looked healthy. groupSight tells them apart:
//
//   - A group lagwatch reported that is no longer listed is asked about
//     directly: an OffsetFetch for no partition, which Kafka answers
//     GROUP_AUTHORIZATION_FAILED when the principal may not Describe the
//     group and with no error when the group is gone. A group listed but
//     denied (with Cluster Describe, ListGroups lists every group) needs no
//     question. Such a group is hidden: it is asked again once per
//     recheckDenied (one DENIED line in the broker's log per 5 minutes),
//     and sooner when ListGroups lists it again.
//   - A listing with no group at all while __consumer_offsets grows (where
//     it is visible) means some group commits that lagwatch cannot see
//     (see groupsInvisible).
//
// Either is blindness to groups: the list_groups stage fails, so
// lagwatch_up is 0 (LagwatchPollsFailing, then LagwatchSnapshotStale, as
// for any blindness), /-/ready follows lagwatch_up as documented, the
// hidden groups are served as of their last answer until
// --kafka.stale-after, and one line names the kafka-acls grant.
type groupSight struct {
	// listedTotal is how many groups ListGroups named this poll, before
	// lagwatch's filters; listed is those the filters kept, before the
	// denied ones were left out.
	listedTotal int
	listed      map[string]bool
	// hidden are the groups lagwatch reported and Kafka now hides or
	// denies, with their last listing; unlisted when ListGroups left them
	// out (rather than listing and denying them).
	hidden map[string]hiddenGroup
	// offsetsTopicEnd is the sum of __consumer_offsets' log ends at the
	// last poll, when offsetsTopicRead.
	offsetsTopicEnd  int64
	offsetsTopicRead bool
	// lastGrowth is when __consumer_offsets last grew while no group was
	// listed.
	lastGrowth time.Time
	// noGroupVisible is true while the listing is empty and
	// __consumer_offsets grows.
	noGroupVisible bool
}

type hiddenGroup struct {
	listed   kafka.ListedGroup
	unlisted bool
}

// offsetsTopic is where Kafka keeps committed offsets and group metadata.
const offsetsTopic = "__consumer_offsets"

// errNoGroupVisible is a listing without any group while groups commit.
var errNoGroupVisible = errors.New("ListGroups lists no group while __consumer_offsets grows: the principal may Describe no group (Group Describe missing)")

// groupsHiddenError is groups lagwatch reported that Kafka now hides or
// denies.
type groupsHiddenError struct{ names []string }

func (e groupsHiddenError) Error() string {
	return fmt.Sprintf("Kafka no longer lets lagwatch Describe %d group(s) it reported (%s): Group Describe was revoked", len(e.names), firstNames(e.names, 3))
}

// noteListing records what ListGroups said, and forgets the denial of a
// hidden group that ListGroups lists again: without Cluster Describe,
// Kafka lists only the groups the principal may Describe, so the grant is
// back and the group is read this very poll.
func (p *Poller) noteListing(total int, listed []kafka.ListedGroup, now time.Time) {
	s := &p.sight
	s.listedTotal = total
	s.listed = make(map[string]bool, len(listed))
	for _, g := range listed {
		s.listed[g.Name] = true
		if h, ok := s.hidden[g.Name]; ok && h.unlisted {
			p.access.allow(permGroupDescribe, g.Name)
			delete(s.hidden, g.Name)
		}
	}
}

// checkGroupSight finds the groups lagwatch reported that Kafka now hides
// or denies, and a listing that cannot be complete; it reports either as
// the list_groups stage failing, and puts the hidden groups back in the
// listing as of their last answer while that is fresh.
func (p *Poller) checkGroupSight(ctx context.Context, a *answers, last *lastKnown, listFailed bool, errs *stageErrors) {
	s := &p.sight
	if s.hidden == nil {
		s.hidden = map[string]hiddenGroup{}
	}
	now := errs.now
	present := make(map[string]bool, len(a.listed)+len(a.share.listed))
	for _, g := range a.listed {
		present[g.Name] = true
	}
	for _, g := range a.share.listed {
		present[g.Name] = true
	}

	// The groups to account for: those of the last snapshot gone from this
	// poll, and those hidden already.
	var gone []kafka.ListedGroup
	if last.prev != nil {
		for i := range last.prev.Groups {
			g := &last.prev.Groups[i]
			if !present[g.Name] {
				gone = append(gone, kafka.ListedGroup{Name: g.Name, Coordinator: g.Coordinator, ProtocolType: g.ProtocolType, State: g.State, ConsumerProtocol: g.Protocol == ProtocolConsumer, ListedAt: g.ListedAt})
			}
		}
	}
	for name, h := range s.hidden {
		if !present[name] && (last.group(name) == nil) {
			gone = append(gone, h.listed)
		}
	}
	var ask []kafka.ListedGroup
	for _, g := range gone {
		switch {
		case p.access.isDenied(permGroupDescribe, g.Name, now):
			s.hidden[g.Name] = hiddenGroup{listed: g, unlisted: !s.listed[g.Name]}
		case !s.listed[g.Name] && !listFailed:
			ask = append(ask, g)
		}
	}
	if len(ask) > 0 {
		// No partition is asked for: Kafka checks Group Describe alone.
		none := func(string) map[string][]int32 { return map[string][]int32{} }
		_, err := p.kafka.CommittedOffsetsOn(ctx, ask, none)
		p.access.learn(err, now)
		for _, g := range ask {
			if p.access.isDenied(permGroupDescribe, g.Name, now) {
				s.hidden[g.Name] = hiddenGroup{listed: g, unlisted: true}
			} else {
				delete(s.hidden, g.Name) // gone, or to be read once listed
			}
		}
	}
	for name := range s.hidden {
		if present[name] {
			delete(s.hidden, name)
		}
	}

	s.noGroupVisible = p.groupsInvisible(a, listFailed, now)
	p.access.setWildcard(permGroupDescribe, s.noGroupVisible, now)
	if s.noGroupVisible {
		errs.set(StageListGroups, errNoGroupVisible)
	}
	if len(s.hidden) == 0 {
		return
	}
	names := make([]string, 0, len(s.hidden))
	for name := range s.hidden {
		names = append(names, name)
		if g := last.group(name); g != nil && last.fresh(g.ListedAt) {
			lg := s.hidden[name].listed
			lg.ListedAt = g.ListedAt
			a.listed = append(a.listed, lg)
		}
	}
	slices.Sort(names)
	slices.SortFunc(a.listed, func(x, y kafka.ListedGroup) int { return strings.Compare(x.Name, y.Name) })
	errs.set(StageListGroups, groupsHiddenError{names})
}

// commitsUnseenFor is how long a listing without groups counts as blind
// after __consumer_offsets last grew: longer than the commit interval of
// slow committers (Kafka Connect sinks commit every 60 s), short enough
// that the tombstones Kafka writes when the last groups are deleted make
// lagwatch_up 0 for less than any alert's `for:`.
const commitsUnseenFor = 2 * time.Minute

// groupsInvisible reports whether ListGroups named no group while some
// group commits: __consumer_offsets (where the principal may see it) grew
// since the last poll, or within commitsUnseenFor, or it holds records on
// lagwatch's first look, which cannot tell yet. It is never true while
// __consumer_offsets is not visible: then lagwatch cannot tell.
func (p *Poller) groupsInvisible(a *answers, listFailed bool, now time.Time) bool {
	s := &p.sight
	var end int64
	seen := false
	for tp, o := range a.offsets {
		if tp.Topic == offsetsTopic {
			end += o.End
			seen = true
		}
	}
	first := seen && !s.offsetsTopicRead
	if seen && s.offsetsTopicRead && end > s.offsetsTopicEnd {
		s.lastGrowth = now
	}
	s.offsetsTopicEnd, s.offsetsTopicRead = end, seen
	if s.listedTotal > 0 || listFailed || !seen {
		s.lastGrowth = time.Time{}
		return false
	}
	return (first && end > 0) || (!s.lastGrowth.IsZero() && now.Sub(s.lastGrowth) < commitsUnseenFor)
}
