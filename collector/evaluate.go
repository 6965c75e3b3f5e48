package collector

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// recordCache is what reading the records at an offset taught: what a
// consumer there receives first, and when it was written. Records below
// the log end never change, so an answer that found a data record holds
// for as long as some group still sits at that offset; one that found
// only markers up to the end may extend once more records follow, and is
// read again when lagcalc asks again.
type recordCache map[kafka.TopicPartitionOffset]kafka.RecordRead

// final reports whether the read found a data record: nothing later can
// change what a consumer at the offset receives first.
func final(r kafka.RecordRead) bool { return !r.Timestamp.IsZero() }

// evaluate hands the poll to lagcalc and copies lagcalc's results into the
// snapshot. Around it, it reads from Kafka the records lagcalc needs and
// the offsets alone cannot tell: what lies between a resting consumer and
// the end of an idle partition (transaction markers and aborted records
// are not lag), and when the oldest unconsumed record of a backlog older
// than the history was written.
func (p *Poller) evaluate(ctx context.Context, snap *Snapshot, last *lastKnown) error {
	// lagcalc lists the offsets of consumers at rest to verify, from the
	// previous poll's state; the collector adds those just behind the end
	// that the history cannot know about yet. The answers count from this
	// poll on.
	toVerify := append(toKafkaOffsets(p.tracker.VerifyCandidates()), p.nearTheEnd(snap, last)...)
	verifyErr := p.readRecords(ctx, snap.Topics, toVerify)
	poll, evals := lagcalcPoll(snap, p.records)
	p.tracker.Observe(poll)

	var dateErr error
	times := map[lagcalc.TopicPartitionOffset]time.Time{}
	var unresolved []lagcalc.TopicPartitionOffset
	if !p.cfg.SkipRecordDating {
		unresolved = p.tracker.UnresolvedOffsets()
		dateErr = p.readRecords(ctx, snap.Topics, toKafkaOffsets(unresolved))
		for _, o := range unresolved {
			if r, ok := p.records[toKafkaOffset(o)]; ok && final(r) {
				times[o] = r.Timestamp
			}
		}
	}
	p.records.keepOnly(snap, unresolved)
	p.forgetGonePartitions(snap)
	applyResult(snap, p.tracker.EvaluateInto(snap.PolledAt, times, func(commit int) *lagcalc.GroupPartitionNumbers {
		return evals[commit]
	}))
	return errors.Join(verifyErr, dateErr)
}

// nearTheEnd is how far behind the last stable offset a committed offset
// may be for the collector to read what lies between, beyond the offsets
// lagcalc asks for: a consumer that commits "last record + 1" after each
// transaction stands one marker behind, or a few after small transactions.
const nearTheEnd = 16

// nearTheEnd lists committed offsets a few offsets behind the last stable
// offset that lagcalc's candidates (consumers at rest on idle partitions)
// miss: those of partitions that carry transactions, where every commit
// of a caught-up consumer stands before a marker, and those lagwatch has
// not seen before, whose first poll would otherwise show a marker as lag.
// Offsets of other partitions are left alone: without transactions the
// records there are data, and reading them every poll would cost a Fetch
// per group-partition.
func (p *Poller) nearTheEnd(snap *Snapshot, prev *lastKnown) []kafka.TopicPartitionOffset {
	// The partitions of each topic with offsets, by topic: a group's
	// partitions find theirs with one lookup by topic name per topic.
	partitions := make(map[string][]Partition, len(snap.Topics))
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		partitions[t.Name] = t.Partitions
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			if part.HasOffsets && part.LastStable < part.LogEnd {
				p.transactional[kafka.TopicPartition{Topic: t.Name, Partition: part.ID}] = true // an open transaction at this poll
			}
		}
	}
	var out []kafka.TopicPartitionOffset
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		var (
			topic string
			parts []Partition
		)
		for i := range g.Partitions {
			gp := &g.Partitions[i]
			if !gp.HasCommit() {
				continue
			}
			if i == 0 || gp.Topic != topic {
				topic, parts = gp.Topic, partitions[gp.Topic]
			}
			part := partitionByID(parts, gp.Partition)
			if part == nil || !part.HasOffsets {
				continue
			}
			lso := part.LastStable
			if gp.Committed >= lso || lso-gp.Committed > nearTheEnd {
				continue
			}
			tp := kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}
			if p.transactional[tp] || !prev.hadGroupPartition(g.Name, gp) {
				out = append(out, kafka.TopicPartitionOffset{TopicPartition: tp, Offset: gp.Committed})
			}
		}
	}
	return out
}

// partitionByID finds partition id among a topic's partitions: at index
// id, where the metadata lists them (sorted by id, from 0), by a scan
// otherwise.
func partitionByID(parts []Partition, id int32) *Partition {
	if id >= 0 && int(id) < len(parts) && parts[id].ID == id {
		return &parts[id]
	}
	for i := range parts {
		if parts[i].ID == id {
			return &parts[i]
		}
	}
	return nil
}

