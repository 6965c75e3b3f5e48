package kafka

import (
	"slices"
	"testing"
)

// The brokers' listings become one list sorted by name with each group
// once, as the first broker listed it, and the filter is asked once per
// group.
func TestListedOnceSortsKeepsEachGroupOnceAndAsksTheFilterOncePerGroup(t *testing.T) {
	answers := [][]ListedGroup{
		{{Name: "orders", Coordinator: 1, State: "Stable"}, {Name: "audit", Coordinator: 1}},
		{},
		{{Name: "orders", Coordinator: 3, State: "PreparingRebalance"}, {Name: "billing", Coordinator: 3}, {Name: "skipped", Coordinator: 3}},
	}
	var asked []string
	got := listedOnce(answers, func(name string) bool {
		asked = append(asked, name)
		return name != "skipped"
	})
	want := []ListedGroup{{Name: "audit", Coordinator: 1}, {Name: "billing", Coordinator: 3}, {Name: "orders", Coordinator: 1, State: "Stable"}}
	if !slices.Equal(got, want) {
		t.Errorf("listed %+v,\nwant %+v", got, want)
	}
	if wantAsked := []string{"audit", "billing", "orders", "skipped"}; !slices.Equal(asked, wantAsked) {
		t.Errorf("the filter was asked %v, want %v", asked, wantAsked)
	}
	if all := listedOnce(answers, nil); len(all) != 4 {
		t.Errorf("without a filter %d groups listed, want 4", len(all))
	}
}
