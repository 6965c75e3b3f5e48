package waitfor

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets TestSlowdown... run this binary again with a setting of
// their choice: the child prints Scaled(10s) and exits.
func TestMain(m *testing.M) {
	if os.Getenv("WAITFOR_PRINT_SCALED") == "1" {
		os.Stdout.WriteString(Scaled(10*time.Second).String() + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func scaledIn(t *testing.T, setting string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "WAITFOR_PRINT_SCALED=1", SlowdownEnv+"="+setting)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestSlowdownStretchesEveryDeadline(t *testing.T) {
	for setting, want := range map[string]string{"": "10s", "1": "10s", "3": "30s", "2.5": "25s"} {
		if out, errOut, code := scaledIn(t, setting); code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("%s=%q: Scaled(10s) printed %q (stderr %q, exit %d), want %s", SlowdownEnv, setting, out, errOut, code, want)
		}
	}
}

func TestBadSlowdownStopsWithOneLineAndExitCode2(t *testing.T) {
	for _, setting := range []string{"abc", "0", "0.5", "-3", "NaN", "Inf", "1000"} {
		out, errOut, code := scaledIn(t, setting)
		if code != 2 || out != "" {
			t.Errorf("%s=%q: exit %d, stdout %q; want exit 2 and nothing printed", SlowdownEnv, setting, code, out)
		}
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, SlowdownEnv) {
			t.Errorf("%s=%q: stderr %q; want one line naming the setting", SlowdownEnv, setting, errOut)
		}
	}
}
