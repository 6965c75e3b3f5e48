package authtest

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

func gssapiArgs(user string) []string {
	return []string{
		"--kafka.server=" + broker.ListenerAddr(krbListener),
		"--sasl.enabled", "--sasl.mechanism=gssapi",
		"--sasl.kerberos-config-path=" + krb.conf, "--sasl.service-name=kafka", "--sasl.realm=" + krbRealm,
		"--sasl.username=" + user,
	}
}

func TestGSSAPIWithAKeytabPollsTheBrokerOverSaramaAndFranzGo(t *testing.T) {
	kafkatest.Require(t, broker)
	requireKDC(t)
	t.Parallel()
	addr := broker.Addr()
	kafkatest.CreateTopic(t, addr, "krb-shared", 1, nil)
	kafkatest.ShareConsumer(t, addr, "krb-share-group", "krb-shared", func(*kgo.Client, []*kgo.Record) {})
	lw := startLagwatch(t, nil, append(gssapiArgs(krbKeytabUser), "--sasl.kerberos-auth-type=keytabAuth", "--sasl.keytab-path="+krb.lagwatchKT)...)
	waitfor.Condition(t, 90*time.Second, "lagwatch_up 1 with a keytab", lw.metricsShow("lagwatch_up 1", "kafka_brokers 1"))
	waitfor.Condition(t, 90*time.Second, "the share group described over franz-go",
		lw.seriesShows(`kafka_sharegroup_members\{[^}]*group="krb-share-group"[^}]*\} 1`))
}

func TestGSSAPIWithAPasswordPollsTheBroker(t *testing.T) {
	kafkatest.Require(t, broker)
	requireKDC(t)
	t.Parallel()
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + krbPassword}, gssapiArgs(krbPasswordUser)...)
	waitfor.Condition(t, 90*time.Second, "lagwatch_up 1 with a password", lw.metricsShow("lagwatch_up 1", "kafka_brokers 1"))
	if strings.Contains(lw.output.String(), krbPassword) {
		t.Fatal("lagwatch's output contains the Kerberos password")
	}
}

func TestGSSAPIWithAnUnknownPrincipalLogsOneClearLineAndStaysDown(t *testing.T) {
	kafkatest.Require(t, broker)
	requireKDC(t)
	t.Parallel()
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + krbPassword}, gssapiArgs("nobody-here")...)
	waitfor.Condition(t, 90*time.Second, "the log names the unknown principal",
		lw.logShows(`level=WARN .*KDC_ERR_C_PRINCIPAL_UNKNOWN`))
	waitfor.Condition(t, 10*time.Second, "lagwatch_up 0", lw.metricsShow("lagwatch_up 0"))
	if !lw.running() {
		t.Fatal("lagwatch exited after Kerberos refused it")
	}
}