// readRecords reads the records at the wanted offsets that the cache does
// not hold for good, and caches the answers.
func (p *Poller) readRecords(ctx context.Context, topics []Topic, wanted []kafka.TopicPartitionOffset) error {
	var missing []kafka.TopicPartitionOffset
	for _, o := range wanted {
		if r, ok := p.records[o]; !ok || !final(r) {
			missing = append(missing, o)
		}
	}
	// Topics the principal may not Read are not asked: each denied Fetch
	// is a line in the broker's authorizer log. Their lag seconds stay
	// lower bounds where the history cannot date the backlog.
	missing = p.withoutDeniedReads(missing)
	if len(missing) == 0 {
		return nil
	}
	read, err := p.kafka.ReadRecords(ctx, leadersOf(topics, missing), missing)
	for o, r := range read {
		p.records[o] = r
		if r.Transactional {
			p.transactional[o.TopicPartition] = true
		}
	}
	return err
}

// keepOnly forgets the reads of offsets no group sits at any more and that
// lagcalc did not ask to date this poll.
func (c recordCache) keepOnly(snap *Snapshot, unresolved []lagcalc.TopicPartitionOffset) {
	if len(c) == 0 {
		return
	}
	used := make(map[kafka.TopicPartitionOffset]bool, len(c))
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		for i := range g.Partitions {
			gp := &g.Partitions[i]
			o := kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}, Offset: gp.Committed}
			if _, cached := c[o]; cached {
				used[o] = true // a set no larger than the cache
			}
		}
	}
	for _, o := range unresolved {
		used[toKafkaOffset(o)] = true
	}
	for o := range c {
		if !used[o] {
			delete(c, o)
		}
	}
}

// forgetGonePartitions drops what the poller learned about partitions
// that are no longer in the snapshot.
func (p *Poller) forgetGonePartitions(snap *Snapshot) {
	if len(p.transactional) == 0 {
		return
	}
	present := make(map[kafka.TopicPartition]bool, len(p.transactional))
	for _, t := range snap.Topics {
		for _, part := range t.Partitions {
			if tp := (kafka.TopicPartition{Topic: t.Name, Partition: part.ID}); p.transactional[tp] {
				present[tp] = true
			}
		}
	}
	for tp := range p.transactional {
		if !present[tp] {
			delete(p.transactional, tp)
		}
	}
}

func toKafkaOffset(o lagcalc.TopicPartitionOffset) kafka.TopicPartitionOffset {
	return kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition(o.TopicPartition), Offset: o.Offset}
}

func toKafkaOffsets(offsets []lagcalc.TopicPartitionOffset) []kafka.TopicPartitionOffset {
	out := make([]kafka.TopicPartitionOffset, len(offsets))
	for i, o := range offsets {
		out[i] = toKafkaOffset(o)
	}
	return out
}

// leadersOf is the leader of each partition of offsets, of those that
// the topics have: the few the cache misses, not every partition.
func leadersOf(topics []Topic, offsets []kafka.TopicPartitionOffset) map[kafka.TopicPartition]int32 {
	byName := make(map[string][]Partition, len(topics))
	partitions := 0
	for _, t := range topics {
		byName[t.Name] = t.Partitions
		partitions += len(t.Partitions)
	}
	// Several offsets of one partition share its entry.
	leaders := make(map[kafka.TopicPartition]int32, min(len(offsets), partitions))
	for _, o := range offsets {
		if part := partitionByID(byName[o.Topic], o.Partition); part != nil {
			leaders[o.TopicPartition] = part.Leader
		}
	}
	return leaders
}

