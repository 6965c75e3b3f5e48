package authtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// An MIT KDC (Debian's krb5-kdc) on loopback with a throwaway realm, for
// the SASL/GSSAPI tests. Its binaries are in /usr/sbin.
const (
	krbRealm = "AUTHTEST.LOCAL"
	// The broker's principal: the service name, then the host of the
	// address clients dial (sarama and franz-go ask for service/host).
	krbBrokerPrincipal = "kafka/127.0.0.1@" + krbRealm
	// lagwatch logs in as krbKeytabUser with a keytab, as krbPasswordUser
	// with a password.
	krbKeytabUser     = "lagwatch-svc"
	krbPasswordUser   = "lagwatch"
	krbPassword       = "krb-Pa55-31c7d2"
	krbMasterPassword = "authtest-master"
)

type kdc struct {
	dir        string
	port       int
	conf       string // krb5.conf for clients and the broker
	brokerKT   string // the broker's keytab
	lagwatchKT string // krbKeytabUser's keytab
	cmd        *exec.Cmd
	done       chan struct{}
}

// kdcBinaries are the programs the KDC needs; missing ones are returned.
func missingKDCBinaries() []string {
	var missing []string
	for _, b := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		if _, err := lookSbin(b); err != nil {
			missing = append(missing, b)
		}
	}
	return missing
}

func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// startKDC creates the realm's database and principals under dir and runs
// krb5kdc on a free loopback port until stop.
func startKDC(dir string) (*kdc, error) {
	k := &kdc{dir: dir, done: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	k.conf = filepath.Join(dir, "krb5.conf")
	kdcConf := filepath.Join(dir, "kdc.conf")
	if err := os.WriteFile(k.conf, fmt.Appendf(nil, `[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 udp_preference_limit = 1
 ticket_lifetime = 1h

[realms]
 %[1]s = {
  kdc = 127.0.0.1:%[2]d
 }
`, krbRealm, k.port), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(kdcConf, fmt.Appendf(nil, `[kdcdefaults]
 kdc_listen = 127.0.0.1:%[2]d
 kdc_tcp_listen = 127.0.0.1:%[2]d

[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  max_life = 1h
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }

[logging]
 kdc = FILE:%[3]s/kdc.log
`, krbRealm, k.port, dir), 0o644); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "KRB5_CONFIG="+k.conf, "KRB5_KDC_PROFILE="+kdcConf)
	run := func(name string, args ...string) error {
		path, err := lookSbin(name)
		if err != nil {
			return err
		}
		cmd := exec.Command(path, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	k.brokerKT = filepath.Join(dir, "kafka.keytab")
	k.lagwatchKT = filepath.Join(dir, "lagwatch.keytab")
	for _, step := range [][]string{
		{"kdb5_util", "create", "-s", "-r", krbRealm, "-P", krbMasterPassword},
		{"kadmin.local", "-r", krbRealm, "-q", "addprinc -randkey " + krbBrokerPrincipal},
		{"kadmin.local", "-r", krbRealm, "-q", "ktadd -k " + k.brokerKT + " " + krbBrokerPrincipal},
		{"kadmin.local", "-r", krbRealm, "-q", "addprinc -randkey " + krbKeytabUser},
		{"kadmin.local", "-r", krbRealm, "-q", "ktadd -k " + k.lagwatchKT + " " + krbKeytabUser},
		{"kadmin.local", "-r", krbRealm, "-q", "addprinc -pw " + krbPassword + " " + krbPasswordUser},
	} {
		if err := run(step[0], step[1:]...); err != nil {
			return nil, err
		}
	}
	path, err := lookSbin("krb5kdc")
	if err != nil {
		return nil, err
	}
	k.cmd = exec.Command(path, "-n", "-r", krbRealm)
	k.cmd.Env = env
	log, err := os.Create(filepath.Join(dir, "krb5kdc.out"))
	if err != nil {
		return nil, err
	}
	k.cmd.Stdout, k.cmd.Stderr = log, log
	if err := k.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = k.cmd.Wait()
		log.Close()
		close(k.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", k.port), time.Second)
		if err == nil {
			c.Close()
			return k, nil
		}
		select {
		case <-k.done:
			out, _ := os.ReadFile(filepath.Join(dir, "krb5kdc.out"))
			return nil, fmt.Errorf("krb5kdc exited: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			k.stop()
			return nil, errors.New("krb5kdc does not listen after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (k *kdc) stop() {
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}
