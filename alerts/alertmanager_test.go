package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

const alertmanagerConfig = "../deploy/alertmanager/alertmanager.yml"

// startAlertmanager runs Debian's Alertmanager with the bundled
// configuration and returns its base URL. Without the binary the routing
// cannot be checked, which is a failure, not a skip.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			t.Fatalf("Alertmanager is not on PATH: install Debian's prometheus-alertmanager package: make test does it")
		}
	}
	addr := waitfor.FreeAddr(t)
	dir := t.TempDir()
	var log bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+alertmanagerConfig,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	waitfor.Condition(t, 30*time.Second, "Alertmanager ready", func() error {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %s", resp.Status)
		}
		return nil
	})
	return base
}

// postAlerts sends firing alerts as Prometheus does.
func postAlerts(t *testing.T, base string, alerts ...map[string]string) {
	t.Helper()
	var body []map[string]any
	for _, labels := range alerts {
		body = append(body, map[string]any{
			"labels":   labels,
			"startsAt": time.Now().Add(-time.Minute).Format(time.RFC3339),
			"endsAt":   time.Now().Add(time.Hour).Format(time.RFC3339),
		})
	}
	data, _ := json.Marshal(body)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post alerts: %s", resp.Status)
	}
}

type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

func listAlerts(base string) ([]amAlert, error) {
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var alerts []amAlert
	return alerts, json.NewDecoder(resp.Body).Decode(&alerts)
}

func alert(name, severity string, kv ...string) map[string]string {
	l := map[string]string{"alertname": name, "severity": severity, "job": "lagwatch", "instance": "lagwatch:9308"}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return l
}

func key(l map[string]string) string {
	return strings.Join([]string{l["alertname"], l["cluster"], l["instance"], l["consumergroup"], l["topic"], l["partition"]}, "/")
}

