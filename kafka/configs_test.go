package kafka

import "testing"

func TestRetentionDeletesOnlyWhereCleanupPolicyNamesDelete(t *testing.T) {
	cases := map[string]bool{
		"delete":          true,
		"compact":         false,
		"compact,delete":  true,
		"delete, compact": true,
		"":                false,
		"nodelete":        false,
	}
	for policy, want := range cases {
		if got := (TopicConfig{CleanupPolicy: policy}).Deletes(); got != want {
			t.Errorf("cleanup.policy %q: Deletes() = %v, want %v", policy, got, want)
		}
	}
}
