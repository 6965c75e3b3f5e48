package collector

import (
	"slices"
	"testing"

	"github.com/lagwatch/lagwatch/kafka"
)

// Share groups are separated from the others, in order; a listing without
// any is passed on as it is, not copied.
func TestSplitShareGroupsSeparatesThemAndPassesAListingWithoutAnyAsItIs(t *testing.T) {
	classic := kafka.ListedGroup{Name: "orders", ProtocolType: "consumer"}
	share := kafka.ListedGroup{Name: "jobs", Type: ProtocolShare}
	streams := kafka.ListedGroup{Name: "payments", Type: "streams"}

	others, shares := splitShareGroups([]kafka.ListedGroup{classic, share, streams})
	if !slices.Equal(others, []kafka.ListedGroup{classic, streams}) || !slices.Equal(shares, []kafka.ListedGroup{share}) {
		t.Errorf("split into %v and %v", others, shares)
	}

	listed := []kafka.ListedGroup{classic, streams}
	others, shares = splitShareGroups(listed)
	if len(shares) != 0 || len(others) != 2 || &others[0] != &listed[0] {
		t.Errorf("a listing without share groups became %v and %v (copied: %v)", others, shares, len(others) > 0 && &others[0] != &listed[0])
	}
}
