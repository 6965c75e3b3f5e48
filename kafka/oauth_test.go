package kafka

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenEndpoint answers the client-credentials grant with tokens named by
// a counter, valid for lifetime, and can be told to fail.
type tokenEndpoint struct {
	*httptest.Server
	mu       sync.Mutex
	issued   int
	failing  bool
	lifetime time.Duration
	lastForm map[string][]string
}

func newTokenEndpoint(t *testing.T, lifetime time.Duration) *tokenEndpoint {
	e := &tokenEndpoint{lifetime: lifetime}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		_ = r.ParseForm()
		e.lastForm = r.PostForm
		id, secret, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		if e.failing || id != "client" || secret != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "bad secret"})
			return
		}
		e.issued++
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "token-" + string(rune('0'+e.issued)), "token_type": "Bearer",
			"expires_in": int(e.lifetime.Seconds()),
		})
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *tokenEndpoint) fail(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failing = on
}

func TestClientCredentialsCachesTheTokenUntilEightyPercentOfItsLifetime(t *testing.T) {
	e := newTokenEndpoint(t, 100*time.Second)
	cc := NewClientCredentials(e.URL, "client", "secret", []string{"kafka.read", "kafka.describe"}, map[string][]string{"audience": {"kafka"}}, nil)
	now := time.Unix(1_800_000_000, 0)
	cc.now = func() time.Time { return now }
	ctx := context.Background()

	token := func() string {
		t.Helper()
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if got := token(); got != "token-1" {
		t.Fatalf("first token %q", got)
	}
	if e.lastForm["grant_type"][0] != "client_credentials" || e.lastForm["scope"][0] != "kafka.read kafka.describe" || e.lastForm["audience"][0] != "kafka" {
		t.Fatalf("token request form %v", e.lastForm)
	}
	// oauth2 measures expires_in from its own clock; allow a second.
	now = now.Add(78 * time.Second)
	if got := token(); got != "token-1" {
		t.Fatalf("at 78%% of the lifetime the token is %q, want the cached token-1", got)
	}
}

func TestClientCredentialsRefreshesBeforeExpiryAndKeepsAValidTokenWhenTheEndpointFails(t *testing.T) {
	e := newTokenEndpoint(t, 100*time.Second)
	cc := NewClientCredentials(e.URL, "client", "secret", nil, nil, nil)
	start := time.Now()
	now := start
	cc.now = func() time.Time { return now }
	ctx := context.Background()
	if tok, err := cc.Token(ctx); err != nil || tok != "token-1" {
		t.Fatalf("first token %q, %v", tok, err)
	}
	now = start.Add(85 * time.Second) // past 80 %, before expiry
	if tok, err := cc.Token(ctx); err != nil || tok != "token-2" {
		t.Fatalf("at 85 %% of the lifetime: %q, %v; want a fresh token-2", tok, err)
	}
	e.fail(true)
	now = now.Add(85 * time.Second) // token-2 due for refresh, still valid
	if tok, err := cc.Token(ctx); err != nil || tok != "token-2" {
		t.Fatalf("endpoint failing, token still valid: %q, %v; want token-2", tok, err)
	}
	now = now.Add(20 * time.Second) // token-2 expired
	_, err := cc.Token(ctx)
	if err == nil {
		t.Fatal("an expired token was returned while the endpoint fails")
	}
	want := "oauthbearer token endpoint " + e.URL + " answered 401 Unauthorized: invalid_client (bad secret)"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "secret\"") {
		t.Fatal("the error quotes the secret")
	}
}

func TestClientCredentialsUnreachableEndpointIsOneLine(t *testing.T) {
	cc := NewClientCredentials("http://127.0.0.1:1/token", "client", "secret", nil, nil, nil)
	_, err := cc.Token(context.Background())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "oauthbearer token endpoint http://127.0.0.1:1/token: ") {
		t.Fatalf("error %q", err)
	}
}

func TestTokenFileIsReadAgainWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(s string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Now().Add(-time.Hour)
	write("first-token\n", mtime)
	f := NewTokenFile(path)
	for range 2 {
		if tok, err := f.Token(context.Background()); err != nil || tok != "first-token" {
			t.Fatalf("token %q, %v", tok, err)
		}
	}
	write("second-token\n", mtime.Add(time.Second))
	if tok, err := f.Token(context.Background()); err != nil || tok != "second-token" {
		t.Fatalf("after the file changed: %q, %v", tok, err)
	}
	write("  \n", mtime.Add(2*time.Second))
	if _, err := f.Token(context.Background()); err == nil {
		t.Fatal("an empty token file gave a token")
	}
}
