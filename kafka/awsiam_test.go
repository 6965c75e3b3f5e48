package kafka

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWS's documentation example credentials.
const (
	exampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// decodeMSKToken is what MSK does with the token: base64url (no padding)
// of a presigned URL.
func decodeMSKToken(t *testing.T, token string) *url.URL {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatalf("token is not a URL: %v", err)
	}
	return u
}

// isolateAWS keeps the test's credential chain to what it sets: no
// operator's files or variables, no instance metadata service.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
}

func TestMSKIAMTokenIsAPresignedKafkaClusterConnectRequest(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: exampleKeyID, SecretAccessKey: exampleSecret, SessionToken: "example-session-token"}
	m := newMSKIAM("eu-central-1", aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }))
	token, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := decodeMSKToken(t, token)
	q := u.Query()
	date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date %q: %v", q.Get("X-Amz-Date"), err)
	}
	// The shape MSK expects, as AWS's signer module builds it:
	// https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect
	// presigned with SigV4 for the service kafka-cluster, valid 900 s.
	for key, want := range map[string]string{
		"Action":               "kafka-cluster:Connect",
		"X-Amz-Algorithm":      "AWS4-HMAC-SHA256",
		"X-Amz-Credential":     exampleKeyID + "/" + date.Format("20060102") + "/eu-central-1/kafka-cluster/aws4_request",
		"X-Amz-Expires":        "900",
		"X-Amz-SignedHeaders":  "host",
		"X-Amz-Security-Token": "example-session-token",
	} {
		if got := q.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if u.Scheme != "https" || u.Host != "kafka.eu-central-1.amazonaws.com" || u.Path != "/" {
		t.Errorf("URL %s://%s%s, want https://kafka.eu-central-1.amazonaws.com/", u.Scheme, u.Host, u.Path)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(q.Get("X-Amz-Signature")) {
		t.Errorf("X-Amz-Signature %q is not 64 hex digits", q.Get("X-Amz-Signature"))
	}
	if !strings.HasPrefix(q.Get("User-Agent"), "aws-msk-iam-sasl-signer-go/") {
		t.Errorf("User-Agent %q", q.Get("User-Agent"))
	}

	// The signature is the SigV4 presignature of exactly that request at
	// the token's own date (a fixed clock): signing it again with the same
	// credentials gives the same URL.
	req, _ := http.NewRequest(http.MethodGet, "https://kafka.eu-central-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Expires=900", nil)
	emptyHash := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptyHash, "kafka-cluster", "eu-central-1", date)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustQuery(t, signed).Get("X-Amz-Signature"); q.Get("X-Amz-Signature") != want {
		t.Errorf("signature %s, want %s", q.Get("X-Amz-Signature"), want)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestMSKIAMCredentialsComeFromTheEnvironment(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", exampleSecret)
	t.Setenv("AWS_SESSION_TOKEN", "env-session")
	m, err := NewMSKIAM(context.Background(), "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q := decodeMSKToken(t, token).Query()
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "AKIAENVIRONMENT00001/") || q.Get("X-Amz-Security-Token") != "env-session" {
		t.Fatalf("credential %q, session token %q; want the environment's", q.Get("X-Amz-Credential"), q.Get("X-Amz-Security-Token"))
	}
}

func TestMSKIAMCredentialsComeFromTheSharedFilesProfile(t *testing.T) {
	isolateAWS(t)
	if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte(`[default]
aws_access_key_id = AKIADEFAULTPROFILE01
aws_secret_access_key = `+exampleSecret+`

[msk-reader]
aws_access_key_id = AKIAMSKREADERPROFILE
aws_secret_access_key = `+exampleSecret+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for profile, want := range map[string]string{"": "AKIADEFAULTPROFILE01/", "msk-reader": "AKIAMSKREADERPROFILE/"} {
		t.Setenv("AWS_PROFILE", profile)
		m, err := NewMSKIAM(context.Background(), "us-east-1", "")
		if err != nil {
			t.Fatal(err)
		}
		token, err := m.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeMSKToken(t, token).Query().Get("X-Amz-Credential"); !strings.HasPrefix(got, want) {
			t.Errorf("AWS_PROFILE=%q: credential %q, want %s…", profile, got, want)
		}
	}
}

func TestMSKIAMAssumesTheRoleWithTheChainsCredentials(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIABASECREDENTIALS1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", exampleSecret)
	var (
		mu    sync.Mutex
		asked url.Values
	)
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		asked = r.PostForm
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAASSUMEDROLE00001</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>
<SessionToken>role-session</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/msk-reader/lagwatch</Arn><AssumedRoleId>AROA:lagwatch</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult></AssumeRoleResponse>`, exampleSecret, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	m, err := NewMSKIAM(context.Background(), "us-east-1", "arn:aws:iam::123456789012:role/msk-reader")
	if err != nil {
		t.Fatal(err)
	}
	token, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q := decodeMSKToken(t, token).Query()
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "ASIAASSUMEDROLE00001/") || q.Get("X-Amz-Security-Token") != "role-session" {
		t.Fatalf("credential %q, session token %q; want the assumed role's", q.Get("X-Amz-Credential"), q.Get("X-Amz-Security-Token"))
	}
	mu.Lock()
	defer mu.Unlock()
	if asked.Get("Action") != "AssumeRole" || asked.Get("RoleArn") != "arn:aws:iam::123456789012:role/msk-reader" || asked.Get("RoleSessionName") != "lagwatch" {
		t.Fatalf("STS was asked %v", asked)
	}
}

// On EKS, IRSA puts a web identity token file and a role in the pod's
// environment; the chain exchanges them at STS.
func TestMSKIAMCredentialsComeFromAnEKSServiceAccountsWebIdentity(t *testing.T) {
	isolateAWS(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJ.projected.token"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/lagwatch-irsa")
	var (
		mu    sync.Mutex
		asked url.Values
	)
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		asked = r.Form
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<Credentials><AccessKeyId>ASIAWEBIDENTITY00001</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>
<SessionToken>irsa-session</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/lagwatch-irsa/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`, exampleSecret, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	m, err := NewMSKIAM(context.Background(), "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeMSKToken(t, token).Query().Get("X-Amz-Credential"); !strings.HasPrefix(got, "ASIAWEBIDENTITY00001/") {
		t.Fatalf("credential %q, want the web identity's", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked.Get("Action") != "AssumeRoleWithWebIdentity" || asked.Get("WebIdentityToken") != "eyJ.projected.token" {
		t.Fatalf("STS was asked %v", asked)
	}
}

// countingCredentials counts Retrieve calls; its credentials expire at
// expires when that is set.
type countingCredentials struct {
	mu      sync.Mutex
	calls   int
	expires time.Time
}

func (c *countingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return aws.Credentials{AccessKeyID: exampleKeyID, SecretAccessKey: exampleSecret,
		CanExpire: !c.expires.IsZero(), Expires: c.expires}, nil
}

func TestMSKIAMSignsANewTokenBeforeTheTokenOrItsCredentialsExpire(t *testing.T) {
	for _, tc := range []struct {
		name          string
		credsLifetime time.Duration // 0: credentials that do not expire
		cached, fresh time.Duration // a token is reused at cached, signed anew at fresh
	}{
		// The token is valid 15 minutes: a new one after 12.
		{"long-lived credentials", 0, 11 * time.Minute, 12*time.Minute + 30*time.Second},
		// Role credentials ending in 5 minutes end the token with them.
		{"credentials expiring first", 5 * time.Minute, 3*time.Minute + 30*time.Second, 4*time.Minute + 30*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := &countingCredentials{}
			if tc.credsLifetime > 0 {
				creds.expires = time.Now().Add(tc.credsLifetime)
			}
			m := newMSKIAM("us-east-1", creds)
			start := time.Now()
			now := start
			m.now = func() time.Time { return now }
			for _, step := range []struct {
				at    time.Duration
				calls int
			}{{0, 1}, {tc.cached, 1}, {tc.fresh, 2}} {
				now = start.Add(step.at)
				if _, err := m.Token(context.Background()); err != nil {
					t.Fatal(err)
				}
				if creds.calls != step.calls {
					t.Fatalf("at +%s: %d signings, want %d", step.at, creds.calls, step.calls)
				}
			}
		})
	}
}
