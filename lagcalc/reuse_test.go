package lagcalc

import (
	"math"
	"testing"
	"time"
)

// Answers reused for a failing broker (Commit.ReadAt, PartitionOffsets.ReadAt
// before the poll's time) keep the group-partition in the output with the
// status and lag of the last poll that read both fresh.

// reusePoll is one poll of a consumer that commits 10 msg/s `lag` behind a
// producer writing 10 msg/s; offsetsAt and commitAt are when the two
// answers passed were read (an earlier poll's time when reused).
func reusePoll(s, offsetsAt, commitAt float64, lag int64) Poll {
	return Poll{
		Time:       at(s),
		Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 1000 + int64(10*offsetsAt), ReadAt: at(offsetsAt)}},
		Commits:    []Commit{{GroupPartition: billing, Committed: 1000 - lag + int64(10*commitAt), ReadAt: at(commitAt)}},
		Groups:     []GroupState{{Group: "billing", HasMembers: true}},
	}
}

func TestReusedLogOffsetsNeverReadAsOutOfRange(t *testing.T) {
	// The leader's ListOffsets fails from 600 s on; its last answer stands
	// in while the consumer, 5 messages behind the head, keeps committing
	// past that old log end.
	tr := NewTracker(Settings{StaleAfter: 60 * time.Second})
	for s := 0.0; s <= 660; s += 15 {
		offsetsAt := min(s, 585)
		tr.Observe(reusePoll(s, offsetsAt, s, 5))
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		if s > 0 && s <= 585+60 && (r.Status != StatusOK || r.Lag != 5) {
			t.Errorf("at %v s (log offsets as of %v s): status %v, lag %d; want ok and 5 (the last lag read together)", s, offsetsAt, r.Status, r.Lag)
		}
		if s > 585+60 && r.Status != StatusUnknown {
			t.Errorf("at %v s: status %v, want unknown once the last fresh read is older than StaleAfter", s, r.Status)
		}
		if r.Status == StatusOutOfRange {
			t.Fatalf("at %v s: out_of_range from a reused log end", s)
		}
	}
}

func TestReusedCommitsNeitherStallNorDriftTheLag(t *testing.T) {
	// The coordinator fails for 45 s at a 20 s poll interval: its last
	// committed offsets stand in while the log end moves on. Neither
	// stalled nor a lag drifting up (1,000 → 1,300 while the true lag is
	// 900).
	tr := NewTracker(Settings{StallAfter: 40 * time.Second, StaleAfter: 80 * time.Second})
	for s := 0.0; s <= 900; s += 20 {
		commitAt := s
		if s >= 600 && s < 680 {
			commitAt = 580
		}
		tr.Observe(reusePoll(s, s, commitAt, 900))
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		if s > 180 && (r.Status != StatusOK || r.Lag != 900) {
			t.Errorf("at %v s (committed offsets as of %v s): status %v, lag %d; want ok and 900", s, commitAt, r.Status, r.Lag)
		}
	}
}

func TestAPartitionWithReusedAnswersKeepsItsLastStatus(t *testing.T) {
	// Stalled before the coordinator failed: stays stalled (the page is
	// not resolved by blindness), and unknown after StaleAfter.
	tr := NewTracker(Settings{StaleAfter: time.Minute, GroupStallAfter: everyGroup(time.Minute)})
	var seq []simPoll
	for s := 0.0; s <= 300; s += 15 {
		p := Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 1000 + int64(10*s)}},
			Commits: []Commit{{GroupPartition: billing, Committed: 900}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}}
		if s >= 120 {
			p.Commits[0].ReadAt = at(105)
		}
		tr.Observe(p)
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		seq = append(seq, simPoll{at: s, status: r.Status})
	}
	onlyStatus(t, seq, 60, 105+60+1, StatusStalled)
	onlyStatus(t, seq, 105+60+1, math.Inf(1), StatusUnknown)
}
