// Package kafkatest runs a real single-node Apache Kafka broker (KRaft mode,
// jars from Maven Central) for integration tests, and offers sarama-based
// helpers that create topics, produce records and commit group offsets on it.
//
// A package shares one broker among its tests:
//
//	var broker *kafkatest.Broker
//
//	func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m, kafkatest.Options{}, &broker)) }
//
//	func TestLag(t *testing.T) {
//		addr := kafkatest.Require(t, broker)
//		kafkatest.CreateTopic(t, addr, "orders", 3, nil)
//		...
//	}
package kafkatest

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

//go:embed log4j2.properties
var log4j2Config []byte

const (
	plaintextListener  = "PLAINTEXT"
	controllerListener = "CONTROLLER"

	// Both are scaled by LAGWATCH_TEST_SLOWDOWN (waitfor.Scaled).
	defaultStartTimeout = 90 * time.Second
	// Kafka's controlled shutdown of a single node takes well under a second;
	// the margin covers a loaded CI machine before SIGKILL.
	stopTimeout = 30 * time.Second
	// How many fresh port sets Start tries when another process grabbed a
	// port between our probe and the broker's bind.
	startAttempts   = 3
	logTailLines    = 40
	firstErrorLines = 20
)

// jvmFlags keep the broker small and quick to start on a 2-core machine:
// measured there, SerialGC and C1-only compilation cut the time to "Kafka
// Server started" from about 2.2 s to 1.5 s.
var jvmFlags = []string{
	"-Xmx512m", "-Xms256m",
	"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
	"-XX:+ExitOnOutOfMemoryError",
	"-Djava.awt.headless=true",
}

// Options configure a test broker. The zero value is a plain single-node
// broker with one PLAINTEXT listener.
type Options struct {
	// ServerProperties are merged last into server.properties, overriding
	// kafkatest's defaults (for example listener.name.*.* settings for an
	// ExtraListeners entry).
	ServerProperties map[string]string
	// ExtraListeners adds listeners beside PLAINTEXT, each on its own free
	// loopback port: listener name → security protocol, e.g.
	// {"SASL_SSL": "SASL_SSL"}. Broker.ListenerAddr returns their addresses.
	ExtraListeners map[string]string
	// ScramUsers are SCRAM-SHA-256 and SCRAM-SHA-512 credentials (user →
	// password) written into the cluster's bootstrap metadata when the
	// storage is formatted, so they exist before the first client connects.
	// StorageTool's --add-scram syntax leaves no room for ',' or ']' in a
	// name or password.
	ScramUsers map[string]string
	// StartTimeout bounds Start and Restart; 0 means 90 s times
	// LAGWATCH_TEST_SLOWDOWN.
	StartTimeout time.Duration
	// JVMFlags are added to the broker's java command line, for system
	// properties such as org.apache.kafka.sasl.oauthbearer.allowed.urls or
	// java.security.krb5.conf.
	JVMFlags []string
}

// Broker is a running Kafka broker process with its own temp directory.
// Its methods are safe for concurrent use.
type Broker struct {
	opts   Options
	java   string
	libDir string
	dir    string
	ports  map[string]int // listener name → loopback port; fixed for Restart

	mu      sync.Mutex
	proc    *process // nil when not running
	stopped bool
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and err is set
	err  error
}

