package authtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// identityProvider is the OIDC side of an OAUTHBEARER deployment, served on
// loopback: a client-credentials token endpoint over HTTPS (its own CA, so
// lagwatch's --sasl.oauthbearer-ca-file is needed) and the JWKS the broker
// validates the tokens' signatures with, over HTTP.
type identityProvider struct {
	key      *rsa.PrivateKey
	tokens   *httptest.Server // POST /token
	jwks     *httptest.Server // GET /jwks
	mu       sync.Mutex
	clients  map[string]string // client id → secret
	issued   map[string]int    // client id → tokens issued
	lifetime time.Duration
}

const (
	idpKeyID    = "authtest-key"
	idpAudience = "kafka"
	idpIssuer   = "https://idp.authtest"
)

// newIdentityProvider serves tokens valid for lifetime, with the
// certificate certPEM/keyPEM for the token endpoint.
func newIdentityProvider(certPEM, keyPEM []byte, lifetime time.Duration) (*identityProvider, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &identityProvider{key: key, clients: map[string]string{}, issued: map[string]int{}, lifetime: lifetime}
	p.jwks = httptest.NewServer(http.HandlerFunc(p.serveJWKS))
	p.tokens = httptest.NewUnstartedServer(http.HandlerFunc(p.serveToken))
	cert, err := tlsKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	p.tokens.TLS = cert
	p.tokens.StartTLS()
	return p, nil
}

func (p *identityProvider) close() {
	p.tokens.Close()
	p.jwks.Close()
}

func (p *identityProvider) addClient(id, secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[id] = secret
}

func (p *identityProvider) tokensIssued(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued[id]
}

func (p *identityProvider) tokenURL() string { return p.tokens.URL + "/token" }
func (p *identityProvider) jwksURL() string  { return p.jwks.URL + "/jwks" }

func (p *identityProvider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	b64 := base64.RawURLEncoding.EncodeToString
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": idpKeyID, "use": "sig", "alg": "RS256",
		"n": b64(p.key.N.Bytes()), "e": b64(big.NewInt(int64(p.key.E)).Bytes()),
	}}})
}

// serveToken is RFC 6749 §4.4: client authentication by HTTP Basic or by
// form fields, errors as §5.2 describes them.
func (p *identityProvider) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		fail(http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", r.PostForm.Get("grant_type"))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	want, known := p.clients[id]
	p.mu.Unlock()
	if !known || secret != want {
		w.Header().Set("WWW-Authenticate", `Basic realm="authtest"`)
		fail(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("audience") != idpAudience {
		fail(http.StatusBadRequest, "invalid_target", "audience must be "+idpAudience)
		return
	}
	now := time.Now()
	token, err := p.sign(map[string]any{
		"sub": id, "iss": idpIssuer, "aud": idpAudience,
		"iat": now.Unix(), "exp": now.Add(p.lifetime).Unix(),
		"scope": r.PostForm.Get("scope"),
	})
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	p.mu.Lock()
	p.issued[id]++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "token_type": "Bearer", "expires_in": int(p.lifetime.Seconds()),
	})
}

// sign makes an RS256 JWT (RFC 7515, 7519).
func (p *identityProvider) sign(claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": idpKeyID})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return input + "." + b64(sig), nil
}
