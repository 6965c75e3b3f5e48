package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// MSKIAM gives the tokens of Amazon MSK's IAM authentication: a SigV4
// presigned kafka-cluster:Connect request (valid 15 minutes), made by AWS's
// signer module and presented over SASL/OAUTHBEARER. Credentials come from
// the standard AWS chain: the environment, the shared config and
// credentials files (AWS_PROFILE), web identity (EKS service accounts,
// IRSA), the container and instance roles; optionally a role is assumed
// with them. Each token is cached until refreshFactor of its lifetime, or
// of its credentials' lifetime when they expire sooner, has passed.
type MSKIAM struct {
	region string
	creds  aws.CredentialsProvider
	now    func() time.Time

	mu      sync.Mutex
	token   string
	refresh time.Time
}

// mskSessionName names lagwatch's sessions of an assumed role in
// CloudTrail.
const mskSessionName = "lagwatch"

// NewMSKIAM prepares the token source for region. It reads the shared
// config files but contacts no AWS endpoint until the first token.
func NewMSKIAM(ctx context.Context, region, roleARN string) (*MSKIAM, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("awsiam: AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, ErrNoAWSRegion
	}
	creds := cfg.Credentials
	if roleARN != "" {
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = mskSessionName }))
	}
	return newMSKIAM(cfg.Region, creds), nil
}

// ErrNoAWSRegion is NewMSKIAM's error when neither its argument nor the
// AWS environment (AWS_REGION, the profile's region) names a region.
var ErrNoAWSRegion = errors.New("awsiam: no AWS region")

func newMSKIAM(region string, creds aws.CredentialsProvider) *MSKIAM {
	return &MSKIAM{region: region, creds: creds, now: time.Now}
}

// Token returns the cached token or signs a new one.
func (m *MSKIAM) Token(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.token != "" && now.Before(m.refresh) {
		return m.token, nil
	}
	if m.creds == nil {
		return "", fmt.Errorf("awsiam: no AWS credentials found in the environment, shared files, web identity or instance role")
	}
	c, err := m.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("awsiam: AWS credentials: %w", err)
	}
	token, expiryMs, err := signer.GenerateAuthTokenFromCredentialsProvider(ctx, m.region, credentials.StaticCredentialsProvider{Value: c})
	if err != nil {
		return "", fmt.Errorf("awsiam: sign the MSK token: %w", err)
	}
	// The signer dates the token on the real clock; carry its lifetime
	// over to m's.
	lifetime := time.Until(time.UnixMilli(expiryMs))
	if c.CanExpire {
		lifetime = min(lifetime, time.Until(c.Expires))
	}
	m.token = token
	m.refresh = now.Add(time.Duration(float64(lifetime) * refreshFactor))
	return token, nil
}