// Start fetches the jars if needed, formats a fresh KRaft data directory and
// starts a broker on free loopback ports. It returns once a sarama client
// sees the broker in a Metadata response; on failure the error carries the
// end of the broker's log.
func Start(opts Options) (*Broker, error) {
	libDir, err := EnsureJars()
	if err != nil {
		return nil, err
	}
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		b, err := start(opts, java, libDir)
		if err == nil {
			return b, nil
		}
		if attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

var errPortTaken = errors.New("a listener port was taken before the broker bound it")

func start(opts Options, java, libDir string) (*Broker, error) {
	dir, err := os.MkdirTemp("", "kafkatest-")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: %w", err)
	}
	b := &Broker{opts: opts, java: java, libDir: libDir, dir: dir, ports: map[string]int{}}
	fail := func(err error) (*Broker, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.stopped = true
		_ = b.kill()
		_ = os.RemoveAll(dir)
		return nil, err
	}

	for name := range opts.ExtraListeners {
		if name == plaintextListener || name == controllerListener {
			return fail(fmt.Errorf("kafkatest: ExtraListeners must not redefine %s", name))
		}
	}
	names := append([]string{plaintextListener, controllerListener}, slices.Sorted(maps.Keys(opts.ExtraListeners))...)
	if err := b.pickPorts(names); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(b.path("log4j2.properties"), log4j2Config, 0o644); err != nil {
		return fail(fmt.Errorf("kafkatest: %w", err))
	}
	if err := os.WriteFile(b.path("server.properties"), []byte(b.serverProperties()), 0o644); err != nil {
		return fail(fmt.Errorf("kafkatest: %w", err))
	}
	if err := b.format(); err != nil {
		return fail(err)
	}

	b.mu.Lock()
	err = b.launchAndWait()
	b.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// Addr is host:port of the PLAINTEXT listener.
func (b *Broker) Addr() string { return b.ListenerAddr(plaintextListener) }

// ListenerAddr is host:port of a listener: "PLAINTEXT", "CONTROLLER" or an
// Options.ExtraListeners name. It is "" for an unknown name.
func (b *Broker) ListenerAddr(name string) string {
	port, ok := b.ports[name]
	if !ok {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// LogFile is the path of the broker's log (stdout and stderr of the JVM),
// kept across Restart and removed by Stop.
func (b *Broker) LogFile() string { return b.path("broker.log") }

// Stop shuts the broker down (SIGTERM, then SIGKILL after 30 s) and removes
// its temp directory. Calling it again does nothing.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil
	}
	b.stopped = true
	err := b.terminate()
	if rmErr := os.RemoveAll(b.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("kafkatest: remove broker dir: %w", rmErr))
	}
	return err
}

// Kill ends the broker with SIGKILL, as a crash would: no controlled
// shutdown, no final flush. The data directory stays for Restart.
func (b *Broker) Kill() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errors.New("kafkatest: Kill after Stop")
	}
	return b.kill()
}

// Restart starts the broker again on the same ports and data directory and
// waits until it is ready. A broker still running is shut down gracefully
// first.
func (b *Broker) Restart() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errors.New("kafkatest: Restart after Stop")
	}
	if err := b.terminate(); err != nil {
		return err
	}
	return b.launchAndWait()
}

func (b *Broker) path(name string) string { return filepath.Join(b.dir, name) }

func (b *Broker) serverProperties() string {
	listeners := []string{}
	advertised := []string{}
	protocols := []string{controllerListener + ":PLAINTEXT", plaintextListener + ":PLAINTEXT"}
	for _, name := range slices.Sorted(maps.Keys(b.ports)) {
		l := name + "://" + b.ListenerAddr(name)
		listeners = append(listeners, l)
		if name != controllerListener {
			advertised = append(advertised, l)
		}
		if proto, ok := b.opts.ExtraListeners[name]; ok {
			protocols = append(protocols, name+":"+proto)
		}
	}
	props := map[string]string{
		"process.roles":                            "broker,controller",
		"node.id":                                  "1",
		"controller.quorum.bootstrap.servers":      b.ListenerAddr(controllerListener),
		"controller.listener.names":                controllerListener,
		"inter.broker.listener.name":               plaintextListener,
		"listeners":                                strings.Join(listeners, ","),
		"advertised.listeners":                     strings.Join(advertised, ","),
		"listener.security.protocol.map":           strings.Join(protocols, ","),
		"log.dirs":                                 b.path("data"),
		"num.partitions":                           "1",
		"default.replication.factor":               "1",
		"auto.create.topics.enable":                "false",
		"group.initial.rebalance.delay.ms":         "0",
		"offsets.topic.replication.factor":         "1",
		"offsets.topic.num.partitions":             "4",
		"transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr":            "1",
		"transaction.state.log.num.partitions":     "4",
		// The share-group state topic defaults to replication factor 3,
		// which a single node can never create.
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"share.coordinator.state.topic.num.partitions":     "4",
		// After a SIGKILL the restarted controller still holds the old
		// incarnation's registration and refuses the new one
		// (DUPLICATE_BROKER_REGISTRATION) until that session expires:
		// 9 s by default, most of a Kill+Restart.
		"broker.session.timeout.ms":    "3000",
		"broker.heartbeat.interval.ms": "500",
	}
	maps.Copy(props, b.opts.ServerProperties)

	var s strings.Builder
	s.WriteString("# Written by kafkatest.\n")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&s, "%s=%s\n", escapeProperty(k, true), escapeProperty(props[k], false))
	}
	return s.String()
}

