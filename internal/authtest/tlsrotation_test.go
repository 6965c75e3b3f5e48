package authtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/securetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// The broker's MTLS listener requires a client certificate signed by pki.
// lagwatch starts with one that expires within a minute; the files are
// replaced with a renewed certificate, as cert-manager does, and once the
// first has expired lagwatch opens a new connection (its franz-go
// connection, for a share group that appears only then). That connection
// can only succeed with the renewed certificate.
func TestRotatedClientCertificateIsUsedByTheNextConnectionWithoutRestart(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	lagwatchBinary(t) // built before the short-lived certificate starts to age
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		securetest.WriteFile(t, dir, name+".new", data)
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	expires := time.Now().Add(60 * time.Second)
	cert, key, err := pki.IssueUntil(expires, "lagwatch-expiring")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := write("tls.crt", cert), write("tls.key", key)
	lw := startLagwatch(t, nil,
		"--kafka.server="+broker.ListenerAddr(mtlsListener),
		"--tls.enabled", "--tls.ca-file="+write("ca.crt", pki.CertPEM),
		"--tls.cert-file="+certFile, "--tls.key-file="+keyFile)
	waitfor.Condition(t, 50*time.Second, "lagwatch_up 1 with the first certificate", lw.metricsShow("lagwatch_up 1", "kafka_brokers 1"))
	if time.Now().After(expires) {
		t.Fatal("lagwatch took longer than the first certificate's lifetime to start")
	}

	renewed, renewedKey, err := pki.Issue("lagwatch-renewed")
	if err != nil {
		t.Fatal(err)
	}
	write("tls.crt", renewed)
	write("tls.key", renewedKey)
	logBefore := len(lw.output.String())
	waitfor.Condition(t, 90*time.Second, "the first certificate expired", func() error {
		if time.Now().Before(expires.Add(2 * time.Second)) {
			return fmt.Errorf("it expires in %s", time.Until(expires).Round(time.Second))
		}
		return nil
	})
	addr := broker.Addr()
	kafkatest.CreateTopic(t, addr, "rotation-shared", 1, nil)
	kafkatest.ShareConsumer(t, addr, "rotation-share-group", "rotation-shared", func(*kgo.Client, []*kgo.Record) {})
	waitfor.Condition(t, 90*time.Second, "the share group described over a new connection",
		lw.seriesShows(`kafka_sharegroup_members\{[^}]*group="rotation-share-group"[^}]*\} 1`))
	// Other tests share the broker and create topics meanwhile; a poll may
	// fail for a moment on a partition not yet ready (on a busy machine it
	// does), which says nothing about certificates. What must not appear
	// is a connection refused for its certificate.
	if tlsFailure := regexp.MustCompile(`(?i).*(tls|x509|certificate|handshake).*`).FindString(lw.output.String()[logBefore:]); tlsFailure != "" {
		t.Fatalf("after the rotation lagwatch logged a TLS failure: %s", tlsFailure)
	}
}
