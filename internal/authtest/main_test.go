package authtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/securetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// The broker's listeners, one per mechanism.
const (
	oauthListener = "OAUTH" // SASL_PLAINTEXT with OAUTHBEARER, validated against idp's JWKS
	mtlsListener  = "MTLS"  // SSL that requires a client certificate signed by pki
	krbListener   = "KRB"   // SASL_PLAINTEXT with GSSAPI, against krb's KDC
)

// tokenLifetime is short so that a test sees lagwatch through several
// token expiries.
const tokenLifetime = 12 * time.Second

var (
	broker  *kafkatest.Broker
	pki     *securetest.CA
	idp     *identityProvider
	testDir string
	// krb is the KDC of the GSSAPI tests; nil when its binaries are
	// missing, with krbMissing saying which.
	krb        *kdc
	krbMissing []string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	// testing.Short reads -short, which m.Run has not parsed yet.
	if !flag.Parsed() {
		flag.Parse()
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "authtest:", err)
		return 1
	}
	var err error
	if testDir, err = os.MkdirTemp("", "authtest-"); err != nil {
		return fail(err)
	}
	defer os.RemoveAll(testDir)
	if pki, err = securetest.NewCA("authtest CA"); err != nil {
		return fail(err)
	}
	serverCert, serverKey, err := pki.Issue("kafka", "127.0.0.1", "localhost")
	if err != nil {
		return fail(err)
	}
	if idp, err = newIdentityProvider(serverCert, serverKey, tokenLifetime); err != nil {
		return fail(err)
	}
	defer idp.close()

	oauth := "listener.name." + strings.ToLower(oauthListener) + "."
	mtls := "listener.name." + strings.ToLower(mtlsListener) + "."
	opts := kafkatest.Options{
		ExtraListeners: map[string]string{oauthListener: "SASL_PLAINTEXT", mtlsListener: "SSL"},
		// Kafka 4 fetches only URLs on this list (CVE-2025-27817).
		JVMFlags: []string{"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=" + idp.jwksURL()},
		ServerProperties: map[string]string{
			"sasl.enabled.mechanisms":                                "OAUTHBEARER",
			oauth + "sasl.enabled.mechanisms":                        "OAUTHBEARER",
			oauth + "oauthbearer.sasl.jaas.config":                   "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
			oauth + "oauthbearer.sasl.server.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
			"sasl.oauthbearer.jwks.endpoint.url":                     idp.jwksURL(),
			"sasl.oauthbearer.expected.audience":                     idpAudience,
			"sasl.oauthbearer.expected.issuer":                       idpIssuer,
			// Kafka's default 30 s of clock skew would let an expired
			// token through for longer than a test runs.
			"sasl.oauthbearer.clock.skew.seconds": "0",
			// A session ends when its token expires (KIP-368): a client
			// must re-authenticate with a fresh token to keep its
			// connection.
			"connections.max.reauth.ms": "600000",

			mtls + "ssl.keystore.type":              "PEM",
			mtls + "ssl.keystore.certificate.chain": string(serverCert),
			mtls + "ssl.keystore.key":               string(serverKey),
			mtls + "ssl.truststore.type":            "PEM",
			mtls + "ssl.truststore.certificates":    string(pki.CertPEM),
			mtls + "ssl.client.auth":                "required",
		},
	}
	if !testing.Short() {
		if krbMissing = missingKDCBinaries(); len(krbMissing) == 0 {
			dir := filepath.Join(testDir, "krb")
			if err := os.Mkdir(dir, 0o700); err != nil {
				return fail(err)
			}
			if krb, err = startKDC(dir); err != nil {
				return fail(err)
			}
			defer krb.stop()
			addKerberosListener(&opts, krb)
		}
	}
	return kafkatest.Main(m, opts, &broker)
}

// addKerberosListener gives the broker a SASL_PLAINTEXT listener for
// GSSAPI, logged in with its keytab from k.
func addKerberosListener(opts *kafkatest.Options, k *kdc) {
	l := "listener.name." + strings.ToLower(krbListener) + "."
	opts.ExtraListeners[krbListener] = "SASL_PLAINTEXT"
	opts.JVMFlags = append(opts.JVMFlags, "-Djava.security.krb5.conf="+k.conf)
	opts.ServerProperties[l+"sasl.enabled.mechanisms"] = "GSSAPI"
	opts.ServerProperties[l+"gssapi.sasl.jaas.config"] = fmt.Sprintf(
		`com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true keyTab="%s" principal="%s";`,
		k.brokerKT, krbBrokerPrincipal)
	opts.ServerProperties["sasl.kerberos.service.name"] = "kafka"
}

// requireKDC fails the test when the KDC's binaries are missing: make
// test installs them (make kerberos-tools).
func requireKDC(t *testing.T) {
	t.Helper()
	if krb == nil {
		t.Fatalf("no KDC: %s missing; run make kerberos-tools (Debian's krb5-kdc and krb5-admin-server)", strings.Join(krbMissing, ", "))
	}
}

func tlsKeyPair(certPEM, keyPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lagwatchBinary builds lagwatch once for the package, so the tests run it
// as operators do.
func lagwatchBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(testDir, "lagwatch")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type lagwatch struct {
	addr   string
	output *syncBuffer
	exited chan struct{}
}

// startLagwatch runs the binary with args and env until the test ends,
// polling every second at debug level, so a secret it logged would show.
func startLagwatch(t *testing.T, env []string, args ...string) *lagwatch {
	t.Helper()
	lw := &lagwatch{addr: waitfor.FreeAddr(t), output: &syncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(lagwatchBinary(t), append([]string{
		"--web.listen-address=" + lw.addr, "--log.level=debug",
		"--kafka.poll-interval=1s", "--lag.window=10s",
	}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lw.output, lw.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(lw.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-lw.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-lw.exited
		}
		if t.Failed() {
			t.Logf("lagwatch output:\n%s", lw.output.String())
		}
	})
	return lw
}

func (lw *lagwatch) logShows(expr string) func() error {
	re := regexp.MustCompile(expr)
	return func() error {
		if !re.MatchString(lw.output.String()) {
			return fmt.Errorf("no log line matches %s yet", expr)
		}
		return nil
	}
}

func (lw *lagwatch) running() bool {
	select {
	case <-lw.exited:
		return false
	default:
		return true
	}
}

func (lw *lagwatch) metrics() (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+lw.addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

// metricsShow passes when every line is in lagwatch's exposition.
func (lw *lagwatch) metricsShow(lines ...string) func() error {
	return func() error {
		body, err := lw.metrics()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(l) + `$`).MatchString(body) {
				return fmt.Errorf("no line %q", l)
			}
		}
		return nil
	}
}

// sum adds the samples of every series of the family name.
func (lw *lagwatch) sum(t *testing.T, name string) float64 {
	t.Helper()
	body, err := lw.metrics()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`(?:\{[^}]*\})? (\S+)$`).FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		total += v
	}
	return total
}

// renameFile replaces to with from at once, as a sidecar or Kubernetes
// replaces a mounted file.
func renameFile(from, to string) error { return os.Rename(from, to) }

// seriesShows passes when a line of the exposition matches expr.
func (lw *lagwatch) seriesShows(expr string) func() error {
	re := regexp.MustCompile(`(?m)^` + expr + `$`)
	return func() error {
		body, err := lw.metrics()
		if err != nil {
			return err
		}
		if !re.MatchString(body) {
			return fmt.Errorf("no series matches %s", expr)
		}
		return nil
	}
}
