package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// `lagwatch demo` says what it does while it starts, states the settings
// it shortened, prints a table of the groups and their statuses every
// 15 s, and warns about no missing ACL: its topics exist before the first
// poll.
func TestDemoTellsItsProgressSettingsAndStatusesWithoutAnACLWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo workload for 20 s")
	}
	addr := waitfor.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--web.listen-address=" + addr}, stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("the demo exited with %d: %s", code, stderr.String())
		}
	})
	waitfor.Condition(t, 60*time.Second, "a status table", func() error {
		if !regexp.MustCompile(`(?m)^lagwatch demo, groups at \d\d:\d\d:\d\d:\n +GROUP +TYPE +STATUS +MEMBERS +MAX LAG \(s\)\n +demo-`).MatchString(stdout.String()) {
			return fmt.Errorf("no table yet in:\n%s", stdout.String())
		}
		return nil
	})
	out := stdout.String()
	for _, want := range []string{
		"lagwatch demo: starting the embedded Kafka-protocol cluster... up\n",
		"lagwatch demo: creating the demo topics... done\n",
		"shortened for the demo: --kafka.poll-interval=2s (default 15s), --lag.window=1m0s (default 10m0s), --lag.stall-after=20s (default ",
		"--no-demo.status-table",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"kafka-acls", "ACL", "may Describe none"} {
		if strings.Contains(stderr.String(), unwanted) {
			t.Errorf("the demo's log mentions %q:\n%s", unwanted, stderr.String())
		}
	}
}

func TestDemoWithoutTheTableFlagPrintsNoTable(t *testing.T) {
	app, f := newApp(io.Discard, io.Discard)
	if _, err := app.Parse([]string{"demo", "--no-demo.status-table"}); err != nil {
		t.Fatal(err)
	}
	if f.demo.statusTable {
		t.Error("--no-demo.status-table leaves the table on")
	}
}
