package collector

import (
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// purgingApp models a Kafka Streams application on a repartition topic
// (retention.ms=-1): right after each commit it deletes the records it
// committed (DeleteRecords up to the committed offset), so the log start
// follows its committed offset. Here it commits 100 further and purges
// right after every OffsetFetch lagwatch sends, the worst moment: between
// lagwatch's read of the committed offset and any read that follows it.
type purgingApp struct {
	mu        sync.Mutex
	committed int64 // what OffsetFetch answers next
	start     int64 // the log start: the last purge
	// order records what lagwatch asked, in the order the broker saw it:
	// "start", "committed", "end".
	order []string
}

const purgingTopic, purgingGroup = "odd", "odd-group"

// listOffsets answers a ListOffsets request (every partition of one
// request asks the same timestamp: -2 for the log start, -1 for the end).
func (a *purgingApp) listOffsets(r kmsg.Request) (kmsg.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	what := "end"
	if req := r.(*kmsg.ListOffsetsRequest); len(req.Topics) > 0 && len(req.Topics[0].Partitions) > 0 && req.Topics[0].Partitions[0].Timestamp == -2 {
		what = "start"
	}
	a.order = append(a.order, what)
	return listOffsetsAnswer(func(string, int32, int64) (int64, int16) {
		if what == "start" {
			return a.start, 0
		}
		return a.committed + 50, 0
	})(r)
}

func (a *purgingApp) offsetFetch(r kmsg.Request) (kmsg.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.order = append(a.order, "committed")
	answer := a.committed
	// The application commits further and purges what it committed.
	a.committed += 100
	a.start = a.committed
	return offsetFetchAnswer(map[string]map[string]map[int32]int64{
		purgingGroup: {purgingTopic: {0: answer, 1: answer, 2: answer, 3: answer}},
	})(r)
}

// Log-start offsets are read before the committed offsets, log ends after
// them, in every poll: a purge that follows a commit (Kafka Streams) can
// then never read as messages deleted unread, and a commit can never read
// as past the log end. Three ListOffsets per leader, as before.
func TestLogStartsAreReadBeforeCommittedOffsetsSoAPurgeAfterACommitIsNoLoss(t *testing.T) {
	fc := oddCluster(t)
	app := &purgingApp{committed: 1000, start: 1000}
	defer fc.intercept(kmsg.ListOffsets, allBrokers, app.listOffsets)()
	defer fc.intercept(kmsg.OffsetFetch, allBrokers, app.offsetFetch)()
	p := fc.poller()
	for poll := range 5 {
		app.mu.Lock()
		app.order = nil
		app.mu.Unlock()
		snap := pollComplete(t, p)
		g := findGroup(t, snap, purgingGroup)
		for _, part := range []int32{0, 1, 2, 3} {
			gp, ok := groupPartition(g, purgingTopic, part)
			if !ok {
				t.Fatalf("poll %d: %s/%d missing", poll, purgingTopic, part)
			}
			if gp.Eval.ExpiredMessages != 0 || gp.Eval.HasRetentionHeadroom {
				t.Errorf("poll %d, %s/%d: committed %d, log start %d: expired %d, headroom %v; want neither",
					poll, purgingTopic, part, gp.Committed, findPartition(t, snap, purgingTopic, part).LogStart,
					gp.Eval.ExpiredMessages, gp.Eval.HasRetentionHeadroom)
			}
			if gp.Eval.Status.String() == "out_of_range" {
				t.Errorf("poll %d, %s/%d: out_of_range", poll, purgingTopic, part)
			}
		}
		app.mu.Lock()
		order := app.order
		app.mu.Unlock()
		checkReadOrder(t, poll, order)
	}
}

// checkReadOrder fails unless every log-start read came before every
// committed-offset read, and every log-end read after them, with one
// log-start and two log-end reads per leader (3 leaders).
func checkReadOrder(t *testing.T, poll int, order []string) {
	t.Helper()
	count := map[string]int{}
	firstCommitted, lastCommitted := -1, -1
	for i, what := range order {
		count[what]++
		if what == "committed" {
			if firstCommitted < 0 {
				firstCommitted = i
			}
			lastCommitted = i
		}
	}
	if firstCommitted < 0 {
		t.Fatalf("poll %d: no OffsetFetch in %v", poll, order)
	}
	for i, what := range order {
		if (what == "start" && i > firstCommitted) || (what == "end" && i < lastCommitted) {
			t.Errorf("poll %d: reads in the order %v; want every start before and every end after the committed offsets", poll, order)
			break
		}
	}
	if count["start"] != 3 || count["end"] != 6 {
		t.Errorf("poll %d: %d log-start and %d log-end ListOffsets; want 3 and 6 (one and two per leader)", poll, count["start"], count["end"])
	}
}