// checkActive waits until Alertmanager has evaluated inhibition for every
// alert it holds, then checks that exactly the alerts in want are active
// (would notify) and every other one is suppressed.
func checkActive(t *testing.T, base string, want ...map[string]string) {
	t.Helper()
	wantKeys := map[string]bool{}
	for _, w := range want {
		wantKeys[key(w)] = true
	}
	waitfor.Condition(t, 20*time.Second, "inhibition as designed", func() error {
		alerts, err := listAlerts(base)
		if err != nil {
			return err
		}
		var problems []string
		for _, a := range alerts {
			active := a.Status.State == "active"
			if active != wantKeys[key(a.Labels)] {
				problems = append(problems, fmt.Sprintf("%s is %s (inhibited by %v)", key(a.Labels), a.Status.State, a.Status.InhibitedBy))
			}
		}
		slices.Sort(problems)
		if len(problems) > 0 {
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	})
}

// The bundled Alertmanager makes one problem one notification. Each case
// posts what the rules fire for one incident to a fresh Alertmanager.
func TestAlertmanagerInhibitsConsequencesOfOneProblem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Alertmanager")
	}
	t.Run("a stalled partition inhibits the lag alerts of its group and topic", func(t *testing.T) {
		base := startAlertmanager(t)
		stall := alert("KafkaConsumerPartitionStalled", "page", "consumergroup", "billing", "topic", "orders", "partition", "0", "status", "stalled")
		otherTopic := alert("KafkaConsumerLagHigh", "warning", "consumergroup", "billing", "topic", "refunds")
		otherCluster := alert("KafkaConsumerLagHigh", "warning", "consumergroup", "billing", "topic", "orders", "instance", "lagwatch-eu:9308")
		postAlerts(t, base, stall,
			alert("KafkaConsumerLagHigh", "warning", "consumergroup", "billing", "topic", "orders"),
			alert("KafkaConsumerLagNotDraining", "page", "consumergroup", "billing", "topic", "orders", "partition", "0"),
			otherTopic, otherCluster)
		checkActive(t, base, stall, otherTopic, otherCluster)
	})
	t.Run("a storm of stalled groups is one cluster-level page", func(t *testing.T) {
		base := startAlertmanager(t)
		storm := alert("KafkaConsumerGroupsStuckClusterWide", "page")
		elsewhere := alert("KafkaConsumerPartitionStalled", "page", "consumergroup", "svc-0", "topic", "orders", "partition", "0", "instance", "lagwatch-eu:9308")
		alerts := []map[string]string{storm, elsewhere}
		for i := range 50 {
			g := fmt.Sprintf("svc-%d", i)
			alerts = append(alerts,
				alert("KafkaConsumerPartitionStalled", "page", "consumergroup", g, "topic", "orders", "partition", "0", "status", "stalled"),
				alert("KafkaConsumerLagHigh", "warning", "consumergroup", g, "topic", "orders"))
		}
		postAlerts(t, base, alerts...)
		checkActive(t, base, storm, elsewhere)
	})
	t.Run("a blind lagwatch is one page and holds back what it last saw", func(t *testing.T) {
		base := startAlertmanager(t)
		blind := alert("LagwatchSnapshotStale", "page")
		postAlerts(t, base, blind,
			alert("LagwatchPollsFailing", "warning"),
			alert("KafkaConsumerPartitionStalled", "page", "consumergroup", "billing", "topic", "orders", "partition", "0", "status", "stalled"),
			alert("KafkaConsumerGroupStopped", "page", "consumergroup", "reports"),
			alert("KafkaConsumerGroupsStuckClusterWide", "page"))
		checkActive(t, base, blind)
	})
	t.Run("a lagwatch that cannot be scraped is one page, LagwatchDown, for every cluster it watches", func(t *testing.T) {
		base := startAlertmanager(t)
		// LagwatchDown has the target's labels only (from up); what the
		// target wrote has its cluster label too. The stale page of each
		// cluster was already firing (it is held while LagwatchDown's `for`
		// runs, and the rules never start it once up == 0).
		down := alert("LagwatchDown", "page")
		otherTarget := alert("LagwatchSnapshotStale", "page", "instance", "lagwatch-eu:9308", "cluster", "prod-eu")
		postAlerts(t, base, down, otherTarget,
			alert("LagwatchSnapshotStale", "page", "cluster", "prod-eu"),
			alert("LagwatchSnapshotStale", "page", "cluster", "prod-us"),
			alert("LagwatchPollsFailing", "warning", "cluster", "prod-us"),
			alert("KafkaConsumerPartitionStalled", "page", "cluster", "prod-eu", "consumergroup", "billing", "topic", "orders", "partition", "0", "status", "stalled"),
			alert("KafkaPartitionOffline", "page", "cluster", "prod-us", "topic", "orders"))
		checkActive(t, base, down, otherTarget)
	})
	t.Run("one lagwatch watching two clusters groups and inhibits each apart", func(t *testing.T) {
		base := startAlertmanager(t)
		// prod-eu: one stalled partition of billing. prod-us, same lagwatch:
		// a storm, whose stalls include a group and topic of the same names.
		eu := func(name, severity string, kv ...string) map[string]string {
			return alert(name, severity, append([]string{"cluster", "prod-eu"}, kv...)...)
		}
		us := func(name, severity string, kv ...string) map[string]string {
			return alert(name, severity, append([]string{"cluster", "prod-us"}, kv...)...)
		}
		stallEU := eu("KafkaConsumerPartitionStalled", "page", "consumergroup", "billing", "topic", "orders", "partition", "0", "status", "stalled")
		stormUS := us("KafkaConsumerGroupsStuckClusterWide", "page")
		alerts := []map[string]string{stallEU, stormUS,
			eu("KafkaConsumerLagHigh", "warning", "consumergroup", "billing", "topic", "orders"),
			us("KafkaConsumerPartitionStalled", "page", "consumergroup", "billing", "topic", "orders", "partition", "0", "status", "stalled"),
			us("KafkaConsumerLagHigh", "warning", "consumergroup", "billing", "topic", "orders")}
		for i := range 5 {
			alerts = append(alerts, us("KafkaConsumerPartitionStalled", "page", "consumergroup", fmt.Sprintf("svc-%d", i), "topic", "orders", "partition", "0", "status", "stalled"))
		}
		postAlerts(t, base, alerts...)
		checkActive(t, base, stallEU, stormUS)

		// The stall of billing on orders is one notification group per
		// cluster, though both come from the same lagwatch.
		resp, err := http.Get(base + "/api/v2/alerts/groups")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var groups []struct {
			Labels map[string]string `json:"labels"`
			Alerts []amAlert         `json:"alerts"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&groups); err != nil {
			t.Fatal(err)
		}
		clusters := map[string]int{}
		for _, g := range groups {
			if g.Labels["alertname"] == "KafkaConsumerPartitionStalled" && g.Labels["consumergroup"] == "billing" {
				clusters[g.Labels["cluster"]] += len(g.Alerts)
			}
		}
		if want := map[string]int{"prod-eu": 1, "prod-us": 1}; !maps.Equal(clusters, want) {
			t.Errorf("alerts per notification group of billing's stall by cluster: %v, want %v", clusters, want)
		}
	})
	t.Run("expired messages hold back the retention alerts of the partition", func(t *testing.T) {
		base := startAlertmanager(t)
		expired := alert("KafkaConsumerMessagesExpired", "page", "consumergroup", "audit", "topic", "payments", "partition", "0")
		otherPartition := alert("KafkaConsumerRetentionHeadroomLow", "page", "consumergroup", "audit", "topic", "payments", "partition", "1")
		postAlerts(t, base, expired, otherPartition,
			alert("KafkaConsumerRetentionHeadroomLow", "page", "consumergroup", "audit", "topic", "payments", "partition", "0"),
			alert("KafkaConsumerDrainExceedsRetention", "warning", "consumergroup", "audit", "topic", "payments", "partition", "0"))
		checkActive(t, base, expired, otherPartition)
	})
}

// Routing: pages to the pager, info nowhere, and one notification group
// per alert, cluster, group and topic.
func TestAlertmanagerRoutesBySeverityAndGroupsPerGroupAndTopic(t *testing.T) {
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatalf("amtool is not on PATH: install Debian's prometheus-alertmanager package: make test does it")
	}
	for labels, want := range map[string]string{
		"alertname=KafkaConsumerPartitionStalled severity=page":       "page",
		"alertname=LagwatchSnapshotStale severity=page":               "page",
		"alertname=KafkaConsumerLagHigh severity=warning":             "ticket",
		"alertname=KafkaConsumerOffsetRewound severity=info":          "context",
		"alertname=KafkaConsumerGroupsStuckClusterWide severity=page": "page",
	} {
		// amtool warns on stderr that --config.file overrides the URL.
		out, err := exec.Command(amtool, append([]string{"config", "routes", "test", "--config.file=" + alertmanagerConfig}, strings.Fields(labels)...)...).Output()
		if err != nil {
			t.Fatalf("amtool: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s routes to %q, want %q", labels, got, want)
		}
	}
	data, err := os.ReadFile(alertmanagerConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "group_by: [alertname, cluster, instance, consumergroup, topic]") {
		t.Error("route.group_by must be [alertname, cluster, instance, consumergroup, topic]: one notification per alert, cluster, lagwatch, group and topic")
	}
}