// lagcalcPoll is the snapshot as lagcalc sees it: offsets, commits (with
// the position the records showed where they were read), memberships and
// retention policies; and for each commit, where its group-partition's
// numbers go (see lagcalc.Tracker.EvaluateInto).
func lagcalcPoll(snap *Snapshot, reads recordCache) (lagcalc.Poll, []*lagcalc.GroupPartitionNumbers) {
	partitions, groupPartitions := 0, 0
	for _, t := range snap.Topics {
		partitions += len(t.Partitions)
	}
	for _, g := range snap.Groups {
		groupPartitions += len(g.Partitions)
	}
	poll := lagcalc.Poll{
		Time:       snap.PolledAt,
		Retention:  make(map[string]lagcalc.RetentionPolicy, len(snap.Topics)),
		Partitions: make([]lagcalc.PartitionOffsets, 0, partitions),
		Groups:     make([]lagcalc.GroupState, 0, len(snap.Groups)),
		Commits:    make([]lagcalc.Commit, 0, groupPartitions),
	}
	evals := make([]*lagcalc.GroupPartitionNumbers, 0, groupPartitions)
	for _, t := range snap.Topics {
		if t.Config.Known {
			poll.Retention[t.Name] = lagcalc.RetentionPolicy{
				Delete:         t.Config.Deletes(),
				RetentionMs:    t.Config.RetentionMs,
				RetentionBytes: t.Config.RetentionBytes,
			}
		}
		for _, part := range t.Partitions {
			if part.HasOffsets {
				// OffsetsAt before PolledAt marks the last answer of a
				// failing leader: lagcalc derives nothing from it.
				poll.Partitions = append(poll.Partitions, lagcalc.PartitionOffsets{
					TopicPartition: lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID},
					LogStart:       part.LogStart, LogEnd: part.LogEnd, LastStable: part.LastStable,
					ReadAt: part.OffsetsAt,
				})
			}
		}
	}
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		// A group not described has unknown members: left out, lagcalc
		// decides what unknown membership means.
		if g.Described {
			poll.Groups = append(poll.Groups, lagcalc.GroupState{Group: g.Name, HasMembers: len(g.Members) > 0, Subscribed: subscribedTopics(g)})
		}
		for i := range g.Partitions {
			// Commits whose partition's log offsets failed this poll are
			// passed anyway: lagcalc keeps their history and reports them
			// unknown instead of forgetting them.
			gp := &g.Partitions[i]
			// CommittedAt before PolledAt marks the last answer of a
			// failing coordinator: lagcalc derives nothing from it.
			c := lagcalc.Commit{GroupPartition: groupPartitionKey(g.Name, gp), Committed: gp.Committed, ReadAt: g.CommittedAt}
			if len(reads) > 0 {
				if r, ok := reads[kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}, Offset: gp.Committed}]; ok {
					c.Position = r.DataAt
				}
			}
			poll.Commits = append(poll.Commits, c)
			evals = append(evals, &gp.Eval)
		}
	}
	return poll, evals
}

// subscribedTopics is what lagcalc needs of a group's subscriptions: the
// topics, for a group with members whose assignment lagwatch reads (see
// Group.TracksAssignment); nil otherwise (unknown, never "none").
func subscribedTopics(g *Group) []string {
	if len(g.Members) == 0 || len(g.Subscribed) == 0 || !g.TracksAssignment() {
		return nil
	}
	topics := make([]string, 0, len(g.Subscribed))
	for t, ok := range g.Subscribed {
		if ok {
			topics = append(topics, t)
		}
	}
	return topics
}

// applyResult copies lagcalc's partition and group numbers into the
// snapshot; the group-partitions' are already there (EvaluateInto).
// lagcalc's results are sorted by key and so are a topic's partitions in
// the snapshot: each topic's results are found by one binary search, and
// its partitions by walking both lists together (sortedRun).
func applyResult(snap *Snapshot, res lagcalc.Result) {
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		results := runOf(res.Partitions, t.Name, func(r lagcalc.PartitionResult) string { return r.Topic },
			func(r lagcalc.PartitionResult, id int32) int { return cmp.Compare(r.Partition, id) })
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			if pr := results.find(part.ID); pr != nil {
				part.ProduceRate, part.HasProduceRate = pr.ProduceRate, pr.HasProduceRate
			}
		}
	}
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		if gr, ok := res.Group(g.Name); ok {
			g.Status, g.MaxLagSeconds, g.HasMaxLagSeconds = gr.Status, gr.MaxLagSeconds, gr.HasMaxLagSeconds
		}
	}
}

// sortedRun is the results of one group (or topic), sorted by the rest of
// their key, with a cursor: keys asked for in ascending order are found by
// walking it once. A key asked for out of order is found by binary search.
type sortedRun[R, K any] struct {
	results []R
	compare func(R, K) int
	next    int
}

// runOf is the run of sorted results whose first key part is name.
func runOf[R, K any](results []R, name string, nameOf func(R) string, compare func(R, K) int) sortedRun[R, K] {
	start, _ := slices.BinarySearchFunc(results, name, func(r R, name string) int { return strings.Compare(nameOf(r), name) })
	end := start
	for end < len(results) && nameOf(results[end]) == name {
		end++
	}
	return sortedRun[R, K]{results: results[start:end:end], compare: compare}
}

// find returns the result with key k, nil when there is none.
func (s *sortedRun[R, K]) find(k K) *R {
	i := s.next
	for i < len(s.results) && s.compare(s.results[i], k) < 0 {
		i++
	}
	if i < len(s.results) && s.compare(s.results[i], k) == 0 {
		s.next = i
		return &s.results[i]
	}
	if s.next > 0 && s.compare(s.results[s.next-1], k) >= 0 {
		// k is before the cursor: asked out of order.
		if j, ok := slices.BinarySearchFunc(s.results[:s.next], k, s.compare); ok {
			return &s.results[j]
		}
		return nil
	}
	s.next = i
	return nil
}
