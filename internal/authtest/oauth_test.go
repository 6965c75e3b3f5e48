package authtest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/securetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

func oauthArgs(t *testing.T, clientID string) []string {
	t.Helper()
	return []string{
		"--kafka.server=" + broker.ListenerAddr(oauthListener),
		"--sasl.enabled", "--sasl.mechanism=oauthbearer",
		"--sasl.oauthbearer-token-url=" + idp.tokenURL(),
		"--sasl.oauthbearer-ca-file=" + securetest.WriteFile(t, t.TempDir(), "idp-ca.pem", pki.CertPEM),
		"--sasl.oauthbearer-scope=kafka.read", "--sasl.oauthbearer-extra-param=audience=" + idpAudience,
		"--sasl.username=" + clientID,
	}
}

func TestOAuthBearerClientCredentialsKeepPollingAcrossTokenExpiries(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	const client, secret = "lagwatch-poller", "idp-Secret-5e1f0a"
	idp.addClient(client, secret)
	// A share group, which lagwatch describes over its franz-go
	// connection: the token must reach that client too.
	addr := broker.Addr()
	kafkatest.CreateTopic(t, addr, "oauth-shared", 1, nil)
	kafkatest.ShareConsumer(t, addr, "oauth-share-group", "oauth-shared", func(*kgo.Client, []*kgo.Record) {})
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + secret}, oauthArgs(t, client)...)
	waitfor.Condition(t, 90*time.Second, "lagwatch_up 1 with an OIDC token", lw.metricsShow("lagwatch_up 1", "kafka_brokers 1"))
	waitfor.Condition(t, 90*time.Second, "the share group described over franz-go", lw.seriesShows(`kafka_sharegroup_members\{[^}]*group="oauth-share-group"[^}]*\} 1`))

	// The broker ends each session when its token expires, so polling on
	// for three lifetimes needs lagwatch to fetch fresh tokens and
	// re-authenticate its connections before each expiry.
	errorsBefore := lw.sum(t, "lagwatch_poll_errors_total")
	firstIssued := idp.tokensIssued(client)
	until := time.Now().Add(3 * tokenLifetime)
	waitfor.Condition(t, 3*tokenLifetime+60*time.Second, "three token lifetimes of polling", func() error {
		if time.Now().Before(until) {
			return fmt.Errorf("%s of the three lifetimes to go", time.Until(until).Round(time.Second))
		}
		if err := lw.metricsShow("lagwatch_up 1")(); err != nil {
			return err
		}
		return lw.seriesShows(`kafka_sharegroup_members\{[^}]*group="oauth-share-group"[^}]*\} 1`)()
	})
	if n := idp.tokensIssued(client) - firstIssued; n < 2 {
		t.Fatalf("%d tokens fetched in three token lifetimes after the first; want at least 2", n)
	}
	// A poll that ran into an expired session would count here.
	if n := lw.sum(t, "lagwatch_poll_errors_total") - errorsBefore; n != 0 {
		t.Fatalf("%v poll errors across the token expiries, want none", n)
	}
	if strings.Contains(lw.output.String(), secret) {
		t.Fatal("lagwatch's output contains the client secret")
	}
}

func TestOAuthBearerWrongClientSecretLogsTheEndpointsAnswerOnceAndStaysDown(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	const client, wrong = "lagwatch-wrong-secret", "not-the-Secret-9d2c"
	idp.addClient(client, "the-right-secret")
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + wrong}, oauthArgs(t, client)...)
	waitfor.Condition(t, 90*time.Second, "the log names the token endpoint's refusal",
		lw.logShows(`oauthbearer token endpoint https://127\.0\.0\.1:\d+/token answered 401 Unauthorized: invalid_client`))
	waitfor.Condition(t, 10*time.Second, "lagwatch_up 0", lw.metricsShow("lagwatch_up 0"))
	// Several polls later the refusal is still one warning.
	polls := lw.sum(t, "lagwatch_poll_errors_total")
	waitfor.Condition(t, 30*time.Second, "three more failed polls", func() error {
		if n := lw.sum(t, "lagwatch_poll_errors_total"); n < polls+3 {
			return fmt.Errorf("%v failed polls", n)
		}
		return nil
	})
	warnings := regexp.MustCompile(`(?m)^.*level=WARN.*invalid_client.*$`).FindAllString(lw.output.String(), -1)
	if len(warnings) != 1 {
		t.Fatalf("%d warnings name the refusal, want 1:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	if !lw.running() {
		t.Fatal("lagwatch exited after the token endpoint refused it")
	}
	if strings.Contains(lw.output.String(), wrong) {
		t.Fatal("lagwatch's output contains the client secret")
	}
}

func TestOAuthBearerTokenFileIsReadAgainWhenItChanges(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	// Another process (a sidecar) fetches the tokens and writes them here.
	const client = "lagwatch-token-file"
	idp.addClient(client, "file-secret")
	dir := t.TempDir()
	writeToken := func() {
		token, err := idp.sign(map[string]any{
			"sub": client, "iss": idpIssuer, "aud": idpAudience,
			"iat": time.Now().Unix(), "exp": time.Now().Add(tokenLifetime).Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		securetest.WriteFile(t, dir, "token.tmp", []byte(token+"\n"))
		if err := renameFile(dir+"/token.tmp", dir+"/token"); err != nil {
			t.Fatal(err)
		}
	}
	// The sidecar writes a fresh token every third of a lifetime.
	var written time.Time
	sidecar := func() {
		if time.Since(written) > tokenLifetime/3 {
			writeToken()
			written = time.Now()
		}
	}
	lagwatchBinary(t) // built before the first token starts to age
	sidecar()
	lw := startLagwatch(t, nil,
		"--kafka.server="+broker.ListenerAddr(oauthListener),
		"--sasl.enabled", "--sasl.mechanism=oauthbearer", "--sasl.oauthbearer-token-file="+dir+"/token")
	waitfor.Condition(t, 90*time.Second, "lagwatch_up 1 with the file's token", func() error {
		sidecar()
		return lw.metricsShow("lagwatch_up 1")()
	})
	errorsBefore := lw.sum(t, "lagwatch_poll_errors_total")
	until := time.Now().Add(3 * tokenLifetime)
	waitfor.Condition(t, 3*tokenLifetime+60*time.Second, "three token lifetimes of polling", func() error {
		sidecar()
		if time.Now().Before(until) {
			return fmt.Errorf("%s of the three lifetimes to go", time.Until(until).Round(time.Second))
		}
		return lw.metricsShow("lagwatch_up 1")()
	})
	if n := lw.sum(t, "lagwatch_poll_errors_total") - errorsBefore; n != 0 {
		t.Fatalf("%v poll errors across the token expiries, want none", n)
	}
}
