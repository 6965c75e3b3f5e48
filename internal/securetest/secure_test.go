package securetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

const (
	saslListener = "SASL_SSL"
	scramUser    = "alice"
	// Distinctive, so a leak into lagwatch's output cannot be a coincidence.
	scramPassword = "alice-Pa55-7f3c9e"
	wrongPassword = "wrong-Pa55-b81d04"
)

var (
	broker *kafkatest.Broker
	// pki is the CA that signed the broker's certificate, made in TestMain.
	pki     *CA
	testDir string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	var err error
	if testDir, err = os.MkdirTemp("", "securetest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(testDir)
	if pki, err = NewCA("securetest CA"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	certPEM, keyPEM, err := pki.Issue("kafka", "127.0.0.1", "localhost")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l := "listener.name." + strings.ToLower(saslListener) + "."
	opts := kafkatest.Options{
		ExtraListeners: map[string]string{saslListener: "SASL_SSL"},
		ScramUsers:     map[string]string{scramUser: scramPassword},
		ServerProperties: map[string]string{
			// Kafka 2.7+ (KIP-651) reads PEM key stores inline; the key is
			// unencrypted PKCS#8, so no ssl.key.password.
			l + "ssl.keystore.type":              "PEM",
			l + "ssl.keystore.certificate.chain": string(certPEM),
			l + "ssl.keystore.key":               string(keyPEM),
			"sasl.enabled.mechanisms":            "SCRAM-SHA-256",
			l + "sasl.enabled.mechanisms":        "SCRAM-SHA-256",
			l + "scram-sha-256.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		},
	}
	return kafkatest.Main(m, opts, &broker)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lagwatchBinary builds lagwatch once for the package: main is package
// main, so the tests run it as operators do.
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

// syncBuffer collects a process's output while the test reads it.
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
	addr   string // host:port of its web listener
	output *syncBuffer
	exited chan struct{} // closed when the process has exited
}

// startLagwatch runs the binary with args and env until the test ends.
// It polls every second at debug level, so any secret it logged would show.
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
		case <-time.After(waitfor.Scaled(10 * time.Second)):
			_ = cmd.Process.Kill()
			<-lw.exited
		}
		if t.Failed() {
			t.Logf("lagwatch output:\n%s", lw.output.String())
		}
	})
	return lw
}

// logShows passes once lagwatch's output matches the regular expression.
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

func get(client *http.Client, url, user, password string) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metricsShow passes when every line is in the exposition at url.
func metricsShow(url string, lines ...string) func() error {
	return func() error {
		status, body, err := get(http.DefaultClient, url, "", "")
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("status %d", status)
		}
		for _, l := range lines {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(l) + `$`).MatchString(body) {
				return fmt.Errorf("no line %q", l)
			}
		}
		return nil
	}
}

func writeCA(t *testing.T) string {
	t.Helper()
	return WriteFile(t, t.TempDir(), "ca.pem", pki.CertPEM)
}

func saslSSLArgs(t *testing.T, caFile string) []string {
	t.Helper()
	return []string{
		"--kafka.server=" + broker.ListenerAddr(saslListener),
		"--tls.enabled", "--tls.ca-file=" + caFile,
		"--sasl.enabled", "--sasl.mechanism=scram-sha256", "--sasl.username=" + scramUser,
	}
}

func assertNoSecret(t *testing.T, lw *lagwatch, secret string) {
	t.Helper()
	if strings.Contains(lw.output.String(), secret) {
		t.Fatal("lagwatch's output contains the SASL password")
	}
	_, landing, err := get(http.DefaultClient, "http://"+lw.addr+"/", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(landing, secret) {
		t.Fatal("the landing page contains the SASL password")
	}
}

func TestRightCAAndSCRAMPasswordReachTheBrokerOverSASLSSL(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + scramPassword}, saslSSLArgs(t, writeCA(t))...)
	waitfor.Condition(t, 60*time.Second, "lagwatch_up 1 over SASL_SSL",
		metricsShow("http://"+lw.addr+"/metrics", "lagwatch_up 1", "kafka_brokers 1"))
	assertNoSecret(t, lw, scramPassword)
}

func TestWrongPasswordKeepsLagwatchRunningDownAndLogsTheAuthenticationFailure(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	// On the command line, the least careful way to pass it.
	lw := startLagwatch(t, nil, append(saslSSLArgs(t, writeCA(t)), "--sasl.password="+wrongPassword)...)
	waitfor.Condition(t, 60*time.Second, "the log names the authentication failure", lw.logShows(`(?i)authentication failed`))
	waitfor.Condition(t, 10*time.Second, "lagwatch_up 0", metricsShow("http://"+lw.addr+"/metrics", "lagwatch_up 0"))
	if !lw.running() {
		t.Fatal("lagwatch exited after failing to authenticate")
	}
	assertNoSecret(t, lw, wrongPassword)
}

