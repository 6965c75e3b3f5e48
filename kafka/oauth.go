package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenSource gives the bearer token that SASL/OAUTHBEARER presents when a
// connection authenticates (and re-authenticates, KIP-368). It is asked on
// every authentication, so it must cache.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// tokenTimeout bounds one authentication's wait for a token, since sarama's
// token provider takes no context.
const tokenTimeout = 30 * time.Second

// refreshFactor is the share of a token's lifetime after which a new one is
// fetched: Kafka's own client refreshes at 0.8 (sasl.login.refresh.window.factor),
// so a connection never authenticates with a token about to expire.
const refreshFactor = 0.8

// ClientCredentials fetches tokens from an OAuth 2 token endpoint with the
// client-credentials grant (RFC 6749 §4.4) and caches each until
// refreshFactor of its lifetime has passed. A failed refresh keeps the
// cached token while it is still valid.
type ClientCredentials struct {
	conf clientcredentials.Config
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	token   string
	refresh time.Time // when to fetch the next token
	expiry  time.Time // zero when the endpoint gave no lifetime
}

// NewClientCredentials prepares a token source; it fetches on first use.
// client carries the TLS settings for the endpoint; nil means
// http.DefaultClient's.
func NewClientCredentials(tokenURL, clientID, secret string, scopes []string, params map[string][]string, client *http.Client) *ClientCredentials {
	if client == nil {
		client = &http.Client{}
	}
	if client.Timeout == 0 {
		client.Timeout = tokenTimeout
	}
	return &ClientCredentials{
		conf: clientcredentials.Config{
			ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL,
			Scopes: scopes, EndpointParams: params,
		},
		http: client,
		now:  time.Now,
	}
}

// Token returns the cached token, fetching a new one once refreshFactor of
// its lifetime has passed. Its errors name the endpoint and what it
// answered, never the secret.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token != "" && now.Before(c.refresh) {
		return c.token, nil
	}
	tok, err := c.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		err = tokenEndpointError(c.conf.TokenURL, err)
		if c.token != "" && (c.expiry.IsZero() || now.Before(c.expiry)) {
			// The cached token still works; the next authentication
			// tries the endpoint again.
			return c.token, nil
		}
		return "", err
	}
	// The lifetime is measured on c's clock from the answer's
	// expires_in, not from oauth2's Expiry, which reads its own clock.
	// oauth2 sets Expiry from expires_in on the real clock; carry the
	// lifetime over to c's clock.
	c.token, c.expiry = tok.AccessToken, time.Time{}
	if !tok.Expiry.IsZero() {
		c.expiry = now.Add(time.Until(tok.Expiry))
	}
	switch {
	case c.expiry.IsZero():
		// Without expires_in the lifetime is unknown: fetch again on the
		// next authentication after an hour.
		c.refresh = now.Add(time.Hour)
	default:
		c.refresh = now.Add(time.Duration(float64(c.expiry.Sub(now)) * refreshFactor))
	}
	return c.token, nil
}

// tokenEndpointError says what the token endpoint answered in one line:
// the OAuth error code and description (RFC 6749 §5.2) or the HTTP status.
func tokenEndpointError(url string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.Response.Status
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += " (" + re.ErrorDescription + ")"
			}
		}
		return fmt.Errorf("oauthbearer token endpoint %s answered %s", url, msg)
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		// url.Error repeats the URL; keep its cause.
		err = ue.Err
	}
	return fmt.Errorf("oauthbearer token endpoint %s: %w", url, err)
}

// TokenFile reads a token that another process writes to a file (a sidecar,
// a Kubernetes projected token), again whenever the file's modification
// time or size changes.
type TokenFile struct {
	path string

	mu    sync.Mutex
	token string
	mtime time.Time
	size  int64
}

// NewTokenFile prepares a token source that reads path on first use.
func NewTokenFile(path string) *TokenFile { return &TokenFile{path: path} }

// Token returns the file's content without surrounding whitespace.
func (f *TokenFile) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("oauthbearer token file: %w", err)
	}
	if f.token != "" && info.ModTime().Equal(f.mtime) && info.Size() == f.size {
		return f.token, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("oauthbearer token file: %w", err)
	}
	token := string(bytes.TrimSpace(data))
	if token == "" {
		return "", fmt.Errorf("oauthbearer token file %s is empty", f.path)
	}
	f.token, f.mtime, f.size = token, info.ModTime(), info.Size()
	return token, nil
}

// saramaTokens adapts a TokenSource to sarama, which asks for a token
// without a context.
type saramaTokens struct{ src TokenSource }

func (p saramaTokens) Token() (*sarama.AccessToken, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenTimeout)
	defer cancel()
	t, err := p.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	return &sarama.AccessToken{Token: t}, nil
}
