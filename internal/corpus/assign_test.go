package corpus

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// A Flink or Spark job reads its partitions with assign() and commits its
// position for a group it never joins (OffsetCommit with generation -1), so
// the group has no members while its offsets move. Membership is not
// consumption: such a consumer is ok while it keeps up, lagging while it
// falls behind, and stopped only once its commits stop.
func TestAssignModeCommitterIsOkWhileKeepingUpLaggingWhileFallingBehindStoppedOnlyAfterCommitsStop(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "assign-flink-in", "assign-flink-job"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	prod := producer(t, addr)
	job := kafkatest.NewKgo(t, addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(100*time.Millisecond))
	w := newWatcher(t, addr, "assign-flink", lagSettings{})

	position := int64(0)
	// step is one poll interval of the job: it processes n records, commits
	// its position without joining, and producers write produced more.
	step := func(n, produced int) {
		if rs := consumeN(t, job, n); len(rs) > 0 {
			position = rs[len(rs)-1].Offset + 1
			memberlessCommit(t, adm, group, topic, map[int32]int64{0: position})
		}
		produceN(t, prod, topic, 0, produced, 100)
	}
	produceN(t, prod, topic, 0, 50, 100)
	// The job is running before lagwatch first polls.
	step(50, 50)

	type phase struct {
		name           string
		polls          int
		consume, write int
		want           string
	}
	// The job reads 50 and the producers write 50 per interval: a constant
	// lag of 50 with commits moving is keeping up. Then it reads 40 of 100
	// (lag +60 per interval, a window long), then it stops reading and
	// committing.
	phases := []phase{
		{"keeping up", 20, 50, 50, "ok"},
		{"falling behind", 40, 40, 100, "lagging"},
		{"commits stopped", 12, 0, 50, "stopped"},
	}
	written := int64(100)
	for _, ph := range phases {
		var seq []string
		firstWant := -1
		commitsStoppedAt := w.Now()
		for i := range ph.polls {
			s := w.poll()
			v := find(s, group, topic, 0)

			// Ground truth from the broker: the group is Empty, its commit
			// is the job's position, and the lag is log end − position.
			hw, _ := kafkatest.LogEnds(t, adm, topic)
			if hw[0] != written {
				t.Fatalf("%s: high watermark %d, want %d", ph.name, hw[0], written)
			}
			if committed := kafkatest.Committed(t, adm, group, topic); committed[0] != position {
				t.Fatalf("%s: broker has committed %v, want %d", ph.name, committed, position)
			}
			if state, members := groupState(t, adm, group); members != 0 || state != "Empty" {
				t.Fatalf("%s: group is %s with %d members, want Empty with 0", ph.name, state, members)
			}

			seq = append(seq, v.status())
			if v.lag() != hw[0]-position {
				t.Errorf("%s poll %d: lag %d, want %d (log end %d − committed %d)", ph.name, i+1, v.lag(), hw[0]-position, hw[0], position)
			}
			if v.status() == ph.want && firstWant < 0 {
				firstWant = i + 1
			}
			switch {
			case ph.want != "stopped" && (v.status() == "stopped" || v.status() == "stalled"):
				t.Errorf("%s poll %d: %s while the job's commits move: %s", ph.name, i+1, v.status(), v)
			case ph.want == "stopped" && v.status() == "stopped" && w.since(commitsStoppedAt) < lagStallAfterDefault:
				t.Errorf("%s poll %d: stopped %v after the last commit, before stall-after (%v)", ph.name, i+1, w.since(commitsStoppedAt), lagStallAfterDefault)
			}
			step(ph.consume, ph.write)
			written += int64(ph.write)
		}
		t.Logf("%s: statuses %v (first %q at poll %d of %d)", ph.name, counts(seq), ph.want, firstWant, ph.polls)
		last := seq[len(seq)-1]
		switch ph.want {
		case "ok":
			// Keeping up from the second poll on (the first has no history).
			for i, st := range seq[1:] {
				if st != "ok" {
					t.Errorf("%s poll %d: %s, want ok (constant lag 50, commits moving)", ph.name, i+2, st)
				}
			}
		default:
			if last != ph.want {
				t.Errorf("%s: %s at the end of the phase, want %s; sequence %v", ph.name, last, ph.want, seq)
			}
		}
	}
}