func TestBrokerCertificateFromAnotherCAIsRefused(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	other, err := NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := WriteFile(t, t.TempDir(), "other-ca.pem", other.CertPEM)
	lw := startLagwatch(t, []string{"LAGWATCH_SASL_PASSWORD=" + scramPassword}, saslSSLArgs(t, caFile)...)
	waitfor.Condition(t, 60*time.Second, "the log names the untrusted certificate", lw.logShows(`certificate signed by unknown authority`))
	waitfor.Condition(t, 10*time.Second, "lagwatch_up 0", metricsShow("http://"+lw.addr+"/metrics", "lagwatch_up 0"))
	assertNoSecret(t, lw, scramPassword)
}

func TestWebConfigServesHTTPSAndRequiresBasicAuth(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	t.Parallel()
	dir := t.TempDir()
	certPEM, keyPEM, err := pki.Issue("lagwatch", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := WriteFile(t, dir, "web.yml", fmt.Appendf(nil,
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n",
		WriteFile(t, dir, "web.pem", certPEM), WriteFile(t, dir, "web-key.pem", keyPEM), hash))
	lw := startLagwatch(t, nil, "--kafka.server="+addr, "--web.config.file="+webConfig)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pki.CertPEM)
	client := &http.Client{Timeout: waitfor.Scaled(5 * time.Second), Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
	url := "https://" + lw.addr + "/metrics"
	waitfor.Condition(t, 30*time.Second, "HTTPS without credentials answers 401", func() error {
		status, _, err := get(client, url, "", "")
		if err != nil {
			return err
		}
		if status != http.StatusUnauthorized {
			return fmt.Errorf("status %d, want 401", status)
		}
		return nil
	})
	if status, _, err := get(client, url, "prometheus", "wrong"); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, err %v; want 401", status, err)
	}
	waitfor.Condition(t, 30*time.Second, "HTTPS with credentials serves lagwatch_up 1", func() error {
		status, body, err := get(client, url, "prometheus", "scrape-secret")
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(body, "\nlagwatch_up 1\n") {
			return fmt.Errorf("status %d, lagwatch_up 1 shown %v", status, strings.Contains(body, "\nlagwatch_up 1\n"))
		}
		return nil
	})
	// Go's TLS server answers plain HTTP with a 400; only a 200 would leak.
	if status, _, err := get(http.DefaultClient, "http://"+lw.addr+"/metrics", "prometheus", "scrape-secret"); err == nil && status == http.StatusOK {
		t.Fatal("plain HTTP served metrics although web.yml configures TLS")
	}
}

// A client that speaks plaintext to a TLS listener only sees the broker
// close the connection; the log must say what that most likely means.
func TestPlaintextClientToTheTLSListenerLogsTheLikelyCause(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	lw := startLagwatch(t, nil, "--kafka.server="+broker.ListenerAddr(saslListener))
	waitfor.Condition(t, 60*time.Second, "the log points at --tls.enabled", lw.logShows(`--tls\.enabled`))
	waitfor.Condition(t, 10*time.Second, "lagwatch_up 0", metricsShow("http://"+lw.addr+"/metrics", "lagwatch_up 0"))
	if !lw.running() {
		t.Fatal("lagwatch exited after a plaintext connection to a TLS listener failed")
	}
}

// A TLS client to a plaintext listener also sees the broker close the
// connection, in the TLS handshake: the log must point at --tls.enabled,
// not at SASL, which would send the user the wrong way.
func TestTLSClientToThePlaintextListenerPointsAtTLSNotSASL(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	lw := startLagwatch(t, nil, "--kafka.server="+broker.Addr(), "--tls.enabled", "--tls.insecure-skip-tls-verify")
	waitfor.Condition(t, 60*time.Second, "the log points at the plaintext listener", lw.logShows(`does not speak TLS; is it a plaintext listener\? then drop --tls\.enabled`))
	if regexp.MustCompile(`expect[^"]*SASL`).MatchString(lw.output.String()) {
		t.Errorf("the log suggests SASL for a TLS client on a plaintext listener:\n%s", lw.output.String())
	}
}

// A TLS client without SASL to a SASL_SSL listener completes the
// handshake and is cut off at its first request: the log points at SASL.
func TestTLSClientWithoutSASLToTheSASLSSLListenerPointsAtSASL(t *testing.T) {
	kafkatest.Require(t, broker)
	t.Parallel()
	lw := startLagwatch(t, nil, "--kafka.server="+broker.ListenerAddr(saslListener), "--tls.enabled", "--tls.insecure-skip-tls-verify")
	waitfor.Condition(t, 60*time.Second, "the log points at --sasl.enabled", lw.logShows(`expect SASL \(--sasl\.enabled\)`))
}
