package frameworks

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

//go:embed java/CorpusStreams.java
var streamsSource []byte

// frameworkLog4j sends the frameworks' own logging (WARN and up) to stderr,
// which goes to the process's log file.
const frameworkLog4j = `status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
`

// jvmFlags keep each framework JVM small on a 2-core machine.
var jvmFlags = []string{"-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"}

// process is a program the test started; Cleanup stops it (SIGTERM, then
// SIGKILL after 10 s) even when the test fails, and the kernel kills it if
// the test binary dies (Pdeathsig).
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	// killed: the test killed it on purpose; its exit is no failure.
	killed bool
}

func startProcess(t *testing.T, name string, cmd *exec.Cmd) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- %s log (last 3000 bytes) ---\n%s", name, tail(string(out), 3000))
		}
	})
	return p
}

// stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
	}
}

// kill is SIGKILL: the process leaves nothing behind, not even a LeaveGroup.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

func (p *process) running() error {
	if p.killed {
		return nil
	}
	select {
	case <-p.exited:
		out, _ := os.ReadFile(p.log)
		return fmt.Errorf("%s exited: %s", p.name, tail(string(out), 2000))
	default:
		return nil
	}
}

func (p *process) output() string {
	out, _ := os.ReadFile(p.log)
	return string(out)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// jvm holds the framework jars and a log4j2 configuration for java runs.
type jvm struct {
	lib, dir string
}

func newJVM(t *testing.T) jvm {
	t.Helper()
	lib, err := EnsureJars()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "log4j2.properties"), frameworkLog4j)
	return jvm{lib: lib, dir: dir}
}

func (j jvm) command(classpath, mainClass string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, jvmFlags...),
		"-Dlog4j2.configurationFile="+filepath.Join(j.dir, "log4j2.properties"),
		"-cp", classpath, mainClass)
	return exec.Command("java", append(argv, args...)...)
}

// streamsApp is one KafkaStreams instance of the corpus.
type streamsApp struct {
	id, protocol, guarantee, input, output string
	commitInterval                         time.Duration
}

// repartitionTopic is the topic Kafka Streams names for groupByKey after
// selectKey in CorpusStreams (the count store's repartition topic).
func (a streamsApp) repartitionTopic() string {
	return a.id + "-KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition"
}

// startStreams compiles CorpusStreams.java with javac against the
// kafka-streams jar and runs the apps in one JVM.
func startStreams(t *testing.T, j jvm, addr string, apps []streamsApp) *process {
	t.Helper()
	classes := filepath.Join(j.dir, "classes")
	src := filepath.Join(j.dir, "CorpusStreams.java")
	writeFile(t, src, string(streamsSource))
	if out, err := exec.Command("javac", "-d", classes, "-cp", filepath.Join(j.lib, "*"), src).CombinedOutput(); err != nil {
		t.Fatalf("javac CorpusStreams.java: %v\n%s", err, out)
	}
	args := []string{addr, t.TempDir()}
	for _, a := range apps {
		args = append(args, strings.Join([]string{a.id, a.protocol, a.guarantee, a.input, a.output, fmt.Sprint(a.commitInterval.Milliseconds())}, ","))
	}
	cp := classes + string(os.PathListSeparator) + filepath.Join(j.lib, "*")
	return startProcess(t, "streams", j.command(cp, "CorpusStreams", args...))
}

// startConnect runs a Kafka Connect standalone worker with one
// FileStreamSink connector; its consumer group is "connect-" + name. Sink
// tasks commit their consumer offsets every offset.flush.interval.ms.
func startConnect(t *testing.T, j jvm, addr, name, topic string, flush time.Duration) (p *process, outFile string) {
	t.Helper()
	dir := t.TempDir()
	outFile = filepath.Join(dir, "sink.txt")
	worker := filepath.Join(dir, "worker.properties")
	writeFile(t, worker, fmt.Sprintf(`bootstrap.servers=%s
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=%s
offset.flush.interval.ms=%d
listeners=http://127.0.0.1:0
`, addr, filepath.Join(dir, "offsets"), flush.Milliseconds()))
	connector := filepath.Join(dir, "connector.properties")
	writeFile(t, connector, fmt.Sprintf(`name=%s
connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector
tasks.max=1
topics=%s
file=%s
`, name, topic, outFile))
	return startProcess(t, "connect-"+name, j.command(filepath.Join(j.lib, "*"), "org.apache.kafka.connect.cli.ConnectStandalone", worker, connector)), outFile
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requireJDK fails with what to install when javac is missing.
func requireJDK(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install a Java 17+ JDK (Debian: openjdk-17-jdk-headless)", tool)
		}
	}
}

func newCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