// escapeProperty applies java.util.Properties escaping: backslashes and line
// breaks anywhere, and in keys also the separators '=', ':' and spaces.
func escapeProperty(s string, key bool) string {
	var out strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			out.WriteString(`\\`)
		case r == '\n':
			out.WriteString(`\n`)
		case r == '\r':
			out.WriteString(`\r`)
		case key && (r == '=' || r == ':' || r == ' ' || r == '#' || r == '!'):
			out.WriteRune('\\')
			out.WriteRune(r)
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

// format runs the broker's own storage tool so the data directory carries
// exactly the metadata version and bootstrap records this Kafka expects.
// --standalone records this node as the only KRaft voter, including the
// controller listener's address, so Restart must reuse the same ports.
func (b *Broker) format() error {
	clusterID, err := randomClusterID()
	if err != nil {
		return err
	}
	args := []string{"format", "--standalone",
		"--cluster-id", clusterID, "--config", b.path("server.properties")}
	for _, user := range slices.Sorted(maps.Keys(b.opts.ScramUsers)) {
		for _, mechanism := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
			args = append(args, "--add-scram",
				fmt.Sprintf("%s=[name=%s,password=%s]", mechanism, user, b.opts.ScramUsers[user]))
		}
	}
	cmd := b.javaCommand("kafka.tools.StorageTool", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafkatest: format KRaft storage: %w\n%s", err, lastLines(string(out), logTailLines))
	}
	return nil
}

// randomClusterID makes the same kind of ID as `StorageTool random-uuid`
// (org.apache.kafka.common.Uuid: 16 random bytes, unpadded URL-safe
// base64) without paying for a JVM start. Kafka rejects IDs starting with
// '-' because they parse as command-line flags.
func randomClusterID() (string, error) {
	var id [16]byte
	for {
		if _, err := rand.Read(id[:]); err != nil {
			return "", fmt.Errorf("kafkatest: cluster id: %w", err)
		}
		s := base64.RawURLEncoding.EncodeToString(id[:])
		if !strings.HasPrefix(s, "-") {
			return s, nil
		}
	}
}

func (b *Broker) javaCommand(mainClass string, args ...string) *exec.Cmd {
	argv := append(slices.Concat(jvmFlags, b.opts.JVMFlags),
		"-Dlog4j2.configurationFile="+b.path("log4j2.properties"),
		"-cp", filepath.Join(b.libDir, "*"),
		mainClass)
	cmd := exec.Command(b.java, append(argv, args...)...)
	cmd.Dir = b.dir
	return cmd
}

// launchAndWait starts the JVM and waits for readiness. Callers hold b.mu.
func (b *Broker) launchAndWait() error {
	logFile, err := os.OpenFile(b.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kafkatest: open broker log: %w", err)
	}
	defer logFile.Close()

	cmd := b.javaCommand("kafka.Kafka", b.path("server.properties"))
	// An *os.File is handed to the child as is: no copying goroutine that
	// could block or outlive the broker.
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()

	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the OS thread that forked the child exits,
		// not when the process does; holding this thread until the child is
		// reaped keeps the signal tied to the test process's death.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("kafkatest: start %s: %w", b.java, err)
	}
	b.proc = p

	if err := b.waitReady(p); err != nil {
		_ = b.kill()
		tail := b.logTail()
		if strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return fmt.Errorf("%w\n%s", err, tail)
	}
	return nil
}

