package kafka

import (
	"errors"
	"maps"
	"testing"
)

// gather returns every answer merged, a failed request's part answer
// included, and every error.
func TestGatherMergesEveryAnswerAndKeepsWhatAFailedRequestReturned(t *testing.T) {
	broken := errors.New("broker 2 timed out")
	answers := map[int]map[string]int64{
		1: {"a": 1, "b": 2},
		2: {"c": 3},
		3: {},
		4: {"d": 4},
	}
	got, err := gather([]int{1, 2, 3, 4}, func(id int) (map[string]int64, error) {
		if id == 2 {
			return answers[id], broken
		}
		return answers[id], nil
	})
	if !errors.Is(err, broken) {
		t.Errorf("error %v, want it to carry %v", err, broken)
	}
	if want := map[string]int64{"a": 1, "b": 2, "c": 3, "d": 4}; !maps.Equal(got, want) {
		t.Errorf("gathered %v, want %v", got, want)
	}
}

// merged sizes its result once; when only one map has entries it is the
// result itself (nothing copied); with none, the result is empty, not nil.
func TestMergedIsTheOnlyNonEmptyMapItselfAndNeverNil(t *testing.T) {
	only := map[string]int64{"a": 1}
	got := merged([]map[string]int64{nil, only, {}})
	got["b"] = 2
	if len(only) != 2 {
		t.Errorf("the single non-empty map was copied: %v", got)
	}
	if none := merged([]map[string]int64{nil, {}}); none == nil || len(none) != 0 {
		t.Errorf("merged of empty maps is %#v, want an empty map", none)
	}
	if m := merged([]map[string]int64{{"a": 1}, {"b": 2}}); !maps.Equal(m, map[string]int64{"a": 1, "b": 2}) {
		t.Errorf("merged %v", m)
	}
}