// waitReady polls until a Metadata response lists this broker: only then
// has it registered with the controller and been unfenced, so clients can
// create topics and produce.
func (b *Broker) waitReady(p *process) error {
	timeout := b.opts.StartTimeout
	if timeout <= 0 {
		timeout = waitfor.Scaled(defaultStartTimeout)
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("kafkatest: broker exited during startup: %v", p.err)
		default:
		}
		if lastErr = b.metadataListsBroker(); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kafkatest: broker not ready after %v: %w", timeout, lastErr)
		}
		select {
		case <-p.done:
		case <-tick.C:
		}
	}
}

func (b *Broker) metadataListsBroker() error {
	cfg := NewConfig()
	cfg.Metadata.Retry.Max = 0
	cfg.Net.DialTimeout = time.Second
	cfg.Net.ReadTimeout = 5 * time.Second
	client, err := sarama.NewClient([]string{b.Addr()}, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	for _, br := range client.Brokers() {
		if br.Addr() == b.Addr() {
			return nil
		}
	}
	return fmt.Errorf("metadata does not list %s yet", b.Addr())
}

// terminate asks the broker to shut down, escalating to SIGKILL. Callers
// hold b.mu.
func (b *Broker) terminate() error {
	p := b.proc
	if p == nil {
		return nil
	}
	b.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		b.proc = nil
		return nil
	case <-time.After(waitfor.Scaled(stopTimeout)):
	}
	return b.kill()
}

// kill sends SIGKILL and reaps the process. Callers hold b.mu.
func (b *Broker) kill() error {
	p := b.proc
	if p == nil {
		return nil
	}
	b.signal(syscall.SIGKILL)
	select {
	case <-p.done:
		b.proc = nil
		return nil
	case <-time.After(waitfor.Scaled(stopTimeout)):
		return fmt.Errorf("kafkatest: broker pid %d survived SIGKILL for %v", p.cmd.Process.Pid, waitfor.Scaled(stopTimeout))
	}
}

// signal targets the broker's process group, which it leads (Setpgid), so
// anything the JVM spawned goes down with it.
func (b *Broker) signal(sig syscall.Signal) {
	pid := b.proc.cmd.Process.Pid
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = b.proc.cmd.Process.Signal(sig)
	}
}

// logTail is the end of the broker log, preceded by the first ERROR entry
// when that lies further back: a fatal startup error is often followed by
// dozens of shutdown lines.
func (b *Broker) logTail() string {
	data, err := os.ReadFile(b.LogFile())
	if err != nil {
		return fmt.Sprintf("(no broker log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	tailStart := max(0, len(lines)-logTailLines)
	var s strings.Builder
	for i, line := range lines[:tailStart] {
		if strings.Contains(line, "] ERROR ") || strings.Contains(line, "] FATAL ") {
			end := min(i+firstErrorLines, tailStart)
			fmt.Fprintf(&s, "--- first error in broker.log ---\n%s\n", strings.Join(lines[i:end], "\n"))
			break
		}
	}
	fmt.Fprintf(&s, "--- last %d lines of broker.log ---\n%s", len(lines)-tailStart, strings.Join(lines[tailStart:], "\n"))
	return s.String()
}

// pickPorts reserves a free loopback port per listener. The probe sockets
// stay open until all are chosen so no two listeners get the same port;
// another process can still take one before the broker binds, which
// launchAndWait detects and Start retries.
func (b *Broker) pickPorts(names []string) error {
	for _, name := range names {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("kafkatest: find a free port: %w", err)
		}
		defer l.Close()
		b.ports[name] = l.Addr().(*net.TCPAddr).Port
	}
	return nil
}
